"""Isomap: recovers known manifolds, agrees with scikit-learn, reports disconnection."""

import logging

import numpy as np
import pytest
from scipy.spatial import procrustes
from scipy.stats import spearmanr
from sklearn.datasets import make_swiss_roll
from sklearn.manifold import Isomap

from gear.errors import DataError
from gear.manifold import isomap, knn_graph


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
