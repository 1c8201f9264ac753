"""The SLURM profile against a real one-node SLURM cluster (not a mock).

The cluster is the one already running on this machine, or one started by
``tests/slurm/cluster.sh`` (root and Debian's slurm-wlm and munge needed);
otherwise the test is skipped with the reason, except in CI (``CI`` set, as
``.ci/run`` does, which starts the cluster), where that is a failure. The tiny config goes through
``--profile profiles/slurm`` and must give the same outputs as a local run.
"""

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import procrustes

from conftest import ROOT, SLURM_CLUSTER, TEST_CONFIG, skip_or_fail

pytestmark = pytest.mark.workflow


def slurm_is_idle():
    if shutil.which("sinfo") is None:
        return False
    result = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    return result.returncode == 0 and "idle" in result.stdout.split()


@pytest.fixture(scope="module")
def slurm_cluster():
    """A live SLURM controller and node; stopped afterwards if this test started it."""
    if slurm_is_idle():
        yield
        return
    if os.geteuid() != 0:
        skip_or_fail("no running SLURM cluster, and starting one needs root")
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        skip_or_fail("no running SLURM cluster, and slurm-wlm cannot be installed (no apt-get)")
    started = subprocess.run(["bash", str(SLURM_CLUSTER), "start"], capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        skip_or_fail(f"SLURM could not be started here: {started.stderr.strip()[-500:]}")
    try:
        yield
    finally:
        subprocess.run(["bash", str(SLURM_CLUSTER), "stop"], timeout=60)


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm")
    command = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(ROOT / "Snakefile"),
        "--profile", str(ROOT / "profiles" / "slurm"),
        "--configfile", str(TEST_CONFIG),
        "--directory", str(workdir),
        "--jobs", "4",
    ]  # fmt: skip
    # A hung Snakemake has been seen to ignore SIGTERM: bound it with a hard kill.
    result = subprocess.run(
        ["timeout", "-k", "20", "1200", *command], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return workdir / "results", result.stdout + result.stderr


def test_jobs_went_through_slurm(slurm_run):
    _, log = slurm_run
    assert "SLURM run ID" in log
    assert log.count("has been submitted with SLURM jobid") >= 8
    # The bookkeeping rules run where Snakemake runs; the models' rules through the queue.
    for rule in ("embedding_costs", "view_bundle"):
        assert f"localrule {rule}:" in log
    assert "localrule embed:" not in log and "localrule provenance:" not in log


def test_same_outputs_as_a_local_run(slurm_run, local_run):
    slurm_results, _ = slurm_run
    local_results, _ = local_run
    assert (slurm_results / "datasets/tiny/params.csv").read_bytes() == (
        local_results / "datasets/tiny/params.csv"
    ).read_bytes()
    for model in ("base", "crepe"):
        ours = np.load(slurm_results / f"embeddings/tiny/{model}.npy")
        local = np.load(local_results / f"embeddings/tiny/{model}.npy")
        np.testing.assert_allclose(ours, local, rtol=1e-5, atol=1e-5)
        ours = np.load(slurm_results / f"isomap/tiny/{model}.npy")
        local = np.load(local_results / f"isomap/tiny/{model}.npy")
        assert procrustes(local, ours)[2] < 1e-6
        pd.testing.assert_frame_equal(
            pd.read_csv(slurm_results / f"regression/tiny/{model}.csv"),
            pd.read_csv(local_results / f"regression/tiny/{model}.csv"),
        )
    for name in ("figure2_sounds", "figure3_isomap", "figure4_regression"):
        assert (slurm_results / f"figures/tiny/{name}.png").stat().st_size > 10_000
