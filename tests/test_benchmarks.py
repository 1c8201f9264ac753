"""Smoke test of benchmarks/run.py: the tiny preset runs and writes its table."""

import subprocess
import sys

import numpy as np
import pandas as pd

from conftest import ROOT


def test_tiny_benchmark_writes_the_table(tmp_path):
    # Two cheap stages, each in its own subprocess; no speed is asserted.
    out = tmp_path / "results.csv"
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny", "--only", "synthesis",
               "--only", "knn", "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "stage", "case", "n", "dim", "ours_s", "reference", "reference_s", "ratio",
        "ours_peak_mb", "reference_peak_mb", "ours_extra_mb", "reference_extra_mb", "notes",
    ]  # fmt: skip
    assert set(table["stage"]) == {"synthesis", "knn"}
    assert np.isfinite(table["ours_s"]).all() and (table["ours_s"] > 0).all()
    assert (table["ours_peak_mb"] > 0).all()
    compared = table.dropna(subset=["reference_s"])
    assert len(compared) >= 2 and (compared["reference_s"] > 0).all()
    np.testing.assert_allclose(compared["ratio"], compared["reference_s"] / compared["ours_s"])
    assert (tmp_path / "results.machine.json").exists()
    assert "ratio ref/ours" in result.stdout
