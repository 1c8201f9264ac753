"""The equivariance and invariance scores as wired into GEAR's metrics, ties, scorecard and figures.

The scores themselves are tested in tests/test_equivariance.py; here: they
reach the metrics table (with intervals, only where the design allows, not
when switched off, under the configured distance), the tie test between
models, the scorecard and their heat map.
"""

import numpy as np
import pandas as pd
import pytest

from gear.figures import NO_INVARIANCE, plot_invariance
from gear.metrics import compute_metrics, tied_with_best
from gear.analysis.equivariance import equivariance_table, metric_rows
from gear.analysis.features import parameter_matrix
from gear.io import save_array, save_table
from gear.parameters import DatasetDescription, Parameter, write_description
from gear.pipeline import draw_invariance, gather_metrics, measure
from gear.synthesizers.gear2023 import published_design

PARAMETERS = [Parameter("f1", unit="Hz", scale="log"), Parameter("alpha"), Parameter("r")]
NAMES = [p.name for p in PARAMETERS]
ORDERED_PAIRS = [f"{t}|{n}" for t in NAMES for n in NAMES if t != n]
EQUIVARIANCE = ("equivariance_r2", "displacement_cosine")
INVARIANCE = ("invariance_within_r2", "invariance_across_r2", "invariance_r2_difference")
FAST = dict(parameters=PARAMETERS, n_resamples=100, mlp=False)


def params_of(f1, alpha, r):
    return pd.DataFrame({"sound_id": [f"{i:05d}" for i in range(len(f1))], "f1": f1, "alpha": alpha, "r": r})


@pytest.fixture(scope="module")
def grid():
    """A 6 x 5 x 5 grid of (f1, alpha, r): every factor changes alone along lines."""
    f1, alpha, r = (
        values.ravel()
        for values in np.meshgrid(np.geomspace(100, 800, 6), np.linspace(0, 2, 5), np.linspace(0, 1, 5),
                                  indexing="ij")  # fmt: skip
    )
    params = params_of(f1, alpha, r)
    return params, parameter_matrix(params, PARAMETERS)


def standardized(values):
    return (values - values.mean(axis=0)) / values.std(axis=0)


def rows_of(metrics, metrics_names):
    return metrics[metrics["metric"].isin(metrics_names)]


def test_a_grid_gets_every_score_with_a_finite_interval(grid):
    params, targets = grid
    identity = standardized(targets)
    metrics = compute_metrics(identity, identity, params, **FAST)
    equivariance = rows_of(metrics, EQUIVARIANCE)
    assert sorted(zip(equivariance["parameter"], equivariance["metric"])) == sorted(
        (name, metric) for name in NAMES for metric in EQUIVARIANCE
    )
    invariance = rows_of(metrics, INVARIANCE)
    assert sorted(zip(invariance["parameter"], invariance["metric"])) == sorted(
        (pair, metric) for pair in ORDERED_PAIRS for metric in INVARIANCE
    )
    scored = pd.concat([equivariance, invariance])
    assert np.isfinite(scored[["value", "ci_low", "ci_high"]].to_numpy()).all()
    assert (scored["ci_low"] <= scored["value"] + 1e-12).all()
    assert (scored["value"] <= scored["ci_high"] + 1e-12).all()
    # The embedding is the factors themselves: every step moves every sound by the same vector.
    values = equivariance.set_index(["parameter", "metric"])["value"]
    for name in NAMES:
        assert values[(name, "equivariance_r2")] == pytest.approx(1.0, abs=1e-6)
        assert values[(name, "displacement_cosine")] == pytest.approx(1.0, abs=1e-9)


def test_a_random_design_has_invariance_but_no_equivariance_rows(rng):
    params = params_of(*(rng.uniform(low, high, 300) for low, high in ((100, 800), (0, 2), (0, 1))))
    embedding = rng.normal(size=(300, 8))
    metrics = compute_metrics(embedding, embedding[:, :3], params, **FAST)
    assert rows_of(metrics, EQUIVARIANCE).empty  # absent, not NaN rows
    assert set(rows_of(metrics, INVARIANCE)["parameter"]) == set(ORDERED_PAIRS)


def test_gear2023_has_no_f1_lines_but_alpha_and_r_lines(rng):
    design = published_design(n_alpha=10, n_r=10)
    params = params_of(design["f1"], design["alpha"], design["r"])
    parameters = [Parameter("f1"), Parameter("alpha"), Parameter("r")]
    # Each (alpha, r) has one f1 (drawn per sound): f1 never changes alone.
    assert not params.duplicated(["alpha", "r"]).any()
    embedding = rng.normal(size=(len(params), 8))
    metrics = compute_metrics(embedding, embedding[:, :3], params, parameters=parameters, n_resamples=50,
                              mlp=False)  # fmt: skip
    assert set(rows_of(metrics, EQUIVARIANCE)["parameter"]) == {"alpha", "r"}


