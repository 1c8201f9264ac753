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
import shlex
import sys
import traceback
from pathlib import Path

from gear.errors import GearError
from gear.processes import watch_parent

__all__ = [
    "log_to_file", "report_fatal", "failed_job_reasons", "workflow_arguments", "recovery_hint", "with_workflow_arguments",
    "CONSOLE_PREFIX",
]  # fmt: skip

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


# Options of a snakemake command line that choose the workflow, its directory
# and its configuration: the number of values each takes ("+": one or more).
_WORKFLOW_OPTIONS = {
    "--snakefile": 1, "-s": 1, "--directory": 1, "-d": 1, "--profile": 1, "--workflow-profile": 1,
    "--configfile": "+", "--configfiles": "+", "--config": "+", "-C": "+", "--replace-workflow-config": 0,
}  # fmt: skip


def workflow_arguments(argv):
    """The arguments of a ``snakemake`` command line that choose the workflow and its configuration.

    Parameters
    ----------
    argv : sequence of str
        The command line without the program (``sys.argv[1:]``).

    Returns
    -------
    arguments : list of str
        ``--snakefile``, ``--directory``, ``--profile``, ``--workflow-profile``,
        ``--configfile``, ``--config`` (short forms too) and
        ``--replace-workflow-config``, with their values, in their order.
        Values of ``--configfile``/``--config`` run up to the next option,
        as Snakemake reads them.
    """
    argv = list(argv)
    kept, index = [], 0
    while index < len(argv):
        token = argv[index]
        index += 1
        name, has_value, _ = token.partition("=")
        if token.startswith("--") and has_value and name in _WORKFLOW_OPTIONS:
            kept.append(token)
            continue
        count = _WORKFLOW_OPTIONS.get(token)
        if count is None:
            continue
        kept.append(token)
        while index < len(argv) and count and not argv[index].startswith("-"):
            kept.append(argv[index])
            index += 1
            count = "+" if count == "+" else count - 1
    return kept


def recovery_hint(argv=None):
    """The commands that resume an interrupted run, with the user's own workflow options.

    Parameters
    ----------
    argv : sequence of str or None
        The ``snakemake`` command line that was interrupted, without the
        program; None if unknown.

    Returns
    -------
    hint : str
        ``run snakemake --unlock ARGS, then snakemake --cores N
        --rerun-incomplete ARGS``, ARGS being :func:`workflow_arguments` (a
        run with another configuration would unlock and plan the default
        one). Without ``argv``, it says to add them.
    """
    if argv is None:
        return (
            "run snakemake --unlock, then snakemake --cores 8 --rerun-incomplete, each with the "
            "--configfile/--config/--directory options of the interrupted run"
        )
    argv = list(argv)
    options = shlex.join(workflow_arguments(argv))
    cores = "8"
    for index, token in enumerate(argv):
        if token in ("--cores", "-c") and index + 1 < len(argv) and not argv[index + 1].startswith("-"):
            cores = argv[index + 1]
        elif token.startswith("--cores="):
            cores = token.partition("=")[2]
    suffix = f" {options}" if options else ""
    return f"run snakemake --unlock{suffix}, then snakemake --cores {cores} --rerun-incomplete{suffix}"


def with_workflow_arguments(message, argv):
    """A message that ends with a ``snakemake`` command, completed with the run's own workflow options.

    Parameters
    ----------
    message : str
        Ends with a command to run (e.g. ``... regenerate the dataset:
        snakemake --cores 8 --forcerun results/datasets/d/params.csv``).
    argv : sequence of str
        The ``snakemake`` command line, without the program.

    Returns
    -------
    message : str
        With :func:`workflow_arguments` appended, if there are any.
    """
    options = workflow_arguments(argv)
    return f"{message} {shlex.join(options)}" if options else message
