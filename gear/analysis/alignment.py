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

__all__ = [
    "DISTANCES",
    "SCORES",
    "TRIPLET_MARGIN",
    "normalized_dissimilarity",
    "distance_matrix",
    "anchor_scores",
    "pooled_scores",
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


def _pool(anchors):
    """Pooled scores from the per-anchor table of one or several datasets."""
    pooled = {score: anchors[score].sum() / len(anchors) for score in ("ndcg", "spearman", "triplet")}
    pooled["kendall"] = np.nansum(anchors["kendall"]) / len(anchors)
    pooled["mae"] = anchors["mae"].sum() / anchors["pairs"].sum()
    return pooled


def pooled_scores(anchors_by_dataset, n_resamples=1000, seed=0, confidence=0.95):
    """Scores per dataset and pooled over datasets, with bootstrap intervals.

    Parameters
    ----------
    anchors_by_dataset : dict {str: pd.DataFrame}
        :func:`anchor_scores` of each dataset.
    n_resamples : int
        Bootstrap resamples of the anchors within each dataset (0: no
        interval). The same seed gives the same resamples to every model,
        so that two models' intervals come from the same draws.
    seed : int
    confidence : float

    Returns
    -------
    table : pd.DataFrame
        Columns ``dataset`` (each dataset, then ``"pooled"``), ``metric``
        (:data:`SCORES`), ``value``, ``low``, ``high``.
    """
    names = list(anchors_by_dataset)
    rng = np.random.default_rng(seed)
    draws = {name: [] for name in [*names, "pooled"]}
    for _ in range(n_resamples):
        resampled = {}
        for name in names:
            anchors = anchors_by_dataset[name]
            resampled[name] = anchors.iloc[rng.integers(0, len(anchors), len(anchors))]
            draws[name].append(_pool(resampled[name]))
        draws["pooled"].append(_pool(pd.concat(resampled.values())))
    estimates = {name: _pool(anchors_by_dataset[name]) for name in names}
    estimates["pooled"] = _pool(pd.concat(anchors_by_dataset.values()))
    tail = 100 * (1 - confidence) / 2
    rows = []
    for name, estimate in estimates.items():
        for metric in SCORES:
            samples = np.array([draw[metric] for draw in draws[name]], dtype=float)
            low, high = np.nanpercentile(samples, [tail, 100 - tail]) if n_resamples else (np.nan, np.nan)
            rows.append({"dataset": name, "metric": metric, "value": estimate[metric], "low": low, "high": high})
    return pd.DataFrame(rows, columns=["dataset", "metric", "value", "low", "high"])
