"""Each metric against a case with a known answer."""

import numpy as np
import pandas as pd
import pytest

from gear.errors import DataError
from gear.metrics import (
    compute_metrics,
    dci,
    intrinsic_dimension_mle,
    intrinsic_dimension_twonn,
    isomap_alignment,
    knn_r2,
    parameter_matrix,
    persistent_homology,
    ridge_r2,
    scorecard,
    trustworthiness_continuity,
    variance_explained,
)


@pytest.fixture(scope="module")
def grid():
    """A 10 x 8 x 8 grid of (f1, alpha, r), like a small harmonic dataset."""
    f1, alpha, r = (
        values.ravel()
        for values in np.meshgrid(np.geomspace(100, 800, 10), np.linspace(0, 2, 8), np.linspace(0, 1, 8), indexing="ij")
    )
    params = pd.DataFrame({"sound_id": [f"{i:05d}" for i in range(f1.size)], "f1": f1, "alpha": alpha, "r": r})
    return params, parameter_matrix(params)


def standardized(values):
    return (values - values.mean(axis=0)) / values.std(axis=0)


def test_parameter_matrix_uses_log_f1(grid):
    params, targets = grid
    np.testing.assert_allclose(targets[:, 0], np.log(params["f1"]))
    np.testing.assert_allclose(targets[:, 1:], params[["alpha", "r"]])


def test_probes_on_identity_random_and_single_factor_embeddings(grid, rng):
    _, targets = grid
    identity = standardized(targets)
    random = rng.standard_normal((len(targets), 20))
    only_f1 = np.c_[identity[:, 0], 0.01 * rng.standard_normal(len(targets))]
    for j in range(3):
        assert ridge_r2(identity, targets[:, j]) > 0.999
        assert ridge_r2(random, targets[:, j]) < 0.05
    assert ridge_r2(only_f1, targets[:, 0]) > 0.99
    assert ridge_r2(only_f1, targets[:, 1]) < 0.05 and ridge_r2(only_f1, targets[:, 2]) < 0.05
    knn = knn_r2(only_f1, targets)
    assert knn[0] > 0.95 and knn[1] < 0.05 and knn[2] < 0.05
    assert (knn_r2(identity, targets) > 0.9).all()


def test_isomap_alignment_of_orthogonal_and_shared_directions(grid):
    _, targets = grid
    coordinates = standardized(targets)  # each parameter along its own axis
    spearman, cosines = isomap_alignment(coordinates, targets)
    np.testing.assert_allclose(spearman, 1.0)
    np.testing.assert_allclose(cosines[np.triu_indices(3, 1)], 0.0, atol=1e-9)
    mixed = np.c_[coordinates[:, 0] + coordinates[:, 1], coordinates[:, 2], np.zeros(len(targets))]
    _, cosines = isomap_alignment(mixed, np.c_[targets[:, 0] + targets[:, 1] * 0, targets[:, 0]])
    assert cosines[0, 1] > 0.999  # the same parameter twice: same direction


def test_dci_identity_beats_rotation(grid, rng):
    _, targets = grid
    code = standardized(targets)
    identity_d, identity_c, identity_i = dci(code, targets)
    rotation = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    rotated_d, _, rotated_i = dci(code @ rotation, targets)
    assert identity_d > 0.9 and (identity_c > 0.9).all() and (identity_i > 0.9).all()
    assert rotated_d < identity_d - 0.3
    assert (rotated_i > 0.8).all()  # a rotation loses no information


def test_intrinsic_dimension_of_a_plane_and_a_curve(rng):
    plane = rng.uniform(size=(3000, 2)) @ rng.standard_normal((2, 50))
    t = rng.uniform(0, 3, 3000)
    curve = np.c_[np.cos(t), np.sin(t), t] @ rng.standard_normal((3, 50))
    for estimator in (intrinsic_dimension_twonn, intrinsic_dimension_mle):
        assert estimator(plane) == pytest.approx(2, abs=0.25)
        assert estimator(curve) == pytest.approx(1, abs=0.15)


def test_trustworthiness_and_continuity(grid, rng):
    _, targets = grid
    identity = standardized(targets)
    # Ties between grid points keep it a hair below 1.
    assert trustworthiness_continuity(identity, identity) == pytest.approx((1.0, 1.0), abs=1e-3)
    trust, continuity = trustworthiness_continuity(identity, rng.standard_normal((len(targets), 3)))
    assert trust < 0.7 and continuity < 0.7


def test_topology_of_a_circle_and_two_blobs(rng):
    angle = rng.uniform(0, 2 * np.pi, 600)
    circle = np.c_[np.cos(angle), np.sin(angle)] + 0.03 * rng.standard_normal((600, 2))
    components, loops, _ = persistent_homology(circle)
    assert (components, loops) == (1, 1)
    blobs = np.vstack([rng.standard_normal((300, 5)), rng.standard_normal((300, 5)) + 30])
    components, loops, _ = persistent_homology(blobs)
    assert (components, loops) == (2, 0)


def test_variance_explained(rng):
    groups = np.repeat(np.arange(10), 50)
    driven = np.c_[groups + 0.01 * rng.standard_normal(500), 0.01 * rng.standard_normal(500)]
    assert variance_explained(driven, groups) > 0.99
    assert variance_explained(rng.standard_normal((500, 4)), groups) < 0.05


def test_compute_metrics_flags_invariance_and_is_deterministic(grid, rng):
    params, targets = grid
    only_f1 = np.c_[standardized(targets)[:, :1], 0.01 * rng.standard_normal((len(targets), 5))]
    coordinates = only_f1[:, :3]
    first = compute_metrics(only_f1, coordinates, params)
    second = compute_metrics(only_f1, coordinates, params)
    pd.testing.assert_frame_equal(first, second)
    value = first.set_index(["parameter", "metric"])["value"]
    assert value[("f1", "invariant")] == 0 and value[("alpha", "invariant")] == 1 and value[("r", "invariant")] == 1
    assert value[("f1", "variance_explained")] > 0.9
    assert set(first["metric"]) >= {"ridge_r2", "knn_r2", "dci_disentanglement", "h1_loops", "trustworthiness"}
    with pytest.raises(DataError, match="NaN"):
        compute_metrics(np.full_like(only_f1, np.nan), coordinates, params)


def test_scorecard_pivots_models_by_parameters():
    metrics = pd.DataFrame(
        {
            "model": ["b", "b", "a", "a", "a"],
            "parameter": ["f1", "r", "f1", "r", "all"],
            "metric": ["ridge_r2"] * 4 + ["h1_loops"],
            "value": [0.9, 0.1, 0.5, 0.6, 2.0],
        }
    )
    table = scorecard(metrics, parameters=("f1", "r"))
    assert table.index.tolist() == ["b", "a"] and table.columns.tolist() == ["f1", "r"]
    assert table.loc["a", "r"] == 0.6


def test_compute_metrics_on_fewer_points_than_dimensions(grid, rng):
    # A tiny dataset: 30 sounds, 4096-dimensional embeddings.
    params = grid[0].iloc[::24].reset_index(drop=True)
    metrics = compute_metrics(rng.standard_normal((len(params), 4096)), rng.standard_normal((len(params), 3)), params)
    assert np.isfinite(metrics.set_index("metric").loc["h0_components", "value"])
