"""gear.analysis (features, bootstrap, probes, sweeps) against cases with a known answer."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, spearmanr
from sklearn.metrics import r2_score
from sklearn.metrics.pairwise import cosine_distances

from gear.errors import ConfigError, DataError
from gear.analysis.bootstrap import (
    bootstrap_ci,
    bootstrap_replicates,
    median_abs_log_ratio_ci,
    paired_bootstrap_p,
    r2_ci,
)
from gear.analysis.features import duplicate_groups, pca_scores, prepare_distance
from gear.analysis.probes import grouped_folds, mlp_r2, ridge_r2
from gear.analysis.sweeps import sweep_scores, sweeps_from_grid
from gear.regression import summarize


def lattice(*sizes):
    """Every combination of ``range(size)`` per parameter, as float rows (a grid design)."""
    axes = np.meshgrid(*[np.arange(size, dtype=np.float64) for size in sizes], indexing="ij")
    return np.stack([axis.ravel() for axis in axes], axis=1)


@pytest.fixture(scope="module")
def grid():
    """A shuffled 10 x 10 x 10 grid: 100 lines of 10 points along each parameter."""
    values = lattice(10, 10, 10)
    return values[np.random.default_rng(7).permutation(len(values))]


# Distance.


def test_cosine_is_euclidean_on_normalised_rows(rng):
    points = rng.standard_normal((30, 5))
    prepared = prepare_distance(points, "cosine")
    chord = np.linalg.norm(prepared[:, None] - prepared[None], axis=2)
    # |u - v|^2 = 2 (1 - cos) for unit vectors.
    np.testing.assert_allclose(chord**2, 2 * cosine_distances(points), atol=1e-12)
    assert prepare_distance(points, "euclidean") is points


def test_cosine_leaves_zero_rows_at_the_origin_without_warnings(rng):
    points = np.r_[rng.standard_normal((3, 4)), np.zeros((2, 4))].astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepared = prepare_distance(points, "cosine")
    assert prepared.dtype == np.float32
    np.testing.assert_array_equal(prepared[3:], 0.0)
    np.testing.assert_allclose(np.linalg.norm(prepared[:3], axis=1), 1.0, rtol=1e-6)


def test_unknown_distance_is_refused_by_name():
    with pytest.raises(ConfigError, match="distance"):
        prepare_distance(np.ones((3, 2)), "manhattan")
    with pytest.raises(ConfigError, match="distance"):
        sweep_scores(np.ones((3, 2)), [np.arange(3)], distance="cityblock")


def test_cosine_sweep_scores_ignore_the_scale_of_each_row(grid, rng):
    embedding = np.c_[grid, rng.standard_normal((len(grid), 3))]
    embedding += 0.5 * rng.standard_normal(embedding.shape)
    scaled = embedding * rng.uniform(0.1, 10, (len(grid), 1))
    sweeps = sweeps_from_grid(grid, 0)
    for key in ("monotonicity", "smoothness", "profile"):
        np.testing.assert_allclose(
            sweep_scores(scaled, sweeps, "cosine")[key], sweep_scores(embedding, sweeps, "cosine")[key]
        )
    # Euclidean distance does see the scale: the check above can fail.
    assert not np.allclose(
        sweep_scores(scaled, sweeps)["monotonicity"], sweep_scores(embedding, sweeps)["monotonicity"]
    )


# Sweeps.


def test_sweeps_are_grid_lines_in_parameter_order(grid):
    for parameter in range(3):
        sweeps = sweeps_from_grid(grid, parameter)
        assert len(sweeps) == 100
        others = [p for p in range(3) if p != parameter]
        covered = np.concatenate(sweeps)
        np.testing.assert_array_equal(np.sort(covered), np.arange(len(grid)))  # a partition
        for rows in sweeps:
            np.testing.assert_array_equal(grid[rows, parameter], np.arange(10))
            assert (grid[rows][:, others] == grid[rows[0], others]).all()


def test_short_lines_and_repeated_sounds(rng):
    values = lattice(2, 4)  # along parameter 0, lines of 2 points only
    assert sweeps_from_grid(values, 0) == []
    assert len(sweeps_from_grid(values, 1)) == 2
    # A sound repeated (as where two sweeps of a sweeps design share their
    # anchor) is kept once, at its first row.
    repeated = np.r_[values, values[[5]]]
    sweeps = sweeps_from_grid(repeated, 1)
    assert [len(rows) for rows in sweeps] == [4, 4] and 8 not in np.concatenate(sweeps)
    # A random design has no lines.
    assert sweeps_from_grid(rng.uniform(size=(200, 3)), 0) == []
    with pytest.raises(ConfigError, match="min_points"):
        sweeps_from_grid(values, 1, min_points=2)


def test_an_embedding_that_is_the_parameter_is_monotonic_and_even(grid):
    for parameter in range(3):
        scores = sweep_scores(grid, sweeps_from_grid(grid, parameter))
        np.testing.assert_allclose(scores["monotonicity"], 1.0)
        np.testing.assert_allclose(scores["smoothness"], 1 / 9)  # 9 equal steps
        np.testing.assert_allclose(scores["profile_median"], np.arange(10) / 9)
        assert scores["n_sweeps"] == 100 and scores["n_still"] == 0


def test_a_folded_parameter_is_not_monotonic(grid):
    # The parabola (t - 4.5)^2 goes back to its start: distances from the
    # start along t = 0..9 are 8, 14, 18, 20, 20, 18, 14, 8, 0 (by hand).
    folded = np.c_[(grid[:, 0] - 4.5) ** 2, grid[:, 1:]]
    scores = sweep_scores(folded, sweeps_from_grid(grid, 0))
    expected = spearmanr(np.arange(1, 10), [8, 14, 18, 20, 20, 18, 14, 8, 0]).statistic
    np.testing.assert_allclose(scores["monotonicity"], expected)
    assert scores["monotonicity_mean"] < 0.0  # clearly below 1
    # The profile rises to the fold and comes back to 0.
    assert scores["profile_median"][4] == 1.0 and scores["profile_median"][-1] == 0.0


def test_a_content_blind_embedding_scores_about_zero(grid, rng):
    # Independent random points: the 9 distances from each sweep's start are
    # exchangeable, so each sweep's Spearman has mean 0 and variance
    # 1 / (9 - 1) exactly, and the 100 sweeps are independent: the mean has
    # standard deviation sqrt(1 / 800) = 0.035. 4 of them: 0.14. (Counting
    # the start, at distance 0, would bias it to 3 / 11 = 0.27.)
    for parameter in range(3):
        scores = sweep_scores(rng.standard_normal((len(grid), 16)), sweeps_from_grid(grid, parameter))
        assert abs(scores["monotonicity_mean"]) < 0.14
        # Spread: the variance of 100 values near 1/8 (standard error ~0.018).
        assert 0.07 < scores["monotonicity"].var() < 0.19


def test_monotonicity_matches_scipy_with_ties(rng):
    # Sweeps of 6 points on a 1-D embedding with repeated values: ties.
    embedding = rng.integers(0, 4, (60, 1)).astype(float)
    sweeps = [np.arange(start, start + 6) for start in range(0, 60, 6)]
    scores = sweep_scores(embedding, sweeps)
    for rows, rho in zip(sweeps, scores["monotonicity"], strict=True):
        distance = np.abs(embedding[rows[1:], 0] - embedding[rows[0], 0])
        reference = spearmanr(np.arange(5), distance).statistic if np.ptp(distance) > 0 else 0.0
        np.testing.assert_allclose(rho, reference, atol=1e-12)


def test_a_jump_is_not_smooth_and_a_still_sweep_has_no_trend(grid):
    sweeps = sweeps_from_grid(grid, 0)
    jump = np.c_[(grid[:, 0] >= 5).astype(float), grid[:, 1:]]
    scores = sweep_scores(jump, sweeps)
    np.testing.assert_allclose(scores["smoothness"], 1.0)  # one step carries the whole path
    still = sweep_scores(grid[:, 1:], sweeps)  # blind to parameter 0
    np.testing.assert_array_equal(still["monotonicity"], 0.0)
    assert np.isnan(still["smoothness"]).all() and np.isnan(still["smoothness_mean"])
    assert still["n_still"] == 100 and (still["profile"] == 0).all()


def test_sweeps_of_unequal_lengths_are_padded(rng):
    embedding = np.arange(20, dtype=float)[:, None]
    scores = sweep_scores(embedding, [np.arange(0, 5), np.arange(5, 20)])
    assert scores["profile"].shape == (2, 15)
    assert np.isnan(scores["profile"][0, 5:]).all() and np.isfinite(scores["profile"][1]).all()
    np.testing.assert_allclose(scores["smoothness"], [1 / 4, 1 / 14])
    with pytest.raises(DataError, match="at least 3"):
        sweep_scores(embedding, [np.arange(2)])


# Groups and folds.


def test_duplicate_groups_by_first_occurrence():
    points = np.array([[1.0, 2.0], [0.0, -0.0], [1.0, 2.0], [-0.0, 0.0], [3.0, 1.0], [1.0 + 1e-12, 2.0]])
    np.testing.assert_array_equal(duplicate_groups(points), [0, 1, 0, 1, 2, 3])
    np.testing.assert_array_equal(duplicate_groups(points, decimals=6), [0, 1, 0, 1, 2, 0])


def test_grouped_folds_keep_groups_whole_and_balanced(rng):
    groups = np.repeat(rng.permutation(200), rng.integers(1, 6, 200))  # groups of 1 to 5 rows
    folds = grouped_folds(groups, 5, seed=3)
    for group in np.unique(groups):
        assert len(np.unique(folds[groups == group])) == 1
    sizes = np.bincount(folds, minlength=5)
    assert sizes.min() > 0 and sizes.max() - sizes.min() <= 5  # within one group's size
    np.testing.assert_array_equal(folds, grouped_folds(groups, 5, seed=3))
    assert not np.array_equal(folds, grouped_folds(groups, 5, seed=4))
    with pytest.raises(DataError, match="groups"):
        grouped_folds(np.repeat([0, 1, 2], 10), 5)


def test_mlp_keeps_duplicates_on_one_side_of_every_split(rng, monkeypatch):
    # Each sound twice. With one group per pair, the rows a network is fitted
    # on hold both copies or neither: no copy of a test row (outer folds) or
    # of an early-stopping validation row (inner split) is trained on.
    from sklearn.neural_network import MLPRegressor

    points = np.repeat(rng.standard_normal((60, 3)), 2, axis=0)
    targets = np.repeat(rng.standard_normal(60), 2)
    fitted = []
    original = MLPRegressor.partial_fit

    def spy(self, x, y):
        fitted.append(x.copy())
        return original(self, x, y)

    monkeypatch.setattr(MLPRegressor, "partial_fit", spy)

    def copies(x):
        return np.unique(np.unique(x, axis=0, return_counts=True)[1])

    mlp_r2(points, targets, duplicate_groups(points), max_epochs=1, hidden_units=4)
    assert len(fitted) == 5 and all(copies(x).tolist() == [2] for x in fitted)
    assert all(len(x) < 0.8 * 120 for x in fitted)  # a test fold and a validation set held out
    # Ungrouped, some pairs are split: the check above can fail.
    fitted.clear()
    mlp_r2(points, targets, max_epochs=1, hidden_units=4)
    assert any(1 in copies(x) for x in fitted)


# Shallow neural probe.


@pytest.fixture(scope="module")
def circle():
    """Sounds at angle theta on a circle (plus noise dimensions).

    Targets: theta itself over the full circle (a seam where -pi meets pi),
    and cos(2 theta) = x^2 - y^2. A linear probe recovers theta only
    through sin(theta): R^2 = corr^2 = 6 / pi^2 = 0.61 exactly for uniform
    theta; cos(2 theta) is orthogonal to cos(theta) and sin(theta), so its
    linear R^2 is 0. A shallow network can fit both.
    """
    rng = np.random.default_rng(5)
    theta = rng.uniform(-np.pi, np.pi, 800)
    points = np.c_[np.cos(theta), np.sin(theta), 0.3 * rng.standard_normal((800, 2))]
    return points, np.c_[theta, np.cos(2 * theta)]


def test_mlp_solves_what_a_linear_probe_cannot(circle):
    points, targets = circle
    linear = ridge_r2(pca_scores(points, 256), targets)
    assert abs(linear[0] - 6 / np.pi**2) < 0.05 and abs(linear[1]) < 0.05
    mlp = mlp_r2(points, targets, hidden_units=64)
    assert mlp[0] > linear[0] + 0.15 and mlp[1] > 0.9


def test_mlp_is_seeded_subsampled_and_skips_constant_targets(circle):
    points, targets = circle
    targets = np.c_[targets[:, 1], np.ones(len(targets))]
    r2, rows, predictions = mlp_r2(
        points, targets, max_points=300, max_epochs=5, hidden_units=8, return_predictions=True
    )
    assert rows.shape == (300,) and predictions.shape == (300, 2)
    assert np.isnan(r2[1]) and np.isnan(predictions[:, 1]).all()
    np.testing.assert_allclose(r2[0], r2_score(targets[rows, 0], predictions[:, 0]))
    again = mlp_r2(points, targets, max_points=300, max_epochs=5, hidden_units=8, return_predictions=True)
    np.testing.assert_array_equal(again[2], predictions)
    other = mlp_r2(points, targets, max_points=300, max_epochs=5, hidden_units=8, seed=1)
    assert other[0] != r2[0]
    with pytest.raises(DataError, match="groups"):
        mlp_r2(points, targets[:, 0], groups=np.arange(len(points)) % 3)


# Uncertainty.


def mean_statistic(sample):
    return lambda indices: sample[indices].mean(axis=-1)


def test_bootstrap_interval_of_a_mean_covers_it_about_95_percent():
    # 200 samples of N(mu, 1), n = 50. The percentile interval of a mean is
    # slightly short at n = 50 (it uses the plug-in standard deviation and
    # z instead of t: about 94 %); the binomial standard error of the
    # coverage over 200 repetitions is 1.6 points, so [0.89, 0.99] is
    # about 3 standard errors either side.
    rng = np.random.default_rng(11)
    mu, covered = 3.0, 0
    for repetition in range(200):
        sample = rng.normal(mu, 1.0, 50)
        low, high = bootstrap_ci(
            mean_statistic(sample), 50, n_resamples=400, seed=repetition, vectorized=True
        )
        covered += low <= mu <= high
    assert 0.89 <= covered / 200 <= 0.99


@pytest.mark.parametrize("n", [100, 400, 1600])
def test_bootstrap_interval_width_shrinks_as_one_over_root_n(n):
    # The bootstrap standard error of a mean is the plug-in standard
    # deviation over sqrt(n): here exactly 1 / sqrt(n).
    sample = np.random.default_rng(n).standard_normal(n)
    sample = (sample - sample.mean()) / sample.std()
    low, high = bootstrap_ci(mean_statistic(sample), n, n_resamples=2000, seed=0, vectorized=True)
    expected = 2 * norm.ppf(0.975) / np.sqrt(n)
    assert abs((high - low) / expected - 1) < 0.1


def test_bootstrap_is_deterministic_and_the_same_vectorized_or_not(rng):
    sample = rng.standard_normal(30)
    first = bootstrap_replicates(mean_statistic(sample), 30, n_resamples=50, seed=2, vectorized=True)
    looped = bootstrap_replicates(lambda i: sample[i].mean(), 30, n_resamples=50, seed=2)
    np.testing.assert_array_equal(first, looped)
    np.testing.assert_array_equal(
        bootstrap_ci(mean_statistic(sample), 30, seed=2, vectorized=True),
        bootstrap_ci(mean_statistic(sample), 30, seed=2, vectorized=True),
    )
    assert bootstrap_ci(mean_statistic(sample), 30, seed=3, vectorized=True) != bootstrap_ci(
        mean_statistic(sample), 30, seed=2, vectorized=True
    )


def test_stratified_resamples_keep_the_design(rng):
    strata = np.repeat([0, 1, 2], [10, 30, 60])
    share = lambda indices: (strata[indices] == 1).mean(axis=-1)  # noqa: E731
    np.testing.assert_array_equal(bootstrap_ci(share, 100, strata=strata, vectorized=True), (0.3, 0.3))
    low, high = bootstrap_ci(share, 100, vectorized=True)
    assert low < 0.3 < high and high - low > 0.1


def test_paired_test_separates_correlated_models_that_intervals_call_tied(rng):
    # Two models on the same 200 sounds: B is A plus 0.1 plus small noise.
    # The sounds' spread (sd 1) makes the two marginal intervals overlap
    # widely, yet every sound says B > A.
    a = rng.standard_normal(200)
    b = a + 0.1 + 0.05 * rng.standard_normal(200)
    low_a, high_a = bootstrap_ci(mean_statistic(a), 200, vectorized=True)
    low_b, high_b = bootstrap_ci(mean_statistic(b), 200, vectorized=True)
    assert low_b < high_a  # overlapping intervals: "tied"
    difference, low, high, p = paired_bootstrap_p(mean_statistic(a), mean_statistic(b), 200, vectorized=True)
    np.testing.assert_allclose(difference, a.mean() - b.mean())
    assert high < 0 and p < 0.01
    # Same distributions: no difference found.
    c = a + 0.05 * rng.standard_normal(200)
    assert paired_bootstrap_p(mean_statistic(a), mean_statistic(c), 200, vectorized=True)[3] > 0.05


def test_paired_test_rejects_about_5_percent_under_no_difference():
    # 100 pairs of models that differ by noise only: p < 0.05 in about 6 %
    # of them (5 % nominal; the percentile interval of a mean of 80 is a
    # little short: 6.0 % measured over 600 other pairs), so 12 is 2.5
    # binomial standard errors (2.4) above.
    rng = np.random.default_rng(13)
    rejected = 0
    for repetition in range(100):
        base = rng.standard_normal(80)
        a, b = base + rng.standard_normal(80), base + rng.standard_normal(80)
        p = paired_bootstrap_p(
            mean_statistic(a), mean_statistic(b), 80, n_resamples=400, seed=repetition, vectorized=True
        )[3]
        rejected += p < 0.05
    assert rejected <= 12


def test_r2_interval_of_fixed_predictions(rng):
    truth = rng.standard_normal((500, 2))
    prediction = truth + [[0.5, 2.0]] * rng.standard_normal((500, 2))
    r2, low, high = r2_ci(truth, prediction, seed=1)
    np.testing.assert_allclose(r2, r2_score(truth, prediction, multioutput="raw_values"))
    assert (low < r2).all() and (r2 < high).all()
    # Population R^2: 1 - 0.25 and 1 - 4.
    assert low[0] < 0.75 < high[0] and low[1] < -3 < high[1]


def test_median_abs_log_ratio_matches_the_regression_summary_and_covers(rng):
    ratio = np.exp(rng.normal(0, 0.3, 400))
    ratio[:20] = np.nan  # true value 0
    table = pd.DataFrame({"x_ratio": ratio, "x_error": np.zeros(400)})
    median, low, high = median_abs_log_ratio_ci(ratio, seed=0)
    np.testing.assert_allclose(median, summarize(table, ["x"])["median_abs_log_ratio"][0])
    assert low < median < high
    # Coverage of the population median of |N(0, 0.3)|, 0.3 * 0.6745, over
    # 100 samples of 200: about 95 %, at least 85 % (4 standard errors).
    truth, covered = 0.3 * norm.ppf(0.75), 0
    for repetition in range(100):
        sample = np.exp(rng.normal(0, 0.3, 200))
        _, low, high = median_abs_log_ratio_ci(sample, n_resamples=300, seed=repetition)
        covered += low <= truth <= high
    assert 85 <= covered <= 99
    assert np.isnan(median_abs_log_ratio_ci(np.full(5, np.nan))).all()


def test_intervals_of_undefined_statistics_are_empty_not_made_up():
    # Defined on fewer than half the resamples: NaN, without warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high = bootstrap_ci(lambda indices: np.full(len(indices), np.nan), 20, vectorized=True)
        assert np.isnan(low) and np.isnan(high)
        # A constant target gives a NaN R^2 and NaN bounds; the other target is kept.
        truth = np.c_[np.arange(20.0), np.ones(20)]
        r2, low, high = r2_ci(truth, truth + 0.1)
    assert np.isnan(r2[1]) and np.isnan(low[1]) and np.isnan(high[1])
    assert low[0] <= r2[0] <= high[0] < 1
