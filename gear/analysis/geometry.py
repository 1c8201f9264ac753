"""Geometry and topology of the embedding, and how Isomap's axes line up with the factors.

- :func:`isomap_alignment`: the best rank correlation between a parameter
  and an Isomap axis, and the cosine between the directions along which
  different parameters grow (0: orthogonal, as the paper hopes).
- Intrinsic dimension: :func:`intrinsic_dimension_twonn` and
  :func:`intrinsic_dimension_mle` (Levina-Bickel).
- :func:`trustworthiness_continuity` between parameter and embedding
  space.
- :func:`persistent_homology` of farthest-point landmarks (ripser):
  components and loops, a check on what Isomap may fake (Donoho and
  Grimes, 2003).

The quadratic steps run on seeded subsamples of bounded size.
"""

import logging

import numpy as np
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr
from sklearn.linear_model import LinearRegression
from sklearn.manifold import trustworthiness

from gear.analysis.features import (
    MAX_NEIGHBOR_QUERIES,
    distinct_rows,
    nearest_other_neighbors,
    pca_scores,
    subsample,
)

__all__ = [
    "PERSISTENCE_THRESHOLD",
    "isomap_alignment",
    "twonn_from_distances",
    "mle_from_distances",
    "intrinsic_dimension_twonn",
    "intrinsic_dimension_mle",
    "trustworthiness_continuity",
    "persistent_homology",
]

#: A component or loop is significant if it persists longer than this
#: fraction of the landmarks' diameter (and than twice their covering
#: radius; see :func:`persistent_homology`).
PERSISTENCE_THRESHOLD = 0.1

logger = logging.getLogger(__name__)

MAX_TRUSTWORTHINESS_POINTS = 2_000  # quadratic in memory
MAX_TOPOLOGY_POINTS = 400  # farthest-point landmarks
MAX_TOPOLOGY_DIMS = 50


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


def twonn_from_distances(distances, discard_fraction=0.1):
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


def mle_from_distances(distances, k_min=10, k_max=20):
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
    rows = subsample(len(points), MAX_NEIGHBOR_QUERIES, seed)
    return twonn_from_distances(nearest_other_neighbors(points, rows, 2)[0], discard_fraction)


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
    rows = subsample(len(points), MAX_NEIGHBOR_QUERIES, seed)
    k_max = min(k_max, len(points) - 1)
    return mle_from_distances(nearest_other_neighbors(points, rows, k_max)[0], k_min, k_max)


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
    rows = subsample(len(embedding), MAX_TRUSTWORTHINESS_POINTS, seed)
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

