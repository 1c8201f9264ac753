"""Isomap: recovers known manifolds, agrees with scikit-learn, reports disconnection."""

import logging

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import procrustes
from scipy.stats import spearmanr
from sklearn.datasets import make_swiss_roll
from sklearn.manifold import Isomap
from sklearn.neighbors import NearestNeighbors

from gear import manifold
from gear.errors import DataError
from gear.manifold import geodesic_distances, isomap, knn_graph, nearest_neighbors, neighbor_recall


def test_recovers_swiss_roll_parameter():
    points, position = make_swiss_roll(n_samples=1200, noise=0.0, random_state=0)
    result = isomap(points, n_neighbors=10, n_components=2)
    # The roll unrolls: one Isomap axis follows the position along the roll.
    correlation = max(abs(spearmanr(result.coordinates[:, k], position)[0]) for k in range(2))
    assert correlation > 0.99
    assert result.n_graph_components == 1 and result.joined_edges == 0


def test_matches_scikit_learn(rng):
    points = rng.standard_normal((400, 20))
    ours = isomap(points, n_neighbors=15, n_components=3).coordinates
    theirs = Isomap(n_neighbors=15, n_components=3).fit_transform(points)
    assert procrustes(theirs, ours)[2] < 1e-8


def test_is_deterministic_with_fixed_signs(rng):
    points = rng.standard_normal((300, 5))
    first, second = isomap(points, 10, 3), isomap(points, 10, 3)
    np.testing.assert_array_equal(first.coordinates, second.coordinates)
    largest = first.coordinates[np.argmax(np.abs(first.coordinates), axis=0), range(3)]
    assert (largest > 0).all()


def test_eigenvalues_decrease_and_match_coordinate_variance(rng):
    points = rng.standard_normal((300, 4)) * [5, 3, 1, 0.5]
    result = isomap(points, 20, 3)
    assert np.all(np.diff(result.eigenvalues) <= 0)
    np.testing.assert_allclose((result.coordinates**2).sum(axis=0), result.eigenvalues, rtol=1e-8)


def two_blobs(rng):
    return np.vstack([rng.standard_normal((60, 3)), rng.standard_normal((40, 3)) + 100])


def test_disconnected_graph_is_reported_and_joined(rng, caplog):
    points = two_blobs(rng)
    with caplog.at_level(logging.WARNING):
        result = isomap(points, n_neighbors=5, n_components=3)
    assert result.n_graph_components == 2
    assert result.component_sizes == [60, 40]
    assert result.joined_edges == 1
    assert "2 connected components" in caplog.text
    # Joined by one bridge, the two blobs sit far apart on the first axis.
    first_axis = result.coordinates[:, 0]
    assert np.sign(first_axis[:60]).std() == 0 and np.sign(first_axis[60:]).std() == 0
    assert np.sign(first_axis[0]) != np.sign(first_axis[-1])
    assert np.isfinite(result.coordinates).all()


def test_disconnected_graph_can_fail(rng):
    with pytest.raises(DataError, match="2 connected components"):
        isomap(two_blobs(rng), n_neighbors=5, disconnected="fail")


def test_duplicate_points_stay_connected():
    # A model invariant to a factor gives identical embeddings: zero-length
    # edges must remain edges, not holes in the graph.
    points = np.repeat(np.arange(30.0)[:, np.newaxis], 2, axis=0)
    graph = knn_graph(points, 5)
    # Points 0 and 1 coincide: their edge is kept with a positive length.
    assert graph[0, 1] > 0 and graph[1, 0] > 0
    result = isomap(points, n_neighbors=5, n_components=3)
    assert result.n_graph_components == 1


@pytest.mark.parametrize(
    "points, message",
    [
        (np.zeros((5, 3)), "too few"),
        (np.full((50, 3), np.nan), "NaN"),
        (np.zeros(50), "2-D"),
    ],
)
def test_rejects_bad_input(points, message):
    with pytest.raises(DataError, match=message):
        isomap(points, n_neighbors=10)


# ---------------------------------------------------------------------------
# Geodesic distances: the compiled Dijkstra against scipy's


def random_graph(rng, n_points, n_edges, integer_lengths=False):
    """Random symmetric graph; integer lengths make many paths tie."""
    rows = rng.integers(n_points, size=n_edges)
    cols = rng.integers(n_points, size=n_edges)
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    lengths = rng.integers(1, 4, size=rows.size).astype(float) if integer_lengths else rng.uniform(0.01, 1, rows.size)
    graph = scipy.sparse.csr_array((lengths, (rows, cols)), shape=(n_points, n_points))
    return graph.maximum(graph.T).tocsr()


@pytest.mark.parametrize("queue", ["blocked", "heap"])
@pytest.mark.parametrize("integer_lengths", [False, True])
@pytest.mark.parametrize("n_edges", [150, 2000])  # 150: many components
def test_geodesic_distances_equal_scipy(rng, monkeypatch, queue, integer_lengths, n_edges):
    # Both priority queues: the two-level one for small graphs, the heap above.
    monkeypatch.setattr(manifold, "_BLOCKED_QUEUE_MAX_POINTS", 10**9 if queue == "blocked" else 0)
    graph = random_graph(rng, 300, n_edges, integer_lengths)
    expected = dijkstra(graph, directed=False)
    np.testing.assert_array_equal(geodesic_distances(graph), expected)
    sources = rng.choice(300, size=17, replace=False)
    np.testing.assert_array_equal(geodesic_distances(graph, sources), expected[sources])
    as_float32 = geodesic_distances(graph, sources, dtype=np.float32)
    assert as_float32.dtype == np.float32
    np.testing.assert_array_equal(as_float32, expected[sources].astype(np.float32))
    if n_edges == 150:
        assert np.isinf(expected).any()  # the disconnected case was tested


