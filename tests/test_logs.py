"""gear.logs: a rule's script sends its logging records, warnings and stderr to the rule's log.

Each test runs a small script in its own process, as Snakemake runs a rule's
script, so that replacing ``sys.stderr`` and the root logger's handlers does
not touch pytest's own.
"""

import re
import subprocess
import sys
import textwrap

import pytest

from gear.logs import failed_job_reasons


def run_script(code, log):
    """Run ``code`` (with ``log`` bound to the log file's path) in a fresh Python process."""
    script = f"log = {str(log)!r}\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


@pytest.fixture
def log(tmp_path):
    return tmp_path / "logs" / "rule.log"


def test_records_warnings_and_stderr_go_to_the_log(log):
    log.parent.mkdir()
    result = run_script(
        """
        import logging, sys, warnings
        from gear.logs import log_to_file

        log_to_file(log)
        logging.getLogger("gear.stage").info("embedded %d sounds", 36)
        logging.getLogger("gear.stage").debug("not at INFO")
        warnings.warn("a deprecated option", UserWarning)
        print("progress 50%", file=sys.stderr)
        print("to stdout")
        """,
        log,
    )
    assert result.returncode == 0, result.stderr
    # Nothing of it on the process's own stderr; stdout is left alone.
    assert result.stderr == "" and result.stdout == "to stdout\n"
    lines = log.read_text().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO gear\.stage: embedded 36 sounds", lines[0])
    assert re.fullmatch(r"\S+ \S+ WARNING py\.warnings: .*UserWarning: a deprecated option", lines[1])
    assert "progress 50%" in lines
    assert "not at INFO" not in log.read_text()


def test_level_is_the_threshold(log):
    log.parent.mkdir()
    result = run_script(
        """
        import logging
        from gear.logs import log_to_file

        log_to_file(log, level=logging.DEBUG)
        logging.getLogger("gear.x").debug("detail")
        """,
        log,
    )
    assert result.returncode == 0, result.stderr
    assert log.read_text().rstrip().endswith("DEBUG gear.x: detail")


def test_the_log_is_written_as_it_goes_and_replaced_on_a_new_run(log):
    """Line-buffered: a job killed mid-way leaves what it logged; a rerun starts a fresh log."""
    log.parent.mkdir()
    log.write_text("an earlier run\n")
    result = run_script(
        """
        import logging, os, signal
        from gear.logs import log_to_file

        stream = log_to_file(log)
        assert stream.name == log and not stream.closed
        logging.getLogger("gear.x").info("before the kill")
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        log,
    )
    assert result.returncode == -9
    text = log.read_text()
    assert "before the kill" in text and "an earlier run" not in text


def test_an_uncaught_error_ends_in_the_log(log):
    log.parent.mkdir()
    result = run_script(
        """
        from gear.logs import log_to_file

        log_to_file(log)
        raise RuntimeError("simulated failure of a job")
        """,
        log,
    )
    assert result.returncode == 1
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: simulated failure of a job" in text


# The one line a failed job shows on the console, and the summary at the end of the run.


def test_uncaught_error_prints_one_line_on_the_console(tmp_path):
    code = textwrap.dedent(
        f"""
        from gear.errors import DataError
        from gear.logs import log_to_file
        log_to_file({str(tmp_path / "job.log")!r}, job="isomap (dataset=tiny, model=x)")
        raise DataError("results/embeddings/tiny/x.npy: cannot read array (truncated)")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    line = "GEAR: isomap (dataset=tiny, model=x): results/embeddings/tiny/x.npy: cannot read array (truncated)"
    assert result.stderr.splitlines() == [line]
    log = (tmp_path / "job.log").read_text()
    assert "Traceback (most recent call last)" in log and f"ERROR gear: {line}" in log


def test_unexpected_exception_names_its_type(tmp_path):
    code = (
        "from gear.logs import log_to_file; "
        f"log_to_file({str(tmp_path / 'job.log')!r}, job='regress (dataset=tiny, model=x)'); "
        "{}['missing']"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stderr.splitlines() == ["GEAR: regress (dataset=tiny, model=x): KeyError: 'missing'"]


SNAKEMAKE_LOG = """\
[Wed Dec  2 05:18:31 2026]
Error in rule isomap:
    message: None
    jobid: 5
    input: results/embeddings/tiny/nan.npy
    output: results/isomap/tiny/nan.npy, results/isomap/tiny/nan.json
    log: logs/isomap/tiny/nan.log (check log file(s) for error details)
RuleException:
CalledProcessError in file "workflow/rules/isomap.smk", line 14:
Error in rule synthesize:
    message: None
    jobid: 8
    output: results/datasets/tiny/params.csv, results/datasets/tiny/audio
    log: logs/synthesize/tiny.log (check log file(s) for error details)
Error in rule provenance:
    message: None
    jobid: 1
    output: results/provenance.json
    log: logs/provenance.log (check log file(s) for error details)
Shutting down, this might take some time.
"""


def test_failed_job_reasons_come_from_the_jobs_logs(tmp_path):
    (tmp_path / "logs/isomap/tiny").mkdir(parents=True)
    (tmp_path / "logs/synthesize").mkdir(parents=True)
    (tmp_path / "logs/isomap/tiny/nan.log").write_text(
        "2026-12-02 05:18:30,001 INFO gear.pipeline: reading\n"
        "Traceback (most recent call last):\n  ...\ngear.errors.DataError: x\n"
        "2026-12-02 05:18:30,002 ERROR gear: GEAR: isomap (dataset=tiny, model=nan): x.npy: not finite\n"
    )
    (tmp_path / "logs/synthesize/tiny.log").write_text(
        "Traceback (most recent call last):\nImportError: cannot import name 'PARAMETERS'\n"
    )
    log = tmp_path / "run.snakemake.log"
    log.write_text(SNAKEMAKE_LOG)
    assert failed_job_reasons([log], root=tmp_path) == failed_job_reasons(log, root=tmp_path) == [
        "isomap (dataset=tiny, model=nan): x.npy: not finite",
        f"synthesize: ImportError: cannot import name 'PARAMETERS' (see {tmp_path / 'logs/synthesize/tiny.log'})",
        f"provenance: failed (see {tmp_path / 'logs/provenance.log'})",
    ]


def test_no_reasons_without_a_log(tmp_path):
    assert failed_job_reasons(tmp_path / "absent.log") == []
    assert failed_job_reasons(None) == []
