"""The workflow end to end on a tiny configuration, plus lint and format checks."""

import copy
import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import soundfile
import yaml
from scipy.sparse.csgraph import connected_components
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold
from sklearn.neighbors import kneighbors_graph
from sklearn.preprocessing import StandardScaler

from conftest import ROOT, TEST_CONFIG, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def run(local_run):
    return local_run


def test_dataset_outputs(run):
    results, config = run
    params = pd.read_csv(results / "datasets/tiny/params.csv", dtype={"sound_id": str})
    assert list(params.columns) == ["sound_id", "f1", "alpha", "r"]
    assert len(params) == 3 * 4 * 3
    for sound_id in params["sound_id"]:
        info = soundfile.info(results / f"datasets/tiny/audio/{sound_id}.wav")
        assert info.subtype == "FLOAT" and info.samplerate == 16000 and info.frames == 4800


@pytest.mark.parametrize("model, dim, rate", [("base", 4096, 44100), ("crepe", 2048, 16000)])
def test_embedding_outputs(run, model, dim, rate):
    results, _ = run
    embeddings = np.load(results / f"embeddings/tiny/{model}.npy")
    assert embeddings.dtype == np.float32 and embeddings.shape == (36, dim)
    assert np.isfinite(embeddings).all()
    stats = json.loads((results / f"embeddings/tiny/{model}.json").read_text())
    assert stats["model_sample_rate"] == rate and stats["resampled"] is (rate != 16000)
    assert stats["n_sounds"] == 36 and stats["seconds"] > 0


@pytest.mark.parametrize("model", ["base", "crepe"])
def test_isomap_and_regression_outputs(run, model):
    results, _ = run
    coordinates = np.load(results / f"isomap/tiny/{model}.npy")
    assert coordinates.shape == (36, 3) and np.isfinite(coordinates).all()
    summary = json.loads((results / f"isomap/tiny/{model}.json").read_text())
    # The K-NN graph's components, counted independently (scikit-learn's graph, scipy's count).
    embeddings = np.load(results / f"embeddings/tiny/{model}.npy")
    n_components, labels = connected_components(kneighbors_graph(embeddings, 8), directed=False)
    assert summary["n_neighbors"] == 8 and summary["n_graph_components"] == n_components
    assert sorted(summary["component_sizes"]) == sorted(np.bincount(labels).tolist())
    assert (summary["joined_edges"] == 0) == (n_components == 1) and summary["method"] == "exact"
    table = pd.read_csv(results / f"regression/tiny/{model}.csv", dtype={"sound_id": str})
    assert len(table) == 36 and {"f1_ratio", "alpha_ratio", "r_ratio", "r_error"} <= set(table.columns)
    # alpha = 0 and r = 0 occur in the grid: their ratios are undefined.
    assert table["alpha_ratio"].isna().sum() == 9 and table["r_ratio"].isna().sum() == 12


