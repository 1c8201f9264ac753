"""Global disentanglement metrics: which model encodes which factor, and how.

The paper's K-NN regression looks at local neighbourhoods only and, in its
own words, was inconclusive for alpha and r. These metrics answer at the
global scale, per (model, parameter) unless stated:

- Predictability: cross-validated R^2 of a linear (ridge) probe and of a
  leave-one-out K-NN regressor.
- Isomap structure: the best rank correlation between a parameter and an
  Isomap axis, and the cosine between the directions along which different
  parameters vary (0: orthogonal, as the paper hopes).
- Disentanglement: DCI disentanglement, completeness and informativeness
  (Eastwood and Williams, 2018) on a fixed-size PCA code.
- Geometry: intrinsic dimension (TwoNN and MLE) and trustworthiness and
  continuity between parameter space and embedding space.
- Topology: persistent homology of a subsample (ripser): components and
  loops, a check on patterns Isomap may fake (Donoho and Grimes, 2003).
- Invariance: the share of the embedding's variance that a parameter
  explains (eta squared).

Parameters are compared on their natural scale: ``log(f1)``, ``alpha``,
``r``. Every quadratic step runs on a seeded subsample of bounded size, so
memory stays linear in the number of sounds.
"""

import logging

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.manifold import trustworthiness
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gear.errors import DataError

__all__ = [
    "INVARIANCE_THRESHOLD",
    "parameter_matrix",
    "ridge_r2",
    "knn_r2",
    "isomap_alignment",
    "dci",
    "intrinsic_dimension_twonn",
    "intrinsic_dimension_mle",
    "trustworthiness_continuity",
    "persistent_homology",
    "variance_explained",
    "compute_metrics",
    "scorecard",
]

logger = logging.getLogger(__name__)

#: A model is called (nearly) invariant to a parameter if the parameter explains
#: less than this share of the embedding's variance AND neither probe recovers
#: it (R^2 below RECOVERY_THRESHOLD): a small share alone can hide a factor that
#: is perfectly decodable but moves the embedding little next to the others.
INVARIANCE_THRESHOLD = 0.05
RECOVERY_THRESHOLD = 0.5

# Sizes of the seeded subsamples of quadratic steps.
_MAX_PROBE_FEATURES = 256
_MAX_TWONN_POINTS = 5000
_MAX_TRUSTWORTHINESS_POINTS = 2000
_MAX_TOPOLOGY_POINTS = 400
_MAX_TOPOLOGY_DIMS = 50


def parameter_matrix(params, parameters=("f1", "alpha", "r")):
    """Parameters on their natural scale: log for f1, linear otherwise.

    Parameters
    ----------
    params : pd.DataFrame
    parameters : sequence of str

    Returns
    -------
    values : np.ndarray [shape=(n_sounds, n_parameters)]
    """
    columns = []
    for name in parameters:
        value = params[name].to_numpy(dtype=np.float64)
        columns.append(np.log(value) if name == "f1" else value)
    return np.column_stack(columns)


def _subsample(n_points, size, seed):
    if n_points <= size:
        return np.arange(n_points)
    return np.sort(np.random.default_rng(seed).choice(n_points, size, replace=False))


def _reduce(embedding, n_components, seed):
    """Standardize, then PCA to at most ``n_components`` (unsupervised, no label leak)."""
    scaled = StandardScaler().fit_transform(embedding)
    n_components = min(n_components, *scaled.shape)
    if n_components >= scaled.shape[1]:
        return scaled
    return PCA(n_components=n_components, random_state=seed).fit_transform(scaled)


def ridge_r2(features, target, seed=0, n_splits=5):
    """Cross-validated R^2 of a standardized ridge probe.

    Parameters
    ----------
    features : np.ndarray [shape=(n_points, n_features)]
    target : np.ndarray [shape=(n_points,)]
    seed : int
        Seed of the shuffled K-fold split.
    n_splits : int

    Returns
    -------
    r2 : float
        Mean over folds; 1 is perfect, 0 is no better than the mean, and
        it can be negative.
    """
    if np.ptp(target) == 0:
        return np.nan
    probe = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 7)))
    folds = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(probe, features, target, cv=folds, scoring="r2")))