def test_switched_off_the_table_is_the_same_without_them(grid, rng):
    params, targets = grid
    embedding = standardized(targets) @ rng.normal(size=(3, 12)) + 0.1 * rng.normal(size=(len(targets), 12))
    with_them = compute_metrics(embedding, embedding[:, :3], params, **FAST)
    without = compute_metrics(embedding, embedding[:, :3], params, equivariance=False, **FAST)
    assert rows_of(without, EQUIVARIANCE + INVARIANCE).empty
    pd.testing.assert_frame_equal(without, rows_of(with_them, set(without["metric"])).reset_index(drop=True))


def test_cosine_distance_scores_the_normalised_rows(grid, rng):
    params, targets = grid
    embedding = np.c_[standardized(targets), np.ones(len(targets))] + 3.0
    scaled = embedding * rng.uniform(0.5, 4.0, (len(targets), 1))
    normalised = embedding / np.linalg.norm(embedding, axis=1, keepdims=True)

    def scores(rows, distance):
        metrics = compute_metrics(rows, embedding[:, :3], params, distance=distance, **FAST)
        return rows_of(metrics, EQUIVARIANCE + INVARIANCE).set_index(["parameter", "metric"])["value"]

    cosine = scores(scaled, "cosine")
    pd.testing.assert_series_equal(cosine, scores(normalised, "euclidean"), rtol=1e-9, atol=1e-9)
    # Each row's own scale is noise for the Euclidean displacements.
    euclidean = scores(scaled, "euclidean")
    assert euclidean[("f1", "displacement_cosine")] < cosine[("f1", "displacement_cosine")] - 0.1


# Ties with the best model.


@pytest.fixture(scope="module")
def three_models(grid):
    """Details of a good model, an identical copy, and a clearly worse one (noise)."""
    params, targets = grid
    rng = np.random.default_rng(1)
    good = standardized(targets) @ rng.normal(size=(3, 10)) + 0.2 * rng.normal(size=(len(targets), 10))
    worse = rng.normal(size=good.shape)
    details = {}
    for name, embedding in (("good", good), ("copy", good.copy()), ("worse", worse)):
        details[name] = compute_metrics(embedding, embedding[:, :3], params, return_details=True, **FAST)[1]
    return details


@pytest.mark.parametrize(
    "metric, parameter",
    [("equivariance_r2", "f1"), ("displacement_cosine", "alpha"), ("invariance_within_r2", "f1|r"),
     ("invariance_across_r2", "r|alpha")],
)  # fmt: skip
def test_identical_models_are_tied_and_a_clearly_worse_one_is_not(three_models, metric, parameter):
    tied = tied_with_best(three_models, metric, parameter, n_resamples=200)
    assert tied == {"good": True, "copy": True, "worse": False}


def test_models_scored_on_other_items_are_left_out(three_models, rng):
    axes = np.meshgrid(np.geomspace(100, 800, 4), np.linspace(0, 2, 5), np.linspace(0, 1, 5), indexing="ij")
    f1, alpha, r = (values.ravel() for values in axes)
    params = params_of(f1, alpha, r)
    other = standardized(parameter_matrix(params, PARAMETERS))
    details = compute_metrics(other, other, params, return_details=True, **FAST)[1]
    for metric, parameter in (("equivariance_r2", "f1"), ("invariance_across_r2", "r|alpha")):
        tied = tied_with_best({**three_models, "other grid": details}, metric, parameter, n_resamples=100)
        # The other grid's model is the best (exact), and no model shares its lines or sounds.
        assert tied == {"other grid": True}


# Scorecard and heat map.


