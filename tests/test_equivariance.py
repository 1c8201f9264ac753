"""gear.analysis.equivariance against designs and embeddings with a known answer.

Every design and embedding is built here, independently of gear: a
shuffled factorial grid, a sweeps design (random anchors, each factor swept
over the same values with the others held at the anchor), and embeddings
that are equivariant, random, invariant, or whose code of one factor
rotates with another. One test feeds GEAR's own grid and sweeps designs
through a params.csv round trip, to check that their lines are found.
"""

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from gear.analysis.equivariance import (
    _resampled_sums,
    COLUMNS,
    displacement_consistency,
    equivariance_r2,
    equivariance_table,
    invariance_r2,
    metric_rows,
    nuisance_halves,
    one_factor_pairs,
    probe_features,
)
from gear.analysis import equivariance
from gear.designs import Range, design_table
from gear.errors import ConfigError, DataError
from gear.parameters import Parameter, analysis_matrix

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "equivariance.py"

N_RESAMPLES = 200


def grid_design(*sizes, seed=0):
    """Every combination of ``linspace(0, 1, size)`` per factor, rows shuffled."""
    axes = np.meshgrid(*[np.linspace(0.0, 1.0, size) for size in sizes], indexing="ij")
    values = np.stack([axis.ravel() for axis in axes], axis=1)
    return values[np.random.default_rng(seed).permutation(len(values))]


def sweeps_design(n_anchors, n_steps, n_factors, seed=0):
    """Per anchor and factor: ``n_steps`` values of the factor, the others at the anchor."""
    anchors = np.random.default_rng(seed).random((n_anchors, n_factors))
    steps = np.linspace(0.0, 1.0, n_steps)
    rows = []
    for anchor in anchors:
        for swept in range(n_factors):
            block = np.tile(anchor, (n_steps, 1))
            block[:, swept] = steps
            rows.append(block)
    return np.vstack(rows)


def smooth_code(values, dim, seed):
    """A smooth nonlinear map of the factors to ``dim`` dimensions (random Fourier features)."""
    rng = np.random.default_rng(seed)
    frequencies = rng.normal(0.0, 2.0, (values.shape[1], dim))
    phases = rng.uniform(0, 2 * np.pi, dim)
    return np.cos(values @ frequencies + phases)


