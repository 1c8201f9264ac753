"""Nothing stale: an interrupt to Snakemake alone, then a change of model, rerun what they must.

Snakemake sent SIGINT alone (not its process group) waits for its running
jobs and exits without recording them: their outputs exist, marked
incomplete, without metadata. The README's recipe (``--unlock``, then
``--rerun-incomplete``) must rerun them, and a later change of the model
must rerun its embedding even without metadata.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from conftest import ROOT, TEST_CONFIG, snakemake
from gear.io import interrupted_outputs

pytestmark = pytest.mark.workflow


def run(workdir, *args):
    return snakemake("--configfile", str(workdir / "config.yaml"), "--directory", str(workdir), *args)


def default_sigint():
    """In the child: SIGINT's default action, so that Python turns it into KeyboardInterrupt.

    A shell without job control starts background commands with SIGINT
    ignored, and an ignored signal stays ignored across exec: Snakemake
    would then never see the interrupt this test sends (and run to the end).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A tiny run sent SIGINT (Snakemake's process only) while CREPE embeds.

    Two threads per embedding job, so that one embeds at a time: base has
    finished, and been recorded, when CREPE starts.
    """
    workdir = tmp_path_factory.mktemp("sigint")
    (workdir / "config.yaml").write_text(TEST_CONFIG.read_text())
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
        "--set-threads", "embed=2", "--configfile", str(workdir / "config.yaml"), "--directory", str(workdir),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, preexec_fn=default_sigint)  # fmt: skip
    log = workdir / "logs/embed/tiny/crepe.log"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not (log.exists() and "embedding" in log.read_text()):
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGINT)  # Snakemake alone, not its group
    process.wait(timeout=600)
    return workdir


def test_the_interrupt_leaves_an_unrecorded_embedding(interrupted):
    # The situation of the issue: Snakemake waited for the job, which wrote
    # its outputs, and exited without recording them.
    assert interrupted_outputs(interrupted) == [
        "results/embeddings/tiny/crepe.json",
        "results/embeddings/tiny/crepe.npy",
    ]
    assert not (interrupted / "results/figures/tiny/figure3_isomap.png").exists()


@pytest.fixture(scope="module")
def recovered(interrupted):
    workdir = interrupted
    plain = run(workdir, "--cores", "2")
    unlocked = run(workdir, "--unlock")
    assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
    before = time.time()
    time.sleep(0.05)
    result = run(workdir, "--cores", "2", "--rerun-incomplete")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir, plain, before


def test_a_plain_run_refuses_the_unrecorded_outputs(recovered):
    workdir, plain, _ = recovered
    assert plain.returncode != 0
    # The recipe repeats the run's own options: without them it would unlock and plan the default config.
    options = f"--snakefile {ROOT / 'Snakefile'} --configfile {workdir / 'config.yaml'} --directory {workdir}"
    assert (
        "results/embeddings/tiny/crepe.json, results/embeddings/tiny/crepe.npy: written by a job of an "
        f"interrupted run, never recorded as complete; run snakemake --unlock {options}, then snakemake "
        f"--cores 2 --rerun-incomplete {options}"
    ) in (plain.stdout + plain.stderr).splitlines()


def test_the_recovery_recipe_recomputes_the_embedding(recovered):
    workdir, _, before = recovered
    assert interrupted_outputs(workdir) == []
    for name in ("crepe.npy", "crepe.json"):
        assert (workdir / "results/embeddings/tiny" / name).stat().st_mtime > before
    assert (workdir / "results/figures/tiny/figure3_isomap.png").exists()
    nothing = run(workdir, "--cores", "2", "-n")
    assert nothing.returncode == 0 and "Nothing to be done" in nothing.stdout + nothing.stderr


def test_a_changed_module_recomputes_the_embedding_even_without_metadata(recovered):
    workdir, _, _ = recovered
    embedding = workdir / "results/embeddings/tiny/crepe.npy"
    assert np.load(embedding).shape[1] == 2048
    # As after the interrupt of the issue: no metadata, so no params trigger.
    outputs = ["results/embeddings/tiny/crepe.npy", "results/embeddings/tiny/crepe.json"]
    cleaned = run(workdir, "--cleanup-metadata", *outputs)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["models"]["crepe"]["module"] = "gear.models.mfcc"  # another model under the same id
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = run(workdir, "--cores", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert np.load(embedding).shape[1] == 40  # MFCC mean and std, recomputed
    status = yaml.safe_load((workdir / "results/models/crepe.json").read_text())
    assert status["module"] == "gear.models.mfcc"
    # A label (figures only) or a time limit reruns no embedding.
    config["models"]["crepe"].update(label="CREPE?", timeout=600)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    before = embedding.stat().st_mtime_ns
    result = run(workdir, "--cores", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert embedding.stat().st_mtime_ns == before