def test_summary_and_figures(run):
    results, _ = run
    summary = pd.read_csv(results / "regression/tiny/summary.csv")
    assert sorted(summary["model"].unique()) == ["base", "crepe"]
    assert len(summary) == 2 * 3
    for name in ["figure2_sounds", "figure3_isomap", "figure4_regression"]:
        assert (results / f"figures/tiny/{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert (results / f"figures/tiny/{name}.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.parametrize("model", ["base", "crepe"])
def test_interactive_views(run, model):
    results, _ = run
    html = (results / f"views/tiny/{model}.html").read_text()
    assert "Plotly.newPlot" in html and "<script src=" not in html
    assert html.count("sound %{customdata[0]}") == 1


def test_report_gathers_figures_tables_and_views(run):
    results, _ = run
    # A zip report: its interactive views share one plotly.js (tests/test_report.py).
    report = results.parent / "report.zip"
    result = snakemake("--report", str(report), "--configfile", str(TEST_CONFIG), "--directory", str(results.parent))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with zipfile.ZipFile(report) as archive:
        html = archive.read("report/report.html").decode()
    for category in ("Figure 3: Isomap", "Figure 4: K-NN regression", "Interactive 3-D views", "K-NN regression"):
        assert category in html
    assert "figure3_isomap.png" in html and "coloured by each synthesis parameter" in html  # a caption
    assert "invariance.png" in html and "survives the change of the nuisance" in html


def test_metrics_table_and_scorecard(run):
    results, _ = run
    metrics = pd.read_csv(results / "metrics/tiny.csv")
    assert list(metrics.columns) == ["dataset", "model", "parameter", "metric", "value", "ci_low", "ci_high",
                                     "tied_with_best", "unavailable"]  # fmt: skip
    assert metrics["unavailable"].isna().all()
    assert set(metrics["model"]) == {"base", "crepe"} and set(metrics["dataset"]) == {"tiny"}
    ridge = metrics[metrics["metric"] == "ridge_r2"]
    assert len(ridge) == 2 * 3
    # The README's probe, recomputed with scikit-learn: ridge (penalty per parameter among
    # 1e-3 ... 1e5 by leave-one-out) on the standardized embedding, 5 shuffled folds (seed 0),
    # on each parameter's natural scale (log f1, alpha, r).
    params = pd.read_csv(results / "datasets/tiny/params.csv", dtype={"sound_id": str})
    targets = np.column_stack([np.log(params["f1"]), params["alpha"], params["r"]])
    for model in ("base", "crepe"):
        embeddings = np.load(results / f"embeddings/tiny/{model}.npy").astype(np.float64)
        varying = embeddings.std(axis=0) > 0
        features = StandardScaler().fit_transform(embeddings[:, varying])
        folds = KFold(n_splits=5, shuffle=True, random_state=0).split(features)
        expected = np.mean(
            [
                r2_score(
                    targets[test],
                    RidgeCV(alphas=np.logspace(-3, 5, 9), alpha_per_target=True)
                    .fit(features[train], targets[train])
                    .predict(features[test]),
                    multioutput="raw_values",
                )
                for train, test in folds
            ],
            axis=0,
        )
        got = ridge[ridge["model"] == model].set_index("parameter").loc[["f1", "alpha", "r"], "value"]
        np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-5)
    assert (results / "figures/tiny/scorecard.png").read_bytes()[:4] == b"\x89PNG"
    # Headline scores carry an interval around their value; the others none.
    headline = metrics[metrics["metric"].isin(["knn_r2", "mlp_r2", "monotonicity"])]
    assert len(headline) == 2 * 3 * 3  # a full grid: every parameter has sweeps
    assert (headline["ci_low"] <= headline["value"]).all() and (headline["value"] <= headline["ci_high"]).all()
    assert headline["tied_with_best"].notna().all()
    for metric in ("knn_r2", "mlp_r2", "monotonicity"):
        for parameter in ("f1", "alpha", "r"):
            best = headline[(headline["metric"] == metric) & (headline["parameter"] == parameter)]
            assert best.loc[best["value"].idxmax(), "tied_with_best"]  # the best is tied with itself
    assert metrics[metrics["metric"] == "ridge_r2"][["ci_low", "ci_high"]].isna().all().all()
    assert (results / "figures/tiny/sweeps.png").read_bytes()[:4] == b"\x89PNG"
    # Equivariance per factor and invariance per ordered pair (metrics: {equivariance: true}, the
    # default): every factor changes alone along the grid's lines, so every score is there.
    equivariance = metrics[metrics["metric"].isin(["equivariance_r2", "displacement_cosine"])]
    assert sorted(equivariance["parameter"]) == sorted(["f1", "alpha", "r"] * 2 * 2)
    invariance = metrics[metrics["metric"].isin(["invariance_within_r2", "invariance_across_r2",
                                                 "invariance_r2_difference"])]  # fmt: skip
    pairs = [f"{t}|{n}" for t in ("f1", "alpha", "r") for n in ("f1", "alpha", "r") if t != n]
    assert sorted(invariance["parameter"]) == sorted(pairs * 2 * 3)
    for scored in (equivariance, invariance):
        assert np.isfinite(scored[["value", "ci_low", "ci_high"]].to_numpy()).all()
        assert (scored["ci_low"] <= scored["value"]).all() and (scored["value"] <= scored["ci_high"]).all()
        assert scored["tied_with_best"].notna().all()
        for _, group in scored.groupby(["metric", "parameter"]):
            assert group.loc[group["value"].idxmax(), "tied_with_best"]  # the best is tied with itself
    assert (results / "figures/tiny/invariance.png").read_bytes()[:4] == b"\x89PNG"
    profiles = pd.read_csv(results / "metrics/tiny/base.sweeps.csv")
    assert set(profiles["parameter"]) == {"f1", "alpha", "r"} and (profiles["median"].between(0, 1)).all()


