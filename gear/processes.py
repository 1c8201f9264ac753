"""The processes of a run: who started this job, and how many cores each job gets.

- Supervision: a job started by Snakemake calls :func:`watch_parent`
  (through :func:`gear.logs.log_to_file`); from then on
  :func:`check_parent` (called by every writer of :mod:`gear.io` right
  before it renames a file into place) raises :class:`OrphanedJobError`
  once the Snakemake process has gone, and a daemon thread ends the job.
- Core budgeting: :func:`available_cores`, :func:`capped_cores` and
  :func:`threads_per_job` keep the threads of all jobs within the CPUs
  (used by ``workflow/rules/common.smk``).
"""

import logging
import os
import threading
from pathlib import Path

__all__ = [
    "SNAKEMAKE_PID_ENV",
    "OrphanedJobError",
    "available_cores",
    "capped_cores",
    "threads_per_job",
    "watch_parent",
    "check_parent",
]

logger = logging.getLogger(__name__)


class OrphanedJobError(RuntimeError):
    """The Snakemake process that started this job has exited."""


#: Environment variable in which the workflow passes the process id of
#: Snakemake to its jobs (set at parse time, see workflow/rules/embed.smk).
SNAKEMAKE_PID_ENV = "GEAR_SNAKEMAKE_PID"

# Process id of the Snakemake process that started this job (set by
# watch_parent); None outside of a workflow job.
_parent_pid = None


def _parent_of(pid):
    """Parent process id of ``pid`` (Linux /proc), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _is_ancestor(pid):
    """Whether process ``pid`` is this process's parent, grandparent, ..."""
    current = os.getppid()
    for _ in range(64):
        if current == pid:
            return True
        if current is None or current <= 1:
            return False
        current = _parent_of(current)
    return False


def _alive(pid):
    """Whether process ``pid`` runs (an exited process not yet reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def available_cores():
    """CPUs this process may run on: its CPU affinity (set by SLURM, ``taskset``, cgroups).

    Returns
    -------
    int
        At least 1; ``os.cpu_count()`` where the affinity is unknown.
    """
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS, Windows
        return max(os.cpu_count() or 1, 1)


def capped_cores(requested, available):
    """The cores a local Snakemake run may schedule: never more than the machine has.

    ``snakemake --cores 8`` on a two-CPU machine would run four two-thread
    jobs at once, each three to nine times slower than alone; GEAR's jobs
    use as many threads as Snakemake gives them (BLAS, PyTorch, TensorFlow),
    so the sum must stay within the CPUs.

    Parameters
    ----------
    requested : int or None
        ``--cores`` (None: not given).
    available : int
        CPUs this process may use (`available_cores`).

    Returns
    -------
    int or None
        ``min(requested, available)``; None if ``requested`` is None.
    """
    if requested is None:
        return None
    if available < 1:
        raise ValueError(f"available cores must be at least 1, got {available}")
    return min(int(requested), int(available))


def threads_per_job(cores, n_jobs, most=8):
    """Threads for each of ``n_jobs`` parallel jobs sharing ``cores``: ``cores // n_jobs``, within [1, ``most``].

    Two one-thread embedding jobs at once beat one two-thread job after the
    other on two cores (``benchmarks/threads.py``: 1.4 to 1.8 times faster
    for scattering, resemblyzer, PESTO and BirdNET, as fast for musicnn and
    Basic Pitch, 0.9 times as fast for CREPE), and a multi-threaded job
    stalls whenever another process takes one of its cores. Threads help
    once there are more cores than jobs.

    Parameters
    ----------
    cores : int
        Cores of the run (after `capped_cores`).
    n_jobs : int
        Jobs that can run at once.
    most : int
        Upper bound: beyond it, a job's threads mostly wait.

    Returns
    -------
    int
    """
    if cores < 1 or n_jobs < 1:
        raise ValueError(f"cores and jobs must be at least 1, got {cores} and {n_jobs}")
    return max(1, min(int(most), int(cores) // int(n_jobs)))


def watch_parent(poll_seconds=1.0):
    """Make this process write no output once the Snakemake process that started it has gone.

    A job whose Snakemake process is interrupted (``kill -INT`` to that
    process alone, a lost SSH session) runs on as an orphan: were it to
    finish and rename its outputs into place, Snakemake would never have
    recorded them, and the next run would trust them. After this call, the
    writers of :mod:`gear.io` check, right before every rename, that the
    Snakemake process is still an ancestor of this one, and a daemon
    thread ends the process within ``poll_seconds`` of its death.

    The Snakemake process is the one named by ``$GEAR_SNAKEMAKE_PID`` if it
    is an ancestor (if it is not and has exited, the job is already an
    orphan; if it is alive elsewhere, the variable is stale), else the
    parent process.

    Parameters
    ----------
    poll_seconds : float
        Interval of the watching thread.
    """
    global _parent_pid
    parent = os.getppid()
    announced = os.environ.get(SNAKEMAKE_PID_ENV, "")
    if announced.isdigit():
        pid = int(announced)
        if _is_ancestor(pid) or not _alive(pid):
            parent = pid
    _parent_pid = parent

    def watch():
        while not _orphaned():
            threading.Event().wait(poll_seconds)
        logger.error(
            "the Snakemake process that started this job (pid %d) has exited; "
            "stopping without writing any output",
            parent,
        )
        logging.shutdown()
        os._exit(1)

    threading.Thread(target=watch, name="gear-parent-watch", daemon=True).start()


def _orphaned():
    """Whether the Snakemake process of this job (see :func:`watch_parent`) has gone."""
    if _parent_pid is None:
        return False
    if os.getppid() == _parent_pid:
        return False
    if Path("/proc/self/stat").exists():
        return not _is_ancestor(_parent_pid)
    return True


def check_parent(path):
    """Raise :class:`OrphanedJobError` if the job's Snakemake process has gone."""
    if _orphaned():
        raise OrphanedJobError(
            f"{path}: not written: the Snakemake process that started this job "
            f"(pid {_parent_pid}) has exited"
        )
