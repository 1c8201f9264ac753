"""Equivariance and invariance, from the design's own one-factor changes.

Two questions beside "is the factor in there?", answered per factor from
the parameter matrix alone (any synthesizer, any grid or sweeps design):

- **Equivariance**: when one factor changes, does the embedding change in a
  predictable way wherever the sound starts? Pairs of sounds that differ in
  that factor only (:func:`one_factor_pairs`: one anchor's sweep, or one
  grid line) give two scores:

  - :func:`equivariance_r2`: a probe predicts the factor's change (on its
    analysis scale) from the pair (embedding before, embedding after), the
    recipe of Plachouras et al. (2025, "Towards a Unified Representation
    Evaluation Framework Beyond Downstream Tasks", code
    ``synesis/equivariance/parameters.py``: a probe on the concatenated
    pair predicting the transformation's parameter), here linear (ridge)
    and on pairs in both orders. Scored as R^2 on held-out lines (anchors),
    with a 95 % bootstrap interval over lines.
  - :func:`displacement_consistency`: parameter-free, the mean cosine
    between the displacement vectors of the same step (same values before
    and after) taken from different anchors. 1: the step moves every sound
    the same way; 0: no shared direction.

- **Invariance** (:func:`invariance_r2`, the framework's robustness to
  covariate shift): a probe of a target factor, fitted on sounds whose
  nuisance factor lies in one half of its values, tested on the other half
  (``across``) against the same probes tested on held-out sounds of their
  own half (``within``). Their difference (across minus within; 0: the
  readout survives the change, negative: it does not) comes with a paired
  interval.

:func:`equivariance_table` computes everything for every factor and ordered
pair of factors and returns a tidy table (columns ``parameter, nuisance,
metric, value, ci_low, ci_high``); :func:`metric_rows` folds it into the
metrics table's columns.

Probes see the standardized embedding reduced by PCA (fitted without
labels on at most 10,000 sounds) to at most 128 components; the
displacement cosines use the embedding as given (pass L2-normalised rows
for cosine geometry). Memory is linear in the number of sounds: pairs are
at most ``MAX_PAIR_OFFSET`` per sound, the probes see bounded seeded
subsets of lines or sounds, displacements are processed in chunks of rows,
and bootstrap resamples in chunks of counts. Everything is seeded.
"""

import logging
from statistics import NormalDist
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import RidgeCV

from gear.errors import ConfigError, DataError

__all__ = [
    "MAX_PAIR_OFFSET",
    "MAX_PROBE_PAIRS",
    "MAX_INVARIANCE_SOUNDS",
    "COLUMNS",
    "INVARIANCE_METRICS",
    "Pairs",
    "one_factor_pairs",
    "probe_features",
    "equivariance_r2",
    "displacement_consistency",
    "nuisance_halves",
    "invariance_r2",
    "equivariance_table",
    "metric_rows",
    "PAIRED_METRICS",
    "paired_statistic",
]

logger = logging.getLogger(__name__)

#: Each sound is paired with the next this many sounds along its line: a
#: spread of step sizes for the probe to predict (neighbours alone, in a grid
#: of equal steps, would all have the same change), and pairs stay linear in
#: the number of sounds.
MAX_PAIR_OFFSET = 4
#: Pairs of one factor's probe, a seeded subset of whole lines beyond that.
MAX_PROBE_PAIRS = 20_000
#: Sounds of one invariance probe (a seeded subsample beyond that).
MAX_INVARIANCE_SOUNDS = 20_000
MAX_PROBE_COMPONENTS = 128
MAX_PCA_FIT_POINTS = 10_000
N_SPLITS = 5
N_RESAMPLES = 1000
MIN_SOUNDS = 10

#: Scores of :func:`invariance_r2` -> their metric names in the table.
INVARIANCE_METRICS = {
    "within": "invariance_within_r2",
    "across": "invariance_across_r2",
    "difference": "invariance_r2_difference",
}
#: Scores that :func:`paired_statistic` can compare between models.
PAIRED_METRICS = ("equivariance_r2", "displacement_cosine", *INVARIANCE_METRICS.values())
#: Columns of :func:`equivariance_table`.
COLUMNS = ["parameter", "nuisance", "metric", "value", "ci_low", "ci_high"]

_RIDGE_ALPHAS = np.logspace(-3, 5, 9)
_CHUNK_ELEMENTS = 2**22  # float64 values of a chunk of embedding rows (32 MB)
_BOOTSTRAP_ELEMENTS = 2**20  # counts held at once by a chunk of resamples
_MIN_FINITE_SHARE = 0.5


class Pairs(NamedTuple):
    """Pairs of sounds that differ in one factor only.

    Attributes
    ----------
    before, after : np.ndarray [shape=(n_pairs,), dtype=int]
        Rows of the two sounds; the factor's value at ``after`` is larger.
    line : np.ndarray [shape=(n_pairs,), dtype=int]
        Label of the line (the other factors' values: one anchor's sweep
        or one grid line) the pair lies on, ``0 .. n_lines - 1``.
    offset : np.ndarray [shape=(n_pairs,), dtype=int]
        Steps apart along the line (1: neighbours).
    n_lines : int
        Lines with at least one pair.
    """

    before: np.ndarray
    after: np.ndarray
    line: np.ndarray
    offset: np.ndarray
    n_lines: int


