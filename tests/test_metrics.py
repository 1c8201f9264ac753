"""Each metric against a case with a known answer."""

import numpy as np
import pandas as pd
import pytest
from sklearn.manifold import trustworthiness

from gear.errors import DataError
from gear.parameters import Parameter
from gear.metrics import (
    compute_metrics,
    dci,
    distinct_rows,
    intrinsic_dimension_mle,
    intrinsic_dimension_twonn,
    isomap_alignment,
    knn_r2,
    mig,
    parameter_matrix,
    pca_scores,
    persistent_homology,
    ridge_r2,
    scorecard,
    trustworthiness_continuity,
    variance_explained,
)


# The harmonic synthesizer's factors as its description declares them.
PARAMETERS = [Parameter("f1", unit="Hz", scale="log"), Parameter("alpha"), Parameter("r")]
NAMES = [p.name for p in PARAMETERS]


@pytest.fixture(scope="module")
def grid():
    """A 10 x 8 x 8 grid of (f1, alpha, r), like a small harmonic dataset (alpha and r include 0)."""
    f1, alpha, r = (
        values.ravel()
        for values in np.meshgrid(
            np.geomspace(100, 800, 10), np.linspace(0, 2, 8), np.linspace(0, 1, 8), indexing="ij"
        )
    )
    params = pd.DataFrame(
        {"sound_id": [f"{i:05d}" for i in range(f1.size)], "f1": f1, "alpha": alpha, "r": r}
    )
    return params, parameter_matrix(params, PARAMETERS)


def standardized(values):
    return (values - values.mean(axis=0)) / values.std(axis=0)


def rotation(rng, size=3):
    return np.linalg.qr(rng.standard_normal((size, size)))[0]


# The rotation by 180 degrees about (1, 1, 1): every unit mixes every
# factor (weights 1/3 and 2/3), unlike a random rotation, which can come
# out nearly axis-aligned.
MIXING = 2 / 3 * np.ones((3, 3)) - np.eye(3)


def table(metrics):
    return metrics.set_index(["parameter", "metric"])["value"]


# Inputs.


def test_parameter_matrix_uses_each_parameters_scale_and_rejects_bad_columns(grid):
    params, targets = grid
    np.testing.assert_allclose(targets[:, 0], np.log(params["f1"]))
    np.testing.assert_allclose(targets[:, 1:], params[["alpha", "r"]])
    with pytest.raises(DataError, match="no column 'r'"):
        parameter_matrix(params.drop(columns="r"), PARAMETERS)
    with pytest.raises(DataError, match="outside the domain of its log scale"):
        parameter_matrix(params.assign(f1=0.0), PARAMETERS)
    mel = parameter_matrix(params, [Parameter("f1", scale="mel")])
    np.testing.assert_allclose(mel[:, 0], 2595 * np.log10(1 + params["f1"] / 700))


def test_distinct_rows_keeps_first_occurrences_in_order():
    points = np.array([[1.0, 2.0], [0.0, -0.0], [1.0, 2.0], [-0.0, 0.0], [3.0, 1.0]])
    np.testing.assert_array_equal(distinct_rows(points), [0, 1, 4])


def test_pca_scores_reduce_only_when_needed(rng):
    small = rng.standard_normal((100, 5)) * [1, 2, 3, 4, 5] + 7
    np.testing.assert_allclose(pca_scores(small, 10), standardized(small))  # no rotation
    wide = rng.standard_normal((100, 40)) * np.linspace(1, 10, 40)
    scores = pca_scores(wide, 10, standardize=False)
    assert scores.shape == (100, 10)
    assert np.all(np.diff(scores.var(axis=0)) <= 1e-9)  # by decreasing variance


# Predictability.


def test_probes_on_identity_random_and_single_factor_embeddings(grid, rng):
    _, targets = grid
    identity = standardized(targets)
    random = rng.standard_normal((len(targets), 20))
    only_f1 = np.c_[identity[:, 0], 0.01 * rng.standard_normal(len(targets))]
    assert (ridge_r2(identity, targets) > 0.999).all()
    assert (ridge_r2(random, targets) < 0.05).all()
    assert (knn_r2(identity, targets) > 0.95).all()
    assert (knn_r2(random, targets) < 0.05).all()
    for probe in (ridge_r2(only_f1, targets), knn_r2(only_f1, targets)):
        assert probe[0] > 0.99 and (probe[1:] < 0.05).all()


