"""Alignment of a model's distances with human timbre dissimilarity ratings.

The scores are timbremetrics' (Tian et al., github.com/tiianhk/timbremetrics,
``timbremetrics/metrics.py`` and ``utils.py``), computed the same way:

1. Both matrices keep their upper triangle only (diagonal excluded, the
   rest set to 0) and are min-max normalised over the whole matrix, zeros
   included: a model's distances ``d`` become ``d / max(d)`` when they are
   non-negative, and so do the ratings.
2. Each sound is an *anchor*: its row of the symmetrised matrix, without
   itself, lists its dissimilarity to the ``N - 1`` others. Per anchor:

   ``spearman``, ``kendall``
       Spearman's rho and Kendall's tau-b between the model's row and the
       listeners' row (ties averaged; a constant row gives NaN, which
       Kendall's pooling skips, as ``torch.nansum`` does there).
   ``ndcg``
       Normalised discounted cumulative gain of retrieving similar sounds:
       the model ranks the others by ``1 - d``, the gain of each is the
       listeners' ``1 - dissimilarity`` (ties averaged).
   ``triplet``
       Of the pairs of other sounds whose listener dissimilarities to the
       anchor differ by more than ``margin`` (0.1 of the normalised scale),
       the fraction that the model orders the same way (0 when there are
       none).
   ``mae``
       Mean absolute difference of the normalised matrices, per pair.
3. Pooled over datasets as timbremetrics pools: the sum of every anchor's
   score over the total number of anchors (sounds), so a dataset weighs by
   its number of sounds; ``mae`` is the sum over every pair over the total
   number of pairs.

Beyond timbremetrics, each score gets a 95 % percentile bootstrap interval.
What is resampled: the anchors, within each dataset (so every study stays
in every resample, with its own size). The ratings are published as
matrices averaged over listeners, so listener variability cannot be
resampled; the interval says how much the score depends on which sounds
were chosen, given the ratings. Anchors share pairs, so the interval is
somewhat narrow.
"""

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from scipy.stats import kendalltau, rankdata
from sklearn.metrics import ndcg_score

from gear.errors import DataError
from gear.analysis.bootstrap import N_RESAMPLES, bootstrap_ci, paired_bootstrap_p

__all__ = [
    "DISTANCES",
    "SCORES",
    "TRIPLET_MARGIN",
    "normalized_dissimilarity",
    "distance_matrix",
    "anchor_scores",
    "pooled_scores",
    "tied_with_best",
]

#: Distances between embeddings, as timbremetrics names them.
DISTANCES = ("l2", "cosine")
#: Scores, in timbremetrics' order; ``mae`` is lower-is-better.
SCORES = ("mae", "ndcg", "spearman", "kendall", "triplet")
#: Smallest difference of normalised listener dissimilarities that makes a triplet count.
TRIPLET_MARGIN = 0.1


def normalized_dissimilarity(matrix):
    """Upper triangle of a dissimilarity matrix, min-max normalised as timbremetrics does.

    Parameters
    ----------
    matrix : np.ndarray [shape=(n, n)]
        Only the part above the diagonal is read.

    Returns
    -------
    normalized : np.ndarray [shape=(n, n)], float64
        Zero on and below the diagonal before normalisation, then
        ``(x - min) / (max - min)`` over the whole matrix.

    Raises
    ------
    DataError
        If the matrix is not square, has fewer than 3 sounds, is not finite
        above the diagonal, or is zero there.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 3:
        raise DataError(f"dissimilarity matrix must be square with at least 3 sounds, got shape {matrix.shape}")
    upper = np.triu(matrix, 1)
    if not np.isfinite(upper).all():
        raise DataError("dissimilarity matrix has NaN or infinite values above its diagonal")
    low, high = upper.min(), upper.max()
    if high == low:
        raise DataError("dissimilarity matrix is zero above its diagonal")
    return (upper - low) / (high - low)


def distance_matrix(embeddings, distance):
    """Distances between every pair of embeddings.

    Parameters
    ----------
    embeddings : np.ndarray [shape=(n, dim)]
    distance : {"l2", "cosine"}
        Euclidean distance, or one minus the cosine similarity.

    Returns
    -------
    distances : np.ndarray [shape=(n, n)], float64
    """
    if distance not in DISTANCES:
        raise DataError(f"alignment: unknown distance {distance!r} (expected one of {', '.join(DISTANCES)})")
    embeddings = np.asarray(embeddings, dtype=np.float64)
    return cdist(embeddings, embeddings, metric="euclidean" if distance == "l2" else "cosine")


def _rows_without_self(normalized):
    """Each anchor's row of the symmetrised matrix, without the anchor: shape (n, n - 1)."""
    full = normalized + normalized.T
    n = len(full)
    return full[~np.eye(n, dtype=bool)].reshape(n, n - 1)