def translation(values, factor, dim=48, noise=0.01, seed=1):
    """``e = base(other factors) + value * direction``: equivariant to ``factor`` by construction."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=dim)
    others = np.delete(values, factor, axis=1)
    return (
        smooth_code(others, dim, seed)
        + values[:, [factor]] * direction
        + noise * rng.normal(size=(len(values), dim))
    )


@pytest.fixture(scope="module")
def grid():
    return grid_design(8, 5, 5)  # 200 sounds


@pytest.fixture(scope="module")
def sweeps():
    return sweeps_design(12, 8, 3)  # 288 sounds


# Pairs.


def brute_force_pairs(values, factor, max_offset):
    """Every (i, j) differing in ``factor`` only, at most ``max_offset`` steps apart along their line."""
    pairs = set()
    for i, j in itertools.permutations(range(len(values)), 2):
        others_equal = np.array_equal(np.delete(values[i], factor), np.delete(values[j], factor))
        if not others_equal or values[j, factor] <= values[i, factor]:
            continue
        line = [
            k
            for k in range(len(values))
            if np.array_equal(np.delete(values[k], factor), np.delete(values[i], factor))
        ]
        distinct = np.unique(values[line, factor])
        steps = np.searchsorted(distinct, values[j, factor]) - np.searchsorted(distinct, values[i, factor])
        if steps <= max_offset:
            pairs.add((i, j, steps))
    return pairs


@pytest.mark.parametrize("design", ["grid", "sweeps"])
@pytest.mark.parametrize("max_offset", [1, 3])
def test_pairs_are_every_one_factor_change_within_the_offset(design, max_offset):
    values = grid_design(5, 3, 2) if design == "grid" else sweeps_design(3, 5, 3)
    for factor in range(values.shape[1]):
        pairs = one_factor_pairs(values, factor, max_offset=max_offset)
        found = set(zip(pairs.before.tolist(), pairs.after.tolist(), pairs.offset.tolist(), strict=True))
        assert found == brute_force_pairs(values, factor, max_offset)


def test_pairs_of_a_grid_and_a_sweeps_design_count_as_expected(grid, sweeps):
    # 8 values along 25 lines: sum over offsets 1..4 of (8 - offset) pairs per line.
    pairs = one_factor_pairs(grid, 0, max_offset=4)
    assert pairs.n_lines == 25
    assert len(pairs.before) == 25 * sum(8 - offset for offset in range(1, 5))
    # One line per anchor and factor; lines are labelled 0 .. n_lines - 1.
    pairs = one_factor_pairs(sweeps, 1, max_offset=1)
    assert pairs.n_lines == 12
    assert len(pairs.before) == 12 * 7
    assert set(pairs.line.tolist()) == set(range(12))
    # Every pair of a line shares the other factors; the factor grows.
    assert np.array_equal(
        np.delete(sweeps[pairs.before], 1, axis=1), np.delete(sweeps[pairs.after], 1, axis=1)
    )
    assert (sweeps[pairs.after, 1] > sweeps[pairs.before, 1]).all()


def test_a_random_design_has_no_pairs_and_no_equivariance_rows(rng):
    values = rng.random((150, 3))
    assert len(one_factor_pairs(values, 0).before) == 0
    table = equivariance_table(rng.normal(size=(150, 8)), values, ["x", "y", "z"], n_resamples=N_RESAMPLES)
    assert not table["metric"].isin(["equivariance_r2", "displacement_cosine"]).any()
    assert (table["metric"] == "invariance_within_r2").sum() == 6  # ordered pairs of 3 factors


@pytest.mark.parametrize("design", ["grid", "sweeps"])
def test_gear_designs_give_their_lines_through_a_params_csv(design, tmp_path):
    # GEAR's own designs, log-scaled like a frequency, written and read back
    # as params.csv is: the lines survive the analysis scale and the CSV.
    ranges = [
        Range("pitch", 110.0, 880.0, 6, "log"),
        Range("brightness", 0.0, 1.0, 4),
        Range("decay", 0.1, 2.0, 3),
    ]
    table = design_table(ranges, design, n_anchors=5, n_steps=7, seed=2)
    pd.DataFrame(table).to_csv(tmp_path / "params.csv", index=False)
    params = pd.read_csv(tmp_path / "params.csv")
    values = analysis_matrix(params, [Parameter(r.name, scale=r.scale) for r in ranges])
    for factor, size in enumerate((6, 4, 3)):
        pairs = one_factor_pairs(values, factor, max_offset=1)
        if design == "grid":
            assert pairs.n_lines == 72 // size and len(pairs.before) == (72 // size) * (size - 1)
        else:
            assert pairs.n_lines == 5 and len(pairs.before) == 5 * 6
        # Equal steps: the same values on every line.
        steps = np.unique(
            np.column_stack([values[pairs.before, factor], values[pairs.after, factor]]), axis=0
        )
        assert len(steps) == (size - 1 if design == "grid" else 6)


def test_repeated_sounds_give_no_zero_change(grid):
    values = np.vstack([grid, grid[:40]])
    pairs = one_factor_pairs(values, 0)
    assert (values[pairs.after, 0] > values[pairs.before, 0]).all()
    assert len(pairs.before) == len(one_factor_pairs(grid, 0).before)


def test_pairs_reject_bad_input(grid):
    with pytest.raises(DataError, match="out of range"):
        one_factor_pairs(grid, 3)
    with pytest.raises(DataError, match="NaN"):
        one_factor_pairs(np.where(grid == 0, np.nan, grid), 0)
    with pytest.raises(ConfigError, match="max_offset"):
        one_factor_pairs(grid, 0, max_offset=0)


# Equivariance.


@pytest.mark.parametrize("design", ["grid", "sweeps"])
def test_an_exact_translation_scores_at_the_top(design, grid, sweeps):
    values = grid if design == "grid" else sweeps
    embedding = translation(values, 0)
    r2, low, high, n_lines = equivariance_r2(probe_features(embedding), values, 0, n_resamples=N_RESAMPLES)
    assert r2 > 0.98 and low > 0.95 and low <= r2 <= high
    cosine, low, high, _ = displacement_consistency(embedding, values, 0)
    assert cosine > 0.97 and low > 0.95 and low <= cosine <= high <= 1.0


def test_a_noiseless_translation_has_cosine_one(grid):
    cosine, low, high, _ = displacement_consistency(translation(grid, 0, noise=0.0), grid, 0)
    assert cosine == pytest.approx(1.0) and low == pytest.approx(1.0) and high == pytest.approx(1.0)


@pytest.mark.parametrize("design", ["grid", "sweeps"])
def test_a_random_embedding_scores_at_chance(design, grid, sweeps, rng):
    values = grid if design == "grid" else sweeps
    embedding = rng.normal(size=(len(values), 64))
    for factor in range(values.shape[1]):
        r2, low, high, _ = equivariance_r2(probe_features(embedding), values, factor, n_resamples=N_RESAMPLES)
        assert r2 < 0.05 and low < 0.0
        cosine, low, high, _ = displacement_consistency(embedding, values, factor)
        assert abs(cosine) < 0.05 and low < 0.0 < high


def test_an_embedding_blind_to_a_factor_is_at_chance_for_it(grid):
    # Depends on factors 1 and 2 only (a spectral envelope blind to pitch).
    embedding = smooth_code(grid[:, 1:], 48, seed=3) + 0.01 * np.random.default_rng(4).normal(
        size=(len(grid), 48)
    )
    features = probe_features(embedding)
    r2, _, _, _ = equivariance_r2(features, grid, 0, n_resamples=N_RESAMPLES)
    cosine, _, _, _ = displacement_consistency(embedding, grid, 0)
    assert r2 < 0.05 and abs(cosine) < 0.1
    # ... while the factors it does encode smoothly are predictable from pairs.
    assert equivariance_r2(features, grid, 1, n_resamples=N_RESAMPLES)[0] > 0.8


def test_held_out_lines_keep_per_sound_codes_from_leaking():
    # Each sound gets its own random code with more dimensions than sounds: a
    # probe that saw the test sounds in other pairs could read each sound's
    # value off its code; on held-out lines it cannot.
    values = grid_design(6, 6)
    embedding = np.random.default_rng(5).normal(size=(len(values), 60))
    r2, _, _, _ = equivariance_r2(probe_features(embedding), values, 0, n_resamples=N_RESAMPLES)
    assert r2 < 0.2


def test_the_r2_is_that_of_the_pairs_in_both_orders(grid):
    embedding = translation(grid, 0, noise=0.3)
    r2, _, _, n_lines, details = equivariance_r2(
        probe_features(embedding), grid, 0, n_resamples=20, return_details=True
    )
    truth, prediction = details["truth"], details["prediction"]
    # A pair and its reverse: opposite changes, opposite predictions.
    both_truth, both_prediction = np.r_[truth, -truth], np.r_[prediction, -prediction]
    assert r2 == pytest.approx(r2_score(both_truth, both_prediction))
    assert (truth > 0).all()
    assert len(np.unique(details["line"])) == n_lines == 25


def test_the_cosine_is_the_mean_over_pairs_of_anchors_of_the_same_step(rng):
    # Independent reference: all pairwise cosines of same-step displacements.
    values = sweeps_design(5, 4, 2, seed=2)
    embedding = rng.normal(size=(len(values), 6)) + values[:, [0]] * 2.0
    cosine, _, _, _ = displacement_consistency(embedding, values, 0)
    pairs = one_factor_pairs(values, 0, max_offset=1)
    per_step = {}
    for before, after in zip(pairs.before, pairs.after, strict=True):
        step = (values[before, 0], values[after, 0])
        displacement = embedding[after] - embedding[before]
        per_step.setdefault(step, []).append(displacement / np.linalg.norm(displacement))
    contributions = []
    for units in per_step.values():
        for i, unit in enumerate(units):
            contributions.append(np.mean([unit @ other for k, other in enumerate(units) if k != i]))
    assert cosine == pytest.approx(np.mean(contributions))


def test_chunks_of_rows_change_nothing(grid, rng, monkeypatch):
    embedding = rng.normal(size=(len(grid), 200)) + grid[:, [0]]
    whole = displacement_consistency(embedding, grid, 0), probe_features(embedding)
    monkeypatch.setattr(equivariance, "_CHUNK_ELEMENTS", 7 * 200)  # chunks of 7 rows
    chunked = displacement_consistency(embedding, grid, 0), probe_features(embedding)
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-12)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-9, atol=1e-12)


# Invariance.


def rotating_code(values, target, nuisance, dim=24, seed=6):
    """The target along a direction that turns by 90 degrees as the nuisance goes from 0 to 1."""
    rng = np.random.default_rng(seed)
    u, w, v = rng.normal(size=(3, dim))
    angle = values[:, [nuisance]] * np.pi / 2
    code = values[:, [target]] * (np.cos(angle) * u + np.sin(angle) * w) + values[:, [nuisance]] * v
    return code + 0.01 * rng.normal(size=(len(values), dim))


def fixed_code(values, target, nuisance, dim=24, seed=6):
    """The target and the nuisance along fixed directions."""
    rng = np.random.default_rng(seed)
    u, _, v = rng.normal(size=(3, dim))
    code = values[:, [target]] * u + values[:, [nuisance]] * v
    return code + 0.01 * rng.normal(size=(len(values), dim))


def test_halves_split_the_distinct_values_and_leave_out_the_middle():
    assert nuisance_halves(np.array([0.1, 0.5, 0.9, 0.3, 0.7])).tolist() == [0, -1, 1, 0, 1]
    assert nuisance_halves(np.array([2.0, 1.0, 2.0, 1.0])).tolist() == [1, 0, 1, 0]
    assert (nuisance_halves(np.ones(4)) == -1).all()


def test_a_code_that_turns_with_the_nuisance_loses_across(grid):
    embedding = rotating_code(grid, 0, 1)
    scores = invariance_r2(probe_features(embedding), grid, 1, targets=[0], n_resamples=N_RESAMPLES)[0]
    assert scores["within"] > 0.95
    assert scores["across"] < 0.5
    assert scores["difference"] == pytest.approx(scores["across"] - scores["within"])
    assert scores["difference_high"] < -0.3
    # 5 nuisance values: the middle one is left out.
    assert scores["n_sounds"] == len(grid) * 4 // 5


def test_a_code_that_does_not_turn_keeps_its_score(grid):
    embedding = fixed_code(grid, 0, 1)
    scores = invariance_r2(probe_features(embedding), grid, 1, n_resamples=N_RESAMPLES)[0]
    assert scores["within"] > 0.95 and scores["across"] > 0.95
    assert abs(scores["difference"]) < 0.02
    assert scores["difference_low"] <= scores["difference"] <= scores["difference_high"]


def test_invariance_details_are_out_of_part_predictions(grid):
    features = probe_features(fixed_code(grid, 0, 1))
    scores, details = invariance_r2(features, grid, 1, n_resamples=20, return_details=True)
    assert sorted(scores) == sorted(details) == [0, 2]  # every other factor is a target
    # Fitting the targets together gives each the scores it gets alone.
    assert scores[0] == invariance_r2(features, grid, 1, targets=[0], n_resamples=20)[0]
    details = details[0]
    assert set(np.unique(grid[details["rows"], 1])) == {0.0, 0.25, 0.75, 1.0}
    assert np.array_equal(details["truth"], grid[details["rows"], 0])
    assert not np.array_equal(details["within"], details["across"])


def test_a_probe_that_ignores_the_embedding_scores_zero_within_and_across(grid):
    # A constant embedding: every probe predicts its training mean. Scored
    # against the test sounds' own mean, it would lose more within (the
    # held-out fold's mean moves opposite to the training mean's) than
    # across, a spurious gain across.
    scores = invariance_r2(probe_features(np.ones((len(grid), 5))), grid, 1, n_resamples=50)
    for target in (0, 2):
        for key in ("within", "across", "difference", "difference_low", "difference_high"):
            assert scores[target][key] == pytest.approx(0.0, abs=1e-9)


def test_invariance_copes_with_few_distinct_sounds_and_large_values():
    # 4 distinct sounds per half, repeated: duplicates share a fold, so a
    # fold can be empty. A target far from 0 scores as one near 0.
    values = np.tile(grid_design(4, 2), (6, 1))
    embedding = fixed_code(values, 0, 1) + 0.1 * np.random.default_rng(8).normal(size=(len(values), 24))
    features = probe_features(embedding)
    near = invariance_r2(features, values, 1, n_resamples=50)[0]
    far = invariance_r2(features, values + [1e6, 0.0], 1, n_resamples=50)[0]
    assert near["n_sounds"] == len(values) and np.isfinite(near["within"])
    for key in ("within", "across", "difference", "difference_low", "difference_high"):
        assert far[key] == pytest.approx(near[key], abs=1e-6)


def test_invariance_rejects_the_same_factor_twice(grid):
    with pytest.raises(DataError, match="same factor"):
        invariance_r2(probe_features(fixed_code(grid, 0, 1)), grid, 1, targets=[0, 1])


def test_resampling_keeps_each_stratum_size():
    # Private helper of every interval: counts of units per resample.
    stats = np.eye(7)  # sums of the identity: the counts themselves
    strata = np.array([0, 0, 0, 1, 1, 2, 2])
    counts = _resampled_sums(stats, n_resamples=3000, seed=1, strata=strata)
    assert counts.shape == (3000, 7) and (counts >= 0).all()
    for stratum in range(3):
        assert (counts[:, strata == stratum].sum(axis=1) == (strata == stratum).sum()).all()
    np.testing.assert_allclose(counts.mean(axis=0), 1.0, atol=0.06)


# The table.


def test_the_table_has_every_score_with_an_interval(grid):
    embedding = translation(grid, 0)
    table = equivariance_table(embedding, grid, ["pitch", "brightness", "decay"], n_resamples=N_RESAMPLES)
    assert list(table.columns) == COLUMNS
    per_factor = table[table["nuisance"] == ""]
    assert sorted(per_factor["metric"].unique()) == ["displacement_cosine", "equivariance_r2"]
    assert len(per_factor) == 6
    pairs = table[table["nuisance"] != ""]
    assert len(pairs) == 6 * 3
    assert set(zip(pairs["parameter"], pairs["nuisance"], strict=True)) == {
        (a, b) for a in ("pitch", "brightness", "decay") for b in ("pitch", "brightness", "decay") if a != b
    }
    finite = table.dropna(subset=["value"])
    assert (
        (finite["ci_low"] <= finite["value"] + 1e-12) & (finite["value"] <= finite["ci_high"] + 1e-12)
    ).all()
    pitch = per_factor.set_index("metric").loc[:, "value"][
        per_factor.set_index("metric")["parameter"] == "pitch"
    ]
    assert pitch["equivariance_r2"] > 0.95 and pitch["displacement_cosine"] > 0.95
    rows = metric_rows(table)
    assert list(rows.columns) == ["parameter", "metric", "value", "ci_low", "ci_high"]
    assert "pitch|brightness" in set(rows["parameter"]) and "brightness|pitch" in set(rows["parameter"])
    assert set(rows.loc[rows["metric"] == "equivariance_r2", "parameter"]) == {"pitch", "brightness", "decay"}


def test_the_table_is_seeded(grid, rng):
    embedding = rng.normal(size=(len(grid), 16)).astype(np.float32)
    first = equivariance_table(embedding, grid, ["a", "b", "c"], seed=3, n_resamples=50)
    pd.testing.assert_frame_equal(
        first, equivariance_table(embedding, grid, ["a", "b", "c"], seed=3, n_resamples=50)
    )


def test_the_table_rejects_bad_input(grid, rng):
    embedding = rng.normal(size=(len(grid), 8))
    with pytest.raises(DataError, match="200 embeddings for 199"):
        equivariance_table(embedding, grid[:-1], ["a", "b", "c"])
    with pytest.raises(DataError, match="2 names for 3 factors"):
        equivariance_table(embedding, grid, ["a", "b"])
    with pytest.raises(DataError, match="NaN or infinite"):
        equivariance_table(np.where(embedding > 2, np.inf, embedding), grid, ["a", "b", "c"])
    with pytest.raises(DataError, match="at least 10"):
        equivariance_table(embedding[:5], grid[:5], ["a", "b", "c"])
    with pytest.raises(ConfigError, match="level"):
        equivariance_table(embedding, grid, ["a", "b", "c"], level=1.5)


def test_the_benchmark_runs_and_prints_its_ratios(capsys):
    # Smoke test of benchmarks/equivariance.py at its tiny size; no speed is asserted.
    spec = importlib.util.spec_from_file_location("equivariance_benchmark", BENCHMARK)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    assert benchmark.main(["--tiny"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("ratio ours/ridge") == 5
    assert "peak ratio" in printed
