"""An external synthesizer with four factors of arbitrary names, named in a config alone, end to end.

The synthesizer (``tests/fake_synthesizers/four_factor_synth.py``, the
README's example) lives outside ``gear/``; the workflow learns its
parameters from ``parameters.json`` only. Every table, figure, view and the
provenance must show its four factors, and none of the paper's.
"""

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.workflow

FACTORS = ["pitch", "spread", "balance", "ring"]
CONFIG = {
    "datasets": {
        "tones": {
            "synthesizer": "four_factor_synth",
            "parameters": {
                "pitch": {"min": 110.0, "max": 1760.0},
                "spread": {"min": 1.5, "max": 6.0},
                "balance": {"min": -40.0, "max": 0.0},
                "ring": {"min": 0.02, "max": 0.3},
            },
            "design": "sobol",
            "n_sounds": 48,
            "sample_rate": 16000,
            "duration": 0.25,
        }
    },
    "models": {
        "base": {"module": "gear.models.base", "env": "envs/torch.yaml"},
        "mfcc": {"module": "gear.models.mfcc", "env": "envs/torch.yaml"},
    },
    "isomap": {"n_neighbors": 8},
    "regression": {"n_neighbors": 5},
    "figures": {"extra_formats": ["svg"], "grid_rows": 3, "grid_cols": 3},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("external_synth")
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_synthesizers"),
                                                         os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
         "--configfile", str(config), "--directory", str(workdir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir / "results"


def test_tables_have_the_four_factors(results):
    params = pd.read_csv(results / "datasets/tones/params.csv")
    assert list(params.columns) == ["sound_id", *FACTORS] and len(params) == 48
    description = json.loads((results / "datasets/tones/parameters.json").read_text())
    assert [p["name"] for p in description["parameters"]] == FACTORS
    assert description["synthesizer"] == "four_factor_synth" and description["design"] == "sobol"
    for model in ("base", "mfcc"):
        table = pd.read_csv(results / f"regression/tones/{model}.csv")
        assert [c for c in table.columns if c.endswith("_error")] == [f"{f}_error" for f in FACTORS]
        # balance is in dB, negative: no ratio, only the error.
        assert table["balance_ratio"].isna().all() and table["pitch_ratio"].notna().all()
    summary = pd.read_csv(results / "regression/tones/summary.csv")
    assert summary["parameter"].tolist() == FACTORS * 2
    assert summary.set_index("parameter")["ratio_scale"].to_dict() == {
        "pitch": True, "spread": True, "balance": False, "ring": True,
    }  # fmt: skip
    metrics = pd.read_csv(results / "metrics/tones.csv")
    per_parameter = set(metrics["parameter"]) - {"all"}
    assert set(FACTORS) <= per_parameter
    invariance = metrics["metric"].str.startswith("invariance_")
    pairs = {p for p in metrics.loc[~invariance, "parameter"].dropna() if "|" in p}
    assert len(pairs) == 6 and all(set(p.split("|")) <= set(FACTORS) for p in pairs)
    # Invariance: every ordered (target, nuisance) pair.
    ordered = set(metrics.loc[invariance, "parameter"])
    assert ordered == {f"{a}|{b}" for a in FACTORS for b in FACTORS if a != b}
    assert not {"f1", "alpha", "r"} & per_parameter


def svg_texts(path):
    # matplotlib writes each text's string in a comment before its glyphs.
    return set(re.findall(r"<!-- (.*?) -->", path.read_text()))


def test_figures_and_views_show_the_four_factors(results):
    figures = results / "figures/tones"
    isomap = svg_texts(figures / "figure3_isomap.svg")
    assert set(FACTORS) <= isomap and {"Hz", "dB", "s"} <= isomap  # titles and colorbar units
    regression = svg_texts(figures / "figure4_regression.svg")
    assert set(FACTORS) <= regression and "(estimated - true) / range" in regression
    sounds = svg_texts(figures / "figure2_sounds.svg")
    # Rows and columns: the synthesizer's FIGURE_GRID; titles: the other two.
    assert any(text.startswith("balance = ") for text in sounds)
    assert any(text.startswith("ring = ") for text in sounds)
    assert any(text.startswith("pitch = ") and "spread = " in text for text in sounds)
    for model in ("base", "mfcc"):
        view = (results / f"views/tones/{model}.html").read_text()
        for factor in FACTORS:
            assert f'"label":"colour: {factor}"' in view
        assert "pitch (Hz) = " in view and "balance (dB) = " in view


def test_provenance_records_the_synthesizer_and_its_parameters(results):
    record = json.loads((results / "provenance.json").read_text())
    tones = record["datasets"]["tones"]
    assert tones["synthesizer"] == "four_factor_synth"
    assert [(p["name"], p["unit"], p["scale"]) for p in tones["parameters"]] == [
        ("pitch", "Hz", "mel"), ("spread", "", "log"), ("balance", "dB", "linear"), ("ring", "s", "log"),
    ]  # fmt: skip
