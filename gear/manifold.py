"""Isomap: K-nearest-neighbour graph, geodesic distances, classical MDS.

Follows Tenenbaum et al. (2000) and scikit-learn's ``Isomap`` (which the
paper's code used), with two differences that matter to GEAR:

- A disconnected K-NN graph is never silently turned into garbage: the
  number of connected components is reported, and they are either joined
  by their shortest inter-component edges (scikit-learn's fix, logged as
  a warning) or rejected, as the caller chooses.
- The output is deterministic: each coordinate's sign is fixed so that its
  largest-magnitude entry is positive.

Two methods:

``exact``
    scikit-learn's result (to float precision), faster: exact neighbours
    from one BLAS Gram matrix per block of rows (a symmetric product when
    it fits in one block), all-pairs Dijkstra in compiled code on every
    core (unsigned 32-bit indices, a decrease-key priority queue; lengths
    summed in float64 as scipy does), classical MDS with ARPACK, in place.
    It stores the N x N geodesic matrix once: 8 N^2 bytes (0.8 GB at
    N = 10,000).
``landmark``
    Landmark Isomap (de Silva & Tenenbaum, 2003): geodesics from
    ``n_landmarks`` landmark points only, classical MDS of the landmarks,
    then every point placed by distance-based triangulation (L-MDS) and
    the axes aligned by PCA. Time and memory grow as N * n_landmarks, not
    N^2. Above :data:`EXACT_NEIGHBORS_MAX_POINTS` points, the K-NN graph
    comes from approximate nearest neighbours (faiss's inverted file).

``method="auto"`` is exact up to :data:`AUTO_LANDMARK_THRESHOLD` points,
landmark above.
"""

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.sparse.csgraph import connected_components, dijkstra, reverse_cuthill_mckee
from scipy.sparse.linalg import eigsh

from gear.errors import DataError

try:  # Compiled Dijkstra; without numba, scipy's (single-threaded) is used.
    import numba
except ImportError:  # pragma: no cover - numba comes with librosa
    numba = None

__all__ = [
    "AUTO_LANDMARK_THRESHOLD",
    "DEFAULT_N_LANDMARKS",
    "EXACT_NEIGHBORS_MAX_POINTS",
    "APPROXIMATE_PROBES",
    "IsomapResult",
    "nearest_neighbors",
    "neighbor_recall",
    "knn_graph",
    "join_components",
    "geodesic_distances",
    "classical_mds",
    "isomap",
]

logger = logging.getLogger(__name__)

#: ``method="auto"`` uses landmark Isomap above this many points. Exact
#: Isomap holds an N x N float64 geodesic matrix: 0.8 GB at 10,000 points,
#: 3.2 GB at 20,000, and its all-pairs Dijkstra grows as N^2 K (about 25 s
#: at 10,000 points, K = 100, on 2 cores), while landmark Isomap with
#: 1,000 landmarks takes a few seconds there and agrees with it (see
#: ``benchmarks/run.py``).
AUTO_LANDMARK_THRESHOLD = 10_000

#: Landmarks of landmark Isomap. De Silva & Tenenbaum need only a few
#: more than the output dimension for noise-free data; with K-NN geodesics
#: on noisy embeddings, the error of the triangulation falls as landmarks
#: are added and flattens out near 1,000 (Procrustes disparity to exact
#: Isomap about 1e-4 at N = 10,000), where the landmark rows cost
#: 4 N bytes each (0.4 GB at N = 100,000) and their Dijkstra ~ 1,000 / N of
#: the exact one.
DEFAULT_N_LANDMARKS = 1000

#: Up to this many points, neighbours are exact (BLAS brute force) even in
#: landmark mode: below it brute force costs a few seconds, and it is
#: always correct.
EXACT_NEIGHBORS_MAX_POINTS = 20_000

#: Cells each point's approximate search visits (of about 4 sqrt(N)):
#: recall 0.99 at N = 100,000, dimension 512, K = 100 (and reported in
#: every summary, see :func:`neighbor_recall`).
APPROXIMATE_PROBES = 8

# Elements of one block of the squared-distance matrix (64 MB in float64).
_BLOCK_ELEMENTS = 2**23


