"""One-parameter sweeps: does the embedding move away steadily as one factor grows?

:func:`sweeps_from_grid` finds one-parameter sweeps (grid lines) in a
design; :func:`sweep_scores` measures along each sweep how monotonically
the embedding moves away from the sweep's start (Spearman, as in "Neural
Proxies for Sound Synthesizers", JAES 2025) and how evenly (the largest
step's share of the path). Sweeps are processed in chunks of rows, so
memory stays linear in the number of sounds.
"""

import numpy as np
from scipy.stats import rankdata

from gear.analysis.features import check_distance, prepare_distance
from gear.errors import ConfigError, DataError

__all__ = ["sweeps_from_grid", "sweep_scores"]

# Embedding values gathered at once by the sweeps.
_SWEEP_ELEMENTS = 2**22


def sweeps_from_grid(values, parameter_index, *, min_points=3):
    """One-parameter sweeps of a design: lines along one parameter, others fixed.

    Rows whose other parameters are all exactly equal form one line (in a
    grid design, a grid line; in a sweeps design, one anchor's sweep over
    this parameter). Within a line, rows are ordered by the parameter's
    value; a value repeated within a line (the same sound twice) keeps its
    first row only, since a zero step between copies would make the order
    ambiguous. Lines of fewer than ``min_points`` distinct values are
    dropped: a random design has none, and a parameter with two grid values
    has no sweep long enough for a rank correlation.

    Parameters
    ----------
    values : np.ndarray [shape=(n_sounds, n_parameters)]
        Parameters on their analysis scale, rows in embedding order.
        Equality is exact, as in a grid built from a few values per
        parameter.
    parameter_index : int
        Column of the swept parameter.
    min_points : int
        At least 3: the monotonicity is a rank correlation over the
        ``n - 1`` steps after the start.

    Returns
    -------
    sweeps : list of np.ndarray [shape=(n_points,), dtype=int]
        Row indices of each line, in increasing order of the parameter;
        lines in lexicographic order of the other parameters' values.

    Raises
    ------
    DataError
        If ``values`` is not 2-D, not finite, or the index is out of range.
    ConfigError
        If ``min_points < 3``.

    Examples
    --------
    >>> grid = np.array([[f, a] for f in (1.0, 2.0, 3.0) for a in (0.0, 1.0)])
    >>> [s.tolist() for s in sweeps_from_grid(grid, 0)]
    [[0, 2, 4], [1, 3, 5]]
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise DataError(f"scores: parameter values must be 2-D (n_sounds, n_parameters), got {values.shape}")
    if not np.isfinite(values).all():
        raise DataError("scores: parameter values contain NaN or infinite values")
    if not -values.shape[1] <= parameter_index < values.shape[1]:
        raise DataError(
            f"scores: parameter_index {parameter_index} out of range for {values.shape[1]} parameters"
        )
    if min_points < 3:
        raise ConfigError(f"scores: min_points must be at least 3, got {min_points}")
    if len(values) == 0:
        return []
    others = np.delete(values, parameter_index, axis=1) + 0.0  # + 0.0: -0.0 equals 0.0
    if others.shape[1]:
        _, labels = np.unique(others, axis=0, return_inverse=True)
        labels = labels.ravel()
    else:
        labels = np.zeros(len(values), dtype=np.intp)
    key = values[:, parameter_index] + 0.0
    order = np.lexsort((key, labels))  # stable: equal (line, value) pairs keep row order
    line, key = labels[order], key[order]
    starts = np.r_[True, line[1:] != line[:-1]]
    repeated = np.r_[False, (line[1:] == line[:-1]) & (key[1:] == key[:-1])]
    order, starts = order[~repeated], starts[~repeated]
    lines = np.split(order, np.flatnonzero(starts)[1:])
    return [rows.astype(np.intp) for rows in lines if len(rows) >= min_points]


def _spearman_with_index(distances):
    """Spearman correlation of each row of ``distances`` with its column index.

    Ties get average ranks, as :func:`scipy.stats.spearmanr`; a row without
    any variation gets 0 (no trend) instead of NaN.

    Parameters
    ----------
    distances : np.ndarray [shape=(n_rows, n_steps)]

    Returns
    -------
    rho : np.ndarray [shape=(n_rows,)]
    """
    ranks = rankdata(distances, axis=1)
    ranks -= ranks.mean(axis=1, keepdims=True)
    index = np.arange(distances.shape[1], dtype=np.float64)
    index -= index.mean()
    spread = np.sqrt((ranks**2).sum(axis=1) * (index @ index))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(spread > 0, ranks @ index / spread, 0.0)


def sweep_scores(embedding, sweeps, distance="euclidean"):
    """Monotonicity and smoothness of the embedding along one-parameter sweeps.

    For a sweep of points ``x_0, ..., x_{n-1}`` (embeddings of sounds in
    increasing order of one parameter, the others fixed), with ``d_k`` the
    distance from ``x_k`` to the start ``x_0``:

    - monotonicity: the Spearman correlation between the step index
      ``k = 1 .. n-1`` and ``d_k`` (the start, always at distance 0, is
      left out, so that an embedding blind to the sweep's order scores 0 on
      average rather than ``3 / (n + 1)``). 1: every point is farther from
      the start than the one before; about 0: no trend; below 0: the sweep
      folds back. A sweep along which the embedding does not move at all
      (every ``d_k`` equal) scores 0 (no trend), not NaN, so that a model
      blind to a parameter gets a number on the scorecard.
    - smoothness: the largest step ``|x_{k+1} - x_k|`` over the path length
      ``sum_k |x_{k+1} - x_k|``. ``1 / (n - 1)`` if all steps are equal, 1
      if the embedding jumps once and stays still otherwise: lower is
      smoother. NaN for a sweep that does not move (no path to share).
    - profile: ``d_k / max_k d_k`` for ``k = 0 .. n-1`` (all zeros for a
      sweep that does not move), for a figure of distance against step.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_sounds, n_features)]
    sweeps : sequence of np.ndarray [shape=(n_points,), dtype=int]
        Row indices of each sweep, in sweep order, at least 3 each (as
        :func:`sweeps_from_grid` returns).
    distance : {"euclidean", "cosine"}
        See :func:`prepare_distance`.

    Returns
    -------
    scores : dict
        Per sweep, for a bootstrap over sweeps:

        - ``monotonicity`` : np.ndarray [shape=(n_sweeps,)]
        - ``smoothness`` : np.ndarray [shape=(n_sweeps,)]
        - ``moving`` : np.ndarray [shape=(n_sweeps,), dtype=bool], False
          where the embedding does not move along the sweep.
        - ``profile`` : np.ndarray [shape=(n_sweeps, max_points)], padded
          with NaN after each sweep's last point.

        Summaries (NaN if there is no sweep):

        - ``monotonicity_mean``, ``monotonicity_median`` : float, over all
          sweeps.
        - ``smoothness_mean``, ``smoothness_median`` : float, over moving
          sweeps.
        - ``profile_median``, ``profile_q1``, ``profile_q3`` :
          np.ndarray [shape=(max_points,)], median and quartiles of the
          profile at each step, over the sweeps that reach that step.
        - ``n_sweeps``, ``n_still`` : int.

    Raises
    ------
    DataError
        If the embedding is not 2-D or a sweep has fewer than 3 points or
        indices out of range.
    ConfigError
        If ``distance`` is unknown.

    Notes
    -----
    Time and memory are linear in the total length of the sweeps: sweeps of
    equal length are scored together, in chunks of at most ``2**22``
    embedding values gathered at once (with cosine distance, rows are
    normalised within each chunk). The Spearman correlations are
    vectorised; ties get average ranks, as :func:`scipy.stats.spearmanr`.
    """
    check_distance(distance)
    embedding = np.asarray(embedding)
    if embedding.ndim != 2:
        raise DataError(f"scores: the embedding must be 2-D (n_sounds, n_features), got {embedding.shape}")
    sweeps = [np.asarray(rows, dtype=np.intp) for rows in sweeps]
    for rows in sweeps:
        if rows.ndim != 1 or len(rows) < 3:
            raise DataError(f"scores: every sweep needs at least 3 points, got shape {rows.shape}")
        if rows.min() < -len(embedding) or rows.max() >= len(embedding):
            raise DataError(f"scores: sweep indices out of range for {len(embedding)} sounds")
    n_sweeps = len(sweeps)
    longest = max((len(rows) for rows in sweeps), default=0)
    monotonicity = np.zeros(n_sweeps)
    smoothness = np.full(n_sweeps, np.nan)
    moving = np.zeros(n_sweeps, dtype=bool)
    profile = np.full((n_sweeps, longest), np.nan)
    lengths = np.array([len(rows) for rows in sweeps], dtype=np.intp)
    row_size = max(1, embedding.shape[1])
    for n_points in np.unique(lengths):
        which = np.flatnonzero(lengths == n_points)
        per_chunk = max(1, _SWEEP_ELEMENTS // (n_points * row_size))
        for start in range(0, len(which), per_chunk):
            chunk = which[start : start + per_chunk]
            rows = np.stack([sweeps[i] for i in chunk])  # (n_chunk, n_points)
            points = prepare_distance(embedding[rows].astype(np.float64, copy=False), distance)
            if not np.isfinite(points).all():
                raise DataError("scores: the embedding contains NaN or infinite values along a sweep")
            from_start = np.linalg.norm(points - points[:, :1], axis=2)  # (n_chunk, n_points)
            steps = np.linalg.norm(np.diff(points, axis=1), axis=2)  # (n_chunk, n_points - 1)
            del points
            path = steps.sum(axis=1)
            farthest = from_start.max(axis=1)
            moves = farthest > 0
            monotonicity[chunk] = _spearman_with_index(from_start[:, 1:])
            with np.errstate(divide="ignore", invalid="ignore"):
                smoothness[chunk] = np.where(path > 0, steps.max(axis=1) / path, np.nan)
                profile[chunk, :n_points] = np.where(moves[:, None], from_start / farthest[:, None], 0.0)
            moving[chunk] = moves
    summary = {
        "monotonicity_mean": float(monotonicity.mean()) if n_sweeps else np.nan,
        "monotonicity_median": float(np.median(monotonicity)) if n_sweeps else np.nan,
        "smoothness_mean": float(smoothness[moving].mean()) if moving.any() else np.nan,
        "smoothness_median": float(np.median(smoothness[moving])) if moving.any() else np.nan,
    }
    if n_sweeps:
        q1, median, q3 = np.nanpercentile(profile, [25, 50, 75], axis=0)
    else:
        q1 = median = q3 = np.empty(0)
    return {
        "monotonicity": monotonicity,
        "smoothness": smoothness,
        "moving": moving,
        "profile": profile,
        **summary,
        "profile_median": median,
        "profile_q1": q1,
        "profile_q3": q3,
        "n_sweeps": n_sweeps,
        "n_still": int(n_sweeps - moving.sum()),
    }

