"""The paper's K-nearest-neighbour parameter regression (Section 4.2).

For every sound ``i``, the parameters of its K nearest neighbours in
embedding space are averaged (Eq. 2) and compared with its own by the
ratio ``estimate / true`` (Eq. 3, plotted on a log scale). A ratio near 1
means the neighbourhood is centred on the sound's true parameter.

The ratio is undefined where the true parameter is 0, and means nothing
for a parameter that is not a positive quantity with a true zero (its
``ratio_scale`` is False: a chirp rate that can be negative, say). There,
``ratio`` is NaN and counted as undefined, and every sound also gets a
defined alternative: the error ``estimate - true`` divided by the
parameter's range in the dataset. As in the paper, estimates average the
parameter values themselves (in their unit), not their analysis scale.
"""

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from gear.errors import DataError
from gear.parameters import as_parameters
from gear.analysis.bootstrap import median_abs_log_ratio_ci

__all__ = ["knn_estimates", "knn_regression", "summarize"]


def knn_estimates(embedding, values, n_neighbors=40, include_self=True):
    """Mean parameter values of each point's K nearest neighbours (Eq. 2).

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_points, n_features)]
    values : np.ndarray [shape=(n_points, n_parameters)]
    n_neighbors : int
        K (the paper: 40).
    include_self : bool
        If True, as the published code (scikit-learn's
        ``KNeighborsRegressor`` fitted and evaluated on the same points),
        each point is among its own K neighbours. If False, leave-one-out:
        the K neighbours exclude the point itself.

    Returns
    -------
    estimates : np.ndarray [shape=(n_points, n_parameters)]
    """
    embedding = np.asarray(embedding, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    n_points = embedding.shape[0]
    available = n_points if include_self else n_points - 1
    if not 1 <= n_neighbors <= available:
        raise DataError(f"knn regression: n_neighbors={n_neighbors} needs between 1 and {available}")
    neighbors = NearestNeighbors(n_neighbors=n_neighbors).fit(embedding)
    if include_self:
        # Querying the training points themselves: each is its own nearest
        # neighbour at distance 0 (ties between duplicates aside).
        _, indices = neighbors.kneighbors(embedding)
    else:
        _, indices = neighbors.kneighbors()
    return values[indices].mean(axis=1)


def knn_regression(embedding, params, parameters, n_neighbors=40, include_self=True):
    """Per-sound K-NN regression ratios and normalized errors.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_sounds, n_features)]
    params : pd.DataFrame [shape=(n_sounds, ...)]
        ``sound_id`` and the parameter columns, in embedding row order.
    parameters : sequence of Parameter or str
        A plain name counts as a ratio-scale parameter.
    n_neighbors : int
    include_self : bool
        See :func:`knn_estimates`.

    Returns
    -------
    table : pd.DataFrame [shape=(n_sounds, 1 + 4 * n_parameters)]
        ``sound_id`` then, per parameter ``p``: ``p_true``, ``p_estimate``,
        ``p_ratio`` (NaN where ``p_true == 0``, everywhere if ``p`` is not
        on a ratio scale) and ``p_error`` (estimate
        minus true, divided by the parameter's range; 0 if constant).
    """
    if len(params) != embedding.shape[0]:
        raise DataError(f"knn regression: {embedding.shape[0]} embeddings but {len(params)} sounds")
    parameters = as_parameters(parameters)
    true = params[[p.name for p in parameters]].to_numpy(dtype=np.float64)
    estimates = knn_estimates(embedding, true, n_neighbors, include_self)
    columns = {"sound_id": params["sound_id"].to_numpy()}
    for index, parameter in enumerate(parameters):
        name = parameter.name
        value, estimate = true[:, index], estimates[:, index]
        span = value.max() - value.min()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(value != 0, estimate / value, np.nan)
        if not parameter.ratio_scale:
            ratio = np.full_like(value, np.nan)
        columns[f"{name}_true"] = value
        columns[f"{name}_estimate"] = estimate
        columns[f"{name}_ratio"] = ratio
        columns[f"{name}_error"] = (estimate - value) / span if span > 0 else np.zeros_like(value)
    return pd.DataFrame(columns)


def summarize(table, parameters, *, n_resamples=1000, seed=0):
    """Summary statistics of one model's regression table.

    Parameters
    ----------
    table : pd.DataFrame
        Output of :func:`knn_regression`.
    parameters : sequence of Parameter or str
    n_resamples, seed : int
        Of the bootstrap interval of ``median_abs_log_ratio``.

    Returns
    -------
    summary : pd.DataFrame
        One row per parameter: ``parameter``, ``ratio_scale`` (False: the
        ratio means nothing for this parameter and its columns are empty;
        read ``median_abs_error``), ``n_sounds``, ``n_undefined`` (ratios
        undefined because the true value is 0 or the ratio means nothing), the median and
        interquartile range of ``log(ratio)`` (natural log), the median of
        ``|log(ratio)|`` with its 95 % bootstrap interval over sounds
        (``median_abs_log_ratio_ci_low``, ``_ci_high``; seeded percentile
        interval, empty where no ratio is defined), the fraction of ratios
        within [1/2, 2], and the median absolute normalized error.
    """
    rows = []
    for parameter in as_parameters(parameters):
        name = parameter.name
        ratio = table[f"{name}_ratio"].to_numpy()
        error = table[f"{name}_error"].to_numpy()
        defined = np.isfinite(ratio) & (ratio > 0)
        log_ratio = np.log(ratio[defined])
        has_ratios = log_ratio.size > 0
        q1, median, q3 = np.percentile(log_ratio, [25, 50, 75]) if has_ratios else (np.nan,) * 3
        median_abs, low, high = median_abs_log_ratio_ci(ratio, n_resamples=n_resamples, seed=seed)
        rows.append(
            {
                "parameter": name,
                "ratio_scale": bool(parameter.ratio_scale),
                "n_sounds": int(ratio.size),
                "n_undefined": int((~defined).sum()),
                "median_log_ratio": median,
                "iqr_log_ratio": q3 - q1,
                "median_abs_log_ratio": median_abs,
                "median_abs_log_ratio_ci_low": low,
                "median_abs_log_ratio_ci_high": high,
                "fraction_within_factor_2": np.mean(np.abs(log_ratio) <= np.log(2)) if has_ratios else np.nan,
                "median_abs_error": np.median(np.abs(error)),
            }
        )
    return pd.DataFrame(rows)