@dataclass
class IsomapResult:
    """Coordinates and diagnostics of one Isomap run.

    Attributes
    ----------
    coordinates : np.ndarray [shape=(n_points, n_components)]
    eigenvalues : np.ndarray [shape=(n_components,)]
        Eigenvalues of the double-centred squared-geodesic kernel, in
        decreasing order (the variance along each coordinate, times n).
        For landmark Isomap, the same quantity for the triangulated
        coordinates: their sum of squares along each axis.
    n_graph_components : int
        Connected components of the K-NN graph before any joining.
    component_sizes : list of int
        Size of each of those components, largest first.
    joined_edges : int
        Edges added to connect the components (0 if connected).
    method : {"exact", "landmark"}
        The method used (``"auto"`` resolved).
    n_landmarks : int or None
        Landmarks of landmark Isomap; None for exact Isomap.
    neighbors : {"exact", "approximate"}
        How the K-NN graph was found (``"approximate"``: faiss IVF-flat).
    neighbor_recall : float or None
        For approximate neighbours: the fraction of the true K nearest
        neighbours found, measured on a random sample of points (see
        :func:`neighbor_recall`); None for exact neighbours.
    """

    coordinates: np.ndarray
    eigenvalues: np.ndarray
    n_graph_components: int
    component_sizes: list = field(default_factory=list)
    joined_edges: int = 0
    method: str = "exact"
    n_landmarks: int | None = None
    neighbors: str = "exact"
    neighbor_recall: float | None = None

    def summary(self):
        """Diagnostics as a JSON-serializable dict."""
        return {
            "n_points": int(self.coordinates.shape[0]),
            "n_components": int(self.coordinates.shape[1]),
            "eigenvalues": [float(value) for value in self.eigenvalues],
            "n_graph_components": int(self.n_graph_components),
            "component_sizes": [int(size) for size in self.component_sizes],
            "joined_edges": int(self.joined_edges),
            "method": str(self.method),
            "n_landmarks": None if self.n_landmarks is None else int(self.n_landmarks),
            "neighbors": str(self.neighbors),
            "neighbor_recall": None if self.neighbor_recall is None else float(self.neighbor_recall),
        }


def _n_threads():
    """Worker threads: the CPUs this process may use, capped by the BLAS
    thread limit in force (e.g. threadpoolctl's ``threadpool_limits``)."""
    try:
        n_cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n_cpus = os.cpu_count() or 1
    try:
        from threadpoolctl import threadpool_info

        limits = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    except Exception:  # pragma: no cover - threadpoolctl is a scikit-learn dependency
        limits = []
    return max(1, min([n_cpus, *limits]))


# ---------------------------------------------------------------------------
# Nearest neighbours


def nearest_neighbors(points, n_neighbors, approximate=False, seed=0):
    """The K nearest neighbours of every point, itself excluded.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    n_neighbors : int
    approximate : bool
        False: exact, by brute force (one BLAS product per block of rows,
        as scikit-learn's brute-force search, squared distances from the
        Gram matrix in float64). True: faiss's inverted file (IVF-flat),
        seeded; see :data:`APPROXIMATE_PROBES`.
    seed : int
        Seed of the approximate search's k-means.

    Returns
    -------
    distances : np.ndarray [shape=(n_points, n_neighbors)], float64
        Euclidean distances, increasing along each row.
    indices : np.ndarray [shape=(n_points, n_neighbors)], int64
    """
    if approximate:
        return _approximate_neighbors(points, n_neighbors, seed)
    return _exact_neighbors(points, n_neighbors)