def _row_pearson(a, b):
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=1) / np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))


def _triplet_agreement(model_row, human_row, margin):
    human_gap = human_row[None, :] - human_row[:, None]
    model_gap = model_row[None, :] - model_row[:, None]
    valid = np.triu(np.abs(human_gap) > margin, 1)
    count = valid.sum()
    return float(((model_gap * human_gap > 0) & valid).sum() / count) if count else 0.0


def anchor_scores(model_distances, human_dissimilarities, margin=TRIPLET_MARGIN):
    """Every score for every anchor sound of one dataset.

    Parameters
    ----------
    model_distances : np.ndarray [shape=(n, n)]
        The model's distances (upper triangle read).
    human_dissimilarities : np.ndarray [shape=(n, n)]
        The listeners' ratings (upper triangle read).
    margin : float
        Triplet margin on the normalised scale.

    Returns
    -------
    scores : pd.DataFrame [shape=(n, 6)]
        One row per anchor: ``mae`` (half the anchor's row sum of absolute
        differences, so that the rows add up to the sum over pairs),
        ``pairs`` (``(n - 1) / 2``, likewise), ``ndcg``, ``spearman``,
        ``kendall``, ``triplet``.

    Raises
    ------
    DataError
        If the two matrices differ in size.
    """
    model = normalized_dissimilarity(model_distances)
    human = normalized_dissimilarity(human_dissimilarities)
    if model.shape != human.shape:
        raise DataError(f"{len(model)} embeddings for a dissimilarity matrix of {len(human)} sounds")
    model_rows, human_rows = _rows_without_self(model), _rows_without_self(human)
    n = len(model_rows)
    spearman = _row_pearson(rankdata(model_rows, axis=1), rankdata(human_rows, axis=1))
    kendall = np.array([kendalltau(m, h).statistic for m, h in zip(model_rows, human_rows, strict=True)])
    ndcg = np.array([ndcg_score([1 - h], [1 - m]) for m, h in zip(model_rows, human_rows, strict=True)])
    triplet = np.array([_triplet_agreement(m, h, margin) for m, h in zip(model_rows, human_rows, strict=True)])
    return pd.DataFrame(
        {
            "mae": np.abs(model_rows - human_rows).sum(axis=1) / 2,
            "pairs": np.full(n, (n - 1) / 2),
            "ndcg": ndcg,
            "spearman": spearman,
            "kendall": kendall,
            "triplet": triplet,
        }
    )


def _statistic(anchors, metric):
    """The pooled score of resampled anchors: ``statistic(indices)``, indices of shape (..., n_anchors)."""
    values = anchors[metric].to_numpy(dtype=np.float64)
    if metric == "mae":  # per pair: the anchors' halves of their row sums over their pairs
        pairs = anchors["pairs"].to_numpy(dtype=np.float64)
        return lambda indices: values[indices].sum(axis=-1) / pairs[indices].sum(axis=-1)
    # Kendall's NaN (a constant row) counts as 0 over all anchors, as timbremetrics' nansum does.
    values = np.nan_to_num(values, nan=0.0) if metric == "kendall" else values
    return lambda indices: values[indices].mean(axis=-1)


