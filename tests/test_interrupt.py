"""A run killed mid-way and restarted ends with results identical to an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, TEST_CONFIG, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def restarted_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("killed")
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
        "--cores", "2", "--configfile", str(TEST_CONFIG), "--directory", str(workdir),
    ]  # fmt: skip
    # Own process group, so the kill takes the running jobs down with Snakemake.
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    first_output = workdir / "results/embeddings/tiny"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not any(first_output.glob("*.npy")):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_early = not (workdir / "results/figures/tiny/figure3_isomap.png").exists()
    unlocked = snakemake("--unlock", "--configfile", str(TEST_CONFIG), "--directory", str(workdir))
    assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
    result = snakemake(
        "--cores", "2", "--rerun-incomplete", "--configfile", str(TEST_CONFIG), "--directory", str(workdir)
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir / "results", killed_early


def test_the_run_was_really_interrupted(restarted_run):
    _, killed_early = restarted_run
    assert killed_early


def test_results_are_identical_to_an_uninterrupted_run(restarted_run, local_run):
    results, _ = restarted_run
    reference, _ = local_run
    identical = [
        "datasets/tiny/params.csv",
        "regression/tiny/base.csv",
        "regression/tiny/crepe.csv",
        "regression/tiny/summary.csv",
        *(f"datasets/tiny/audio/{wav.name}" for wav in (reference / "datasets/tiny/audio").iterdir()),
    ]
    for path in identical:
        assert (results / path).read_bytes() == (reference / path).read_bytes(), path
    for model in ("base", "crepe"):
        for stage in ("embeddings", "isomap"):
            np.testing.assert_array_equal(
                np.load(results / f"{stage}/tiny/{model}.npy"), np.load(reference / f"{stage}/tiny/{model}.npy")
            )
    # No temporary file of an atomic write survived the kill.
    hidden = [path for path in results.rglob(".*") if path.name != ".snakemake_timestamp"]
    assert not hidden