def test_the_stage_functions_add_panels_ties_and_the_heat_map(grid, tmp_path, monkeypatch):
    from gear import figures

    drawn = []
    plot_scorecards = figures.plot_scorecards
    monkeypatch.setattr(
        figures, "plot_scorecards", lambda panels: drawn.extend(panels) or plot_scorecards(panels)
    )
    params, targets = grid
    rng = np.random.default_rng(2)
    save_table(tmp_path / "params.csv", params)
    write_description(tmp_path / "parameters.json", DatasetDescription(
        synthesizer="harmonic", parameters=PARAMETERS, design="grid", n_sounds=len(params), sample_rate=16000,
        duration=0.5, figure_grid=["alpha", "r"]))
    tables, details, sweeps = {}, {}, {}
    for model, embedding in (("exact", standardized(targets)), ("noise", rng.normal(size=(len(targets), 6)))):
        save_array(tmp_path / f"{model}.npy", embedding.astype(np.float32))
        save_array(tmp_path / f"{model}.isomap.npy", embedding[:, :3])
        tables[model], details[model], sweeps[model] = (tmp_path / f"{model}{suffix}" for suffix in
                                                        (".csv", ".details.npz", ".sweeps.csv"))  # fmt: skip
        measure(tmp_path / f"{model}.npy", tmp_path / f"{model}.isomap.npy", tmp_path / "params.csv",
                tmp_path / "parameters.json", tables[model], details[model], sweeps[model], dataset="grid",
                model_id=model, n_resamples=100)  # fmt: skip
    gather_metrics(tables, details, sweeps, tmp_path / "parameters.json", tmp_path / "metrics.csv",
                   tmp_path / "scorecard.png", tmp_path / "sweeps.png", labels={},
                   n_resamples=100)  # fmt: skip
    titles = [panel["title"] for panel in drawn]
    assert len(titles) == 5 and titles[3].startswith("Equivariance: R") and "cosine" in titles[4]
    assert drawn[3]["scores"].loc["exact"].to_numpy() == pytest.approx(1.0, abs=1e-6)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    scored = rows_of(metrics, EQUIVARIANCE + INVARIANCE)
    assert scored["tied_with_best"].notna().all()
    best = scored[(scored["model"] == "exact") & scored["metric"].isin(EQUIVARIANCE)]
    assert best["tied_with_best"].astype(bool).all()
    draw_invariance(tmp_path / "metrics.csv", tmp_path / "parameters.json", tmp_path / "invariance.png",
                    labels={"noise": "Noise"})  # fmt: skip
    assert (tmp_path / "invariance.png").read_bytes()[:4] == b"\x89PNG"


def test_the_heat_map_has_one_panel_per_model_with_values_and_ties():
    rows = []
    for model, loss in (("a", -0.05), ("b", -3.0)):
        for target in NAMES:
            for nuisance in NAMES:
                if target != nuisance:
                    rows.append({"model": model, "parameter": f"{target}|{nuisance}",
                                 "metric": "invariance_r2_difference", "value": loss, "ci_low": loss - 0.1,
                                 "ci_high": loss + 0.1, "tied_with_best": model == "a"})  # fmt: skip
    rows.append({**rows[0], "metric": "knn_r2", "parameter": "f1", "value": 0.9})
    figure = plot_invariance(pd.DataFrame(rows), PARAMETERS)
    axes = {ax.get_label(): ax for ax in figure.axes}
    assert {"invariance:a", "invariance:b"} <= set(axes)
    texts = [text.get_text() for text in axes["invariance:b"].texts]
    # Printed as they are, not clipped.
    assert len(texts) == 6 and all(text.startswith("-3.00\n[-3.10, -2.90]") for text in texts)
    # The clipped colour: the image holds the lower limit where the value is below it.
    image = axes["invariance:b"].images[0].get_array()
    assert image[0, 1] == -1.0 and np.isnan(np.ma.filled(image[0, 0], np.nan))  # the diagonal: no score
    frames = {patch.get_gid() for patch in axes["invariance:a"].patches}
    assert frames == {f"tied:a:{pair}" for pair in ORDERED_PAIRS}
    assert not axes["invariance:b"].patches


def test_the_heat_map_without_scores_says_so():
    empty = pd.DataFrame(columns=["model", "parameter", "metric", "value", "ci_low", "ci_high"])
    figure = plot_invariance(empty, PARAMETERS)
    assert [text.get_text() for text in figure.axes[0].texts] == [NO_INVARIANCE]


@pytest.mark.parametrize("dim", [12, 200, 400])
def test_the_table_holds_what_the_module_computes_alone(grid, dim):
    # compute_metrics reuses its probes' PCA where it can (narrow and wide
    # embeddings, not in between): the scores are those of the module alone.
    params, targets = grid
    rng = np.random.default_rng(dim)
    embedding = standardized(targets) @ rng.normal(size=(3, dim)) + rng.normal(size=(len(targets), dim))
    embedding = embedding.astype(np.float32)
    metrics = compute_metrics(embedding, embedding[:, :3], params, **FAST)
    alone = metric_rows(equivariance_table(embedding, targets, NAMES, n_resamples=100))
    got = rows_of(metrics, EQUIVARIANCE + INVARIANCE).set_index(["parameter", "metric"])
    expected = alone.set_index(["parameter", "metric"]).loc[got.index]
    np.testing.assert_allclose(got[["value", "ci_low", "ci_high"]], expected[["value", "ci_low", "ci_high"]],
                               rtol=0, atol=1e-6)  # fmt: skip
