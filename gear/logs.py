"""Logging set-up for the workflow's scripts, and the one line a failed job prints.

A job's log holds everything (records, progress bars, tracebacks); the
console gets one line per failed job, ``GEAR: <job>: <reason>``, so that
the reason shows next to Snakemake's "Error in rule ..." (whose
``message`` is None for script jobs). :func:`failed_job_reasons` collects
those reasons again from the logs of the failed jobs, for the summary at
the end of the run (the Snakefile's ``onerror``).
"""

import logging
import re
import sys
import traceback
from pathlib import Path

from gear.errors import GearError
from gear.processes import watch_parent

__all__ = ["log_to_file", "report_fatal", "failed_job_reasons", "CONSOLE_PREFIX"]

logger = logging.getLogger("gear")

#: Start of the one line a failed job writes to the console and its log.
CONSOLE_PREFIX = "GEAR: "

# The console (Snakemake's stderr) and the job's name, set by log_to_file.
_console = None
_job = None


def _one_line(error):
    """The reason of an error on one line: the message of a GearError, else ``Type: message``."""
    text = " ".join(str(error).split())
    if isinstance(error, GearError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _job_name():
    """``rule (wildcard=value, ...)`` of the Snakemake job running this script, if any."""
    smk = getattr(sys.modules.get("__main__"), "snakemake", None)
    if smk is None:
        return None
    wildcards = ", ".join(f"{key}={value}" for key, value in dict(smk.wildcards).items())
    return f"{smk.rule} ({wildcards})" if wildcards else str(smk.rule)


def report_fatal(message):
    """Log ``message`` as the job's error, and print it as one line on the console.

    Parameters
    ----------
    message : str
        One line naming what is wrong.
    """
    line = f"{CONSOLE_PREFIX}{_job}: {message}" if _job else f"{CONSOLE_PREFIX}{message}"
    logger.error(line)
    if _console is not None:
        try:
            print(line, file=_console, flush=True)
        except (OSError, ValueError):  # the console is gone (Snakemake killed)
            pass


def _excepthook(error_type, error, tb):
    # The traceback into the log, the reason into the log and onto the console.
    traceback.print_exception(error_type, error, tb, file=sys.stderr)
    if issubclass(error_type, KeyboardInterrupt):
        return
    report_fatal(_one_line(error))


def log_to_file(path, level=logging.INFO, job=None):
    """Send logging records and stderr (progress bars, warnings) to a file.

    Also, for a script run by Snakemake: an uncaught exception writes its
    traceback to the log and ``GEAR: <job>: <reason>`` to the log and to
    the console (the original stderr); and the job writes no output once
    the Snakemake process has gone (:func:`gear.processes.watch_parent`).

    Parameters
    ----------
    path : str or Path
        The rule's log file.
    level : int
        Threshold of the root logger.
    job : str or None
        Name of the job in the console line; by default the rule and
        wildcards of the Snakemake job running the script.

    Returns
    -------
    stream : file object
        The open log file; it stays open for the life of the process.
    """
    global _console, _job
    stream = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    _console = sys.__stderr__
    _job = job or _job_name()
    sys.stderr = stream
    logging.basicConfig(
        level=level,
        stream=stream,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    sys.excepthook = _excepthook
    watch_parent()
    return stream


# "Error in rule NAME:" then indented "key: value" lines, among them "log: PATHS (check ...)".
_ERROR_BLOCK = re.compile(r"^Error in rule (\S+):\n((?:[ \t]+.*\n?)*)", re.MULTILINE)


def failed_job_reasons(snakemake_log, root="."):
    """One line per failed job of a run: ``rule (wildcards): reason``.

    Parameters
    ----------
    snakemake_log : str or Path, or a list of them
        The log of the Snakemake run (the argument of ``onerror``: a list
        of paths in Snakemake 9).
    root : str or Path
        Directory the jobs' log paths are relative to (the working directory).

    Returns
    -------
    lines : list of str
        For each failed job, the reason of its last ``GEAR:`` line
        (``rule (wildcards): reason``), else ``rule: <the last ERROR record
        or the last line of its log> (see <log>)``.
    """
    if isinstance(snakemake_log, (list, tuple)):  # Snakemake 9 passes a list of paths
        lines = []
        for path in snakemake_log:
            lines.extend(line for line in failed_job_reasons(path, root) if line not in lines)
        return lines
    try:
        text = Path(snakemake_log).read_text(errors="replace")
    except (OSError, TypeError):
        return []
    lines = []
    for rule, body in _ERROR_BLOCK.findall(text):
        fields = dict(
            (key.strip(), value.strip())
            for key, _, value in (line.partition(":") for line in body.splitlines())
            if value
        )
        logs = fields.get("log", "").split(" (check log")[0]
        paths = [Path(root) / log.strip() for log in logs.split(",") if log.strip()]
        reasons = [_last_reason(path) for path in paths]
        reported = [reason for reason, own in reasons if own]
        if reported:
            # The job's own line names the job with its wildcards.
            line = reported[-1]
        else:
            other = [reason for reason, _ in reasons if reason]
            line = f"{rule}: {other[-1] if other else 'failed'}"
            if paths:
                line += f" (see {', '.join(str(path) for path in paths)})"
        if line not in lines:
            lines.append(line)
    return lines


def _last_reason(path):
    """(reason, True) from the job's ``GEAR:`` line, else (last ERROR record or last line, False)."""
    try:
        log = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return None, False
    marker = f" ERROR gear: {CONSOLE_PREFIX}"
    for line in reversed(log):
        if marker in line:
            return line.split(marker, 1)[1].strip(), True
    for line in reversed(log):
        if " ERROR " in line:  # "<time> ERROR <logger>: <message>"
            return line.split(" ERROR ", 1)[1].split(": ", 1)[-1].strip(), False
    return (log[-1].strip() or None) if log else None, False
