"""K-NN regression: known ratios on hand-made embeddings, scikit-learn agreement."""

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsRegressor

from gear.errors import DataError
from gear.regression import knn_estimates, knn_regression, summarize


def params_table(**columns):
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"sound_id": [f"{i:05d}" for i in range(n)], **columns})


def test_include_self_matches_published_scikit_learn_usage(rng):
    embedding, values = rng.standard_normal((300, 8)), rng.uniform(1, 2, (300, 3))
    published = KNeighborsRegressor(n_neighbors=40).fit(embedding, values).predict(embedding)
    np.testing.assert_allclose(knn_estimates(embedding, values, 40, include_self=True), published)


def test_known_ratios_on_a_line():
    # Points on a line at 1, 2, ..., 10 with parameter = position. With K = 3:
    # leave-one-out, an interior point's neighbours are x-1, x+1 and one of
    # x +- 2; including itself, they are x-1, x, x+1 (ratio exactly 1).
    x = np.arange(1.0, 11.0)
    params = params_table(f1=x)
    with_self = knn_regression(x[:, None] + 0.001 * x[:, None] ** 2, params, ("f1",), 3, include_self=True)
    np.testing.assert_allclose(with_self["f1_ratio"][1:-1], 1.0)
    np.testing.assert_allclose(with_self["f1_ratio"].iloc[0], (1 + 2 + 3) / 3 / 1)
    loo = knn_regression(x[:, None] + 0.001 * x[:, None] ** 2, params, ("f1",), 2, include_self=False)
    np.testing.assert_allclose(loo["f1_ratio"][1:-1], 1.0)  # mean of x-1 and x+1
    np.testing.assert_allclose(loo["f1_ratio"].iloc[0], (2 + 3) / 2 / 1)
    np.testing.assert_allclose(loo["f1_ratio"].iloc[-1], (9 + 8) / 2 / 10)


def test_embedding_blind_to_a_parameter_regresses_to_its_mean(rng):
    # The embedding encodes f1 only: the neighbours' r is a random sample,
    # so the estimate of r is near the dataset mean whatever the sound.
    f1 = np.repeat(np.arange(1.0, 11.0), 100)
    r = np.tile(np.linspace(0.5, 1.5, 100), 10)
    params = params_table(f1=f1, r=r)
    embedding = np.c_[f1 + 1e-6 * rng.standard_normal(f1.size)]
    table = knn_regression(embedding, params, ("f1", "r"), 40, include_self=False)
    np.testing.assert_allclose(table["f1_ratio"], 1.0, atol=1e-9)
    assert np.abs(table["r_estimate"] - r.mean()).max() < 0.25
    assert table["r_ratio"].min() < 0.8 and table["r_ratio"].max() > 1.4


def test_zero_parameter_gives_undefined_ratio_and_defined_error():
    params = params_table(alpha=np.array([0.0, 1.0, 2.0, 3.0]))
    table = knn_regression(np.arange(4.0)[:, None], params, ("alpha",), 2, include_self=False)
    assert np.isnan(table["alpha_ratio"].iloc[0])
    assert np.isfinite(table["alpha_ratio"].iloc[1:]).all()
    np.testing.assert_allclose(table["alpha_error"].iloc[0], (1.5 - 0) / 3)  # neighbours 1 and 2
    summary = summarize(table, ("alpha",)).iloc[0]
    assert summary["n_undefined"] == 1 and summary["n_sounds"] == 4


def test_summary_statistics_of_known_ratios():
    ratio = np.array([0.5, 1.0, 1.0, 2.0, 4.0])
    table = pd.DataFrame({"f1_ratio": ratio, "f1_error": np.zeros(5)})
    row = summarize(table, ("f1",)).iloc[0]
    assert row["median_log_ratio"] == 0
    np.testing.assert_allclose(row["iqr_log_ratio"], np.log(2) - 0)
    np.testing.assert_allclose(row["fraction_within_factor_2"], 4 / 5)


def test_rejects_mismatched_lengths_and_bad_k(rng):
    params = params_table(f1=np.ones(5))
    with pytest.raises(DataError, match="5 sounds"):
        knn_regression(rng.standard_normal((6, 2)), params, ("f1",), 2)
    with pytest.raises(DataError, match="n_neighbors=5"):
        knn_estimates(rng.standard_normal((5, 2)), np.ones((5, 1)), 5, include_self=False)


def test_parameter_without_ratio_scale_reports_the_error_only():
    from gear.parameters import Parameter

    # A chirp rate can be negative: estimate / true means nothing there.
    rate = np.array([-2.0, -1.0, 1.0, 2.0])
    params = params_table(rate=rate)
    parameter = Parameter("rate", unit="octaves/s", min=-4.0, max=4.0)
    assert parameter.ratio_scale is False
    table = knn_regression(np.arange(4.0)[:, None], params, [parameter], 2, include_self=False)
    assert table["rate_ratio"].isna().all()
    np.testing.assert_allclose(table["rate_error"].iloc[0], ((-1.0 + 1.0) / 2 - -2.0) / 4)
    row = summarize(table, [parameter]).iloc[0]
    assert not row["ratio_scale"] and row["n_undefined"] == 4 and np.isnan(row["median_abs_log_ratio"])
    assert row["median_abs_error"] > 0
