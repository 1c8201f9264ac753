import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TEST_CONFIG = ROOT / "tests" / "config" / "config.yaml"


def skip_or_fail(reason):
    """Skip the test with ``reason``; in CI (``CI`` set, as ``.ci/run`` does), fail with it.

    For what CI can and must provide (a package of the requirements files,
    the SLURM cluster, Chromium): there, a skip would hide a failure. Skips
    for what CI cannot provide (weights from a hub, a GPU) call
    ``pytest.skip`` directly.
    """
    if os.environ.get("CI"):
        pytest.fail(f"{reason} [CI is set: this must not be skipped]", pytrace=False)
    # Reported at the test's location in the skip summary, not at this line.
    raise pytest.skip.Exception(reason, _use_item_location=True)


@pytest.fixture
def rng():
    return np.random.default_rng(20231)


def snakemake(*args, cwd=ROOT, timeout=900, **options):
    """Run Snakemake on GEAR's Snakefile in a subprocess (``options`` go to `subprocess.run`)."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **options,
    )


@pytest.fixture(scope="session")
def local_run(tmp_path_factory):
    """The whole workflow, run once locally on the tiny config in a scratch directory.

    Returns
    -------
    results : Path
        The run's ``results/`` directory.
    config : dict
        The tiny config as written.
    """
    workdir = tmp_path_factory.mktemp("workflow")
    result = snakemake("--cores", "2", "--configfile", str(TEST_CONFIG), "--directory", str(workdir))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir / "results", yaml.safe_load(TEST_CONFIG.read_text())