def knn_r2(embedding, targets, n_neighbors=10):
    """Leave-one-out R^2 of a K-NN regressor on the raw embedding.

    Euclidean distances on the raw embedding, as Isomap's graph uses.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_points, n_features)]
    targets : np.ndarray [shape=(n_points, n_targets)]
    n_neighbors : int

    Returns
    -------
    r2 : np.ndarray [shape=(n_targets,)]
    """
    _, indices = NearestNeighbors(n_neighbors=n_neighbors).fit(embedding).kneighbors()
    predictions = targets[indices].mean(axis=1)
    residual = ((targets - predictions) ** 2).sum(axis=0)
    total = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
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
        Largest absolute Spearman correlation of each target with any axis.
    cosines : np.ndarray [shape=(n_targets, n_targets)]
        Absolute cosine between the directions (gradients of a linear fit
        of each standardized target on the standardized coordinates) along
        which two targets grow; 0 means orthogonal.
    """
    axes = [axis for axis in coordinates.T if np.ptp(axis) > 0]
    spearman = np.array(
        [
            max(abs(spearmanr(axis, target)[0]) for axis in axes) if np.ptp(target) > 0 and axes else np.nan
            for target in targets.T
        ]
    )
    scaled = StandardScaler().fit_transform(coordinates)
    directions = LinearRegression().fit(scaled, StandardScaler().fit_transform(targets)).coef_
    norms = np.linalg.norm(directions, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = directions / norms
    return spearman, np.abs(unit @ unit.T)


def _entropy(probabilities, base):
    probabilities = probabilities[probabilities > 0]
    return float(-(probabilities * np.log(probabilities)).sum() / np.log(base))


def dci(code, targets, seed=0):
    """DCI disentanglement, completeness and informativeness.

    Eastwood, C. and Williams, C. K. I. (2018). A framework for the
    quantitative evaluation of disentangled representations. ICLR.
    Importances come from random forests (the paper's second option),
    informativeness is their out-of-bag R^2.

    Parameters
    ----------
    code : np.ndarray [shape=(n_points, n_code)]
        A fixed-size code, e.g. the first PCA components of the embedding.
    targets : np.ndarray [shape=(n_points, n_targets)]
    seed : int

    Returns
    -------
    disentanglement : float
        Importance-weighted mean over code units of 1 - entropy (base
        n_targets) of the unit's importance over targets.
    completeness : np.ndarray [shape=(n_targets,)]
        1 - entropy (base n_code) of each target's importance over units.
    informativeness : np.ndarray [shape=(n_targets,)]
        Out-of-bag R^2 of each target's forest.
    """
    n_code, n_targets = code.shape[1], targets.shape[1]
    importance = np.zeros((n_code, n_targets))
    informativeness = np.full(n_targets, np.nan)
    for j, target in enumerate(targets.T):
        if np.ptp(target) == 0:
            continue
        forest = RandomForestRegressor(
            n_estimators=60, min_samples_leaf=5, oob_score=True, random_state=seed, n_jobs=1
        ).fit(code, (target - target.mean()) / target.std())
        importance[:, j] = forest.feature_importances_
        informativeness[j] = forest.oob_score_
    unit_weight = importance.sum(axis=1) / max(importance.sum(), np.finfo(float).tiny)
    per_unit = [
        1 - _entropy(row / row.sum(), n_targets) if row.sum() > 0 else 0.0 for row in importance
    ]
    disentanglement = float(np.dot(unit_weight, per_unit))
    completeness = np.array(
        [1 - _entropy(column / column.sum(), n_code) if column.sum() > 0 else np.nan for column in importance.T]
    )
    return disentanglement, completeness, informativeness


def _distinct(points):
    # Duplicated points give zero neighbour distances, which break ratios.
    return np.unique(points, axis=0)


def intrinsic_dimension_twonn(points, seed=0):
    """TwoNN intrinsic dimension (Facco et al., 2017, Sci. Rep. 7:12140).

    Maximum-likelihood form: ``d = n / sum(log(r2 / r1))``, with r1, r2 the
    distances to each point's two nearest neighbours.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    seed : int
        Seed of the subsample (at most 5,000 distinct points).

    Returns
    -------
    dimension : float
    """
    points = _distinct(points)
    points = points[_subsample(len(points), _MAX_TWONN_POINTS, seed)]
    distances, _ = NearestNeighbors(n_neighbors=3).fit(points).kneighbors(points)
    ratio = distances[:, 2] / distances[:, 1]
    ratio = ratio[np.isfinite(ratio) & (ratio > 1)]
    return float(ratio.size / np.log(ratio).sum())


def intrinsic_dimension_mle(points, n_neighbors=15, seed=0):
    """Levina-Bickel maximum-likelihood intrinsic dimension.

    Levina, E. and Bickel, P. (2004). Maximum likelihood estimation of
    intrinsic dimension. NIPS. Averaged as MacKay and Ghahramani suggest
    (mean of the inverse local estimates, then inverted).

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    n_neighbors : int
    seed : int

    Returns
    -------
    dimension : float
    """
    points = _distinct(points)
    points = points[_subsample(len(points), _MAX_TWONN_POINTS, seed)]
    distances, _ = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(points).kneighbors(points)
    distances = distances[:, 1:]
    inverse = np.log(distances[:, -1:] / distances[:, :-1]).mean(axis=1)
    return float(1 / inverse[np.isfinite(inverse) & (inverse > 0)].mean())


def trustworthiness_continuity(parameter_space, embedding, n_neighbors=10, seed=0):
    """Trustworthiness and continuity between parameter and embedding space.

    Venna, J. and Kaski, S. (2001). Neighborhood preservation in nonlinear
    projection methods. ICANN. Trustworthiness penalizes embedding
    neighbours that are far in parameter space; continuity penalizes
    parameter neighbours that the embedding tears apart.

    Parameters
    ----------
    parameter_space : np.ndarray [shape=(n_points, n_parameters)]
        Standardized parameters.
    embedding : np.ndarray [shape=(n_points, n_features)]
    n_neighbors : int
    seed : int
        Seed of the subsample (at most 2,000 points).

    Returns
    -------
    trustworthiness, continuity : float
    """
    rows = _subsample(len(embedding), _MAX_TRUSTWORTHINESS_POINTS, seed)
    source, target = parameter_space[rows], embedding[rows]
    return (
        float(trustworthiness(source, target, n_neighbors=n_neighbors)),
        float(trustworthiness(target, source, n_neighbors=n_neighbors)),
    )


def _farthest_points(points, size, seed):
    """Greedy max-min (farthest point) landmarks, seeded start."""
    chosen = [int(np.random.default_rng(seed).integers(len(points)))]
    distance = np.linalg.norm(points - points[chosen[0]], axis=1)
    for _ in range(min(size, len(points)) - 1):
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(points - points[chosen[-1]], axis=1))
    return np.array(chosen)


def persistent_homology(points, relative_threshold=0.1, seed=0):
    """Significant connected components and loops of a point cloud.

    On at most 400 farthest-point landmarks (after PCA to at most 50
    dimensions), Vietoris-Rips persistent homology by ripser. A feature is
    significant if it persists longer than ``relative_threshold`` times
    the landmarks' diameter: noise-level features die within a small
    fraction of the scale of the cloud, while a real gap or hole lasts a
    sizeable share of it.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, n_features)]
    relative_threshold : float
    seed : int

    Returns
    -------
    components : int
        H0 classes persisting beyond the threshold (the infinite one
        included): 1 for a connected cloud.
    loops : int
        H1 classes persisting beyond the threshold.
    total_persistence : float
        Sum of finite H0 and H1 lifetimes, divided by the diameter.
    """
    from ripser import ripser  # imported here: only this metric needs it

    points = _distinct(np.asarray(points, dtype=np.float64))
    if points.shape[1] > _MAX_TOPOLOGY_DIMS and len(points) > _MAX_TOPOLOGY_DIMS:
        points = PCA(n_components=_MAX_TOPOLOGY_DIMS, random_state=seed).fit_transform(points)
    landmarks = points[_farthest_points(points, _MAX_TOPOLOGY_POINTS, seed)]
    diameter = float(np.max(np.linalg.norm(landmarks[:, None] - landmarks[None], axis=-1)))
    if diameter == 0:
        return 1, 0, 0.0
    h0, h1 = ripser(landmarks, maxdim=1)["dgms"]
    h0_life = h0[:, 1] - h0[:, 0]
    h1_life = h1[:, 1] - h1[:, 0]
    threshold = relative_threshold * diameter
    components = int(np.sum(~np.isfinite(h0_life)) + np.sum(h0_life[np.isfinite(h0_life)] > threshold))
    loops = int(np.sum(h1_life > threshold))
    total = float((h0_life[np.isfinite(h0_life)].sum() + h1_life.sum()) / diameter)
    return components, loops, total


def variance_explained(embedding, groups):
    """Share of the embedding's total variance explained by a grouping (eta^2).

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_points, n_features)]
    groups : np.ndarray [shape=(n_points,)]
        Group label of each point (a parameter's grid value, or its bin).

    Returns
    -------
    eta_squared : float
        Between-group sum of squares over total sum of squares, over all
        dimensions: 0 if the parameter leaves no trace, 1 if it alone sets
        the embedding.
    """
    embedding = np.asarray(embedding, dtype=np.float64)
    centred = embedding - embedding.mean(axis=0)
    total = float((centred**2).sum())
    if total == 0:
        return np.nan
    labels, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    sums = np.zeros((labels.size, embedding.shape[1]))
    np.add.at(sums, inverse, centred)
    between = float(((sums**2).sum(axis=1) / counts).sum())
    return between / total


def _groups(values, n_bins=20):
    unique = np.unique(values)
    if unique.size <= 50:
        return values
    edges = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, values)


def compute_metrics(embedding, coordinates, params, parameters=("f1", "alpha", "r"), seed=0):
    """Every metric of one model on one dataset, as a tidy table.

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_sounds, dim)]
    coordinates : np.ndarray [shape=(n_sounds, n_components)]
        The model's Isomap coordinates.
    params : pd.DataFrame
        The dataset's parameters, in embedding row order.
    parameters : sequence of str
    seed : int

    Returns
    -------
    metrics : pd.DataFrame
        Columns ``parameter, metric, value``; model-level metrics have
        parameter ``all``; the cosine between two parameters' Isomap
        directions has parameter ``"f1|alpha"`` etc.
    """
    embedding = np.asarray(embedding, dtype=np.float64)
    if embedding.shape[0] != len(params) or coordinates.shape[0] != len(params):
        raise DataError(
            f"metrics: {embedding.shape[0]} embeddings and {coordinates.shape[0]} Isomap points "
            f"for {len(params)} sounds"
        )
    if not np.isfinite(embedding).all():
        raise DataError("metrics: the embedding contains NaN or infinite values")
    parameters = list(parameters)
    targets = parameter_matrix(params, parameters)
    rows = []

    def add(parameter, metric, value):
        rows.append({"parameter": parameter, "metric": metric, "value": float(value)})

    features = _reduce(embedding, _MAX_PROBE_FEATURES, seed)
    for name, target in zip(parameters, targets.T, strict=True):
        add(name, "ridge_r2", ridge_r2(features, target, seed))
    for name, value in zip(parameters, knn_r2(embedding, targets), strict=True):
        add(name, "knn_r2", value)
    spearman, cosines = isomap_alignment(coordinates, targets)
    for index, name in enumerate(parameters):
        add(name, "isomap_spearman", spearman[index])
        for other in range(index + 1, len(parameters)):
            add(f"{name}|{parameters[other]}", "isomap_axis_cosine", cosines[index, other])
    code = _reduce(embedding, 10, seed)
    disentanglement, completeness, informativeness = dci(code, targets, seed)
    add("all", "dci_disentanglement", disentanglement)
    for name, c, i in zip(parameters, completeness, informativeness, strict=True):
        add(name, "dci_completeness", c)
        add(name, "dci_informativeness", i)
    add("all", "intrinsic_dimension_twonn", intrinsic_dimension_twonn(embedding, seed))
    add("all", "intrinsic_dimension_mle", intrinsic_dimension_mle(embedding, seed=seed))
    trust, continuity = trustworthiness_continuity(StandardScaler().fit_transform(targets), embedding, seed=seed)
    add("all", "trustworthiness", trust)
    add("all", "continuity", continuity)
    components, loops, total = persistent_homology(embedding, seed=seed)
    add("all", "h0_components", components)
    add("all", "h1_loops", loops)
    add("all", "total_persistence", total)
    # Best R^2 of the two probes, per parameter.
    recovered = dict.fromkeys(parameters, -np.inf)
    for row in rows:
        if row["metric"] in ("ridge_r2", "knn_r2") and np.isfinite(row["value"]):
            recovered[row["parameter"]] = max(recovered[row["parameter"]], row["value"])
    for name, values in zip(parameters, targets.T, strict=True):
        eta = variance_explained(embedding, _groups(values))
        add(name, "variance_explained", eta)
        add(name, "invariant", float(eta < INVARIANCE_THRESHOLD and recovered[name] < RECOVERY_THRESHOLD))
    return pd.DataFrame(rows, columns=["parameter", "metric", "value"])


def scorecard(metrics, metric="ridge_r2", parameters=("f1", "alpha", "r")):
    """Models x parameters table of one headline score.

    Parameters
    ----------
    metrics : pd.DataFrame
        Tidy table with columns ``model, parameter, metric, value``.
    metric : str
    parameters : sequence of str

    Returns
    -------
    scores : pd.DataFrame [shape=(n_models, n_parameters)]
        Models in their order of appearance.
    """
    chosen = metrics[(metrics["metric"] == metric) & metrics["parameter"].isin(parameters)]
    table = chosen.pivot(index="model", columns="parameter", values="value")
    order = list(dict.fromkeys(chosen["model"]))
    return table.reindex(index=order, columns=list(parameters))