def _check_values(values, n_sounds=None):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise DataError(
            f"equivariance: parameter values must be 2-D (n_sounds, n_factors), got {values.shape}"
        )
    if not np.isfinite(values).all():
        raise DataError("equivariance: parameter values contain NaN or infinite values")
    if n_sounds is not None and len(values) != n_sounds:
        raise DataError(f"equivariance: {n_sounds} embeddings for {len(values)} rows of parameter values")
    return values + 0.0  # + 0.0: -0.0 equals 0.0 for grouping


def _check_index(index, n_factors, what="factor_index"):
    if not 0 <= index < n_factors:
        raise DataError(f"equivariance: {what} {index} out of range for {n_factors} factors")


def _labels(rows):
    """Integer label per row of a 2-D array: equal rows, equal labels."""
    if rows.shape[1] == 0:
        return np.zeros(len(rows), dtype=np.intp)
    return np.unique(rows, axis=0, return_inverse=True)[1].ravel().astype(np.intp)


def one_factor_pairs(values, factor_index, *, max_offset=MAX_PAIR_OFFSET):
    """Pairs of sounds that differ in one factor only.

    Sounds whose other factors are all exactly equal form a line (in a
    sweeps design, one anchor's sweep over this factor; in a grid, one grid
    line). Along each line, sorted by the factor's value, each sound is
    paired with the next ``max_offset`` sounds. A value repeated within a
    line (the same sound twice) keeps its first row only, so no pair has a
    zero change. A random design has no such pairs.

    Parameters
    ----------
    values : np.ndarray [shape=(n_sounds, n_factors)]
        Factors on their analysis scales (:func:`gear.parameters.analysis_matrix`).
        Equality is exact, as in designs built from a few values per factor.
    factor_index : int
        Column of the factor that changes.
    max_offset : int
        At least 1. Pairs are linear in the number of sounds:
        at most ``max_offset`` per sound.

    Returns
    -------
    pairs : Pairs
        Sorted by line, then offset, then position along the line.

    Raises
    ------
    DataError
        If ``values`` is not 2-D and finite, or the index is out of range.
    ConfigError
        If ``max_offset < 1``.

    Examples
    --------
    >>> grid = np.array([[f, a] for f in (1.0, 2.0, 3.0) for a in (0.0, 1.0)])
    >>> pairs = one_factor_pairs(grid, 0, max_offset=1)
    >>> pairs.before.tolist(), pairs.after.tolist(), pairs.n_lines
    ([0, 2, 1, 3], [2, 4, 3, 5], 2)
    """
    values = _check_values(values)
    _check_index(factor_index, values.shape[1])
    if max_offset < 1:
        raise ConfigError(f"equivariance: max_offset must be at least 1, got {max_offset}")
    line = _labels(np.delete(values, factor_index, axis=1))
    key = values[:, factor_index]
    order = np.lexsort((key, line))  # stable: equal (line, value) keep row order
    line, key = line[order], key[order]
    repeated = np.r_[False, (line[1:] == line[:-1]) & (key[1:] == key[:-1])]
    order, line = order[~repeated], line[~repeated]
    parts = []
    for offset in range(1, max_offset + 1):
        start = (
            np.flatnonzero(line[:-offset] == line[offset:]) if len(line) > offset else np.empty(0, np.intp)
        )
        parts.append((start, offset))
    starts = np.concatenate([start for start, _ in parts])
    offsets = np.concatenate([np.full(len(start), offset) for start, offset in parts])
    before, after = order[starts], order[starts + offsets]
    pair_line = line[starts]
    used, pair_line = np.unique(pair_line, return_inverse=True)
    pair_line = pair_line.ravel()
    sort = np.lexsort((starts, offsets, pair_line))
    return Pairs(
        before[sort].astype(np.intp),
        after[sort].astype(np.intp),
        pair_line[sort].astype(np.intp),
        offsets[sort].astype(np.intp),
        len(used),
    )


