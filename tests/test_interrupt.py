"""A run killed at any point, then restarted, ends with results identical to an uninterrupted run.

One chain of runs on the tiny config (about one workflow's worth of work, plus
a Snakemake start-up per restart): a run is killed with SIGKILL, with all its
jobs, as soon as a stage's first file appears under ``results/`` — synthesis,
embedding, Isomap, metrics, then figures — and after each kill the README's
recipe restarts it (``snakemake --unlock``, then ``snakemake
--rerun-incomplete``), until a restart finishes. Every file under
``results/`` must then be byte for byte the one of the uninterrupted
``local_run`` of conftest, except the measured fields listed in
:data:`MEASURED`.
"""

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, TEST_CONFIG, snakemake

pytestmark = pytest.mark.workflow

#: (stage, directory under results/ where its first file marks it as running).
STAGES = [
    ("synthesis", "datasets"),
    ("embedding", "embeddings"),
    ("isomap", "isomap"),
    ("metrics", "metrics"),
    ("figures", "figures"),
]
#: Files that cannot be byte-identical, and the fields that differ: wall-clock
#: times, throughputs and peak memory, measured anew by each run. Every other
#: field of these files must be identical.
MEASURED = {
    "models/*.json": ("load_seconds",),
    "embeddings/*/*.json": ("seconds", "sounds_per_second", "peak_rss_mb"),
    "embeddings/costs.csv": ("seconds", "sounds_per_second", "peak_rss_mb"),
}
RUN_TIMEOUT = 600


def _files(results):
    """Every file under ``results``, hidden ones (temporary files of atomic writes) included."""
    return {path for path in results.rglob("*") if path.is_file()} if results.exists() else set()


def _jobs(log_text):
    """The jobs a Snakemake run started and those it finished, from its log.

    Returns
    -------
    started, finished : list of (rule, first output)
    """
    started, rule, output = {}, None, None
    for line in log_text.splitlines():
        header = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):$", line)
        if header:
            rule, output = header.group(1), None
        elif rule and line.strip().startswith("output:"):
            output = line.split(":", 1)[1].split(",")[0].strip()
        elif rule and line.strip().startswith("jobid:"):
            started[line.split(":", 1)[1].strip()] = (rule, output)
            rule = None
    finished = set(re.findall(r"^Finished jobid: (\d+)", log_text, flags=re.MULTILINE))
    return list(started.values()), [job for jobid, job in started.items() if jobid in finished]


def _run_until(workdir, directory, log_path):
    """Start Snakemake; kill it (and its jobs) when a new file appears under results/``directory``.

    Returns
    -------
    record : dict
        ``killed`` (the run was still going when a new file appeared, and was killed),
        ``marker`` (that file), ``seconds``, ``jobs`` (started and finished, see :func:`_jobs`).
    """
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
        "--rerun-incomplete", "--configfile", str(TEST_CONFIG), "--directory", str(workdir),
    ]  # fmt: skip
    watched = workdir / "results" / directory
    before = _files(watched)
    start = time.monotonic()
    with open(log_path, "w") as log:
        # Own process group, so that the kill takes the running jobs down with Snakemake.
        process = subprocess.Popen(
            command, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
        )
        marker = None
        try:
            while process.poll() is None and time.monotonic() - start < RUN_TIMEOUT:
                new = _files(watched) - before
                if new:
                    marker = min(new)
                    break
                time.sleep(0.02)
            killed = marker is not None and process.poll() is None
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return {
        "killed": killed,
        "marker": marker,
        "returncode": process.returncode,
        "seconds": time.monotonic() - start,
        "jobs": _jobs(log_path.read_text()),
        "log": log_path,
    }


