"""Disentanglement of a fixed-size code, and the variance a factor explains.

- :func:`dci`: DCI disentanglement, completeness and informativeness
  (Eastwood and Williams, 2018).
- :func:`mig`: the mutual information gap (Chen et al., 2018).
- :func:`variance_explained`: the share of the embedding's variance that a
  parameter explains (eta squared), the basis of the invariance flag.
"""

import numpy as np
from scipy import sparse
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mutual_info_score

from gear.analysis.features import subsample

__all__ = ["CODE_COMPONENTS", "N_BINS", "dci", "mig", "value_groups", "variance_explained"]

#: Bins of a continuous parameter (more distinct values than this) for eta^2
#: and MIG, and of each code unit for MIG.
N_BINS = 20

CODE_COMPONENTS = 10  # DCI and MIG code
MAX_FOREST_POINTS = 10_000  # DCI random forests
_CHUNK_COLUMNS = 256


def _normalized_entropy(weights, n_outcomes):
    """Entropy of ``weights / weights.sum()`` in base ``n_outcomes`` (0 if one outcome)."""
    if n_outcomes < 2:
        return 0.0
    p = weights / weights.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(n_outcomes))


def dci(code, targets, *, n_estimators=50, seed=0):
    """DCI disentanglement, completeness and informativeness.

    Eastwood, C. and Williams, C. K. I. (2018). A framework for the
    quantitative evaluation of disentangled representations. ICLR.
    Importances ``R[i, j]`` of code unit ``i`` for target ``j`` are the
    impurity importances of a random forest per target (the paper's
    nonlinear option; each forest's importances sum to 1, so targets weigh
    equally). Informativeness is the forest's out-of-bag R^2. Beyond 10,000
    points, the forests see a seeded subsample of 10,000.

    Parameters
    ----------
    code : np.ndarray [shape=(n_points, n_code)]
        A fixed-size code, e.g. the first 10 principal components of the
        standardized embedding, or the Isomap coordinates.
    targets : np.ndarray [shape=(n_points, n_targets)]
    n_estimators : int
    seed : int

    Returns
    -------
    disentanglement : float
        ``sum_i rho_i (1 - H_K(P_i.))``, with ``P_ij = R_ij / sum_k R_ik``,
        entropy in base K = n_targets and ``rho_i`` unit i's share of all
        importance: 1 if every unit matters to one target only.
    completeness : np.ndarray [shape=(n_targets,)]
        ``1 - H_D(R_.j / sum_i R_ij)``, base D = n_code: 1 if one unit
        alone captures the target. NaN for a constant target.
    informativeness : np.ndarray [shape=(n_targets,)]
        Out-of-bag R^2 of each target's forest. NaN for a constant target.
    """
    code = np.asarray(code, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    rows = subsample(len(code), MAX_FOREST_POINTS, seed)
    code, targets = code[rows], targets[rows]
    n_code, n_targets = code.shape[1], targets.shape[1]
    importance = np.zeros((n_code, n_targets))
    informativeness = np.full(n_targets, np.nan)
    for j, target in enumerate(targets.T):
        if np.ptp(target) == 0:
            continue
        forest = RandomForestRegressor(
            n_estimators=n_estimators, min_samples_leaf=5, oob_score=True, random_state=seed, n_jobs=1
        ).fit(code, (target - target.mean()) / target.std())
        importance[:, j] = forest.feature_importances_
        informativeness[j] = forest.oob_score_
    total = importance.sum()
    if total == 0:
        return np.nan, np.full(n_targets, np.nan), informativeness
    per_unit = np.array(
        [1 - _normalized_entropy(row, n_targets) if row.sum() > 0 else 0.0 for row in importance]
    )
    disentanglement = float(per_unit @ (importance.sum(axis=1) / total))
    completeness = np.array(
        [1 - _normalized_entropy(column, n_code) if column.sum() > 0 else np.nan for column in importance.T]
    )
    return disentanglement, completeness, informativeness


def value_groups(values, n_bins=N_BINS):
    """Group labels: grid values as they are, more than ``n_bins`` values in quantile bins.

    Returns
    -------
    labels : np.ndarray [shape=(n_points,), dtype=int]
    """
    unique, inverse = np.unique(values, return_inverse=True)
    if unique.size <= n_bins:
        return inverse
    edges = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, values, side="right")