def probe_features(embedding, *, n_components=MAX_PROBE_COMPONENTS, seed=0):
    """Standardized embedding reduced by PCA: what the probes see.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_sounds, dim)]
    n_components : int
        At most this many components; an embedding of no more dimensions
        is only standardized (constant dimensions centred).
    seed : int
        Seed of the fitting subsample (at most 10,000 sounds) and of the SVD.

    Returns
    -------
    features : np.ndarray [shape=(n_sounds, n_features)], float64
        Centred; ``n_features <= n_components``.
    """
    embedding = np.asarray(embedding)
    rng = np.random.default_rng(seed)
    n_sounds = len(embedding)
    fit_rows = (
        np.sort(rng.choice(n_sounds, MAX_PCA_FIT_POINTS, replace=False))
        if n_sounds > MAX_PCA_FIT_POINTS
        else slice(None)
    )
    sample = np.asarray(embedding[fit_rows], dtype=np.float64)
    mean, scale = sample.mean(axis=0), sample.std(axis=0)
    scale[scale == 0] = 1.0
    if embedding.shape[1] <= n_components:
        return (np.asarray(embedding, dtype=np.float64) - mean) / scale
    sample = (sample - mean) / scale
    if not sample.any():
        return np.zeros((n_sounds, 1))  # a constant embedding has no component
    pca = PCA(n_components=min(n_components, len(sample) - 1), random_state=seed).fit(sample)
    del sample
    chunk_rows = max(1, _CHUNK_ELEMENTS // embedding.shape[1])
    return np.vstack(
        [
            pca.transform(
                (np.asarray(embedding[start : start + chunk_rows], dtype=np.float64) - mean) / scale
            )
            for start in range(0, n_sounds, chunk_rows)
        ]
    )


# Bootstrap over units (lines or sounds) with fixed per-unit statistics.


def _resampled_sums(unit_stats, *, n_resamples, seed, strata=None):
    """Sums of per-unit statistics over seeded bootstrap resamples of the units.

    Parameters
    ----------
    unit_stats : np.ndarray [shape=(n_units, n_stats)]
    n_resamples : int
    seed : int
    strata : np.ndarray [shape=(n_units,)], optional
        Resample within each stratum, keeping its size.

    Returns
    -------
    sums : np.ndarray [shape=(n_resamples, n_stats)]
        Row ``b`` is ``counts_b @ unit_stats`` with ``counts_b`` the
        multiplicities of the units in resample ``b``.
    """
    n_units = len(unit_stats)
    rng = np.random.default_rng(seed)
    strata = (
        np.zeros(n_units, dtype=np.intp)
        if strata is None
        else _labels(np.asarray(strata).reshape(n_units, -1))
    )
    members = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    per_chunk = max(1, min(n_resamples, _BOOTSTRAP_ELEMENTS // max(1, n_units)))
    sums = []
    for start in range(0, n_resamples, per_chunk):
        size = min(per_chunk, n_resamples - start)
        counts = np.zeros((size, n_units))
        for units in members:
            # Draws, then counts per resample (one bincount over all rows):
            # far faster than a multinomial over many units.
            draws = rng.integers(0, len(units), (size, len(units))) + len(units) * np.arange(size)[:, None]
            counts[:, units] = np.bincount(draws.ravel(), minlength=size * len(units)).reshape(size, -1)
        sums.append(counts @ unit_stats)
    return np.concatenate(sums)


def _interval(replicates, level):
    """Percentile interval from the finite replicates (NaN if under half are finite)."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size < _MIN_FINITE_SHARE * replicates.size or finite.size == 0:
        return np.nan, np.nan
    tail = (1 - level) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return float(low), float(high)


def _grouped_folds(groups, n_splits, seed):
    """Fold of each item: whole groups per fold, seeded."""
    labels = np.unique(groups, return_inverse=True)[1].ravel()
    permutation = np.random.default_rng(seed).permutation(labels.max() + 1)
    return permutation[labels] % n_splits


def _ridge(**options):
    # SVD once per fit, then each penalty is cheap (the default eigen mode
    # repeats an n x p^2 product per penalty).
    return RidgeCV(alphas=_RIDGE_ALPHAS, gcv_mode="svd", **options)


def equivariance_r2(features, values, factor_index, *, seed=0, n_splits=N_SPLITS, n_resamples=N_RESAMPLES,
                    level=0.95, return_details=False):  # fmt: skip
    """How well the pair (embedding before, after) predicts a factor's change.

    The probe of Plachouras et al. (2025) reads the factor's change (on its
    analysis scale) from the concatenated embeddings of a pair. Here it is
    linear and sees every pair of :func:`one_factor_pairs` in both orders
    (the change is signed). A linear function of ``[z_before, z_after]``
    fitted on both orders is, exactly, a linear function without intercept
    of the displacement ``z_after - z_before`` (the part symmetric in the two
    sounds has a zero target), so that is what is fitted, on the forward
    pairs only: half the rows and features, and no pair's reverse can sit
    in the leave-one-out that picks the ridge penalty (among
    ``logspace(-3, 5, 9)``). The probe is cross-validated over folds of
    whole lines, so no sound of a test pair was seen in training.

    Parameters
    ----------
    features : np.ndarray [shape=(n_sounds, n_features)]
        Probe features (:func:`probe_features`).
    values : np.ndarray [shape=(n_sounds, n_factors)]
        Factors on their analysis scales.
    factor_index : int
    seed : int
        Seeds the subset of lines (beyond :data:`MAX_PROBE_PAIRS`), the folds
        and the bootstrap.
    n_splits : int
        Folds of lines (fewer if there are fewer lines).
    n_resamples : int
    level : float
    return_details : bool
        Also return the per-pair truth, prediction and line.

    Returns
    -------
    r2 : float
        R^2 of the out-of-fold predictions over the pairs in both orders,
        ``1 - sum (change - prediction)^2 / sum change^2`` (the mean change
        is 0): 1 perfect, 0 no better than predicting no change, negative
        worse. NaN with fewer than 2 lines.
    low, high : float
        Percentile bootstrap interval over lines, the predictions fixed:
        lines are the independent units (the pairs of one line share sounds).
    n_lines : int
        Lines the probe used.
    details : dict
        Only with ``return_details``: ``truth`` (the change), ``prediction``,
        ``line`` (shape ``(n_probe_pairs,)`` each, forward pairs).
    """
    values = _check_values(values, len(features))
    pairs = one_factor_pairs(values, factor_index)
    if len(pairs.line) > MAX_PROBE_PAIRS:
        line_sizes = np.bincount(pairs.line, minlength=pairs.n_lines)
        shuffled = np.random.default_rng(seed).permutation(pairs.n_lines)
        keep_lines = shuffled[np.cumsum(line_sizes[shuffled]) <= MAX_PROBE_PAIRS]
        keep = np.isin(pairs.line, keep_lines)
        pairs = pairs._replace(before=pairs.before[keep], after=pairs.after[keep], line=pairs.line[keep])
    line = np.unique(pairs.line, return_inverse=True)[1].ravel()
    n_lines = int(line.max()) + 1 if len(line) else 0
    if n_lines < 2:
        empty = {"truth": np.empty(0), "prediction": np.empty(0), "line": np.empty(0, np.intp)}
        nan = (np.nan, np.nan, np.nan, n_lines)
        return (*nan, empty) if return_details else nan
    truth = values[pairs.after, factor_index] - values[pairs.before, factor_index]
    displacement = features[pairs.after] - features[pairs.before]
    folds = _grouped_folds(line, min(n_splits, n_lines), seed)
    prediction = np.empty_like(truth)
    for fold in np.unique(folds):
        test = folds == fold
        probe = _ridge(fit_intercept=False).fit(displacement[~test], truth[~test])
        prediction[test] = probe.predict(displacement[test])
    del displacement
    per_line = np.column_stack(
        [np.bincount(line, weights=truth**2), np.bincount(line, weights=(truth - prediction) ** 2)]
    )

    def r2(sums):
        return 1 - sums[..., 1] / sums[..., 0]  # changes are never 0: no division by 0

    low, high = _interval(r2(_resampled_sums(per_line, n_resamples=n_resamples, seed=seed)), level)
    result = (float(r2(per_line.sum(axis=0))), low, high, n_lines)
    return (*result, {"truth": truth, "prediction": prediction, "line": line}) if return_details else result


def _unit_displacements(embedding, before, after):
    """Unit vectors from ``before`` to ``after`` rows (zero where the rows are equal)."""
    displacement = np.asarray(embedding[after], dtype=np.float64) - np.asarray(
        embedding[before], dtype=np.float64
    )
    norm = np.linalg.norm(displacement, axis=1, keepdims=True)
    return np.divide(displacement, norm, out=np.zeros_like(displacement), where=norm > 0)


def displacement_consistency(embedding, values, factor_index, *, level=0.95, return_details=False):
    """Mean cosine between displacements of the same step from different anchors.

    A step is a change of the factor between two neighbouring values of a
    line (the same values before and after). For each step taken on at
    least two lines, the displacement ``e(after) - e(before)`` of every line
    is compared with those of the other lines: each line's step contributes
    its mean cosine with the others', ``u . (S - u) / (m - 1)`` with ``u``
    its unit displacement, ``S`` the sum over the ``m`` lines taking that
    step (linear time and memory, no pairwise matrix). A zero displacement
    (the embedding does not move) has cosine 0 with everything.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_sounds, dim)]
        As given (Euclidean geometry); pass L2-normalised rows for cosine
        geometry.
    values : np.ndarray [shape=(n_sounds, n_factors)]
        Factors on their analysis scales.
    factor_index : int
    level : float
    return_details : bool
        Also return per-line sums and counts of the contributions.

    Returns
    -------
    cosine : float
        Mean over (line, step) of the contributions: 1, every anchor moves
        the same way for the same step; about 0, no shared direction
        (``1 / sqrt(dim)`` is the typical size of a chance value). NaN if no
        step is taken on two lines.
    low, high : float
        Normal interval with Sen's (1960) variance estimate for a
        U-statistic over lines (anchors): ``4 var(V) / n_lines``, ``V`` a
        line's mean contribution. Conservative (about sqrt(2) too wide)
        where no direction is shared, since the statistic is then a
        degenerate U-statistic.
    n_lines : int
        Lines that took part.
    details : dict
        Only with ``return_details``: ``line_sum``, ``line_count``
        (shape ``(n_lines,)``).
    """
    embedding = np.asarray(embedding)
    values = _check_values(values, len(embedding))
    pairs = one_factor_pairs(values, factor_index, max_offset=1)
    steps = np.column_stack([values[pairs.before, factor_index], values[pairs.after, factor_index]])
    step = _labels(steps)
    shared = np.bincount(step)[step] >= 2
    before, after, line, step = pairs.before[shared], pairs.after[shared], pairs.line[shared], step[shared]
    n_lines = len(np.unique(line))
    empty = {"line_sum": np.empty(0), "line_count": np.empty(0)}
    if n_lines < 2:
        result = (np.nan, np.nan, np.nan, n_lines)
        return (*result, empty) if return_details else result
    step = np.unique(step, return_inverse=True)[1].ravel()
    takers = np.bincount(step)
    step_sum = np.zeros((len(takers), embedding.shape[1]))
    chunk_rows = max(1, _CHUNK_ELEMENTS // embedding.shape[1])
    for start in range(0, len(step), chunk_rows):
        chunk = slice(start, start + chunk_rows)
        np.add.at(step_sum, step[chunk], _unit_displacements(embedding, before[chunk], after[chunk]))
    contribution = np.empty(len(step))
    for start in range(0, len(step), chunk_rows):
        chunk = slice(start, start + chunk_rows)
        unit = _unit_displacements(embedding, before[chunk], after[chunk])
        agreement = np.einsum("ij,ij->i", unit, step_sum[step[chunk]]) - np.einsum("ij,ij->i", unit, unit)
        contribution[chunk] = agreement / (takers[step[chunk]] - 1)
    line = np.unique(line, return_inverse=True)[1].ravel()
    line_sum, line_count = np.bincount(line, weights=contribution), np.bincount(line).astype(np.float64)
    cosine = float(line_sum.sum() / line_count.sum())
    # Sen's (1960) variance of a U-statistic over lines: 4 var(V) / n_lines,
    # V a line's mean cosine with the others. Resampling the V alone would
    # count each pair of lines once instead of twice: too narrow.
    spread = 2 * np.std(line_sum / line_count, ddof=1) / np.sqrt(n_lines)
    half_width = NormalDist().inv_cdf((1 + level) / 2) * spread
    low, high = cosine - half_width, cosine + half_width
    details = {"line_sum": line_sum, "line_count": line_count}
    return (cosine, low, high, n_lines, details) if return_details else (cosine, low, high, n_lines)


def nuisance_halves(nuisance):
    """Split sounds by the lower and upper half of a factor's distinct values.

    Parameters
    ----------
    nuisance : np.ndarray [shape=(n_sounds,)]
        The nuisance factor on its analysis scale.

    Returns
    -------
    half : np.ndarray [shape=(n_sounds,), dtype=int]
        0 for the lower half of the sorted distinct values, 1 for the upper
        half, -1 for the middle value of an odd count (left out, so that
        the two halves share no value). All -1 for a constant factor.

    Examples
    --------
    >>> nuisance_halves(np.array([1.0, 2.0, 3.0, 1.0, 3.0])).tolist()
    [0, -1, 1, 0, 1]
    """
    distinct, rank = np.unique(nuisance, return_inverse=True)
    rank = rank.ravel()
    n_half = len(distinct) // 2
    half = np.full(len(rank), -1, dtype=np.intp)
    half[rank < n_half] = 0
    half[rank >= len(distinct) - n_half] = 1
    return half


def _out_of_half_predictions(features, values, nuisance_index, targets, *, seed, n_splits):
    """Within- and across-half predictions of the targets (see :func:`invariance_r2`).

    Returns
    -------
    rows, half : np.ndarray [shape=(n_scored,), dtype=int]
        Rows of the sounds used and their half of the nuisance.
    predictions : dict {str: np.ndarray [shape=(n_scored, n_targets)]}
        ``within`` and ``across``: the probes' predictions; ``within_baseline``
        and ``across_baseline``: the mean target of the probe's training
        sounds. NaN where no probe could be fitted (too few sounds, a
        constant target).
    """
    rows = np.arange(len(values))
    if len(rows) > MAX_INVARIANCE_SOUNDS:
        rows = np.sort(np.random.default_rng(seed).choice(len(rows), MAX_INVARIANCE_SOUNDS, replace=False))
    half = nuisance_halves(values[rows, nuisance_index])
    rows, half = rows[half >= 0], half[half >= 0]
    truth = values[np.ix_(rows, targets)]
    kinds = ("within", "across", "within_baseline", "across_baseline")
    predictions = {kind: np.full(truth.shape, np.nan) for kind in kinds}
    if np.bincount(half, minlength=2).min() < 2 * n_splits:
        return rows, half, predictions
    folds = np.empty(len(rows), dtype=np.intp)
    for part in (0, 1):
        members = half == part
        folds[members] = _grouped_folds(_labels(values[rows[members]]), n_splits, seed + part)
    x = features[rows]
    for part in (0, 1):
        for fold in range(n_splits):
            train = (half == part) & (folds != fold)
            varying = np.flatnonzero(np.ptp(truth[train], axis=0) > 0)
            if not len(varying):
                continue  # no probe: its test sounds stay unscored
            # One fit for all targets: one SVD, a penalty per target.
            probe = _ridge(alpha_per_target=True).fit(x[train], truth[np.ix_(train, varying)])
            baseline = truth[np.ix_(train, varying)].mean(axis=0)
            own, other = (half == part) & (folds == fold), (half != part) & (folds == fold)
            for tested, kind in ((own, "within"), (other, "across")):
                if tested.any():  # a fold can be empty when a half has few distinct sounds
                    cells = np.ix_(tested, varying)
                    predictions[kind][cells] = probe.predict(x[tested]).reshape(-1, len(varying))
                    predictions[f"{kind}_baseline"][cells] = baseline
    return rows, half, predictions


def invariance_r2(features, values, nuisance_index, *, targets=None, seed=0, n_splits=N_SPLITS,
                  n_resamples=N_RESAMPLES, level=0.95, return_details=False):  # fmt: skip
    """Does a probe of each target survive a change of the nuisance?

    Sounds are split by :func:`nuisance_halves`. Each half is cut into
    ``n_splits`` folds (sounds with identical factors in the same fold). For
    each half and fold, a ridge probe of the target fitted on the half's
    other folds predicts the held-out fold of its own half (``within``) and
    the same-numbered fold of the other half (``across``): both scores come
    from the same probes, fitted on the same amount of data. Every sound
    thus gets one within and one across prediction.

    Both are scored as out-of-sample R^2 against the probe's own training
    mean, ``1 - sum (y - prediction)^2 / sum (y - training mean)^2`` (as
    forecasts are scored against the historical mean): 0 is a probe no
    better than ignoring the embedding, in either half. Scored against the
    test sounds' own mean instead, a useless probe would lose more within
    (in a balanced design, the held-out fold's mean moves opposite to the
    training mean) than across, and the difference would show a gain where
    there is none.

    Parameters
    ----------
    features : np.ndarray [shape=(n_sounds, n_features)]
        Probe features (:func:`probe_features`).
    values : np.ndarray [shape=(n_sounds, n_factors)]
        Factors on their analysis scales.
    nuisance_index : int
    targets : sequence of int, optional
        Columns of the targets; default every other factor.
    seed : int
        Seeds the subsample (beyond :data:`MAX_INVARIANCE_SOUNDS`), the folds
        and the bootstrap.
    n_splits : int
    n_resamples : int
    level : float
    return_details : bool
        Also return per-sound truth, predictions and half.

    Returns
    -------
    scores : dict {int: dict}
        Target column -> ``within``, ``across`` (R^2 of the target pooled
        over both halves) and ``difference`` (``across - within``), each
        with ``*_low`` and ``*_high``: percentile bootstrap over sounds,
        resampled within each half (both keep their size), the probes fixed
        and the same resample for both scores, so the difference's interval
        is paired. Sounds are the units here because the probes are fitted
        on sounds; the interval covers the test sounds, not the refitting
        of the probes. NaN where the nuisance has fewer than two values or
        the target is constant. ``n_sounds``: sounds scored.
    details : dict {int: dict}
        Only with ``return_details``: per target, ``rows``, ``truth``,
        ``half``, ``within``, ``across``, ``within_baseline``,
        ``across_baseline`` (the training means; shape ``(n_scored,)``).
    """
    values = _check_values(values, len(features))
    _check_index(nuisance_index, values.shape[1], "nuisance_index")
    if targets is None:
        targets = [j for j in range(values.shape[1]) if j != nuisance_index]
    targets = [int(t) for t in targets]
    for target in targets:
        _check_index(target, values.shape[1], "target index")
        if target == nuisance_index:
            raise DataError(f"equivariance: target and nuisance are the same factor ({target})")
    rows, half, predictions = _out_of_half_predictions(
        features, values, nuisance_index, targets, seed=seed, n_splits=n_splits
    )
    names = ("within", "across", "difference")

    def statistics(sums):
        # Columns: squared errors of (within, its baseline, across, its baseline).
        r2_within, r2_across = 1 - sums[..., 0] / sums[..., 1], 1 - sums[..., 2] / sums[..., 3]
        return r2_within, r2_across, r2_across - r2_within

    all_scores, all_details = {}, {}
    for column, target in enumerate(targets):
        truth = values[rows, target]
        kinds = ("within", "within_baseline", "across", "across_baseline")
        errors = np.column_stack([(truth - predictions[kind][:, column]) ** 2 for kind in kinds])
        scored = np.isfinite(errors).all(axis=1)
        errors = errors[scored]
        scores = {f"{name}{suffix}": np.nan for name in names for suffix in ("", "_low", "_high")}
        if scored.any() and (errors[:, [1, 3]].sum(axis=0) > 0).all():
            point = statistics(errors.sum(axis=0))
            sums = _resampled_sums(errors, n_resamples=n_resamples, seed=seed, strata=half[scored])
            with np.errstate(divide="ignore", invalid="ignore"):  # a resample of constant targets: NaN
                replicates = statistics(sums)
            for name, value, replicate in zip(names, point, replicates, strict=True):
                scores[name] = float(value)
                scores[f"{name}_low"], scores[f"{name}_high"] = _interval(replicate, level)
        scores["n_sounds"] = int(scored.sum())
        all_scores[target] = scores
        arrays = {"rows": rows, "truth": truth, "half": half}
        arrays.update({kind: predictions[kind][:, column] for kind in predictions})
        all_details[target] = {name: array[scored] for name, array in arrays.items()}
    return (all_scores, all_details) if return_details else all_scores


def equivariance_table(embedding, values, names, *, seed=0, n_resamples=N_RESAMPLES, level=0.95,
                       return_details=False, features=None):  # fmt: skip
    """Every equivariance and invariance score of one model on one dataset.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_sounds, dim)]
        Raw embedding, in ``values`` row order.
    values : np.ndarray [shape=(n_sounds, n_factors)]
        Factors on their analysis scales
        (:func:`gear.parameters.analysis_matrix`).
    names : sequence of str [length n_factors]
        Factor names, in column order.
    seed : int
        Seeds every subsample, fold and bootstrap: the same seed gives every
        model the same lines, folds and resamples.
    n_resamples : int
        Bootstrap resamples of the intervals.
    level : float
        Confidence level of the intervals, in (0, 1).
    return_details : bool
        Also return what a paired test between models needs
        (:func:`paired_statistic`).
    features : np.ndarray [shape=(n_sounds, n_features)], optional
        The probes' features if already computed (a caller that reduced
        the same standardized embedding by PCA passes its leading
        components); default :func:`probe_features` of ``embedding``.

    Returns
    -------
    table : pd.DataFrame
        Columns :data:`COLUMNS`. Per factor (``nuisance`` empty):
        ``equivariance_r2`` and ``displacement_cosine``, absent if the
        design has no pairs of that factor on two lines (e.g. a random
        design). Per ordered pair (``parameter`` the target, ``nuisance``
        the other factor): ``invariance_within_r2``,
        ``invariance_across_r2`` and ``invariance_r2_difference`` (across
        minus within). Intervals as in the functions that compute them.
    details : dict {str: np.ndarray}
        Only with ``return_details``; keys ``"<metric>__<parameter>__<piece>"``
        (the three invariance scores share ``"invariance__<target>|<nuisance>__<piece>"``):
        ``equivariance_r2``: ``line_sums`` [shape=(n_lines, 2)], per line
        the sums of squared changes and of squared errors;
        ``displacement_cosine``: ``line_sums`` [shape=(n_lines, 2)], per
        line the sum and count of its contributions; invariance:
        ``errors`` [shape=(n_scored, 4)], per sound the squared errors of
        (within, its baseline, across, its baseline), ``half`` and ``rows``
        [shape=(n_scored,)].

    Raises
    ------
    DataError
        If shapes disagree, values are not finite, or there are fewer
        than 10 sounds.
    ConfigError
        If ``level`` is not in (0, 1) or ``n_resamples < 1``.
    """
    embedding = np.asarray(embedding)
    if embedding.ndim != 2:
        raise DataError(f"equivariance: the embedding must be 2-D (n_sounds, dim), got {embedding.shape}")
    values = _check_values(values, len(embedding))
    names = [str(name) for name in names]
    if len(names) != values.shape[1]:
        raise DataError(f"equivariance: {len(names)} names for {values.shape[1]} factors")
    if len(embedding) < MIN_SOUNDS:
        raise DataError(f"equivariance: {len(embedding)} sounds, at least {MIN_SOUNDS} needed")
    if not np.isfinite(embedding).all():
        raise DataError("equivariance: the embedding contains NaN or infinite values")
    if not 0 < level < 1:
        raise ConfigError(f"equivariance: level must be in (0, 1), got {level}")
    if n_resamples < 1:
        raise ConfigError(f"equivariance: n_resamples must be positive, got {n_resamples}")
    if features is None:
        features = probe_features(embedding, seed=seed)
    elif len(features) != len(embedding) or not np.isfinite(features).all():
        raise DataError(f"equivariance: features of shape {np.shape(features)} for {len(embedding)} sounds")
    options = {"seed": seed, "n_resamples": n_resamples, "level": level}
    rows = []

    def add(parameter, nuisance, metric, value, low, high):
        rows.append({"parameter": parameter, "nuisance": nuisance, "metric": metric, "value": float(value),
                     "ci_low": float(low), "ci_high": float(high)})  # fmt: skip

    details = {}
    for j, name in enumerate(names):
        r2, low, high, n_lines, pieces = equivariance_r2(features, values, j, return_details=True, **options)
        if n_lines < 2:
            logger.info("equivariance: %s changes alone on %d line(s) of the design: no score", name, n_lines)
            continue
        add(name, "", "equivariance_r2", r2, low, high)
        truth, error = pieces["truth"], pieces["truth"] - pieces["prediction"]
        details[f"equivariance_r2__{name}__line_sums"] = np.column_stack(
            [np.bincount(pieces["line"], weights=truth**2), np.bincount(pieces["line"], weights=error**2)]
        )
        cosine, low, high, _, pieces = displacement_consistency(embedding, values, j, level=level,
                                                                return_details=True)  # fmt: skip
        add(name, "", "displacement_cosine", cosine, low, high)
        details[f"displacement_cosine__{name}__line_sums"] = np.column_stack(
            [pieces["line_sum"], pieces["line_count"]]
        )
    for n, nuisance in enumerate(names):
        all_scores, all_pieces = invariance_r2(features, values, n, return_details=True, **options)
        for t, scores in all_scores.items():
            for part, metric in INVARIANCE_METRICS.items():
                add(names[t], nuisance, metric, scores[part], scores[f"{part}_low"], scores[f"{part}_high"])
            pieces = all_pieces[t]
            kinds = ("within", "within_baseline", "across", "across_baseline")
            prefix = f"invariance__{names[t]}|{nuisance}"
            errors = [(pieces["truth"] - pieces[kind]) ** 2 for kind in kinds]
            details[f"{prefix}__errors"] = np.column_stack(errors)
            details[f"{prefix}__half"] = pieces["half"]
            details[f"{prefix}__rows"] = pieces["rows"]
    table = pd.DataFrame(rows, columns=COLUMNS)
    return (table, details) if return_details else table


def paired_statistic(details, metric, parameter):
    """What a paired bootstrap between models needs for one score of one model.

    Parameters
    ----------
    details : mapping {str: np.ndarray}
        The ``details`` of :func:`equivariance_table` (other keys ignored).
    metric : str
        One of :data:`PAIRED_METRICS`.
    parameter : str
        The factor, or ``"target|nuisance"`` for invariance.

    Returns
    -------
    paired : tuple or None
        None if the model has no such score. Else ``(items, n_items,
        strata, statistic)``: ``items`` identifies the resampled units
        (bytes; equal for two models scored on the same lines or sounds,
        i.e. same design and seed), ``strata`` the strata of the resampling
        (None, or each sound's half of the nuisance), and ``statistic``
        maps an index array [shape=(n_resamples, n_items)] to the score
        per resample [shape=(n_resamples,)]. Lines are resampled for
        ``equivariance_r2`` and ``displacement_cosine``, sounds within
        halves for invariance, as their intervals do. The cosine is a
        U-statistic over pairs of lines: resampling lines' mean
        contributions alone gives a quarter of its variance (Sen, 1960, as
        in :func:`displacement_consistency`), so its replicates are spread
        twice as far from the observed value.
    """
    if metric not in PAIRED_METRICS:
        raise ConfigError(f"equivariance: no paired test for {metric!r}; known: {list(PAIRED_METRICS)}")
    if metric in ("equivariance_r2", "displacement_cosine"):
        sums = details.get(f"{metric}__{parameter}__line_sums")
        if sums is None or len(sums) < 2:
            return None
        sums = np.asarray(sums, dtype=np.float64)
        if metric == "equivariance_r2":
            # Column 0, the changes, depends on the design and seed only.
            items = sums[:, 0].tobytes()

            def statistic(indices):
                drawn = sums[indices].sum(axis=-2)
                return 1 - drawn[..., 1] / drawn[..., 0]

        else:
            items = sums[:, 1].tobytes()
            observed = sums[:, 0].sum() / sums[:, 1].sum()

            def statistic(indices):
                drawn = sums[indices].sum(axis=-2)
                return observed + 2 * (drawn[..., 0] / drawn[..., 1] - observed)

        return items, len(sums), None, statistic
    prefix = f"invariance__{parameter}"
    if f"{prefix}__errors" not in details or not len(details[f"{prefix}__errors"]):
        return None
    errors = np.asarray(details[f"{prefix}__errors"], dtype=np.float64)
    half = np.asarray(details[f"{prefix}__half"])
    rows = np.asarray(details[f"{prefix}__rows"], dtype=np.int64)
    part = {name: i for i, name in enumerate(INVARIANCE_METRICS.values())}[metric]

    def statistic(indices):
        drawn = errors[indices].sum(axis=-2)
        with np.errstate(divide="ignore", invalid="ignore"):
            within, across = 1 - drawn[..., 0] / drawn[..., 1], 1 - drawn[..., 2] / drawn[..., 3]
        return (within, across, across - within)[part]

    return rows.tobytes() + half.astype(np.int64).tobytes(), len(errors), half, statistic


def metric_rows(table):
    """The table in the metrics table's columns.

    Parameters
    ----------
    table : pd.DataFrame
        From :func:`equivariance_table`.

    Returns
    -------
    rows : pd.DataFrame
        Columns ``parameter, metric, value, ci_low, ci_high``; an ordered
        pair is named ``"target|nuisance"`` (the metrics table's name for
        pairs; here the order matters).
    """
    rows = table.copy()
    pair = rows["nuisance"].astype(str) != ""
    rows.loc[pair, "parameter"] = rows.loc[pair, "parameter"] + "|" + rows.loc[pair, "nuisance"]
    return rows.drop(columns="nuisance").reset_index(drop=True)
