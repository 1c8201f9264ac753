"""Interval widths against theory or an independent bootstrap (scipy.stats.bootstrap).

``low <= value <= high`` holds for an interval of zero width too (a bootstrap
that returns the original sample every time); these tests check the width.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import bootstrap, norm

from gear.metrics import compute_metrics
from gear.regression import summarize
from gear.analysis.bootstrap import median_abs_log_ratio_ci, paired_bootstrap_p, r2_ci

Z = norm.ppf(0.975)


def r2(truth, prediction, axis=-1):
    residual = ((truth - prediction) ** 2).sum(axis=axis)
    total = ((truth - truth.mean(axis=axis, keepdims=True)) ** 2).sum(axis=axis)
    return 1 - residual / total


def scipy_percentile_width(statistic, *samples):
    result = bootstrap(samples, statistic, paired=True, vectorized=True, n_resamples=4000,
                       method="percentile", rng=np.random.default_rng(1))  # fmt: skip
    return result.confidence_interval.high - result.confidence_interval.low


@pytest.mark.parametrize("noise", [0.5, 1.0])
def test_r2_interval_is_as_wide_as_scipys_bootstrap(rng, noise):
    truth = rng.standard_normal(400)
    prediction = truth + noise * rng.standard_normal(400)
    value, low, high = r2_ci(truth, prediction, n_resamples=4000, seed=0)
    reference = scipy_percentile_width(r2, truth, prediction)
    assert reference > 0.02
    assert abs((high[0] - low[0]) / reference - 1) < 0.1, (high - low, reference)
    assert low[0] < value[0] < high[0]


def test_paired_difference_interval_has_the_width_of_a_mean_of_differences(rng):
    # Differences with sd exactly 1 over 400 items: the percentile interval of
    # their mean is 2 * 1.96 / sqrt(400) = 0.196 wide (plug-in standard error).
    base = rng.standard_normal(400)
    difference = rng.standard_normal(400)
    difference = (difference - difference.mean()) / difference.std() + 0.05
    a, b = base + difference, base
    observed, low, high, p = paired_bootstrap_p(
        lambda i: a[i].mean(axis=-1), lambda i: b[i].mean(axis=-1), 400, n_resamples=4000, vectorized=True
    )
    assert observed == pytest.approx(0.05)
    assert abs((high - low) / (2 * Z / np.sqrt(400)) - 1) < 0.1
    # z = 0.05 / 0.05 = 1: two-sided p about 0.32.
    assert 0.2 < p < 0.45


def test_median_abs_log_ratio_interval_has_the_asymptotic_width(rng):
    # |log ratio| = |N(0, s)|: the median is 0.6745 s, the density of |N(0, s)|
    # there is 2 phi(0.6745) / s, so the median's standard error is
    # s / (4 phi(0.6745) sqrt(n)) = 0.787 s / sqrt(n).
    s, n = 0.3, 2000
    ratio = np.exp(rng.normal(0, s, n))
    median, low, high = median_abs_log_ratio_ci(ratio, n_resamples=2000, seed=0)
    standard_error = s / (4 * norm.pdf(norm.ppf(0.75)) * np.sqrt(n))
    assert abs((high - low) / (2 * Z * standard_error) - 1) < 0.2
    assert median == pytest.approx(s * norm.ppf(0.75), rel=0.1)
    # The regression summary reports the same interval.
    table = pd.DataFrame({"x_ratio": ratio, "x_error": np.zeros(n)})
    row = summarize(table, ["x"], n_resamples=2000, seed=0).iloc[0]
    assert (row["median_abs_log_ratio_ci_low"], row["median_abs_log_ratio_ci_high"]) == (low, high)


def test_headline_intervals_of_compute_metrics_have_reference_widths(rng):
    # A random design (continuous factors, so no strata), an embedding that
    # is the factors plus noise: every headline interval has a known width.
    n = 400
    params = pd.DataFrame({"sound_id": [f"{i:05d}" for i in range(n)], "x": rng.uniform(0, 1, n),
                           "y": rng.uniform(0, 1, n)})  # fmt: skip
    embedding = params[["x", "y"]].to_numpy() + 0.1 * rng.standard_normal((n, 2))
    metrics, details = compute_metrics(
        embedding, embedding, params, parameters=["x", "y"], n_resamples=2000, mlp=False, return_details=True
    )
    knn = metrics.query("metric == 'knn_r2'").set_index("parameter")
    for j, name in enumerate(["x", "y"]):
        rows = details["knn_rows"]
        truth, prediction = details["truth"][rows, j], details["knn_prediction"][:, j]
        reference = scipy_percentile_width(r2, truth, prediction)
        low, high = knn.loc[name, ["ci_low", "ci_high"]]
        assert abs((high - low) / reference - 1) < 0.15, (name, high - low, reference)


def test_paired_test_is_the_same_vectorized_or_not(rng):
    a, b = rng.standard_normal(60), rng.standard_normal(60)
    looped = paired_bootstrap_p(lambda i: a[i].mean(), lambda i: b[i].mean(), 60, n_resamples=200, seed=3)
    chunked = paired_bootstrap_p(
        lambda i: a[i].mean(axis=-1), lambda i: b[i].mean(axis=-1), 60, n_resamples=200, seed=3, vectorized=True
    )
    np.testing.assert_allclose(looped, chunked, rtol=1e-12)
    assert looped[0] == pytest.approx(a.mean() - b.mean())


def test_identical_models_differ_by_nothing_with_p_1(rng):
    a = rng.standard_normal(50)
    difference, low, high, p = paired_bootstrap_p(
        lambda i: a[i].mean(axis=-1), lambda i: a[i].mean(axis=-1), 50, vectorized=True
    )
    assert (difference, low, high, p) == (0.0, 0.0, 0.0, 1.0)


def test_one_resample_gives_an_interval_of_one_point(rng):
    truth = rng.standard_normal(100)
    prediction = truth + rng.standard_normal(100)
    _, low, high = r2_ci(truth, prediction, n_resamples=1)
    assert low[0] == high[0]
    _, low, high = r2_ci(truth, prediction, n_resamples=100)
    assert low[0] < high[0]
