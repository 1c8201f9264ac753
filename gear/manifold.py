"""Isomap: K-nearest-neighbour graph, geodesic distances, classical MDS.

Follows Tenenbaum et al. (2000) and scikit-learn's ``Isomap`` (which the
paper's code used), with two differences that matter to GEAR:

- A disconnected K-NN graph is never silently turned into garbage: the
  number of connected components is reported, and they are either joined
  by their shortest inter-component edges (scikit-learn's fix, logged as
  a warning) or rejected, as the caller chooses.
- The output is deterministic: each coordinate's sign is fixed so that its
  largest-magnitude entry is positive.
"""

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.sparse.linalg import eigsh
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors

from gear.errors import DataError

__all__ = ["IsomapResult", "knn_graph", "join_components", "isomap"]

logger = logging.getLogger(__name__)


@dataclass
class IsomapResult:
    """Coordinates and diagnostics of one Isomap run.

    Attributes
    ----------
    coordinates : np.ndarray [shape=(n_points, n_components)]
    eigenvalues : np.ndarray [shape=(n_components,)]
        Eigenvalues of the double-centred squared-geodesic kernel, in
        decreasing order (the variance along each coordinate, times n).
    n_graph_components : int
        Connected components of the K-NN graph before any joining.
    component_sizes : list of int
        Size of each of those components, largest first.
    joined_edges : int
        Edges added to connect the components (0 if connected).
    """

    coordinates: np.ndarray
    eigenvalues: np.ndarray
    n_graph_components: int
    component_sizes: list = field(default_factory=list)
    joined_edges: int = 0

    def summary(self):
        """Diagnostics as a JSON-serializable dict."""
        return {
            "n_points": int(self.coordinates.shape[0]),
            "n_components": int(self.coordinates.shape[1]),
            "eigenvalues": [float(value) for value in self.eigenvalues],
            "n_graph_components": int(self.n_graph_components),
            "component_sizes": [int(size) for size in self.component_sizes],
            "joined_edges": int(self.joined_edges),
        }


def knn_graph(points, n_neighbors):
    """Symmetric K-nearest-neighbour graph with Euclidean edge lengths.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    n_neighbors : int
        Neighbours of each point, itself excluded.

    Returns
    -------
    graph : scipy.sparse.csr_array [shape=(n_points, n_points)]
        ``graph[i, j]`` is the distance from ``i`` to ``j`` if ``j`` is among
        the neighbours of ``i`` or ``i`` among those of ``j``. Zero
        distances (duplicate points) are stored as a tiny positive length,
        so that they remain edges.
    """
    neighbors = NearestNeighbors(n_neighbors=n_neighbors).fit(points)
    distances, indices = neighbors.kneighbors()
    n_points = points.shape[0]
    tiny = np.finfo(np.float64).tiny
    rows = np.repeat(np.arange(n_points), n_neighbors)
    graph = scipy.sparse.csr_array(
        (np.maximum(distances.ravel(), tiny), (rows, indices.ravel())), shape=(n_points, n_points)
    )
    return graph.maximum(graph.T).tocsr()


def join_components(graph, points, labels):
    """Join the components of a graph by their shortest connecting edges.

    For every pair of components, the closest pair of points (one in each)
    is linked, as scikit-learn's Isomap does.

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
    graph = scipy.sparse.lil_array(graph)
    n_labels = labels.max() + 1
    n_added = 0
    tiny = np.finfo(np.float64).tiny
    for first in range(n_labels):
        first_members = np.flatnonzero(labels == first)
        for second in range(first + 1, n_labels):
            second_members = np.flatnonzero(labels == second)
            distances = pairwise_distances(points[first_members], points[second_members])
            i, j = np.unravel_index(np.argmin(distances), distances.shape)
            length = max(distances[i, j], tiny)
            graph[first_members[i], second_members[j]] = length
            graph[second_members[j], first_members[i]] = length
            n_added += 1
    return graph.tocsr(), n_added


def isomap(points, n_neighbors=100, n_components=3, disconnected="join", seed=0):
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
        Seed of the eigensolver's starting vector.

    Returns
    -------
    result : IsomapResult

    Raises
    ------
    DataError
        If there are too few points or non-finite values, or if the graph
        is disconnected and ``disconnected="fail"``.
    """
    points = np.asarray(points, dtype=np.float64)
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

    graph = knn_graph(points, n_neighbors)
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

    geodesics = dijkstra(graph, directed=False)
    coordinates, eigenvalues = classical_mds(geodesics, n_components, seed=seed)
    return IsomapResult(coordinates, eigenvalues, n_graph_components, sizes, joined)


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
    kernel -= row_means[:, np.newaxis]
    kernel += row_means.mean()
    start = np.random.default_rng(seed).standard_normal(kernel.shape[0])
    eigenvalues, eigenvectors = eigsh(kernel, k=n_components, which="LA", v0=start)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    # Deterministic signs: the largest-magnitude entry of each axis is positive.
    largest = eigenvectors[np.argmax(np.abs(eigenvectors), axis=0), np.arange(n_components)]
    eigenvectors *= np.sign(largest)
    coordinates = eigenvectors * np.sqrt(np.maximum(eigenvalues, 0))
    return coordinates, eigenvalues
