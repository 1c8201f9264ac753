import os
import shutil
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


SLURM_CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
#: Whether this session started the local SLURM daemons (stopped at its end).
_slurm_started_here = []


def answer_slurm_probe():
    """Start the local SLURM daemons if Snakemake would otherwise wait for them.

    Every ``snakemake`` command imports the SLURM executor plugin, which
    runs ``scontrol show config`` at import: with SLURM's tools installed
    but no controller running (as on this machine after ``.ci/run``), that
    waits up to 10 s, per command. ``.ci/run`` starts the cluster; when
    the tests run without it, this starts it once (root, and slurm-wlm
    already installed: nothing is installed here) and the session stops
    it.
    """
    if _slurm_started_here or os.geteuid() != 0 or shutil.which("slurmctld") is None:
        return
    if subprocess.run(["pgrep", "-x", "slurmctld"], capture_output=True).returncode == 0:
        return
    started = subprocess.run(["bash", str(SLURM_CLUSTER), "start"], capture_output=True, text=True, timeout=120)
    _slurm_started_here.append(started.returncode == 0)


@pytest.fixture(scope="session", autouse=True)
def stop_slurm_if_started_here():
    yield
    if _slurm_started_here:
        subprocess.run(["bash", str(SLURM_CLUSTER), "stop"], timeout=60)


def snakemake(*args, cwd=ROOT, timeout=900, **options):
    """Run Snakemake on GEAR's Snakefile in a subprocess (``options`` go to `subprocess.run`)."""
    answer_slurm_probe()
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


#: The byte-identical mirror of the timbremetrics data beside the repository (shared/data/README.md).
TIMBRE_MIRROR = ROOT.parent / "shared" / "data" / "timbremetrics-c611b3a"


@pytest.fixture(scope="session")
def timbre_mirror():
    """The timbremetrics mirror's folder (laid out as the repository), or a skip (a failure in CI)."""
    if not (TIMBRE_MIRROR / "timbremetrics" / "true_dissim").is_dir():
        skip_or_fail(f"no timbremetrics mirror at {TIMBRE_MIRROR} (shared/data beside the repository)")
    return TIMBRE_MIRROR