def _strata(anchors_by_dataset):
    return np.concatenate([np.full(len(anchors), i) for i, anchors in enumerate(anchors_by_dataset.values())])


def pooled_scores(anchors_by_dataset, n_resamples=N_RESAMPLES, seed=0, level=0.95):
    """Scores per dataset and pooled over datasets, with bootstrap intervals.

    Parameters
    ----------
    anchors_by_dataset : dict {str: pd.DataFrame}
        :func:`anchor_scores` of each dataset.
    n_resamples : int
        Bootstrap resamples of the anchors (0: no interval). The pooled
        score resamples the anchors within each dataset
        (:func:`gear.analysis.bootstrap.bootstrap_ci` with the datasets as strata); the
        same seed gives every model the same resamples.
    seed : int
    level : float

    Returns
    -------
    table : pd.DataFrame
        Columns ``dataset`` (each dataset, then ``"pooled"``), ``metric``
        (:data:`SCORES`), ``value``, ``low``, ``high``.
    """
    groups = {**anchors_by_dataset, "pooled": pd.concat(anchors_by_dataset.values(), ignore_index=True)}
    strata = {name: None for name in anchors_by_dataset} | {"pooled": _strata(anchors_by_dataset)}
    rows = []
    for name, anchors in groups.items():
        everything = np.arange(len(anchors))
        for metric in SCORES:
            statistic = _statistic(anchors, metric)
            low = high = np.nan
            if n_resamples:
                low, high = bootstrap_ci(statistic, len(anchors), n_resamples=n_resamples, seed=seed, level=level,
                                         strata=strata[name], vectorized=True)  # fmt: skip
            rows.append({"dataset": name, "metric": metric, "value": float(statistic(everything)),
                         "low": float(low), "high": float(high)})  # fmt: skip
    return pd.DataFrame(rows, columns=["dataset", "metric", "value", "low", "high"])


def tied_with_best(anchors_by_model, metric, *, n_resamples=N_RESAMPLES, seed=0, level=0.95):
    """Which models' pooled alignment is statistically tied with the best model's.

    The same paired bootstrap as the synthetic scores' ties
    (:func:`gear.analysis.bootstrap.paired_bootstrap_p`): every model against the best
    on the same resamples of the anchors, within each dataset.

    Parameters
    ----------
    anchors_by_model : dict {str: dict {str: pd.DataFrame}}
        Model -> :func:`anchor_scores` of each dataset, for one distance.
        Models scored on other datasets than the first model are left out.
    metric : str
        One of :data:`SCORES`; the best has the highest score, the lowest
        for ``mae``.
    n_resamples, seed, level
        Of the bootstrap.

    Returns
    -------
    tied : dict {str: bool}
        Model -> True if tied with the best (the best included).
    """
    if not anchors_by_model:
        return {}
    reference = list(next(iter(anchors_by_model.values())))
    pooled, statistics = {}, {}
    for model, by_dataset in anchors_by_model.items():
        if list(by_dataset) != reference or any(
            len(by_dataset[name]) != len(next(iter(anchors_by_model.values()))[name]) for name in reference
        ):
            continue
        anchors = pd.concat(by_dataset.values(), ignore_index=True)
        statistics[model] = _statistic(anchors, metric)
        pooled[model] = float(statistics[model](np.arange(len(anchors))))
    sign = -1.0 if metric == "mae" else 1.0
    best = max(pooled, key=lambda model: sign * pooled[model])
    strata = _strata(next(iter(anchors_by_model.values())))
    tied = {}
    for model in pooled:
        if model == best:
            tied[model] = True
            continue
        *_, p = paired_bootstrap_p(statistics[model], statistics[best], len(strata), n_resamples=n_resamples,
                                   seed=seed, level=level, strata=strata, vectorized=True)  # fmt: skip
        tied[model] = bool(p > 1 - level)
    return tied