def test_rerun_has_nothing_to_do(run):
    results, _ = run
    dry = snakemake("-n", "--configfile", str(TEST_CONFIG), "--directory", str(results.parent))
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr


def _planned_jobs(output):
    """(rule, first output) of every job a dry run plans."""
    jobs, rule = [], None
    for line in output.splitlines():
        line = line.strip()
        if line.startswith(("rule ", "checkpoint ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.startswith("output:") and rule is not None:
            jobs.append((rule, line.split()[1].rstrip(",")))
            rule = None
    return jobs


@pytest.fixture
def finished_copy(run, tmp_path):
    """A copy of the finished tiny run (timestamps and Snakemake metadata kept)."""
    results, config = run
    workdir = tmp_path / "copy"
    shutil.copytree(results.parent, workdir, symlinks=True)
    return workdir, copy.deepcopy(config)


def test_adding_a_model_plans_only_its_jobs(finished_copy):
    workdir, config = finished_copy
    config["models"]["mfcc"] = {"module": "gear.models.mfcc", "env": "envs/torch.yaml"}
    changed = workdir / "added.yaml"
    changed.write_text(yaml.safe_dump(config))
    # The new model's availability is a checkpoint: settle it, then plan.
    check = snakemake("--cores", "1", "--configfile", str(changed), "--directory", str(workdir), "results/models/mfcc.json")
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    dry = snakemake("-n", "--configfile", str(changed), "--directory", str(workdir))
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    jobs = _planned_jobs(dry.stdout)
    per_model = {"embed", "isomap", "regress", "view", "metrics"}
    planned = {rule for rule, _ in jobs}
    assert per_model <= planned, planned
    for rule, output in jobs:
        if rule in per_model:
            assert "/mfcc." in output, (rule, output)
    assert not planned & {"synthesize", "check_model"}, planned


def test_changing_a_plotting_option_recomputes_no_embedding(finished_copy):
    workdir, config = finished_copy
    config["figures"]["point_size"] = 3.0
    changed = workdir / "plotting.yaml"
    changed.write_text(yaml.safe_dump(config))
    dry = snakemake("-n", "--configfile", str(changed), "--directory", str(workdir))
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    planned = {rule for rule, _ in _planned_jobs(dry.stdout)}
    assert planned, "a plotting change must redraw some figures"
    # provenance.json records the whole config, so it is rewritten.
    assert planned == {"figure_isomap", "provenance"}, planned


def test_lint_is_clean():
    result = snakemake("--lint", "--configfile", str(TEST_CONFIG), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_typo_in_config_fails_before_any_job(tmp_path):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["isomap"]["n_neighbours"] = 8
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake("-n", "--configfile", str(bad), "--directory", str(tmp_path))
    assert result.returncode != 0
    assert "config: isomap: Additional properties are not allowed ('n_neighbours' was unexpected)" in (
        result.stdout + result.stderr
    )
    assert not (tmp_path / "results").exists()
