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
