"""The human timbre stage from files to files: per-anchor scores per model, one table across models."""

import json
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from gear.pipeline import ANCHOR_COLUMNS, align_timbre, check_model, summarize_timbre

DATASETS = ["Grey1977", "Iverson1993_Onset"]


@pytest.fixture
def fake_models(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fake_models"))
    yield
    sys.modules.pop("crashing_model", None)


def run_model(tmp_path, model_id, module_name, data_record):
    status = tmp_path / f"{model_id}.status.json"
    check_model(status, model_id=model_id, module_name=module_name)
    anchors, stats = tmp_path / f"{model_id}.csv", tmp_path / f"{model_id}.json"
    align_timbre(data_record, status, anchors, stats, model_id=model_id, module_name=module_name, datasets=DATASETS)
    return anchors, stats


@pytest.fixture
def data_record(timbre_mirror, tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"available": True, "root": str(timbre_mirror), "reason": None}))
    return path


def test_two_models_scored_and_tied_on_the_same_anchors(tmp_path, data_record, fake_models):
    outputs = {model_id: run_model(tmp_path, model_id, module, data_record)
               for model_id, module in (("base", "gear.models.base"), ("mfcc", "gear.models.mfcc"),
                                        ("crashing", "crashing_model"))}  # fmt: skip
    base = pd.read_csv(outputs["base"][0])
    assert list(base.columns) == ANCHOR_COLUMNS
    # 16 + 16 anchors (Grey 1977, Iverson 1993 onsets), each under both distances.
    assert len(base) == 2 * (16 + 16) and set(base["distance"]) == {"l2", "cosine"}
    crashed = json.loads(outputs["crashing"][1].read_text())
    assert not crashed["available"]
    assert "timbre dataset Grey1977, " in crashed["reason"] and "simulated out-of-memory" in crashed["reason"]
    table = tmp_path / "scores.csv"
    summarize_timbre({m: paths[0] for m, paths in outputs.items()}, {m: paths[1] for m, paths in outputs.items()},
                     table, n_resamples=200)  # fmt: skip
    scores = pd.read_csv(table)
    assert scores.loc[scores["model"] == "crashing", "unavailable"].str.contains("simulated out-of-memory").all()
    scored = scores[scores["unavailable"].isna()]
    assert set(scored["dataset"]) == {*DATASETS, "pooled"}
    assert ((scored["ci_low"] <= scored["value"]) & (scored["value"] <= scored["ci_high"])).all()
    assert (scored["ci_high"] - scored["ci_low"] > 0).all()
    pooled = scored[scored["dataset"] == "pooled"]
    for (_, metric), group in pooled.groupby(["distance", "metric"]):
        best = group["value"].idxmin() if metric == "mae" else group["value"].idxmax()
        assert group.loc[best, "tied_with_best"]  # the best is tied with itself
    assert scored.loc[scored["dataset"] != "pooled", "tied_with_best"].isna().all()


def test_missing_data_gives_one_line_for_every_model(tmp_path):
    record = tmp_path / "data.json"
    reason = "human timbre data unavailable: https://raw.githubusercontent.com/...: download failed: no network"
    record.write_text(json.dumps({"available": False, "root": None, "reason": reason}))
    anchors, stats = run_model(tmp_path, "base", "gear.models.base", record)
    assert pd.read_csv(anchors).empty
    assert json.loads(stats.read_text())["reason"] == reason
    summarize_timbre({"base": anchors}, {"base": stats}, tmp_path / "scores.csv", n_resamples=10)
    assert pd.read_csv(tmp_path / "scores.csv")["unavailable"].tolist() == [reason]


def test_evaluate_returns_the_workflows_alignment(tmp_path, timbre_mirror):
    import gear

    record = tmp_path / "data.json"
    record.write_text(json.dumps({"available": True, "root": str(timbre_mirror), "reason": None}))
    status = tmp_path / "mfcc.status.json"
    check_model(status, model_id="mfcc", module_name="gear.models.mfcc")
    anchors, stats = tmp_path / "mfcc.csv", tmp_path / "mfcc.json"
    align_timbre(record, status, anchors, stats, model_id="mfcc", module_name="gear.models.mfcc")
    summarize_timbre({"mfcc": anchors}, {"mfcc": stats}, tmp_path / "scores.csv")
    workflow = pd.read_csv(tmp_path / "scores.csv").set_index(["dataset", "distance", "metric"])
    spec = {"synthesizer": "harmonic", "duration": 0.2, "parameters": {"f1": {"min": 100, "max": 800, "num": 4},
            "alpha": {"min": 0, "max": 2, "num": 3}, "r": {"min": 0, "max": 1, "num": 3}}}  # fmt: skip
    evaluation = gear.evaluate("gear.models.mfcc", spec, isomap={"n_neighbors": 8}, regression={"n_neighbors": 5},
                               equivariance=False, timbre=timbre_mirror, return_details=True,
                               cache_dir=tmp_path / "cache")  # fmt: skip
    ours = evaluation.timbre.set_index(["dataset", "distance", "metric"])
    assert len(ours) == len(workflow) == 22 * 2 * 5
    np.testing.assert_allclose(ours["value"], workflow.loc[ours.index, "value"], rtol=1e-12)
    np.testing.assert_allclose(ours[["low", "high"]], workflow.loc[ours.index, ["ci_low", "ci_high"]], rtol=1e-12)
    rows = evaluation.metrics[evaluation.metrics["dataset"] == "timbre"]
    assert set(rows["metric"]) == {f"timbre_{m}" for m in ("mae", "ndcg", "spearman", "kendall", "triplet")}
    assert set(rows["parameter"]) == {"l2", "cosine"} and rows["ci_low"].notna().all()