def test_probes_survive_a_rotation(grid, rng):
    _, targets = grid
    assert (ridge_r2(standardized(targets) @ rotation(rng), targets) > 0.999).all()


def test_knn_leaves_each_sound_out_even_among_duplicates(rng):
    # Each point twice, with independent targets: the only neighbour at
    # distance 0 is the copy, whose target is unrelated, so R^2 ~ -1; a
    # probe that saw its own row would score 1.
    points = np.repeat(rng.standard_normal((300, 4)), 2, axis=0)
    targets = rng.standard_normal((600, 1))
    assert knn_r2(points, targets, n_neighbors=1)[0] < -0.5


def test_ridge_of_a_constant_target_is_nan(grid):
    _, targets = grid
    r2 = ridge_r2(standardized(targets), np.c_[targets[:, 0], np.ones(len(targets))])
    assert r2[0] > 0.999 and np.isnan(r2[1])


# Isomap structure.


def test_isomap_alignment_of_independent_axes(grid):
    _, targets = grid
    spearman, axis, cosines, r2 = isomap_alignment(standardized(targets)[:, [1, 0, 2]], targets)
    np.testing.assert_allclose(spearman, 1.0)
    np.testing.assert_array_equal(axis, [1, 0, 2])
    np.testing.assert_allclose(cosines[np.triu_indices(3, 1)], 0.0, atol=1e-9)
    np.testing.assert_allclose(r2, 1.0)


