"""Never more threads at once than the machine has (gear.io.capped_cores, common.smk)."""

import os
import re

import pytest

from gear.io import available_cores, capped_cores

from conftest import TEST_CONFIG, snakemake


def test_available_cores_is_the_cpu_affinity():
    assert available_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    "requested, available, expected",
    [(8, 2, 2), (2, 2, 2), (1, 2, 1), (3, 64, 3), (None, 2, None)],
)
def test_capped_cores_is_the_smaller_of_request_and_machine(requested, available, expected):
    assert capped_cores(requested, available) == expected


def test_capped_cores_rejects_a_machine_without_cores():
    with pytest.raises(ValueError, match="at least 1"):
        capped_cores(8, 0)


@pytest.fixture(scope="module")
def one_cpu_run(tmp_path_factory):
    """``--cores 8`` in a process allowed on one CPU only: three one-thread jobs."""
    workdir = tmp_path_factory.mktemp("one_cpu")
    first_cpu = min(os.sched_getaffinity(0))
    targets = ["results/datasets/tiny/params.csv", "results/models/base.json", "results/models/mfcc.json"]
    config = workdir / "config.yaml"
    # The tiny config with two cheap models.
    text = TEST_CONFIG.read_text().replace("gear.models.crepe", "gear.models.mfcc").replace("crepe:", "mfcc:")
    config.write_text(text)
    result = snakemake(
        "--cores", "8", "--configfile", str(config), "--directory", str(workdir), *targets,
        preexec_fn=lambda: os.sched_setaffinity(0, {first_cpu}),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_cores_beyond_the_machine_are_capped_and_said(one_cpu_run):
    assert "GEAR: --cores 8 is more than the 1 CPU available here: at most 1 thread runs at once" in (
        one_cpu_run.stderr
    )
    assert "Provided cores: 1 " in one_cpu_run.stderr


def test_jobs_on_one_cpu_run_one_after_the_other(one_cpu_run):
    # Snakemake logs "localrule NAME:" (or "localcheckpoint NAME:") when a job
    # starts and "Finished jobid: N" when it ends.
    events = re.findall(
        r"^(?:local(?:rule|checkpoint) \w+:|Finished jobid: \d+)", one_cpu_run.stderr, flags=re.MULTILINE
    )
    starts = [event for event in events if event.startswith("local")]
    assert len(starts) == 3, events
    running = 0
    for event in events:
        running += 1 if event.startswith("local") else -1
        assert running <= 1, events


def test_cores_within_the_machine_are_left_alone(tmp_path):
    result = snakemake(
        "--cores", "1", "-n", "--configfile", str(TEST_CONFIG), "--directory", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GEAR: --cores" not in result.stderr
