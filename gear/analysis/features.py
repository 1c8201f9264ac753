"""The bottom layer of the analysis: parameters, subsamples, PCA, distances, duplicates.

Everything above (:mod:`gear.analysis.bootstrap`, the probes, sweeps,
disentanglement and geometry, then :mod:`gear.metrics`) builds on these
functions; this module imports none of them.

- Parameters: :func:`parameter_matrix`, each factor on its analysis scale.
- Subsamples: :func:`subsample`, the seeded bounded subsample every
  quadratic step runs on.
- PCA: :func:`pca_scores`, fitted on a bounded seeded subsample.
- Distance: :func:`prepare_distance` turns ``distance="cosine"`` into
  Euclidean distance on L2-normalised rows, so every neighbourhood-based
  computation needs one code path; :func:`nearest_other_neighbors` is the
  exact leave-one-out neighbour search.
- Duplicates: :func:`distinct_rows` and :func:`duplicate_groups`, both on
  one 64-bit hash per row.
"""

import hashlib

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from gear.errors import ConfigError, DataError
from gear.parameters import analysis_matrix

__all__ = [
    "DISTANCES",
    "parameter_matrix",
    "subsample",
    "row_hashes",
    "distinct_rows",
    "duplicate_groups",
    "pca_scores",
    "prepare_distance",
    "check_distance",
    "nearest_other_neighbors",
]

#: Distances accepted wherever neighbourhoods or distances are used.
DISTANCES = ("euclidean", "cosine")

MAX_PCA_FIT_POINTS = 10_000  # rows the PCA axes are fitted on
MAX_NEIGHBOR_QUERIES = 5_000  # K-NN R^2 and intrinsic dimension queries
_CHUNK_ROWS = 10_000


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


def subsample(n_points, size, seed):
    """Sorted seeded subsample of ``range(n_points)`` of at most ``size`` indices."""
    if n_points <= size:
        return np.arange(n_points)
    return np.sort(np.random.default_rng(seed).choice(n_points, size, replace=False))


def row_hashes(points, decimals=None):
    """One 64-bit BLAKE2b hash of each row's bytes, so that equal rows get equal hashes.

    ``-0.0`` is mapped to ``0.0`` first (they compare equal but differ in
    bytes). Rows are hashed in blocks, so memory stays linear where
    ``np.unique(axis=0)`` would sort a copy.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    decimals : int, optional
        Round to this many decimals before hashing (``np.round``).

    Returns
    -------
    hashes : np.ndarray [shape=(n_points,), dtype=uint64]
    """
    hashes = np.empty(len(points), dtype=np.uint64)
    for start in range(0, len(points), 10_000):
        block = points[start : start + 10_000]
        if decimals is not None:
            block = np.round(block, decimals)
        block = np.ascontiguousarray(block + 0.0)  # + 0.0 maps -0.0 to 0.0
        hashes[start : start + len(block)] = [
            int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little") for row in block
        ]
    return hashes


def distinct_rows(points):
    """Indices of the first occurrence of each distinct row, in row order.

    Rows are compared by :func:`row_hashes`, so memory stays linear where
    ``np.unique(axis=0)`` would sort a copy.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]

    Returns
    -------
    rows : np.ndarray [shape=(n_distinct,)]
    """
    hashes = row_hashes(np.asarray(points))
    _, first = np.unique(hashes, return_index=True)
    return np.sort(first)


def duplicate_groups(embedding, decimals=None):
    """Group labels of identical (or, rounded, nearly identical) rows.

    Rows are compared by :func:`row_hashes`, as :func:`distinct_rows`
    does, so memory stays linear. With
    ``decimals``, rows are first rounded to that many decimals, which
    also groups rows that differ by float noise; two near-duplicates can
    still straddle a rounding boundary, so this catches exact and
    float-noise duplicates, not every pair closer than ``10**-decimals``.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_points, n_features)]
    decimals : int, optional
        Round to this many decimals before comparing (``np.round``).

    Returns
    -------
    groups : np.ndarray [shape=(n_points,), dtype=int]
        ``0 .. n_groups - 1``, numbered in order of first occurrence.

    Examples
    --------
    >>> duplicate_groups(np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0], [-0.0, 0.0]])).tolist()
    [0, 1, 0, 1]
    """
    embedding = np.asarray(embedding)
    if embedding.ndim != 2:
        raise DataError(f"scores: the embedding must be 2-D (n_points, n_features), got {embedding.shape}")
    hashes = row_hashes(embedding, decimals)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    order = np.empty(len(first), dtype=np.intp)
    order[np.argsort(first, kind="stable")] = np.arange(len(first))
    return order[inverse.ravel()]


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
    fit_rows = subsample(len(points), MAX_PCA_FIT_POINTS, seed)
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


def prepare_distance(embedding, distance="euclidean"):
    """Rows on which Euclidean distance is the requested distance.

    ``"euclidean"`` returns the embedding itself (no copy for a float
    array). ``"cosine"`` divides each row by its L2 norm: the Euclidean
    distance between normalised rows, the chord ``sqrt(2 (1 - cos))``, is
    an increasing function of the cosine distance ``1 - cos``, so nearest
    neighbours, ranks and Spearman correlations are those of the cosine
    distance, and, unlike ``1 - cos``, it is a metric (path lengths and
    geodesics are meaningful). Zero rows (silence, a dead unit) have no
    direction: they stay at the origin, at distance 0 from each other and 1
    from every other row (the convention of
    :func:`sklearn.preprocessing.normalize`), without NaN or warnings.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_points, n_features)]
    distance : {"euclidean", "cosine"}

    Returns
    -------
    prepared : np.ndarray [shape=(n_points, n_features)]
        Floating point, the input's precision kept (integers become
        float64). For ``"cosine"``, a new array (memory: one copy).

    Raises
    ------
    ConfigError
        If ``distance`` is not one of :data:`DISTANCES`.
    """
    check_distance(distance)
    embedding = np.asarray(embedding)
    if not np.issubdtype(embedding.dtype, np.floating):
        embedding = embedding.astype(np.float64)
    if distance == "euclidean":
        return embedding
    norms = np.linalg.norm(embedding, axis=-1, keepdims=True)
    return embedding / np.where(norms > 0, norms, 1).astype(embedding.dtype)


def check_distance(distance):
    if distance not in DISTANCES:
        raise ConfigError(f"scores: distance must be one of {list(DISTANCES)}, got {distance!r}")


def nearest_other_neighbors(points, rows, n_neighbors):
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

