"""Never more threads at once than the machine has (gear.processes.capped_cores, common.smk)."""

import json
import os
import re

import pytest
import yaml

from gear.processes import available_cores, capped_cores, threads_per_job

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
    """``--cores 8`` in a process allowed on one CPU only: five one-thread jobs.

    The dataset, and each model's spec file (``model_spec``) and check.
    """
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
    assert len(starts) == 5, events
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


@pytest.mark.parametrize(
    "cores, n_jobs, expected", [(2, 20, 1), (2, 2, 1), (2, 1, 2), (16, 4, 4), (64, 2, 8), (3, 2, 1)]
)
def test_threads_per_job_shares_the_cores(cores, n_jobs, expected):
    assert threads_per_job(cores, n_jobs) == expected


def test_threads_per_job_rejects_no_cores_or_no_jobs():
    with pytest.raises(ValueError, match="at least 1"):
        threads_per_job(0, 3)
    with pytest.raises(ValueError, match="at least 1"):
        threads_per_job(2, 0)


def _embed_job_threads(dry_run_log):
    """The threads of each planned embed job of a dry run (Snakemake prints them when above 1)."""
    blocks = re.split(r"\n(?=\[|localrule |rule )", dry_run_log)
    return [
        int(match.group(1)) if (match := re.search(r"^\s+threads: (\d+)$", block, flags=re.MULTILINE)) else 1
        for block in blocks
        if re.match(r"(?:local)?rule embed:", block)
    ]


def test_one_embedding_job_gets_both_cores_and_two_get_one_each(tmp_path):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["models"] = {"mfcc": {"module": "gear.models.mfcc", "env": "envs/torch.yaml"}}
    path = tmp_path / "one_model.yaml"
    path.write_text(yaml.safe_dump(config))
    both = min(2, available_cores())  # both cores, where there are two
    for configfile, expected in ((path, [both]), (TEST_CONFIG, [1, 1])):
        result = snakemake(
            "--cores", "2", "-n", "--configfile", str(configfile), "--directory", str(tmp_path),
            "--replace-workflow-config",
            *[f"results/embeddings/tiny/{model}.npy" for model in yaml.safe_load(configfile.read_text())["models"]],
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert _embed_job_threads(result.stdout + result.stderr) == expected


def test_the_embedding_job_records_its_threads(local_run):
    results, config = local_run
    # The tiny config: one dataset, two models, run with --cores 2.
    for model in config["models"]:
        stats = json.loads((results / f"embeddings/tiny/{model}.json").read_text())
        assert stats["threads"] == 1