def _exact_neighbors(points, n_neighbors):
    n_points = points.shape[0]
    norms = np.einsum("ij,ij->i", points, points, dtype=np.float64)
    distances = np.empty((n_points, n_neighbors))
    indices = np.empty((n_points, n_neighbors), dtype=np.int64)
    step = max(1, min(n_points, _BLOCK_ELEMENTS // n_points))
    for start in range(0, n_points, step):
        stop = min(start + step, n_points)
        squared = _squared_distances(points, norms, slice(start, stop))
        nearest = np.argpartition(squared, n_neighbors - 1, axis=1)[:, :n_neighbors]
        nearest_squared = np.take_along_axis(squared, nearest, axis=1)
        order = np.argsort(nearest_squared, axis=1, kind="stable")
        indices[start:stop] = np.take_along_axis(nearest, order, axis=1)
        distances[start:stop] = np.take_along_axis(nearest_squared, order, axis=1)
    np.maximum(distances, 0, out=distances)
    return np.sqrt(distances, out=distances), indices


def _squared_distances(points, norms, rows):
    """Squared Euclidean distances, in float64 from the Gram matrix, from
    ``points[rows]`` (a slice or sorted indices) to every point; a point's
    distance to itself is set to inf (never its own neighbour)."""
    n_points = points.shape[0]
    block = np.asarray(points[rows], dtype=np.float64)
    if points.dtype != np.float64:
        # float64 Gram products of float32 data are exact products of the
        # same numbers; no float64 copy of all points is made.
        squared = _gram_with(block, points)
    elif isinstance(rows, slice) and rows == slice(0, n_points):
        squared = block @ block.T  # symmetric product: BLAS syrk, half the work
    else:
        squared = block @ points.T
    squared *= -2
    squared += norms[rows, np.newaxis]
    squared += norms[np.newaxis, :]
    own = np.arange(n_points)[rows]
    squared[np.arange(own.size), own] = np.inf
    return squared


def neighbor_recall(points, indices, n_samples=200, seed=0):
    """Recall of approximate neighbours: the fraction of each sampled
    point's true K nearest neighbours (exact, by brute force) that its
    list contains, averaged over a random sample of points.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    indices : np.ndarray [shape=(n_points, n_neighbors)]
        Neighbour lists to check, the point itself excluded.
    n_samples : int
        Points checked (all of them if fewer); the cost is that of
        ``n_samples`` rows of the brute-force search.
    seed : int

    Returns
    -------
    recall : float
        In [0, 1]; 1 when every list is exact (up to ties in distance).
    """
    n_points, n_neighbors = indices.shape
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n_points, size=min(n_samples, n_points), replace=False))
    norms = np.einsum("ij,ij->i", points, points, dtype=np.float64)
    squared = _squared_distances(points, norms, sample)
    true = np.argpartition(squared, n_neighbors - 1, axis=1)[:, :n_neighbors]
    found = sum(np.intersect1d(t, f).size for t, f in zip(true, indices[sample]))
    return found / (sample.size * n_neighbors)