@pytest.fixture(scope="module")
def interrupted_chain(tmp_path_factory):
    """The chain of killed and restarted runs; returns (results, records per stage, final run)."""
    workdir = tmp_path_factory.mktemp("killed")
    logs = tmp_path_factory.mktemp("killed-logs")
    start = time.monotonic()
    records = {}
    for stage, directory in STAGES:
        records[stage] = _run_until(workdir, directory, logs / f"{stage}.log")
        unlocked = snakemake("--unlock", "--configfile", str(TEST_CONFIG), "--directory", str(workdir))
        assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
    final = snakemake(
        "--cores", "2", "--rerun-incomplete", "--configfile", str(TEST_CONFIG), "--directory", str(workdir)
    )  # fmt: skip
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    seconds = time.monotonic() - start
    print(f"interrupted chain: {seconds:.0f} s for {len(STAGES)} kills and the final restart")
    return workdir / "results", records, _jobs(final.stdout + final.stderr)


@pytest.mark.parametrize("stage", [stage for stage, _ in STAGES])
def test_the_run_was_killed_during_each_stage(interrupted_chain, stage):
    _, records, _ = interrupted_chain
    record = records[stage]
    assert record["killed"], (
        f"the run was not interrupted during {stage} (exit code {record['returncode']} after "
        f"{record['seconds']:.0f} s): {record['log'].read_text()[-2000:]}"
    )


def test_a_restart_does_not_redo_finished_jobs(interrupted_chain):
    """No job that a run finished is started again by a later restart, and every job of the
    workflow finished in one of the runs."""
    _, records, final = interrupted_chain
    runs = [records[stage]["jobs"] for stage, _ in STAGES] + [final]
    assert all(started for started, _ in runs), "a run started no job: is the log parsed?"
    for index, (_, finished) in enumerate(runs):
        for later, (started, _) in enumerate(runs[index + 1 :], start=index + 1):
            again = set(finished) & set(started)
            assert not again, f"run {later} redid jobs that run {index} had finished: {sorted(again)}"
    done = [job for _, finished in runs for job in finished]
    assert len(done) == len(set(done))
    assert {rule for rule, _ in done} >= {"synthesize", "check_model", "embed", "isomap", "metrics", "all"}


def _measured(relative):
    for pattern, fields in MEASURED.items():
        if re.fullmatch(pattern.replace(".", r"\.").replace("*", "[^/.]+"), relative):
            return fields
    return None


def _without(relative, data, fields):
    """The file's content minus the measured fields."""
    if relative.endswith(".json"):
        record = json.loads(data)
        assert set(fields) <= set(record), (relative, fields)
        return {key: value for key, value in record.items() if key not in fields}
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert rows and set(fields) <= set(rows[0]), (relative, fields)
    return [{key: value for key, value in row.items() if key not in fields} for row in rows]


def _visible(results):
    """Relative paths of the files under ``results``, but temporary files (hidden: see below)."""
    return {
        path.relative_to(results).as_posix()
        for path in _files(results)
        if not path.name.startswith(".") or path.name == ".snakemake_timestamp"
    }


def test_every_result_is_identical_to_an_uninterrupted_run(interrupted_chain, local_run):
    results, _, _ = interrupted_chain
    reference, _ = local_run
    ours, theirs = _visible(results), _visible(reference)
    assert ours == theirs
    assert len(ours) > 60
    different = []
    for relative in sorted(ours):
        data, expected = (results / relative).read_bytes(), (reference / relative).read_bytes()
        fields = _measured(relative)
        if fields is not None:
            assert _without(relative, data, fields) == _without(relative, expected, fields), relative
        elif data != expected:
            different.append(relative)
    assert not different, f"not byte-identical to the uninterrupted run: {different}"


def test_no_temporary_file_survives(interrupted_chain):
    """No temporary file of an atomic write is left behind, even by a job killed while writing."""
    results, _, _ = interrupted_chain
    hidden = [path.relative_to(results) for path in _files(results) if path.name.startswith(".")]
    leftovers = [path.as_posix() for path in hidden if path.name != ".snakemake_timestamp"]
    assert not leftovers
