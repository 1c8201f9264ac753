"""Global disentanglement metrics: which model encodes which factor, and how.

The paper's K-NN regression looks at local neighbourhoods only and, in its
own words, was inconclusive for alpha and r. These metrics answer at the
global scale, per (model, parameter) unless stated:

- Predictability: cross-validated R^2 of a linear (ridge) probe and of a
  leave-one-out K-NN regressor.
- Isomap structure: the best rank correlation between a parameter and an
  Isomap axis, and the cosine between the directions along which different
  parameters grow (0: orthogonal, as the paper hopes).
- Disentanglement: DCI disentanglement, completeness and informativeness
  (Eastwood and Williams, 2018) and MIG (Chen et al., 2018) on a
  fixed-size code.
- Geometry: intrinsic dimension (TwoNN and Levina-Bickel MLE), and
  trustworthiness and continuity between parameter and embedding space.
- Topology: persistent homology of farthest-point landmarks (ripser):
  components and loops, a check on what Isomap may fake (Donoho and
  Grimes, 2003).
- Invariance: the share of the embedding's variance that a parameter
  explains (eta squared).

Parameters are compared on their analysis scale, as the dataset's
description declares it (e.g. a frequency in log, mel or ERB units; see
:mod:`gear.scales`): no metric knows which synthesizer made the sounds. Two views of the embedding are used, each where it belongs:

- Geometry (K-NN, intrinsic dimension, trustworthiness, topology) uses the
  raw embedding with Euclidean distance, the metric of Isomap's
  neighbourhood graph, so it measures what Isomap sees. Standardizing would
  give near-constant noise dimensions the weight of informative ones.
- Probes and codes (ridge, DCI, MIG) use the standardized embedding, so
  that no dimension dominates by its unit alone, reduced by PCA (fitted
  without labels) to at most 256 components for the probe and 10 for the
  code.

Memory stays linear in the number of sounds: every quadratic step runs on a
seeded subsample of bounded size (see the ``MAX_*`` constants), and
everything is seeded, so two runs give identical tables.
"""

import hashlib
import logging
import time

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.manifold import trustworthiness
from sklearn.metrics import mutual_info_score, r2_score
from sklearn.model_selection import KFold
from sklearn.neighbors import NearestNeighbors

from gear.errors import DataError
from gear.parameters import analysis_matrix

__all__ = [
    "INVARIANCE_THRESHOLD",
    "RECOVERY_THRESHOLD",
    "PERSISTENCE_THRESHOLD",
    "parameter_matrix",
    "distinct_rows",
    "pca_scores",
    "ridge_r2",
    "knn_r2",
    "isomap_alignment",
    "dci",
    "mig",
    "intrinsic_dimension_twonn",
    "intrinsic_dimension_mle",
    "trustworthiness_continuity",
    "persistent_homology",
    "variance_explained",
    "compute_metrics",
    "HEADLINES",
    "tied_with_best",
    "scorecard",
]

logger = logging.getLogger(__name__)

#: A parameter is flagged invariant if it explains less than this share of
#: the embedding's variance AND neither probe recovers it (best R^2 below
#: RECOVERY_THRESHOLD): a small share alone would flag a factor that is
#: perfectly decodable but moves the embedding little next to the others.
#: 0.05 is about six times eta^2 under no effect (0.008 for 20 groups of
#: 2,500 sounds) and just under Cohen's "medium" effect (0.06); an R^2 of
#: 0.5 means half the parameter's variance is predicted.
INVARIANCE_THRESHOLD = 0.05
RECOVERY_THRESHOLD = 0.5

#: A component or loop is significant if it persists longer than this
#: fraction of the landmarks' diameter (and than twice their covering
#: radius; see :func:`persistent_homology`).
PERSISTENCE_THRESHOLD = 0.1

#: Bins of a continuous parameter (more distinct values than this) for eta^2
#: and MIG, and of each code unit for MIG.
N_BINS = 20

# Sizes of the seeded subsamples and reductions.
MAX_PROBE_COMPONENTS = 256  # ridge probe features
CODE_COMPONENTS = 10  # DCI and MIG code
MAX_PCA_FIT_POINTS = 10_000  # rows the PCA axes are fitted on
MAX_NEIGHBOR_QUERIES = 5_000  # K-NN R^2 and intrinsic dimension queries
MAX_FOREST_POINTS = 10_000  # DCI random forests
MAX_TRUSTWORTHINESS_POINTS = 2_000  # quadratic in memory
MAX_TOPOLOGY_POINTS = 400  # farthest-point landmarks
MAX_TOPOLOGY_DIMS = 50
MIN_SOUNDS = 10
MAX_STRATA = 64  # a parameter with at most this many values is resampled within each value

_RIDGE_ALPHAS = np.logspace(-3, 5, 9)
_CHUNK_ROWS = 10_000
_CHUNK_COLUMNS = 256


def parameter_matrix(params, parameters):
    """Parameters on their analysis scales (see :func:`gear.parameters.analysis_matrix`).

    Parameters
    ----------
    params : pd.DataFrame
        With one column per parameter.
    parameters : sequence of Parameter or str
        Plain names are taken on a linear scale.

    Returns
    -------
    values : np.ndarray [shape=(n_sounds, n_parameters)]

    Raises
    ------
    DataError
        If a column is missing or not finite, or a value is outside its
        scale's domain.
    """
    return analysis_matrix(params, parameters, context="metrics")