def _gram_with(block, points):
    # block @ points.T in float64 for float32 points, without a float64
    # copy of all points: by column blocks.
    out = np.empty((block.shape[0], points.shape[0]))
    step = max(1, _BLOCK_ELEMENTS // max(points.shape[1], 1))
    for start in range(0, points.shape[0], step):
        other = np.asarray(points[start : start + step], dtype=np.float64)
        np.matmul(block, other.T, out=out[:, start : start + step])
    return out


def _approximate_neighbors(points, n_neighbors, seed):
    """Approximate K-NN by faiss's inverted file (IVF-flat): the points
    are split into about 4 sqrt(N) k-means cells, and each is compared
    with every point of the cells of its :data:`APPROXIMATE_PROBES`
    nearest centroids. Distances are faiss's (float32, on centred data so
    that the Gram-matrix formula loses little precision)."""
    try:
        import faiss
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("approximate neighbours need faiss (pip install faiss-cpu)") from error
    n_points, n_features = points.shape
    data = np.empty(points.shape, dtype=np.float32)
    mean = points.mean(axis=0, dtype=np.float64)
    step = max(1, _BLOCK_ELEMENTS // max(n_features, 1))
    for start in range(0, n_points, step):
        data[start : start + step] = points[start : start + step] - mean
    # faiss's k-means wants at least 39 training points per centroid.
    n_cells = int(max(1, min(n_points // 39, round(4 * np.sqrt(n_points)))))
    faiss.omp_set_num_threads(_n_threads())
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(n_features), n_features, n_cells)
    index.cp.seed = seed
    sample = np.random.default_rng(seed).choice(n_points, size=min(n_points, 64 * n_cells), replace=False)
    index.train(data[np.sort(sample)])
    index.add(data)
    index.nprobe = min(n_cells, APPROXIMATE_PROBES)
    found_squared, found = index.search(data, n_neighbors + 1)  # the point itself comes first
    short = (found < 0).any(axis=1)
    if short.any():  # probed cells held too few points: search them all
        index.nprobe = n_cells
        found_squared[short], found[short] = index.search(data[short], n_neighbors + 1)
    del index
    # Drop each point from its own list; if a duplicate took its place,
    # drop the farthest instead.
    is_self = found == np.arange(n_points)[:, np.newaxis]
    first = np.argmax(is_self, axis=1)
    first[~is_self.any(axis=1)] = n_neighbors
    keep = np.ones(found.shape, dtype=bool)
    keep[np.arange(n_points), first] = False
    indices = found[keep].reshape(n_points, n_neighbors).astype(np.int64)
    squared = found_squared[keep].reshape(n_points, n_neighbors).astype(np.float64)
    return np.sqrt(np.maximum(squared, 0)), indices


def _symmetric_graph(distances, indices):
    """Sparse symmetric graph from each point's neighbour list."""
    n_points, n_neighbors = indices.shape
    tiny = np.finfo(np.float64).tiny
    graph = scipy.sparse.csr_array(
        (
            np.maximum(distances.ravel(), tiny),
            indices.ravel(),
            np.arange(0, n_points * n_neighbors + 1, n_neighbors),
        ),
        shape=(n_points, n_points),
    )
    graph = graph.maximum(graph.T).tocsr()
    graph.sort_indices()
    return graph


def knn_graph(points, n_neighbors, approximate=False, seed=0):
    """Symmetric K-nearest-neighbour graph with Euclidean edge lengths.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    n_neighbors : int
        Neighbours of each point, itself excluded.
    approximate : bool
        Find the neighbours with faiss's inverted file instead of brute force.
    seed : int
        Seed of the approximate search.

    Returns
    -------
    graph : scipy.sparse.csr_array [shape=(n_points, n_points)]
        ``graph[i, j]`` is the distance from ``i`` to ``j`` if ``j`` is among
        the neighbours of ``i`` or ``i`` among those of ``j``. Zero
        distances (duplicate points) are stored as a tiny positive length,
        so that they remain edges.
    """
    distances, indices = nearest_neighbors(points, n_neighbors, approximate, seed)
    return _symmetric_graph(distances, indices)


def join_components(graph, points, labels):
    """Join the components of a graph by their shortest connecting edges.

    For every pair of components, the closest pair of points (one in each)
    is linked, as scikit-learn's Isomap does. Distances are computed by
    blocks, so memory stays bounded for large components.

    Parameters
    ----------
    graph : scipy.sparse array [shape=(n_points, n_points)]
    points : np.ndarray [shape=(n_points, n_features)]
    labels : np.ndarray [shape=(n_points,)]
        Component of each point.

    Returns
    -------
    graph : scipy.sparse.csr_array [shape=(n_points, n_points)]
    n_added : int
    """
    n_labels = labels.max() + 1
    tiny = np.finfo(np.float64).tiny
    rows, cols, lengths = [], [], []
    members = [np.flatnonzero(labels == label) for label in range(n_labels)]
    for first in range(n_labels):
        for second in range(first + 1, n_labels):
            i, j, length = _closest_pair(points, members[first], members[second])
            rows += [i, j]
            cols += [j, i]
            lengths += [max(length, tiny)] * 2
    added = scipy.sparse.csr_array((lengths, (rows, cols)), shape=graph.shape)
    # The components share no edge, so the new edges never overlap old ones.
    joined = scipy.sparse.csr_array(graph) + added
    joined.sort_indices()
    return joined, len(rows) // 2


def _closest_pair(points, first, second):
    """Closest pair (i in first, j in second) and its distance."""
    best = (first[0], second[0], np.inf)
    other = np.asarray(points[second], dtype=np.float64)
    other_norms = np.einsum("ij,ij->i", other, other)
    step = max(1, _BLOCK_ELEMENTS // max(second.size, 1))
    for start in range(0, first.size, step):
        chosen = first[start : start + step]
        block = np.asarray(points[chosen], dtype=np.float64)
        squared = block @ other.T
        squared *= -2
        squared += np.einsum("ij,ij->i", block, block)[:, np.newaxis]
        squared += other_norms
        i, j = np.unravel_index(np.argmin(squared), squared.shape)
        if squared[i, j] < best[2]:
            best = (chosen[i], second[j], squared[i, j])
    # The closest pair's length, from the difference (no cancellation).
    i, j, _ = best
    difference = np.asarray(points[i], dtype=np.float64) - np.asarray(points[j], dtype=np.float64)
    return int(i), int(j), float(np.sqrt(difference @ difference))


# ---------------------------------------------------------------------------
# Geodesic distances


def _graph_arrays(graph, order=None):
    """CSR arrays for the compiled Dijkstra: uint64 row pointers, uint32
    column indices, float64 lengths; with ``order``, of the graph whose
    point ``order[i]`` is renamed ``i``. Unsigned indices matter: numba
    checks every signed index for wrap-around (negative indexing), which
    made the edge scan, where Dijkstra spends most of its time, 2 to 3
    times slower."""
    graph = scipy.sparse.csr_array(graph)
    if graph.shape[0] >= 2**32 - 1:  # pragma: no cover - far beyond memory
        raise ValueError("geodesic_distances: too many points for 32-bit indices")
    if order is not None:
        graph = graph[order][:, order].tocsr()
    return (
        graph.indptr.astype(np.uint64),
        graph.indices.astype(np.uint32),
        np.asarray(graph.data, dtype=np.float64),
    )


if numba is not None:

    @numba.njit(nogil=True, cache=True)
    def _dijkstra_rows(indptr, indices, data, sources, out):  # pragma: no cover - compiled
        # Dijkstra from each of sources (uint32); out[k] receives the
        # lengths from sources[k]. Binary heap with decrease-key: at most
        # one entry per point, its place kept in `position`. All indexing
        # is unsigned (see _graph_arrays); `absent` marks a point not in
        # the heap. A path's length is summed in float64 from the source
        # outwards, as in scipy's Dijkstra (the tests find them equal).
        n = indptr.size - 1
        one = np.uint32(1)
        absent = np.uint32(n)
        dist = np.empty(n, np.float64)
        position = np.empty(n, np.uint32)
        heap = np.empty(n, np.uint32)
        keys = np.empty(n, np.float64)
        for k in range(sources.size):
            dist[:] = np.inf
            position[:] = absent
            source = sources[k]
            dist[source] = 0.0
            heap[0] = source
            keys[0] = 0.0
            position[source] = 0
            size = one
            while size > 0:
                v = heap[0]
                d = keys[0]
                size -= one
                if size > 0:  # pop: the last entry sifts down from the root
                    last = heap[size]
                    last_key = keys[size]
                    i = np.uint32(0)
                    while True:
                        child = 2 * i + one
                        if child >= size:
                            break
                        if child + one < size and keys[child + one] < keys[child]:
                            child += one
                        if keys[child] >= last_key:
                            break
                        heap[i] = heap[child]
                        keys[i] = keys[child]
                        position[heap[i]] = i
                        i = child
                    heap[i] = last
                    keys[i] = last_key
                    position[last] = i
                # Settled points never pass the test (their length is <= d),
                # so no "done" flags are needed.
                for edge in range(indptr[v], indptr[v + one]):
                    w = indices[edge]
                    candidate = d + data[edge]
                    if candidate < dist[w]:
                        dist[w] = candidate
                        i = position[w]
                        if i == absent:  # push; else decrease-key
                            i = size
                            size += one
                        while i > 0:  # sift up
                            parent = (i - one) >> one
                            if keys[parent] <= candidate:
                                break
                            heap[i] = heap[parent]
                            keys[i] = keys[parent]
                            position[heap[i]] = i
                            i = parent
                        heap[i] = w
                        keys[i] = candidate
                        position[w] = i
            row = out[k]
            for x in range(n):
                row[x] = dist[x]

    @numba.njit(nogil=True, cache=True)
    def _dijkstra_rows_blocked(indptr, indices, data, sources, out):  # pragma: no cover - compiled
        # As _dijkstra_rows, with a two-level queue instead of a heap: the
        # points in blocks of 64, each block's smallest tentative length in
        # `block_min`. A pop scans the block minima and one block (short
        # loops without unpredictable branches); a decrease-key is O(1).
        # Faster than the heap up to ~10^4 points (the pops grow as N^1.5).
        n = indptr.size - 1
        one = np.uint32(1)
        width = np.uint32(64)
        n_blocks = np.uint32((n + 63) // 64)
        dist = np.empty(n, np.float64)
        key = np.empty(n_blocks * 64, np.float64)  # tentative; inf once settled
        block_min = np.empty(n_blocks, np.float64)
        for k in range(sources.size):
            dist[:] = np.inf
            key[:] = np.inf
            block_min[:] = np.inf
            source = sources[k]
            dist[source] = 0.0
            key[source] = 0.0
            block_min[source // width] = 0.0
            while True:
                d = np.inf
                for b in range(n_blocks):
                    d = min(d, block_min[b])
                if d == np.inf:
                    break
                b = np.uint32(0)
                while block_min[b] != d:
                    b += one
                v = b * width
                while key[v] != d:
                    v += one
                key[v] = np.inf
                smallest = np.inf
                for j in range(b * width, (b + one) * width):
                    smallest = min(smallest, key[j])
                block_min[b] = smallest
                for edge in range(indptr[v], indptr[v + one]):
                    w = indices[edge]
                    candidate = d + data[edge]
                    if candidate < dist[w]:
                        dist[w] = candidate
                        key[w] = candidate
                        if candidate < block_min[w // width]:
                            block_min[w // width] = candidate
            row = out[k]
            for x in range(n):
                row[x] = dist[x]


#: Up to this many points, Dijkstra uses the two-level queue, above the heap.
_BLOCKED_QUEUE_MAX_POINTS = 16_384


def _dijkstra_kernel(n_points):
    return _dijkstra_rows_blocked if n_points <= _BLOCKED_QUEUE_MAX_POINTS else _dijkstra_rows


def geodesic_distances(graph, sources=None, dtype=np.float64):
    """Shortest-path lengths in a symmetric graph.

    With numba, Dijkstra runs compiled, one source at a time, on every
    core (threads take small chunks of sources in turn, which keeps them
    busy to the end even when other processes share the machine). Without
    numba, scipy's Dijkstra on one core.

    Parameters
    ----------
    graph : scipy.sparse array [shape=(n_points, n_points)]
        Symmetric, positive edge lengths.
    sources : np.ndarray [shape=(n_sources,)] or None
        Points to measure from; None for all.
    dtype : np.dtype
        Of the result (the paths are summed in float64 either way).

    Returns
    -------
    distances : np.ndarray [shape=(n_sources, n_points)]
        ``inf`` between points in different components.
    """
    graph = scipy.sparse.csr_array(graph)
    n_points = graph.shape[0]
    sources = np.arange(n_points) if sources is None else np.asarray(sources, dtype=np.int64).ravel()
    out = np.empty((sources.size, n_points), dtype=dtype)
    if sources.size == 0:
        return out
    if numba is None:  # pragma: no cover - numba comes with librosa
        step = max(1, _BLOCK_ELEMENTS // n_points)
        for start in range(0, sources.size, step):
            # The graph is symmetric: directed=True gives the same paths
            # with half the edge scans of directed=False.
            out[start : start + step] = dijkstra(graph, directed=True, indices=sources[start : start + step])
        return out
    # Renumbered by reverse Cuthill-McKee, graph neighbours get nearby
    # numbers: the wave front of a search then touches nearby memory (at
    # 10^5 points, the arrays no longer fit in cache).
    order = reverse_cuthill_mckee(scipy.sparse.csr_matrix(graph), symmetric_mode=True).astype(np.int64)
    inverse = np.empty(n_points, dtype=np.int64)
    inverse[order] = np.arange(n_points)
    arrays = _graph_arrays(graph, order)
    kernel = _dijkstra_kernel(n_points)
    unsigned_sources = inverse[sources].astype(np.uint32)
    n_threads = min(_n_threads(), sources.size)
    # Chunks of ~1/16 of a thread's share: small enough to balance, large
    # enough that the per-call overhead (~10 us) does not show.
    chunk = max(1, -(-sources.size // (16 * n_threads)))
    starts = range(0, sources.size, chunk)

    def run(start):
        rows = np.empty((min(chunk, sources.size - start), n_points))
        kernel(*arrays, unsigned_sources[start : start + chunk], rows)
        out[start : start + chunk] = rows[:, inverse]  # back to the caller's numbering

    if n_threads == 1:
        for start in starts:
            run(start)
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(run, starts))
    return out


# ---------------------------------------------------------------------------
# Isomap


def isomap(
    points,
    n_neighbors=100,
    n_components=3,
    disconnected="join",
    seed=0,
    method="auto",
    n_landmarks=DEFAULT_N_LANDMARKS,
    landmarks="random",
    neighbors="auto",
):
    """Isomap embedding of a point cloud.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
        One embedding per row; Euclidean distances are used.
    n_neighbors : int
        K of the K-NN graph (the paper: 100).
    n_components : int
        Output dimension (the paper: 3).
    disconnected : {"join", "fail"}
        What to do when the K-NN graph has several connected components:
        join them by their shortest inter-component edges (with a warning)
        or raise ``DataError``.
    seed : int
        Seed of the eigensolver's starting vector, of the landmark choice
        and of the approximate search.
    method : {"auto", "exact", "landmark"}
        ``"exact"``: geodesics between all pairs of points (scikit-learn's
        result). ``"landmark"``: landmark Isomap (de Silva & Tenenbaum,
        2003). ``"auto"``: exact up to :data:`AUTO_LANDMARK_THRESHOLD`
        points, landmark above.
    n_landmarks : int
        Landmarks of landmark Isomap (at most the number of points; with
        every point a landmark, the result is exact Isomap's).
    landmarks : {"random", "maxmin"}
        Landmark choice: uniformly at random (seeded), or greedy max-min
        in geodesic distance from a random first one (better spread; its
        Dijkstra runs one landmark at a time, on one core).
    neighbors : {"auto", "exact", "approximate"}
        K-NN search: brute force, or faiss's inverted file. ``"auto"``: exact for
        exact Isomap or up to :data:`EXACT_NEIGHBORS_MAX_POINTS` points.

    Returns
    -------
    result : IsomapResult

    Raises
    ------
    DataError
        If there are too few points or non-finite values, or if the graph
        is disconnected and ``disconnected="fail"``.
    """
    points = np.asarray(points)
    if points.dtype not in (np.float32, np.float64):
        points = points.astype(np.float64)
    if points.ndim != 2:
        raise DataError(f"isomap: expected a 2-D array of points, got shape {points.shape}")
    n_points = points.shape[0]
    if n_points <= n_neighbors or n_points <= n_components + 1:
        raise DataError(
            f"isomap: {n_points} points are too few for n_neighbors={n_neighbors}, "
            f"n_components={n_components}"
        )
    if not np.isfinite(points).all():
        raise DataError("isomap: points contain NaN or infinite values")
    if disconnected not in ("join", "fail"):
        raise ValueError(f"disconnected must be 'join' or 'fail', got {disconnected!r}")
    if method not in ("auto", "exact", "landmark"):
        raise ValueError(f"method must be 'auto', 'exact' or 'landmark', got {method!r}")
    if neighbors not in ("auto", "exact", "approximate"):
        raise ValueError(f"neighbors must be 'auto', 'exact' or 'approximate', got {neighbors!r}")
    if landmarks not in ("random", "maxmin"):
        raise ValueError(f"landmarks must be 'random' or 'maxmin', got {landmarks!r}")
    if method == "auto":
        method = "exact" if n_points <= AUTO_LANDMARK_THRESHOLD else "landmark"
    if method == "landmark":
        if n_landmarks <= n_components:
            raise ValueError(f"n_landmarks={n_landmarks} must exceed n_components={n_components}")
        n_landmarks = min(int(n_landmarks), n_points)
    if neighbors == "auto":
        exact_neighbors = method == "exact" or n_points <= EXACT_NEIGHBORS_MAX_POINTS
        neighbors = "exact" if exact_neighbors else "approximate"
    if method == "exact" and points.dtype != np.float64:
        points = points.astype(np.float64)

    distances, indices = nearest_neighbors(points, n_neighbors, approximate=neighbors == "approximate", seed=seed)
    # A few hundred rows of brute force: cheap next to the search itself.
    recall = neighbor_recall(points, indices, seed=seed) if neighbors == "approximate" else None
    graph = _symmetric_graph(distances, indices)
    del distances, indices
    n_graph_components, labels = connected_components(graph, directed=False)
    sizes = sorted(np.bincount(labels).tolist(), reverse=True)
    joined = 0
    if n_graph_components > 1:
        message = (
            f"the {n_neighbors}-NN graph has {n_graph_components} connected components "
            f"(sizes {sizes[:10]}{'...' if len(sizes) > 10 else ''})"
        )
        if disconnected == "fail":
            raise DataError(f"isomap: {message}")
        graph, joined = join_components(graph, points, labels)
        logger.warning("%s; joined by %d shortest inter-component edges", message, joined)

    if method == "exact":
        geodesics = geodesic_distances(graph)
        coordinates, eigenvalues = classical_mds(geodesics, n_components, seed=seed)
        del geodesics
        return IsomapResult(
            coordinates, eigenvalues, n_graph_components, sizes, joined, "exact", None, neighbors, recall
        )
    coordinates, eigenvalues = _landmark_mds(graph, n_components, n_landmarks, landmarks, seed)
    return IsomapResult(
        coordinates, eigenvalues, n_graph_components, sizes, joined, "landmark", n_landmarks, neighbors, recall
    )


def classical_mds(distances, n_components, seed=0):
    """Classical (Torgerson) multidimensional scaling of a distance matrix.

    Parameters
    ----------
    distances : np.ndarray [shape=(n_points, n_points)]
        Symmetric distances; overwritten to save memory.
    n_components : int
    seed : int
        Seed of the eigensolver's starting vector.

    Returns
    -------
    coordinates : np.ndarray [shape=(n_points, n_components)]
    eigenvalues : np.ndarray [shape=(n_components,)]
        Largest eigenvalues of the centred kernel, decreasing.
    """
    kernel = distances
    kernel **= 2
    kernel *= -0.5
    # Double centring, in place: K - row means - column means + grand mean.
    row_means = kernel.mean(axis=1)
    kernel -= row_means[np.newaxis, :]
    kernel -= (row_means - row_means.mean())[:, np.newaxis]
    start = np.random.default_rng(seed).standard_normal(kernel.shape[0])
    eigenvalues, eigenvectors = eigsh(kernel, k=n_components, which="LA", v0=start)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    _fix_signs(eigenvectors)
    coordinates = eigenvectors * np.sqrt(np.maximum(eigenvalues, 0))
    return coordinates, eigenvalues


def _fix_signs(vectors):
    # Deterministic signs: the largest-magnitude entry of each column is positive.
    largest = vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])]
    vectors *= np.where(largest < 0, -1.0, 1.0)


def _landmark_mds(graph, n_components, n_landmarks, landmarks, seed):
    """Landmark MDS (de Silva & Tenenbaum, 2003) of a connected graph's geodesics.

    Returns
    -------
    coordinates : np.ndarray [shape=(n_points, n_components)]
        Centred, along principal axes, signs fixed.
    eigenvalues : np.ndarray [shape=(n_components,)]
        Sum of squares of each coordinate, decreasing.
    """
    n_points = graph.shape[0]
    rng = np.random.default_rng(seed)
    if n_landmarks >= n_points:
        chosen = np.arange(n_points)
        rows = geodesic_distances(graph, chosen, dtype=np.float32)
    elif landmarks == "random":
        chosen = np.sort(rng.choice(n_points, size=n_landmarks, replace=False))
        # float32 rows: 4 bytes per (landmark, point); paths summed in float64.
        rows = geodesic_distances(graph, chosen, dtype=np.float32)
    else:
        chosen, rows = _maxmin_landmarks(graph, n_landmarks, rng)
    # 1. Classical MDS of the landmarks.
    squared = rows[:, chosen].astype(np.float64) ** 2
    squared = (squared + squared.T) / 2  # symmetric up to rounding
    mean_squared = squared.mean(axis=1)  # delta_mu of de Silva & Tenenbaum
    kernel = -0.5 * squared
    kernel -= kernel.mean(axis=0)[np.newaxis, :]
    kernel -= kernel.mean(axis=1)[:, np.newaxis]
    size = kernel.shape[0]
    eigenvalues, eigenvectors = scipy.linalg.eigh(kernel, subset_by_index=[size - n_components, size - 1])
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    if (eigenvalues <= 0).any():
        logger.warning("landmark Isomap: non-positive eigenvalues %s; those axes are zero", eigenvalues)
    # 2. Triangulation: x = -1/2 L# (delta_x - delta_mu), L# = V / sqrt(lambda).
    scale = np.where(eigenvalues > 0, 1 / np.sqrt(np.maximum(eigenvalues, np.finfo(float).tiny)), 0.0)
    pseudo_inverse = eigenvectors * scale  # (n_landmarks, n_components)
    coordinates = np.empty((n_points, n_components))
    step = max(1, _BLOCK_ELEMENTS // rows.shape[0])
    for start in range(0, n_points, step):
        block = rows[:, start : start + step].astype(np.float64)
        block **= 2
        block -= mean_squared[:, np.newaxis]
        coordinates[start : start + step] = -0.5 * (block.T @ pseudo_inverse)
    del rows
    # 3. Principal axes of all points (de Silva & Tenenbaum's optional PCA step).
    coordinates -= coordinates.mean(axis=0)
    variances, axes = np.linalg.eigh(coordinates.T @ coordinates)
    coordinates = coordinates @ axes[:, ::-1]
    _fix_signs(coordinates)
    return coordinates, (coordinates**2).sum(axis=0)


def _maxmin_landmarks(graph, n_landmarks, rng):
    """Greedy max-min landmarks: each is the point farthest (geodesically)
    from all previous ones; the first is random."""
    n_points = graph.shape[0]
    rows = np.empty((n_landmarks, n_points), dtype=np.float32)
    chosen = np.empty(n_landmarks, dtype=np.int64)
    nearest = np.full(n_points, np.inf)
    chosen[0] = rng.integers(n_points)
    # One conversion of the graph for all the single-source searches.
    arrays = _graph_arrays(graph) if numba is not None else None
    row = np.empty((1, n_points))
    for k in range(n_landmarks):
        if arrays is not None:
            _dijkstra_kernel(n_points)(*arrays, chosen[k : k + 1].astype(np.uint32), row)
        else:  # pragma: no cover - numba comes with librosa
            row = dijkstra(graph, directed=True, indices=chosen[k : k + 1])
        rows[k] = row[0]
        np.minimum(nearest, row[0], out=nearest)
        if k + 1 < n_landmarks:
            chosen[k + 1] = np.argmax(nearest)
    return chosen, rows
