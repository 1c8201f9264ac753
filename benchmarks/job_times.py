"""Wall time of every job of a Snakemake run, from its log, summed per rule.

Usage::

    python benchmarks/job_times.py .snakemake/log/2026-...snakemake.log [--jobs]

Snakemake logs ``[date]`` then ``localrule NAME:`` (or ``rule``,
``localcheckpoint``, ``checkpoint``) with ``jobid: N`` and ``wildcards:``
when a job starts, and ``[date]`` then ``Finished jobid: N`` when it ends;
times have a one-second resolution. Jobs that ran at the same time shared
the CPU: read the per-rule sums with the run's ``--cores`` in mind.
"""

import argparse
import re
import sys
from datetime import datetime

import pandas as pd

_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
_START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
_FIELD = re.compile(r"^\s+(jobid|wildcards|threads): (.*)$")
_FINISH = re.compile(r"^Finished jobid: (\d+)")


def job_times(lines):
    """One row per finished job of a Snakemake log.

    Parameters
    ----------
    lines : iterable of str
        The log's lines.

    Returns
    -------
    pandas.DataFrame
        Columns ``jobid``, ``rule``, ``wildcards``, ``threads``, ``start``,
        ``end``, ``seconds``; jobs that never finished are left out.
    """
    stamp, current, started = None, None, {}
    rows = []
    for line in lines:
        line = line.rstrip("\n")
        if match := _STAMP.match(line):
            stamp = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
        elif match := _START.match(line):
            current = {"rule": match.group(1), "start": stamp, "wildcards": "", "threads": 1}
        elif current is not None and (match := _FIELD.match(line)):
            key, value = match.groups()
            if key == "jobid":
                started[int(value)] = current
            else:
                current[key] = int(value) if key == "threads" else value
        elif match := _FINISH.match(line):
            job = started.pop(int(match.group(1)), None)
            if job is not None:
                rows.append({"jobid": int(match.group(1)), **job, "end": stamp})
        elif not line.strip():
            current = None
    table = pd.DataFrame(rows, columns=["jobid", "rule", "wildcards", "threads", "start", "end"])
    table["seconds"] = (table["end"] - table["start"]).dt.total_seconds()
    return table


def per_rule(table):
    """Jobs, summed, median and largest wall time per rule, the largest sum first."""
    summary = table.groupby("rule")["seconds"].agg(jobs="count", total_s="sum", median_s="median", max_s="max")
    return summary.sort_values("total_s", ascending=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="a Snakemake log (.snakemake/log/*.snakemake.log)")
    parser.add_argument("--jobs", action="store_true", help="also print every job")
    args = parser.parse_args(argv)
    with open(args.log) as file:
        table = job_times(file)
    if table.empty:
        sys.exit(f"{args.log}: no finished job found")
    span = (table["end"].max() - table["start"].min()).total_seconds()
    print(per_rule(table).to_string(float_format="{:.0f}".format))
    print(f"\n{len(table)} jobs from first start to last end: {span:.0f} s")
    if args.jobs:
        print(table.sort_values("seconds", ascending=False).to_string(index=False))


if __name__ == "__main__":
    main()