def test_isomap_cosines_are_angles_in_the_isomap_plot(grid, rng):
    _, targets = grid
    z = standardized(targets)
    # Orthogonal directions of very different lengths: still orthogonal
    # (rescaling the coordinates would tilt them).
    orthogonal = rotation(rng) @ np.diag([1.0, 10.0, 0.1])
    _, _, cosines, _ = isomap_alignment(z @ orthogonal.T, targets)
    np.testing.assert_allclose(cosines[np.triu_indices(3, 1)], 0.0, atol=1e-9)
    # A shear: parameter j grows along row j of the inverse map.
    shear = np.array([[1.0, 0.8, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(shear)
    unit = inverse / np.linalg.norm(inverse, axis=1, keepdims=True)
    _, _, cosines, _ = isomap_alignment(z @ shear.T, targets)
    np.testing.assert_allclose(cosines, np.abs(unit @ unit.T), atol=1e-9)
    assert cosines[0, 1] > 0.3


# Disentanglement.


def test_dci_identity_beats_rotation(grid, rng):
    _, targets = grid
    code = standardized(targets)
    identity_d, identity_c, identity_i = dci(code, targets)
    mixed_d, mixed_c, mixed_i = dci(code @ MIXING, targets)
    assert identity_d > 0.95 and (identity_c > 0.95).all() and (identity_i > 0.95).all()
    assert mixed_d < 0.3 and (mixed_c < 0.3).all()
    assert (mixed_i > 0.9).all()  # a rotation loses no information
    rotated_d, _, rotated_i = dci(code @ rotation(rng), targets)
    assert rotated_d < identity_d - 0.1
    assert (rotated_i > 0.9).all()


def test_dci_of_a_random_code_is_near_zero(grid, rng):
    _, targets = grid
    _, _, informativeness = dci(rng.standard_normal((len(targets), 10)), targets)
    assert (informativeness < 0.05).all()


def test_mig_identity_rotation_and_random(grid, rng):
    _, targets = grid
    code = standardized(targets)
    np.testing.assert_allclose(mig(code, targets), 1.0)  # independent factors on a full grid: exact
    assert (mig(code @ MIXING, targets) < 0.05).all()  # each factor shared equally by two units
    assert (mig(rng.standard_normal((len(targets), 10)), targets) < 0.05).all()
    assert np.isnan(mig(code[:, :1], targets)).all()  # no gap with one unit


# Geometry.


def test_intrinsic_dimension_of_a_plane_and_a_curve(rng):
    plane = rng.uniform(size=(1500, 2)) @ rng.standard_normal((2, 50))
    t = rng.uniform(0, 3, 1500)
    curve = np.c_[np.cos(t), np.sin(t), t] @ rng.standard_normal((3, 50))
    for estimator in (intrinsic_dimension_twonn, intrinsic_dimension_mle):
        assert estimator(plane) == pytest.approx(2, abs=0.2)
        assert estimator(curve) == pytest.approx(1, abs=0.1)
        # Duplicated points (zero distances) are dropped, not fatal.
        assert estimator(np.vstack([plane, plane[:300]])) == pytest.approx(estimator(plane))


def test_trustworthiness_and_continuity(grid, rng):
    _, targets = grid
    identity = standardized(targets)
    # Ties between grid points keep it a hair below 1.
    assert trustworthiness_continuity(identity, identity) == pytest.approx((1.0, 1.0), abs=1e-3)
    trust, continuity = trustworthiness_continuity(identity, rng.standard_normal((len(targets), 3)))
    assert trust < 0.6 and continuity < 0.6
    # Dropping r keeps parameter neighbours together (continuity) but makes
    # sounds that differ only in r false neighbours (trustworthiness).
    trust, continuity = trustworthiness_continuity(identity, identity[:, :2])
    assert continuity > 0.95 and trust < 0.9
    assert trust == pytest.approx(trustworthiness(identity, identity[:, :2], n_neighbors=10))


# Topology.


def test_topology_of_a_circle_and_two_blobs(rng):
    angle = rng.uniform(0, 2 * np.pi, 600)
    circle = np.c_[np.cos(angle), np.sin(angle)] + 0.03 * rng.standard_normal((600, 2))
    components, loops, total, h1_max = persistent_homology(circle)
    assert (components, loops) == (1, 1) and h1_max > 0.5 and total > 0
    blobs = np.vstack([rng.standard_normal((300, 5)), rng.standard_normal((300, 5)) + 30])
    assert persistent_homology(blobs)[:2] == (2, 0)


def test_topology_of_high_dimensional_noise_is_one_blob(rng):
    # Landmarks of isotropic noise are nearly equidistant: a diameter rule
    # alone would count each as a component; the covering-radius floor does not.
    noise = rng.standard_normal((500, 200))
    assert persistent_homology(noise)[:2] == (1, 0)


def test_topology_of_a_circle_in_many_dimensions(rng):
    angle = rng.uniform(0, 2 * np.pi, 800)
    circle = np.zeros((800, 80))
    circle[:, :2] = np.c_[np.cos(angle), np.sin(angle)]
    circle = (circle + 0.03 * rng.standard_normal(circle.shape)) @ rotation(rng, 80)
    assert persistent_homology(circle)[:2] == (1, 1)  # through the PCA to 50 dimensions


# Invariance.


def test_variance_explained(rng):
    groups = np.repeat(np.arange(10), 50)
    driven = np.c_[groups + 0.01 * rng.standard_normal(500), 0.01 * rng.standard_normal(500)]
    pooled, mean = variance_explained(driven, groups)
    assert pooled > 0.99 and mean == pytest.approx(0.5, abs=0.02)  # one dimension of two
    pooled, mean = variance_explained(rng.standard_normal((500, 4)), groups)
    assert pooled < 0.05 and mean < 0.05
    # Against the textbook one-way ANOVA, per dimension.
    x = rng.standard_normal((500, 3)) + groups[:, None] * [0.0, 0.5, 2.0]
    frame = pd.DataFrame(x).assign(g=groups)
    between = ((frame.groupby("g").transform("mean") - x.mean(axis=0)) ** 2).sum().to_numpy()
    total = ((x - x.mean(axis=0)) ** 2).sum(axis=0)
    pooled, mean = variance_explained(x, groups)
    assert pooled == pytest.approx(between.sum() / total.sum())
    assert mean == pytest.approx(np.mean(between / total))


# The whole table.


def test_compute_metrics_on_the_parameters_themselves(grid):
    params, targets = grid
    identity = standardized(targets)
    value = table(compute_metrics(identity, identity, params, parameters=PARAMETERS))
    for name in NAMES:
        assert value[(name, "ridge_r2")] > 0.999 and value[(name, "knn_r2")] > 0.95
        assert value[(name, "isomap_spearman")] > 0.999 and value[(name, "invariant")] == 0
        assert value[(name, "variance_explained")] == pytest.approx(1 / 3, abs=0.01)
    assert value[("all", "dci_disentanglement")] > 0.95 and value[("all", "mig")] > 0.95
    assert value[("all", "trustworthiness")] > 0.999 and value[("all", "continuity")] > 0.999
    assert value[("all", "isomap_axis_cosine")] < 1e-6
    assert (value[("all", "h0_components")], value[("all", "h1_loops")]) == (1, 0)


def test_compute_metrics_on_a_random_embedding(grid, rng):
    params, _ = grid
    embedding = rng.standard_normal((len(params), 20)).astype(np.float32)
    value = table(compute_metrics(embedding, embedding[:, :3], params, parameters=PARAMETERS))
    for name in NAMES:
        assert value[(name, "ridge_r2")] < 0.05 and value[(name, "knn_r2")] < 0.05
        assert value[(name, "variance_explained")] < 0.05 and value[(name, "invariant")] == 1


def test_compute_metrics_flags_invariance_and_is_deterministic(grid, rng):
    params, targets = grid
    only_f1 = np.c_[standardized(targets)[:, :1], 0.01 * rng.standard_normal((len(targets), 5))]
    coordinates = only_f1[:, :3]
    first = compute_metrics(only_f1, coordinates, params, seed=3, parameters=PARAMETERS)
    second = compute_metrics(only_f1, coordinates, params, seed=3, parameters=PARAMETERS)
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == ["parameter", "metric", "value", "ci_low", "ci_high"]
    value = table(first)
    assert value[("f1", "ridge_r2")] > 0.99 and value[("f1", "invariant")] == 0
    for name in ("alpha", "r"):
        assert value[(name, "ridge_r2")] < 0.05 and value[(name, "invariant")] == 1
    assert value[("f1", "variance_explained")] > 0.9
    assert value[("f1", "dci_completeness")] > 0.9


def test_compute_metrics_of_a_mixing_keeps_information_but_not_disentanglement(grid):
    params, targets = grid
    identity = standardized(targets)
    mixed = identity @ MIXING
    plain = table(compute_metrics(identity, identity, params, parameters=PARAMETERS))
    rotated = table(compute_metrics(mixed, mixed, params, parameters=PARAMETERS))
    for name in NAMES:
        assert rotated[(name, "ridge_r2")] > 0.999
    assert rotated[("all", "dci_disentanglement")] < plain[("all", "dci_disentanglement")] - 0.5
    assert rotated[("all", "mig")] < 0.05 and rotated[("all", "continuity")] > 0.999


def test_compute_metrics_on_fewer_points_than_dimensions(grid, rng):
    # A tiny dataset: 28 sounds, 4096-dimensional embeddings.
    params = grid[0].iloc[::23].reset_index(drop=True)
    embedding, coordinates = rng.standard_normal((len(params), 4096)), rng.standard_normal((len(params), 3))
    metrics = compute_metrics(embedding, coordinates, params, parameters=PARAMETERS)
    assert np.isfinite(metrics["value"]).all(), metrics[~np.isfinite(metrics["value"])]
    # Every 24th sound has the same r: its scores are undefined, the others are not.
    params = grid[0].iloc[::24].reset_index(drop=True)
    metrics = compute_metrics(embedding[: len(params)], coordinates[: len(params)], params, parameters=PARAMETERS)
    undefined = metrics[~np.isfinite(metrics["value"])]
    assert len(undefined) and undefined["parameter"].str.contains("r").all()


def test_compute_metrics_rejects_bad_input(grid):
    params, targets = grid
    embedding = standardized(targets)
    with pytest.raises(DataError, match="NaN"):
        compute_metrics(np.full_like(embedding, np.nan), embedding, params, parameters=PARAMETERS)
    with pytest.raises(DataError, match="for 640 sounds"):
        compute_metrics(embedding[:-1], embedding, params, parameters=PARAMETERS)
    with pytest.raises(DataError, match="at least 10"):
        compute_metrics(embedding[:5], embedding[:5], params.iloc[:5], parameters=PARAMETERS)
    with pytest.raises(DataError, match="no column"):
        compute_metrics(embedding, embedding, params, parameters=("f1", "f2"))


# Scorecard.


def test_scorecard_pivots_models_by_parameters_with_ranks():
    metrics = pd.DataFrame(
        {
            "model": ["b", "b", "a", "a", "a", "c", "c"],
            "parameter": ["f1", "r", "f1", "r", "all", "f1", "r"],
            "metric": ["knn_r2"] * 4 + ["h1_loops"] + ["knn_r2"] * 2,
            "value": [0.9, 0.1, 0.5, 0.6, 2.0, 0.9, np.nan],
        }
    )
    scores = scorecard(metrics, "knn_r2", ("f1", "r"))
    assert scores.index.tolist() == ["b", "a", "c"] and scores.columns.tolist() == ["f1", "r"]
    assert scores.loc["a", "r"] == 0.6
    ranked = scorecard(metrics, "knn_r2", ("f1", "r"), ranks=True)
    assert ranked.columns.tolist() == ["f1", "r", "f1_rank", "r_rank"]
    assert ranked["f1_rank"].tolist() == [1, 3, 1]  # ties share the best rank
    assert ranked.loc["a", "r_rank"] == 1 and pd.isna(ranked.loc["c", "r_rank"])
    with pytest.raises(DataError, match="one dataset"):
        scorecard(pd.concat([metrics, metrics]), "knn_r2", ("f1", "r"))


def test_headline_scores_have_intervals_and_the_others_none(grid):
    params, targets = grid
    identity = standardized(targets)
    metrics = compute_metrics(identity, identity, params, parameters=PARAMETERS, n_resamples=200)
    indexed = metrics.set_index(["parameter", "metric"])
    for name in NAMES:
        for metric in ("knn_r2", "mlp_r2", "monotonicity"):
            value, low, high = indexed.loc[(name, metric), ["value", "ci_low", "ci_high"]]
            assert low <= value <= high, (name, metric, value, low, high)
        # The embedding is the parameters: distance from a sweep's start grows at every step.
        assert indexed.loc[(name, "monotonicity"), "value"] == pytest.approx(1.0)
        assert indexed.loc[(name, "mlp_r2"), "value"] > 0.9
        assert np.isnan(indexed.loc[(name, "ridge_r2"), ["ci_low", "ci_high"]].astype(float)).all()


def test_monotonicity_sees_a_folded_parameter(grid):
    params, targets = grid
    identity = standardized(targets)
    folded = identity.copy()
    folded[:, 1] = folded[:, 1] ** 2  # alpha folded back around its middle
    value = table(compute_metrics(folded, folded, params, parameters=PARAMETERS, n_resamples=100, mlp=False))
    assert value[("alpha", "monotonicity")] < 0.7 and value[("f1", "monotonicity")] == pytest.approx(1.0)


def test_cosine_distance_ignores_the_norm_of_each_embedding(grid, rng):
    params, targets = grid
    embedding = np.c_[standardized(targets), np.ones(len(targets))] + 3.0
    scaled = embedding * rng.uniform(0.5, 4.0, (len(targets), 1))
    kwargs = dict(parameters=PARAMETERS, distance="cosine", n_resamples=50, mlp=False)
    plain = table(compute_metrics(embedding, embedding[:, :3], params, **kwargs))
    rescaled = table(compute_metrics(scaled, embedding[:, :3], params, **kwargs))
    for name in NAMES:
        for metric in ("knn_r2", "monotonicity"):
            # Equal up to ties between equidistant grid neighbours, broken by rounding.
            assert rescaled[(name, metric)] == pytest.approx(plain[(name, metric)], abs=0.005)
    euclidean = table(compute_metrics(scaled, embedding[:, :3], params, parameters=PARAMETERS, n_resamples=50,
                                      mlp=False))  # fmt: skip
    assert euclidean[("f1", "knn_r2")] < plain[("f1", "knn_r2")] - 0.05