def _mean(values):
    """Mean of the finite values, NaN if none (without numpy's empty-slice warning)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else np.nan


def _subsample(n_points, size, seed):
    """Sorted seeded subsample of ``range(n_points)`` of at most ``size`` indices."""
    if n_points <= size:
        return np.arange(n_points)
    return np.sort(np.random.default_rng(seed).choice(n_points, size, replace=False))


def distinct_rows(points):
    """Indices of the first occurrence of each distinct row, in row order.

    Rows are compared by a hash of their bytes (BLAKE2b, 64 bits), so memory
    stays linear where ``np.unique(axis=0)`` would sort a copy.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]

    Returns
    -------
    rows : np.ndarray [shape=(n_distinct,)]
    """
    points = np.ascontiguousarray(points)
    # + 0.0 maps -0.0 to 0.0, which compare equal but differ in bytes.
    hashes = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b((row + 0.0).tobytes(), digest_size=8).digest(), "little")
            for row in points
        ),
        dtype=np.uint64,
        count=len(points),
    )
    _, first = np.unique(hashes, return_index=True)
    return np.sort(first)


def pca_scores(points, n_components, *, standardize=True, seed=0):
    """Principal component scores, fitted on a bounded seeded subsample.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    n_components : int
        At most this many components. If the data have no more dimensions
        than that, they are returned (standardized or centred) unrotated:
        PCA is used to reduce, and a rotation would change what DCI and
        MIG measure.
    standardize : bool
        Scale each dimension to unit variance first (constant dimensions
        are only centred).
    seed : int
        Seed of the randomized SVD and of the fitting subsample (at most
        10,000 rows; axes estimated on more add little and cost memory).

    Returns
    -------
    scores : np.ndarray [shape=(n_points, n_scores)]
        float64, centred; ``n_scores`` is at most ``n_components``.
    """
    fit_rows = _subsample(len(points), MAX_PCA_FIT_POINTS, seed)
    sample = np.asarray(points[fit_rows], dtype=np.float64)
    mean = sample.mean(axis=0)
    scale = sample.std(axis=0) if standardize else np.ones(sample.shape[1])
    scale[scale == 0] = 1.0
    if points.shape[1] <= n_components:
        return (np.asarray(points, dtype=np.float64) - mean) / scale
    if not sample.std(axis=0).any():
        return np.zeros((len(points), 1))  # a constant embedding has no component
    # Float32 embeddings stay float32 through the SVD: twice as fast, and
    # scores agree with float64 to about 1e-5 relative.
    work = np.float32 if points.dtype == np.float32 else np.float64
    # A centred sample of m rows has rank at most m - 1.
    n_components = min(n_components, len(fit_rows) - 1)
    pca = PCA(n_components=n_components, random_state=seed).fit(((sample - mean) / scale).astype(work))
    del sample
    return np.vstack(
        [
            pca.transform(((points[start : start + _CHUNK_ROWS] - mean) / scale).astype(work)).astype(
                np.float64
            )
            for start in range(0, len(points), _CHUNK_ROWS)
        ]
    )


def ridge_r2(features, targets, *, n_splits=5, seed=0):
    """Cross-validated R^2 of a ridge probe.

    Ridge regression with its penalty chosen per target among
    ``logspace(-3, 5, 9)`` by efficient leave-one-out on each training fold
    (nested: the test fold never picks the penalty), scored on 5 shuffled
    folds. On PCA scores of the standardized embedding (:func:`pca_scores`),
    this is ridge on the standardized embedding restricted to its leading
    principal subspace.

    Parameters
    ----------
    features : np.ndarray [shape=(n_points, n_features)]
    targets : np.ndarray [shape=(n_points, n_targets) or (n_points,)]
    n_splits : int
    seed : int
        Seed of the shuffled K-fold split.

    Returns
    -------
    r2 : np.ndarray [shape=(n_targets,)]
        Mean over folds of each target's R^2: 1 is perfect, 0 is no better
        than the fold's mean, and it can be negative. NaN for a constant
        target.
    """
    targets = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
    varying = np.ptp(targets, axis=0) > 0
    r2 = np.full(targets.shape[1], np.nan)
    if not varying.any():
        return r2
    y = targets[:, varying]
    scores = []
    for train, test in KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(features):
        probe = RidgeCV(alphas=_RIDGE_ALPHAS, alpha_per_target=True).fit(features[train], y[train])
        prediction = probe.predict(features[test]).reshape(len(test), -1)
        scores.append(r2_score(y[test], prediction, multioutput="raw_values"))
    r2[varying] = np.mean(scores, axis=0)
    return r2


def _loo_neighbors(points, rows, n_neighbors):
    """Distances and indices of the K nearest other points of ``points[rows]``.

    Neighbours are searched among all points (exact, brute force in chunks,
    so memory stays linear); each query's own row is removed wherever a tie
    with a duplicate puts it.

    Returns
    -------
    distances, indices : np.ndarray [shape=(len(rows), n_neighbors)]
    """
    distances, indices = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(points).kneighbors(points[rows])
    own = indices == rows[:, None]
    own[~own.any(axis=1), -1] = True  # self beyond the K+1 (many duplicates): drop the farthest
    keep = ~own
    return distances[keep].reshape(len(rows), n_neighbors), indices[keep].reshape(len(rows), n_neighbors)


def knn_r2(embedding, targets, n_neighbors=10, *, seed=0, neighbors=None):
    """Leave-one-out R^2 of a K-NN regressor on the raw embedding.

    Each sound's parameter is predicted by the unweighted mean over its K
    nearest other sounds, by Euclidean distance on the raw embedding, the
    distance Isomap's graph uses. Beyond 5,000 sounds, predictions are
    scored on a seeded subsample of 5,000 (neighbours still searched among
    all sounds).

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_points, n_features)]
    targets : np.ndarray [shape=(n_points, n_targets)]
    n_neighbors : int
    seed : int
    neighbors : tuple of np.ndarray, optional
        ``(rows, indices)`` from a search already made, with ``indices``
        of shape ``(len(rows), >= n_neighbors)``.

    Returns
    -------
    r2 : np.ndarray [shape=(n_targets,)]
        NaN for a target constant on the scored sounds.
    """
    targets = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
    if neighbors is None:
        rows = _subsample(len(embedding), MAX_NEIGHBOR_QUERIES, seed)
        neighbors = (rows, _loo_neighbors(embedding, rows, n_neighbors)[1])
    rows, indices = neighbors
    prediction = targets[indices[:, :n_neighbors]].mean(axis=1)
    truth = targets[rows]
    residual = ((truth - prediction) ** 2).sum(axis=0)
    total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 1 - residual / total, np.nan)


def isomap_alignment(coordinates, targets):
    """How parameters line up with Isomap coordinates.

    Parameters
    ----------
    coordinates : np.ndarray [shape=(n_points, n_components)]
    targets : np.ndarray [shape=(n_points, n_targets)]

    Returns
    -------
    spearman : np.ndarray [shape=(n_targets,)]
        Largest absolute Spearman correlation of each target with any
        axis (NaN for a constant target).
    axis : np.ndarray [shape=(n_targets,)]
        Index of that axis (-1 if undefined).
    cosines : np.ndarray [shape=(n_targets, n_targets)]
        Absolute cosine between the gradients of linear fits of the
        standardized targets on the (centred, unscaled) coordinates: the
        directions along which two targets grow in Isomap space. 0 means
        orthogonal. Coordinates are not rescaled, so the angle is the one
        seen in the Isomap plot: for coordinates ``p @ A.T`` of independent
        parameters ``p``, the cosine is 0 exactly when the columns of ``A``
        (each parameter's direction) are orthogonal.
    r2 : np.ndarray [shape=(n_targets,)]
        In-sample R^2 of each linear fit (a few coefficients for thousands
        of points, so no cross-validation): a direction means little where
        this is low.
    """
    coordinates = np.asarray(coordinates, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    n_targets = targets.shape[1]
    correlations = np.zeros((n_targets, coordinates.shape[1]))
    for j, target in enumerate(targets.T):
        for k, axis in enumerate(coordinates.T):
            if np.ptp(target) > 0 and np.ptp(axis) > 0:
                correlations[j, k] = abs(spearmanr(axis, target).statistic)
    varying = np.ptp(targets, axis=0) > 0
    spearman = np.where(varying, correlations.max(axis=1, initial=0.0), np.nan)
    axis = (
        np.where(varying, correlations.argmax(axis=1), -1) if coordinates.shape[1] else np.full(n_targets, -1)
    )
    scale = targets.std(axis=0)
    scale[scale == 0] = 1.0
    standardized = (targets - targets.mean(axis=0)) / scale
    fit = LinearRegression().fit(coordinates, standardized)
    residual = ((standardized - fit.predict(coordinates).reshape(standardized.shape)) ** 2).sum(axis=0)
    r2 = np.where(varying, 1 - residual / len(targets), np.nan)  # standardized: total SS = n
    gradients = fit.coef_.reshape(n_targets, -1)
    norms = np.linalg.norm(gradients, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(norms > 0, gradients / norms, np.nan)
    return spearman, axis, np.abs(unit @ unit.T), r2


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
    rows = _subsample(len(code), MAX_FOREST_POINTS, seed)
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


def _groups(values, n_bins=N_BINS):
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
        labels = _groups(target, n_bins)
        entropy = mutual_info_score(labels, labels)
        if entropy == 0:
            continue
        information = np.sort([mutual_info_score(labels, unit) for unit in binned])[::-1]
        gaps[j] = (information[0] - information[1]) / entropy
    return gaps


def _twonn(distances, discard_fraction=0.1):
    """TwoNN fit on sorted neighbour distances ``(n, >= 2)`` (first two columns)."""
    if distances.ndim != 2 or distances.shape[1] < 2:
        return np.nan  # fewer than 3 distinct points
    r1, r2 = distances[:, 0], distances[:, 1]
    valid = r1 > 0
    mu = np.sort(r2[valid] / r1[valid])
    n = mu.size
    keep = int(n * (1 - discard_fraction))
    if keep < 2:
        return np.nan
    x = np.log(mu[:keep])
    y = -np.log(1 - np.arange(1, keep + 1) / n)
    return float(x @ y / (x @ x)) if x @ x > 0 else np.nan


def _mle(distances, k_min=10, k_max=20):
    """Levina-Bickel MLE averaged over k, on sorted neighbour distances ``(n, >= k_max)``."""
    k_max = min(k_max, distances.shape[1])
    if k_max < 2:
        return np.nan  # fewer than 3 distinct points
    k_min = max(2, min(k_min, k_max))
    valid = distances[:, 0] > 0
    logs = np.log(distances[valid, :k_max])
    if not len(logs):
        return np.nan
    estimates = []
    for k in range(k_min, k_max + 1):
        # Inverse local estimate: mean of log(T_k / T_j), j < k.
        inverse = (logs[:, k - 1 : k] - logs[:, : k - 1]).mean(axis=1)
        estimates.append(1 / inverse.mean() if inverse.mean() > 0 else np.nan)
    return float(np.mean(estimates))


def intrinsic_dimension_twonn(points, *, seed=0, discard_fraction=0.1):
    """TwoNN intrinsic dimension.

    Facco, E., d'Errico, M., Rodriguez, A. and Laio, A. (2017). Estimating
    the intrinsic dimension of datasets by a minimal neighborhood
    information. Scientific Reports 7:12140. With ``mu = r2 / r1`` the
    ratio of each point's second to first neighbour distance, ``mu`` is
    Pareto with index d, so ``-log(1 - F(mu)) = d log(mu)``; d is the slope
    through the origin of that line on the empirical F, the largest 10 %
    of ``mu`` discarded as the paper does (they come from noise and
    density changes). Duplicate points (zero distances) are dropped; at
    most 5,000 seeded query points, neighbours searched among all. On an
    exact lattice (the parameters themselves), ties ``r1 = r2`` make the
    estimate meaningless; embeddings of real models have no such ties.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    seed : int
    discard_fraction : float

    Returns
    -------
    dimension : float
    """
    points = points[distinct_rows(points)]
    rows = _subsample(len(points), MAX_NEIGHBOR_QUERIES, seed)
    return _twonn(_loo_neighbors(points, rows, 2)[0], discard_fraction)


def intrinsic_dimension_mle(points, *, k_min=10, k_max=20, seed=0):
    """Levina-Bickel maximum-likelihood intrinsic dimension, averaged over k.

    Levina, E. and Bickel, P. J. (2004). Maximum likelihood estimation of
    intrinsic dimension. NIPS. For each k in ``k_min..k_max``, local
    estimates are pooled by averaging their inverses (MacKay and
    Ghahramani, 2005, who show the paper's mean of the estimates is
    biased), then the estimates are averaged over k, as the paper does.
    Duplicate points are dropped; at most 5,000 seeded query points.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    k_min, k_max : int
    seed : int

    Returns
    -------
    dimension : float
    """
    points = points[distinct_rows(points)]
    rows = _subsample(len(points), MAX_NEIGHBOR_QUERIES, seed)
    k_max = min(k_max, len(points) - 1)
    return _mle(_loo_neighbors(points, rows, k_max)[0], k_min, k_max)


def trustworthiness_continuity(parameter_space, embedding, n_neighbors=10, *, seed=0):
    """Trustworthiness and continuity between parameter and embedding space.

    Venna, J. and Kaski, S. (2001). Neighborhood preservation in nonlinear
    projection methods: an experimental study. ICANN. Computed with
    :func:`sklearn.manifold.trustworthiness`, parameter space as the
    original: trustworthiness penalizes embedding neighbours that are far
    in parameter space (false neighbours); continuity, the same with roles
    swapped, penalizes parameter neighbours that the embedding tears apart.
    Both need all pairwise distances, so they run on a seeded subsample of
    at most 2,000 points.

    Parameters
    ----------
    parameter_space : np.ndarray [shape=(n_points, n_parameters)]
        Standardized parameters.
    embedding : np.ndarray [shape=(n_points, n_features)]
    n_neighbors : int
        Capped below half the subsample, as the measure requires.
    seed : int

    Returns
    -------
    trustworthiness, continuity : float
        In [0, 1]; 1 is perfect.
    """
    rows = _subsample(len(embedding), MAX_TRUSTWORTHINESS_POINTS, seed)
    source, target = np.asarray(parameter_space[rows]), np.asarray(embedding[rows])
    n_neighbors = min(n_neighbors, (len(rows) - 1) // 2)
    return (
        float(trustworthiness(source, target, n_neighbors=n_neighbors)),
        float(trustworthiness(target, source, n_neighbors=n_neighbors)),
    )


def _farthest_points(points, size, seed):
    """Max-min (farthest point) landmarks, from a seeded first point.

    Gonzalez, T. F. (1985). Clustering to minimize the maximum intercluster
    distance. Theoretical Computer Science 38; de Silva, V. and Carlsson,
    G. (2004). Topological estimation using witness complexes. SPBG.
    Memory is linear: one distance per point.

    Returns
    -------
    landmarks : np.ndarray [shape=(min(size, n_points),)]
        Row indices, in the order chosen.
    cover : float
        Covering radius: the largest distance from a point to its nearest
        landmark (0 if every point is one).
    """
    chosen = [int(np.random.default_rng(seed).integers(len(points)))]
    distance = np.linalg.norm(points - points[chosen[0]], axis=1)
    for _ in range(min(size, len(points)) - 1):
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(points - points[chosen[-1]], axis=1))
    return np.array(chosen), float(distance.max())


def persistent_homology(points, *, relative_threshold=PERSISTENCE_THRESHOLD, seed=0):
    """Significant connected components and loops of a point cloud.

    Vietoris-Rips persistent homology (ripser: Tralie, Saul and Bar-On,
    2018, JOSS; Bauer, 2021) of at most 400 farthest-point landmarks
    (max-min selection), after PCA of the distinct points to at
    most 50 dimensions. The landmarks are an epsilon-net of the cloud:
    every point lies within the covering radius ``eps`` of one, and any
    two are at least ``eps`` apart.

    A feature is significant if it persists longer than
    ``threshold = max(relative_threshold * diameter, 2 * eps)``:

    - ``relative_threshold * diameter`` (10 %) makes the count
      scale-free, so models whose embeddings differ in scale by orders of
      magnitude are judged alike; a real gap or hole lasts a sizeable
      share of the cloud's extent.
    - ``2 * eps`` is the resolution of the landmarks: in a cloud that is
      connected at the sampling scale, each landmark joins another within
      about ``2 eps``, so every H0 death of a single piece falls in
      ``[eps, 2 eps]``, whatever the dimension; without it a noisy
      high-dimensional cloud, where all landmarks are nearly equidistant,
      would count each landmark as a component. (The stability theorem
      bounds the bottleneck distance to the full cloud's diagram by
      ``2 eps``; guaranteeing each feature would take ``4 eps``, too
      strict for 400 landmarks on a 3-D cloud.)

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    relative_threshold : float
    seed : int
        Seeds the PCA and the first landmark.

    Returns
    -------
    components : int
        H0 classes persisting beyond the threshold, the infinite one
        included: 1 for a connected cloud.
    loops : int
        H1 classes persisting beyond the threshold.
    total_persistence : float
        Sum of the finite H0 and the H1 lifetimes, over the diameter.
    h1_max : float
        Longest H1 lifetime over the diameter (0 if none).
    """
    from ripser import ripser  # imported here: only this metric needs it

    points = np.asarray(points)
    points = points[distinct_rows(points)]
    points = pca_scores(points, MAX_TOPOLOGY_DIMS, standardize=False, seed=seed)
    if len(points) < 2:
        return 1, 0, 0.0, 0.0
    landmarks, cover = _farthest_points(points, MAX_TOPOLOGY_POINTS, seed)
    landmarks = points[landmarks]
    distances = squareform(pdist(landmarks))
    diameter = float(distances.max())
    if diameter == 0:
        return 1, 0, 0.0, 0.0
    h0, h1 = ripser(distances, maxdim=1, distance_matrix=True)["dgms"]
    h0_life = h0[:, 1] - h0[:, 0]
    h1_life = h1[:, 1] - h1[:, 0]
    finite = np.isfinite(h0_life)
    threshold = max(relative_threshold * diameter, 2 * cover)
    components = int(np.sum(~finite) + np.sum(h0_life[finite] > threshold))
    loops = int(np.sum(h1_life > threshold))
    total = float((h0_life[finite].sum() + h1_life.sum()) / diameter)
    h1_max = float(h1_life.max() / diameter) if h1_life.size else 0.0
    logger.debug(
        "topology: %d landmarks, diameter %.3g, covering radius %.3g, threshold %.3g",
        len(landmarks),
        diameter,
        cover,
        threshold,
    )
    return components, loops, total, h1_max


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


def compute_metrics(
    embedding,
    coordinates,
    params,
    *,
    parameters,
    seed=0,
    n_neighbors=10,
    relative_threshold=PERSISTENCE_THRESHOLD,
    distance="euclidean",
    n_resamples=1000,
    mlp=True,
    return_details=False,
):
    """Every metric of one model on one dataset, as a tidy table.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_sounds, dim)]
    coordinates : np.ndarray [shape=(n_sounds, n_components)]
        The model's Isomap coordinates.
    params : pd.DataFrame
        The dataset's parameters, in embedding row order.
    parameters : sequence of Parameter or str
        The factors, each compared on its analysis scale.
    seed : int
        Seeds every split, subsample, PCA and forest.
    n_neighbors : int
        K of the K-NN probe and of trustworthiness and continuity.
    relative_threshold : float
        Persistence threshold of the topology, as a fraction of the
        diameter.
    distance : {"euclidean", "cosine"}
        Distance of every neighbourhood-based score (K-NN probe, sweeps,
        intrinsic dimension, trustworthiness, topology); cosine is
        Euclidean distance on L2-normalised rows
        (:func:`gear.scores.prepare_distance`).
    n_resamples : int
        Bootstrap resamples of the confidence intervals.
    mlp : bool
        Train the shallow neural probe (``mlp_r2``).
    return_details : bool
        Also return what the paired tests between models and the sweep
        figure need (see Returns).

    Returns
    -------
    metrics : pd.DataFrame
        Columns ``parameter, metric, value, ci_low, ci_high``; the interval
        (95 % percentile bootstrap, seeded) is given for the headline
        scores ``knn_r2``, ``mlp_r2`` (resampling sounds, stratified by the
        parameter's value when it takes few values) and ``monotonicity``
        (resampling sweeps), and left empty (NaN) elsewhere. Per parameter:
        ``monotonicity`` (mean Spearman correlation between sweep step and
        the embedding's distance from the sweep's start, over the design's
        one-parameter sweeps; absent if the design has none),
        ``smoothness`` (mean largest step's share of a sweep's path),
        ``mlp_r2`` (cross-validated R^2 of a one-hidden-layer MLP),
        ``ridge_r2``, ``knn_r2``, ``isomap_spearman``, ``isomap_spearman_axis`` (index of
        the best axis), ``isomap_linear_r2`` (R^2 of the linear fit that
        gives the cosines), ``dci_completeness``, ``dci_informativeness``,
        ``mig``, ``variance_explained`` (pooled eta^2),
        ``variance_explained_mean`` (mean over dimensions), ``invariant``
        (1 or 0). Per pair of parameters, e.g. ``"pitch|decay"``:
        ``isomap_axis_cosine``. Parameter ``all``: the mean over parameters
        or pairs of ``isomap_axis_cosine``, ``dci_completeness``,
        ``dci_informativeness`` and ``mig``, and ``dci_disentanglement``,
        ``intrinsic_dimension_twonn``, ``intrinsic_dimension_mle``,
        ``trustworthiness``, ``continuity``, ``h0_components``,
        ``h1_loops``, ``total_persistence``, ``h1_max_persistence``.
    details : dict
        Only with ``return_details``: ``parameters`` (names), per-sound
        predictions of the K-NN and MLP probes (``knn_rows``,
        ``knn_prediction``, ``mlp_rows``, ``mlp_prediction``, with the
        targets ``truth``), per-sweep ``monotonicity:<parameter>`` arrays,
        and ``profiles``, a DataFrame ``parameter, step, median, q1, q3,
        n_sweeps`` of the normalised distance from each sweep's start.

    Raises
    ------
    DataError
        If shapes disagree, values are not finite, a parameter column is
        missing, or there are fewer than 10 sounds.

    Notes
    -----
    Memory is linear in ``n_sounds``. The inherently quadratic steps run on
    seeded subsamples: trustworthiness and continuity on 2,000 sounds,
    topology on 400 landmarks; PCA axes are fitted on at most 10,000
    sounds, the forests on 10,000, and K-NN R^2 and intrinsic dimension are
    scored on 5,000 query sounds (neighbours among all). Time is dominated
    by the exact K-NN search, ``O(n * min(n, 5000) * dim)``. At 2,500 sounds
    of dimension 4,096 it takes about 15 s on one core (12 to 17 s measured
    with single-threaded BLAS on a loaded 2-core machine).
    """
    embedding = np.asarray(embedding)
    coordinates = np.asarray(coordinates, dtype=np.float64)
    if embedding.ndim != 2 or coordinates.ndim != 2:
        raise DataError(
            f"metrics: embedding and Isomap coordinates must be 2-D, got shapes {embedding.shape} "
            f"and {coordinates.shape}"
        )
    if embedding.shape[0] != len(params) or coordinates.shape[0] != len(params):
        raise DataError(
            f"metrics: {embedding.shape[0]} embeddings and {coordinates.shape[0]} Isomap points "
            f"for {len(params)} sounds"
        )
    if len(params) < MIN_SOUNDS:
        raise DataError(f"metrics: {len(params)} sounds, at least {MIN_SOUNDS} needed")
    if not np.isfinite(embedding).all():
        raise DataError("metrics: the embedding contains NaN or infinite values")
    if not np.isfinite(coordinates).all():
        raise DataError("metrics: the Isomap coordinates contain NaN or infinite values")
    if not np.issubdtype(embedding.dtype, np.floating):
        embedding = embedding.astype(np.float64)
    from gear import scores  # gear.scores builds on this module

    geometry = scores.prepare_distance(embedding, distance)
    targets = parameter_matrix(params, parameters)
    parameters = [getattr(p, "name", p) for p in parameters]
    n_sounds = len(targets)
    rows = []
    clock = [time.perf_counter()]
    details = {"parameters": parameters, "truth": targets}
    strata = [values if np.unique(values).size <= MAX_STRATA else None for values in targets.T]

    def add(parameter, metric, value, low=np.nan, high=np.nan):
        rows.append({"parameter": parameter, "metric": metric, "value": float(value), "ci_low": float(low),
                     "ci_high": float(high)})  # fmt: skip

    def per_parameter(metric, values, mean=False):
        for name, value in zip(parameters, values, strict=True):
            add(name, metric, value)
        if mean:
            add("all", metric, _mean(values))

    def with_intervals(metric, sound_rows, prediction):
        # The R^2 of fixed per-sound predictions, resampling the scored sounds.
        for j, name in enumerate(parameters):
            r2, low, high = scores.r2_ci(
                targets[sound_rows, j], prediction[:, j], n_resamples=n_resamples, seed=seed,
                strata=None if strata[j] is None else strata[j][sound_rows],
            )  # fmt: skip
            add(name, metric, r2[0], low[0], high[0])

    def lap(step):
        now = time.perf_counter()
        logger.debug("metrics: %s in %.2f s", step, now - clock[0])
        clock[0] = now

    # Predictability.
    features = pca_scores(embedding, MAX_PROBE_COMPONENTS, standardize=True, seed=seed)
    lap(f"PCA to {features.shape[1]} components")
    ridge = ridge_r2(features, targets, seed=seed)
    per_parameter("ridge_r2", ridge)
    lap("ridge probe")
    k = min(n_neighbors, n_sounds - 1)
    k_graph = max(k, min(20, n_sounds - 1))  # the MLE needs 20
    queries = _subsample(n_sounds, MAX_NEIGHBOR_QUERIES, seed)
    distances, indices = _loo_neighbors(geometry, queries, k_graph)
    knn = knn_r2(geometry, targets, k, neighbors=(queries, indices))
    knn_prediction = targets[indices[:, :k]].mean(axis=1)
    with_intervals("knn_r2", queries, knn_prediction)
    details.update(knn_rows=queries, knn_prediction=knn_prediction)
    lap("K-NN probe")
    if mlp:
        _, mlp_rows, mlp_prediction = scores.mlp_r2(
            embedding, targets, scores.duplicate_groups(embedding), seed=seed, return_predictions=True
        )
        with_intervals("mlp_r2", mlp_rows, mlp_prediction)
        details.update(mlp_rows=mlp_rows, mlp_prediction=mlp_prediction)
        lap("MLP probe")

    # Monotonicity along the design's one-parameter sweeps.
    profiles = []
    for j, name in enumerate(parameters):
        sweeps = scores.sweeps_from_grid(targets, j)
        if not sweeps:
            continue
        swept = scores.sweep_scores(embedding, sweeps, distance)
        monotonicity = swept["monotonicity"]
        low, high = scores.bootstrap_ci(
            lambda items, values=monotonicity: values[items].mean(axis=-1),
            len(monotonicity), n_resamples=n_resamples, seed=seed, vectorized=True,
        )  # fmt: skip
        add(name, "monotonicity", swept["monotonicity_mean"], low, high)
        add(name, "smoothness", swept["smoothness_mean"])
        details[f"monotonicity:{name}"] = monotonicity
        steps = np.arange(len(swept["profile_median"]))
        profiles.append(pd.DataFrame({"parameter": name, "step": steps, "median": swept["profile_median"],
                                      "q1": swept["profile_q1"], "q3": swept["profile_q3"],
                                      "n_sweeps": swept["n_sweeps"]}))  # fmt: skip
    columns = ["parameter", "step", "median", "q1", "q3", "n_sweeps"]
    details["profiles"] = pd.concat(profiles, ignore_index=True) if profiles else pd.DataFrame(columns=columns)
    lap("sweeps")

    # Isomap structure.
    spearman, axis, cosines, linear_r2 = isomap_alignment(coordinates, targets)
    per_parameter("isomap_spearman", spearman)
    per_parameter("isomap_spearman_axis", axis)
    per_parameter("isomap_linear_r2", linear_r2)
    pairs = [(i, j) for i in range(len(parameters)) for j in range(i + 1, len(parameters))]
    for i, j in pairs:
        add(f"{parameters[i]}|{parameters[j]}", "isomap_axis_cosine", cosines[i, j])
    if pairs:
        add("all", "isomap_axis_cosine", _mean([cosines[i, j] for i, j in pairs]))

    # Disentanglement, on the leading principal components.
    if embedding.shape[1] > MAX_PROBE_COMPONENTS:
        code = features[:, :CODE_COMPONENTS]  # already principal components, by variance
    else:
        code = pca_scores(embedding, CODE_COMPONENTS, standardize=True, seed=seed)
    disentanglement, completeness, informativeness = dci(code, targets, seed=seed)
    add("all", "dci_disentanglement", disentanglement)
    per_parameter("dci_completeness", completeness, mean=True)
    per_parameter("dci_informativeness", informativeness, mean=True)
    per_parameter("mig", mig(code, targets), mean=True)
    lap("DCI and MIG")

    # Geometry. The shared neighbour graph serves unless rows repeat.
    distinct = distinct_rows(geometry)
    if len(distinct) < n_sounds:
        logger.info(
            "metrics: %d duplicate embeddings dropped for the intrinsic dimension", n_sounds - len(distinct)
        )
        unique = geometry[distinct]
        k_graph = min(20, len(unique) - 1)
        distances = _loo_neighbors(unique, _subsample(len(unique), MAX_NEIGHBOR_QUERIES, seed), k_graph)[0]
    add("all", "intrinsic_dimension_twonn", _twonn(distances))
    add("all", "intrinsic_dimension_mle", _mle(distances, 10, 20))
    lap("intrinsic dimension")
    scale = targets.std(axis=0)
    scale[scale == 0] = 1.0
    trust, continuity = trustworthiness_continuity(
        (targets - targets.mean(axis=0)) / scale, geometry, k, seed=seed
    )
    add("all", "trustworthiness", trust)
    add("all", "continuity", continuity)
    lap("trustworthiness and continuity")

    # Topology.
    components, loops, total, h1_max = persistent_homology(
        geometry, relative_threshold=relative_threshold, seed=seed
    )
    add("all", "h0_components", components)
    add("all", "h1_loops", loops)
    add("all", "total_persistence", total)
    add("all", "h1_max_persistence", h1_max)
    lap("persistent homology")

    # Invariance: flagged only if neither probe recovers the parameter either.
    recovered = np.fmax(ridge, knn)
    for name, values, best in zip(parameters, targets.T, recovered, strict=True):
        pooled, mean = variance_explained(embedding, _groups(values))
        add(name, "variance_explained", pooled)
        add(name, "variance_explained_mean", mean)
        moves = np.isfinite(pooled) and pooled >= INVARIANCE_THRESHOLD  # NaN: a constant embedding
        decodable = np.isfinite(best) and best >= RECOVERY_THRESHOLD
        add(name, "invariant", float(not moves and not decodable))
    lap("variance explained")
    table = pd.DataFrame(rows, columns=["parameter", "metric", "value", "ci_low", "ci_high"])
    return (table, details) if return_details else table


#: The scorecard's headline scores, each with a confidence interval and ties
#: with the best model: metric -> title.
HEADLINES = {
    "monotonicity": "Monotonicity: Spearman of sweep step vs distance from the sweep's start",
    "knn_r2": "Leave-one-out 10-NN R$^2$: neighbours share the factor",
    "mlp_r2": "Shallow MLP probe R$^2$ (grouped 5-fold)",
}


def _pooled_r2(truth, prediction):
    # Along the last axis: 1 - SS_res / SS_tot (NaN for a constant truth).
    residual = ((truth - prediction) ** 2).sum(axis=-1)
    total = ((truth - truth.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 1 - residual / total, np.nan)


def tied_with_best(details, metric, parameter, *, n_resamples=1000, seed=0, level=0.95):
    """Which models are statistically tied with the best one on a headline score.

    The best model has the highest score; every other model is compared
    with it by a paired bootstrap over the same items
    (:func:`gear.scores.paired_bootstrap_p`): the sounds both probes were
    scored on for ``knn_r2`` and ``mlp_r2``, the sweeps for
    ``monotonicity``. Paired rather than overlapping intervals, because
    both models are scored on the same items, which makes their scores
    correlated (see :func:`gear.scores.paired_bootstrap_p`).

    Parameters
    ----------
    details : dict {str: dict}
        Model id -> the ``details`` of :func:`compute_metrics` (seeded
        alike, so that the scored sounds and sweeps are the same).
    metric : {"knn_r2", "mlp_r2", "monotonicity"}
    parameter : str
    n_resamples, seed, level
        Of the bootstrap.

    Returns
    -------
    tied : dict {str: bool}
        Model id -> True if tied with the best (the best included). Models
        without the score, or scored on other items, are left out.
    """
    from gear import scores

    statistics, items = {}, {}
    for model, found in details.items():
        names = [str(name) for name in found["parameters"]]
        if parameter not in names:
            continue
        j = names.index(parameter)
        if metric == "monotonicity":
            values = found.get(f"monotonicity__{parameter}")
            if values is None:
                continue
            values = np.asarray(values, dtype=np.float64)
            items[model] = ("sweeps", len(values))
            statistics[model] = lambda idx, v=values: v[idx].mean(axis=-1)
        else:
            prefix = metric.removesuffix("_r2")
            if f"{prefix}_rows" not in found:
                continue
            rows = np.asarray(found[f"{prefix}_rows"])
            truth = np.asarray(found["truth"], dtype=np.float64)[rows, j]
            prediction = np.asarray(found[f"{prefix}_prediction"], dtype=np.float64)[:, j]
            items[model] = (metric, tuple(rows.tolist()))
            statistics[model] = lambda idx, t=truth, p=prediction: _pooled_r2(t[idx], p[idx])
    everything = {model: float(np.asarray(stat(np.arange(_n_items(items[model]))[None]))[0])
                  for model, stat in statistics.items()}  # fmt: skip
    finite = {model: value for model, value in everything.items() if np.isfinite(value)}
    if not finite:
        return {}
    best = max(finite, key=finite.get)
    tied = {}
    for model, statistic in statistics.items():
        if model == best:
            tied[model] = True
        elif items[model] == items[best] and model in finite:
            p = scores.paired_bootstrap_p(
                statistic, statistics[best], _n_items(items[model]), n_resamples=n_resamples, seed=seed,
                level=level, vectorized=True,
            )[3]  # fmt: skip
            tied[model] = bool(np.isfinite(p) and p > 1 - level)
    return tied


def _n_items(item):
    kind, what = item
    return what if kind == "sweeps" else len(what)


def scorecard(metrics, metric, parameters, *, ranks=False):
    """Models x parameters table of one headline score per factor.

    Parameters
    ----------
    metrics : pd.DataFrame
        Tidy table with columns ``model, parameter, metric, value`` (as
        :func:`compute_metrics` returns, with a ``model`` column added),
        for one dataset.
    metric : str
        The headline score, higher is better (e.g. ``knn_r2``,
        ``ridge_r2``).
    parameters : sequence of str
        Column order.
    ranks : bool
        Also add a column ``{parameter}_rank`` per parameter: the model's
        rank for that factor, 1 = best, ties share the best rank, missing
        scores have no rank. Off by default, since
        :func:`gear.figures.plot_scorecard` ranks the scores itself.

    Returns
    -------
    scores : pd.DataFrame [shape=(n_models, n_parameters * (1 + ranks))]
        Models in their order of appearance.

    Raises
    ------
    DataError
        If the table lacks a column or gives a model two values for one
        parameter (e.g. several datasets at once).
    """
    missing = {"model", "parameter", "metric", "value"} - set(metrics.columns)
    if missing:
        raise DataError(f"scorecard: metrics table lacks columns {sorted(missing)}")
    parameters = list(parameters)
    chosen = metrics[(metrics["metric"] == metric) & metrics["parameter"].isin(parameters)]
    if chosen.duplicated(["model", "parameter"]).any():
        raise DataError(f"scorecard: several {metric} values for one model and parameter; pass one dataset")
    table = chosen.pivot(index="model", columns="parameter", values="value").astype(float)
    table = table.reindex(index=list(dict.fromkeys(chosen["model"])), columns=parameters)
    table.columns.name = None
    if ranks:
        order = table.rank(axis=0, ascending=False, method="min").astype("Int64")
        table = table.join(order.add_suffix("_rank"))
    return table