def test_geodesic_distances_of_a_path_graph():
    # 0 - 1 - 2 - 3 with lengths 1, 2, 3: the geodesics are partial sums.
    graph = scipy.sparse.diags([[1.0, 2, 3], [1.0, 2, 3]], [1, -1], shape=(4, 4), format="csr")
    cumulative = np.array([0.0, 1, 3, 6])
    np.testing.assert_array_equal(geodesic_distances(graph), np.abs(cumulative[:, None] - cumulative))


# ---------------------------------------------------------------------------
# Landmark Isomap


def grid_in_high_dimension(rng, side=30, n_features=50):
    """A flat 2-D grid, isometrically embedded in n_features dimensions."""
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), axis=-1).reshape(-1, 2).astype(float)
    rotation = np.linalg.qr(rng.standard_normal((n_features, n_features)))[0][:2]
    return grid, grid @ rotation


def test_exact_recovers_a_flat_grid(rng):
    grid, points = grid_in_high_dimension(rng)
    coordinates = isomap(points, n_neighbors=8, n_components=2, method="exact").coordinates
    # Geodesics along the 8-NN graph of a grid are not exactly Euclidean
    # (paths zigzag), but the grid is recovered up to a rigid motion.
    assert procrustes(grid, coordinates)[2] < 1e-3


def test_landmark_with_every_point_a_landmark_is_exact(rng):
    points = rng.standard_normal((250, 6))
    exact = isomap(points, n_neighbors=12, n_components=3, method="exact")
    landmark = isomap(points, n_neighbors=12, n_components=3, method="landmark", n_landmarks=250)
    assert landmark.method == "landmark" and landmark.n_landmarks == 250
    assert procrustes(exact.coordinates, landmark.coordinates)[2] < 1e-10


@pytest.mark.parametrize("landmarks", ["random", "maxmin"])
def test_landmark_agrees_with_exact_on_a_swiss_roll(landmarks):
    points, _ = make_swiss_roll(n_samples=1500, noise=0.05, random_state=1)
    exact = isomap(points, n_neighbors=10, n_components=2, method="exact").coordinates
    landmark = isomap(points, n_neighbors=10, n_components=2, method="landmark", n_landmarks=100, landmarks=landmarks)
    assert procrustes(exact, landmark.coordinates)[2] < 1e-3
    assert landmark.summary()["neighbor_recall"] is None  # exact neighbours below the threshold


# ---------------------------------------------------------------------------
# Neighbours


def test_exact_neighbors_equal_scikit_learn(rng):
    points = rng.standard_normal((500, 30))
    distances, indices = nearest_neighbors(points, 7)
    expected_distances, expected_indices = NearestNeighbors(n_neighbors=7).fit(points).kneighbors()
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-12)


def test_neighbor_recall(rng):
    points = rng.standard_normal((400, 10))
    _, indices = nearest_neighbors(points, 10)
    assert neighbor_recall(points, indices) == 1.0
    assert neighbor_recall(points.astype(np.float32), indices) > 0.99  # float32 input
    # Replace half of each list by far-away points: recall falls to about 1/2.
    corrupted = indices.copy()
    corrupted[:, 5:] = np.argsort(-np.linalg.norm(points - points[:1], axis=1))[None, :5]
    assert 0.45 <= neighbor_recall(points, corrupted) <= 0.55


def test_approximate_neighbors_are_nearly_exact(rng):
    # Clustered data, as embeddings are: the inverted file's cells follow it.
    centres = rng.standard_normal((20, 32)) * 3
    points = (centres[rng.integers(0, 20, 4000)] + rng.standard_normal((4000, 32))).astype(np.float32)
    distances, indices = nearest_neighbors(points, 15, approximate=True)
    assert indices.shape == distances.shape == (4000, 15)
    assert not (indices == np.arange(4000)[:, np.newaxis]).any()  # never its own neighbour
    assert (np.diff(distances, axis=1) >= 0).all()
    # The lengths are those of the pairs found (to float32 precision)...
    true = np.linalg.norm(points[:, np.newaxis].astype(np.float64) - points[indices], axis=2)
    np.testing.assert_allclose(distances, true, rtol=1e-4, atol=1e-4)
    # ... and the pairs are nearly all the true nearest neighbours.
    assert neighbor_recall(points, indices, n_samples=500) > 0.95
    again = nearest_neighbors(points, 15, approximate=True)[1]
    np.testing.assert_array_equal(indices, again)  # seeded: reproducible


def test_approximate_neighbors_keep_duplicates_apart():
    points = np.repeat(np.arange(200, dtype=np.float32)[:, np.newaxis], 2, axis=0) * [1.0, 0.5]
    distances, indices = nearest_neighbors(points, 3, approximate=True)
    assert not (indices == np.arange(400)[:, np.newaxis]).any()
    twin = np.arange(400) ^ 1  # rows 2k and 2k+1 are the same point
    assert (indices[:, 0] == twin).all() and (distances[:, 0] == 0).all()


def test_landmark_isomap_with_approximate_neighbors_reports_recall():
    points, position = make_swiss_roll(n_samples=3000, noise=0.0, random_state=0)
    result = isomap(points, 12, 2, method="landmark", n_landmarks=300, neighbors="approximate")
    summary = result.summary()
    assert summary["neighbors"] == "approximate" and summary["neighbor_recall"] > 0.95
    correlation = max(abs(spearmanr(result.coordinates[:, k], position)[0]) for k in range(2))
    assert correlation > 0.99