def mig(code, targets, *, n_bins=N_BINS):
    """Mutual information gap, with histogram-discretized mutual information.

    Chen, R. T. Q., Li, X., Grosse, R. and Duvenaud, D. (2018). Isolating
    sources of disentanglement in variational autoencoders. NeurIPS. For
    each target, the gap between the largest and second largest mutual
    information with one code unit, divided by the target's entropy.
    Discretized as in Locatello, F. et al. (2019). Challenging common
    assumptions in the unsupervised learning of disentangled
    representations. ICML: each code unit in ``n_bins`` equal-width bins; a
    target on a grid of at most ``n_bins`` values keeps them, otherwise
    it is cut into ``n_bins`` quantile bins.

    Parameters
    ----------
    code : np.ndarray [shape=(n_points, n_code)]
    targets : np.ndarray [shape=(n_points, n_targets)]
    n_bins : int

    Returns
    -------
    gaps : np.ndarray [shape=(n_targets,)]
        In [0, 1]; NaN for a constant target or a code of one unit.
    """
    code = np.asarray(code, dtype=np.float64)
    gaps = np.full(targets.shape[1], np.nan)
    if code.shape[1] < 2:
        return gaps
    binned = [np.digitize(unit, np.histogram_bin_edges(unit, n_bins)[1:-1]) for unit in code.T]
    for j, target in enumerate(np.asarray(targets).T):
        labels = value_groups(target, n_bins)
        entropy = mutual_info_score(labels, labels)
        if entropy == 0:
            continue
        information = np.sort([mutual_info_score(labels, unit) for unit in binned])[::-1]
        gaps[j] = (information[0] - information[1]) / entropy
    return gaps


def variance_explained(embedding, groups):
    """Share of the embedding's variance explained by a grouping (eta^2).

    A one-way ANOVA in feature space: the between-group sum of squares over
    the total sum of squares. Computed in blocks of columns, in float64.
    Under no effect, eta^2 is about ``(n_groups - 1) / (n_points - 1)``
    (0.008 for 20 groups of 2,500 sounds), not 0.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_points, n_features)]
    groups : np.ndarray [shape=(n_points,)]
        Group label of each point (a parameter's grid value, or its bin).

    Returns
    -------
    total : float
        Over all dimensions pooled (share of the total variance): 0 if the
        parameter leaves no trace, 1 if it alone sets the embedding. NaN
        for a constant embedding.
    mean : float
        Mean over non-constant dimensions of each dimension's eta^2, which
        weighs every dimension alike whatever its variance.
    """
    _, labels = np.unique(groups, return_inverse=True)
    counts = np.bincount(labels).astype(np.float64)
    n_points, n_features = embedding.shape
    indicator = sparse.csr_matrix(
        (np.ones(n_points), (labels, np.arange(n_points))), shape=(counts.size, n_points)
    )
    between = np.empty(n_features)
    total = np.empty(n_features)
    for start in range(0, n_features, _CHUNK_COLUMNS):
        block = np.asarray(embedding[:, start : start + _CHUNK_COLUMNS], dtype=np.float64)
        block = block - block.mean(axis=0)
        stop = start + block.shape[1]
        total[start:stop] = (block**2).sum(axis=0)
        between[start:stop] = ((indicator @ block) ** 2 / counts[:, None]).sum(axis=0)
    if total.sum() == 0:
        return np.nan, np.nan
    # Dimensions constant up to rounding have no variance to explain.
    varying = total > 1e-12 * total.max()
    return float(between.sum() / total.sum()), float(np.mean(between[varying] / total[varying]))

