"""Logging set-up for the workflow's scripts."""

import logging
import sys

__all__ = ["log_to_file"]


def log_to_file(path, level=logging.INFO):
    """Send logging records and stderr (progress bars, warnings) to a file.

    Parameters
    ----------
    path : str or Path
        The rule's log file.
    level : int
        Threshold of the root logger.

    Returns
    -------
    stream : file object
        The open log file; it stays open for the life of the process.
    """
    stream = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stderr = stream
    logging.basicConfig(
        level=level,
        stream=stream,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    return stream
