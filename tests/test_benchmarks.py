"""Smoke test of benchmarks/run.py: the tiny preset runs and writes its table."""

import re
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


def test_tiny_embedding_row_compares_the_wrapper_with_the_package(tmp_path):
    # mfcc against librosa.feature.mfcc on 8 gear2023 sounds; no speed is asserted.
    out = tmp_path / "results.csv"
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny", "--only", "embedding",
               "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    table = pd.read_csv(out)
    assert list(table["case"]) == ["mfcc"] and list(table["reference"]) == ["librosa.feature.mfcc"]
    row = table.iloc[0]
    assert row["ours_s"] > 0 and row["reference_s"] > 0 and np.isfinite(row["ratio"])
    assert row["ours_peak_mb"] > 0 and row["reference_peak_mb"] > 0
    assert "sounds/s" in row["notes"]
    # Same librosa computation on both sides: equal up to float32 rounding.
    difference = re.search(r"max \|ours - ref\| = ([0-9.e+-]+)", row["notes"])
    assert difference and float(difference.group(1)) < 1e-3, row["notes"]
