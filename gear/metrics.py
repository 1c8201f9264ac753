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
- Equivariance and invariance from the design's one-factor changes
  (:mod:`gear.analysis.equivariance`): per factor, how well pairs of sounds
  that differ in it alone predict its change, and how consistently the
  same step moves the embedding; per ordered pair of factors, whether a
  probe of the target survives a change of the other.

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

The functions live in the layers of :mod:`gear.analysis` (features, then
bootstrap, then probes, sweeps, disentanglement and geometry); this module
assembles them into one table and ranks models, and nothing there imports
it. Memory stays linear in the number of sounds: every quadratic step runs on a
seeded subsample of bounded size (see the ``MAX_*`` constants), and
everything is seeded, so two runs give identical tables.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gear.analysis.bootstrap import bootstrap_ci, paired_bootstrap_p, r2_ci
from gear.analysis.disentanglement import (
    CODE_COMPONENTS,
    dci,
    mig,
    value_groups,
    variance_explained,
)
from gear.analysis.equivariance import MAX_PROBE_COMPONENTS as EQUIVARIANCE_COMPONENTS
from gear.analysis.equivariance import PAIRED_METRICS, equivariance_table, metric_rows, paired_statistic
from gear.analysis.features import (
    MAX_NEIGHBOR_QUERIES,
    distinct_rows,
    duplicate_groups,
    nearest_other_neighbors,
    parameter_matrix,
    pca_scores,
    prepare_distance,
    subsample,
)
from gear.analysis.geometry import (
    PERSISTENCE_THRESHOLD,
    intrinsic_dimension_mle,
    intrinsic_dimension_twonn,
    isomap_alignment,
    mle_from_distances,
    persistent_homology,
    trustworthiness_continuity,
    twonn_from_distances,
)
from gear.analysis.probes import MAX_PROBE_COMPONENTS, knn_r2, mlp_r2, ridge_r2
from gear.analysis.sweeps import sweep_scores, sweeps_from_grid
from gear.errors import DataError

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
    "EQUIVARIANCE_HEADLINES",
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

MIN_SOUNDS = 10
MAX_STRATA = 64  # a parameter with at most this many values is resampled within each value


def _mean(values):
    """Mean of the finite values, NaN if none (without numpy's empty-slice warning)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else np.nan


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
    equivariance=True,
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
        (:func:`gear.analysis.features.prepare_distance`).
    n_resamples : int
        Bootstrap resamples of the confidence intervals.
    mlp : bool
        Train the shallow neural probe (``mlp_r2``).
    equivariance : bool
        Add the equivariance and invariance scores
        (:func:`gear.analysis.equivariance.equivariance_table`, on the rows
        that ``distance`` prepares).
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
        ``isomap_axis_cosine``. With ``equivariance``, with intervals: per
        parameter ``equivariance_r2`` and ``displacement_cosine`` (absent
        if the design has no lines along which the parameter changes
        alone, e.g. a random design); per ordered pair ``"target|nuisance"``
        ``invariance_within_r2``, ``invariance_across_r2`` and
        ``invariance_r2_difference``. Parameter ``all``: the mean over parameters
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
        ``profiles``, a DataFrame ``parameter, step, median, q1, q3,
        n_sweeps`` of the normalised distance from each sweep's start, and
        with ``equivariance`` its per-line and per-sound pieces (keys
        ``"<metric>__<parameter>__<piece>"``, see
        :func:`gear.analysis.equivariance.equivariance_table`).

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
    embedding, coordinates = _checked(embedding, coordinates, params)
    targets = parameter_matrix(params, parameters)
    names = [getattr(p, "name", p) for p in parameters]
    state = _State(
        names=names,
        embedding=embedding,
        geometry=prepare_distance(embedding, distance),
        targets=targets,
        strata=[values if np.unique(values).size <= MAX_STRATA else None for values in targets.T],
        seed=seed,
        n_resamples=n_resamples,
        details={"parameters": names, "truth": targets},
    )
    features, ridge, knn, distances, k = _predictability(state, n_neighbors, mlp)
    _monotonicity(state, distance)
    _isomap_structure(state, coordinates)
    _disentanglement(state, features)
    _geometry(state, distances, k)
    _topology(state, relative_threshold)
    _invariance(state, np.fmax(ridge, knn))
    if equivariance:
        _equivariance(state, features)
    table = pd.DataFrame(state.rows, columns=["parameter", "metric", "value", "ci_low", "ci_high"])
    return (table, state.details) if return_details else table


def _checked(embedding, coordinates, params):
    """The embedding (floating point) and coordinates (float64), or a DataError naming the problem."""
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
    return embedding, coordinates


@dataclass
class _State:
    """What the parts of :func:`compute_metrics` share: inputs, the table's rows, the details."""

    names: list
    embedding: np.ndarray
    geometry: np.ndarray  # rows on which Euclidean distance is the requested distance
    targets: np.ndarray
    strata: list
    seed: int
    n_resamples: int
    details: dict
    rows: list = field(default_factory=list)
    clock: float = field(default_factory=time.perf_counter)

    def add(self, parameter, metric, value, low=np.nan, high=np.nan):
        row = {"parameter": parameter, "metric": metric, "value": float(value)}
        self.rows.append({**row, "ci_low": float(low), "ci_high": float(high)})

    def per_parameter(self, metric, values, mean=False):
        for name, value in zip(self.names, values, strict=True):
            self.add(name, metric, value)
        if mean:
            self.add("all", metric, _mean(values))

    def with_intervals(self, metric, sound_rows, prediction):
        """The R^2 of fixed per-sound predictions, resampling the scored sounds."""
        for j, name in enumerate(self.names):
            strata = self.strata[j]
            r2, low, high = r2_ci(
                self.targets[sound_rows, j], prediction[:, j], n_resamples=self.n_resamples, seed=self.seed,
                strata=None if strata is None else strata[sound_rows],
            )  # fmt: skip
            self.add(name, metric, r2[0], low[0], high[0])

    def lap(self, step):
        now = time.perf_counter()
        logger.debug("metrics: %s in %.2f s", step, now - self.clock)
        self.clock = now


def _predictability(state, n_neighbors, mlp):
    """Ridge, K-NN and MLP probes; returns what later parts reuse."""
    targets, seed = state.targets, state.seed
    n_sounds = len(targets)
    features = pca_scores(state.embedding, MAX_PROBE_COMPONENTS, standardize=True, seed=seed)
    state.lap(f"PCA to {features.shape[1]} components")
    ridge = ridge_r2(features, targets, seed=seed)
    state.per_parameter("ridge_r2", ridge)
    state.lap("ridge probe")
    k = min(n_neighbors, n_sounds - 1)
    k_graph = max(k, min(20, n_sounds - 1))  # the MLE needs 20
    queries = subsample(n_sounds, MAX_NEIGHBOR_QUERIES, seed)
    distances, indices = nearest_other_neighbors(state.geometry, queries, k_graph)
    knn = knn_r2(state.geometry, targets, k, neighbors=(queries, indices))
    knn_prediction = targets[indices[:, :k]].mean(axis=1)
    state.with_intervals("knn_r2", queries, knn_prediction)
    state.details.update(knn_rows=queries, knn_prediction=knn_prediction)
    state.lap("K-NN probe")
    if mlp:
        _, mlp_rows, mlp_prediction = mlp_r2(
            state.embedding, targets, duplicate_groups(state.embedding), seed=seed, return_predictions=True
        )
        state.with_intervals("mlp_r2", mlp_rows, mlp_prediction)
        state.details.update(mlp_rows=mlp_rows, mlp_prediction=mlp_prediction)
        state.lap("MLP probe")
    return features, ridge, knn, distances, k


def _monotonicity(state, distance):
    """Monotonicity along the design's one-parameter sweeps, and their distance profiles."""
    profiles = []
    for j, name in enumerate(state.names):
        sweeps = sweeps_from_grid(state.targets, j)
        if not sweeps:
            continue
        swept = sweep_scores(state.embedding, sweeps, distance)
        monotonicity = swept["monotonicity"]
        low, high = bootstrap_ci(
            lambda items, values=monotonicity: values[items].mean(axis=-1),
            len(monotonicity), n_resamples=state.n_resamples, seed=state.seed, vectorized=True,
        )  # fmt: skip
        state.add(name, "monotonicity", swept["monotonicity_mean"], low, high)
        state.add(name, "smoothness", swept["smoothness_mean"])
        state.details[f"monotonicity:{name}"] = monotonicity
        steps = np.arange(len(swept["profile_median"]))
        profiles.append(pd.DataFrame({"parameter": name, "step": steps, "median": swept["profile_median"],
                                      "q1": swept["profile_q1"], "q3": swept["profile_q3"],
                                      "n_sweeps": swept["n_sweeps"]}))  # fmt: skip
    columns = ["parameter", "step", "median", "q1", "q3", "n_sweeps"]
    state.details["profiles"] = (
        pd.concat(profiles, ignore_index=True) if profiles else pd.DataFrame(columns=columns)
    )
    state.lap("sweeps")


def _isomap_structure(state, coordinates):
    """Rank correlations with Isomap axes, and the cosines between parameter directions."""
    names = state.names
    spearman, axis, cosines, linear_r2 = isomap_alignment(coordinates, state.targets)
    state.per_parameter("isomap_spearman", spearman)
    state.per_parameter("isomap_spearman_axis", axis)
    state.per_parameter("isomap_linear_r2", linear_r2)
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    for i, j in pairs:
        state.add(f"{names[i]}|{names[j]}", "isomap_axis_cosine", cosines[i, j])
    if pairs:
        state.add("all", "isomap_axis_cosine", _mean([cosines[i, j] for i, j in pairs]))


def _disentanglement(state, features):
    """DCI and MIG on the leading principal components."""
    embedding, seed = state.embedding, state.seed
    if embedding.shape[1] > MAX_PROBE_COMPONENTS:
        code = features[:, :CODE_COMPONENTS]  # already principal components, by variance
    else:
        code = pca_scores(embedding, CODE_COMPONENTS, standardize=True, seed=seed)
    disentanglement, completeness, informativeness = dci(code, state.targets, seed=seed)
    state.add("all", "dci_disentanglement", disentanglement)
    state.per_parameter("dci_completeness", completeness, mean=True)
    state.per_parameter("dci_informativeness", informativeness, mean=True)
    state.per_parameter("mig", mig(code, state.targets), mean=True)
    state.lap("DCI and MIG")


def _geometry(state, distances, k):
    """Intrinsic dimension, trustworthiness and continuity.

    The probes' neighbour ``distances`` serve unless rows repeat.
    """
    geometry, targets, seed = state.geometry, state.targets, state.seed
    n_sounds = len(targets)
    distinct = distinct_rows(geometry)
    if len(distinct) < n_sounds:
        logger.info(
            "metrics: %d duplicate embeddings dropped for the intrinsic dimension", n_sounds - len(distinct)
        )
        unique = geometry[distinct]
        k_graph = min(20, len(unique) - 1)
        queries = subsample(len(unique), MAX_NEIGHBOR_QUERIES, seed)
        distances = nearest_other_neighbors(unique, queries, k_graph)[0]
    state.add("all", "intrinsic_dimension_twonn", twonn_from_distances(distances))
    state.add("all", "intrinsic_dimension_mle", mle_from_distances(distances, 10, 20))
    state.lap("intrinsic dimension")
    scale = targets.std(axis=0)
    scale[scale == 0] = 1.0
    trust, continuity = trustworthiness_continuity(
        (targets - targets.mean(axis=0)) / scale, geometry, k, seed=seed
    )
    state.add("all", "trustworthiness", trust)
    state.add("all", "continuity", continuity)
    state.lap("trustworthiness and continuity")


def _topology(state, relative_threshold):
    """Persistent homology of farthest-point landmarks."""
    components, loops, total, h1_max = persistent_homology(
        state.geometry, relative_threshold=relative_threshold, seed=state.seed
    )
    state.add("all", "h0_components", components)
    state.add("all", "h1_loops", loops)
    state.add("all", "total_persistence", total)
    state.add("all", "h1_max_persistence", h1_max)
    state.lap("persistent homology")


def _invariance(state, recovered):
    """Variance explained per parameter; invariant only if neither probe recovers it either."""
    for name, values, best in zip(state.names, state.targets.T, recovered, strict=True):
        pooled, mean = variance_explained(state.embedding, value_groups(values))
        state.add(name, "variance_explained", pooled)
        state.add(name, "variance_explained_mean", mean)
        moves = np.isfinite(pooled) and pooled >= INVARIANCE_THRESHOLD  # NaN: a constant embedding
        decodable = np.isfinite(best) and best >= RECOVERY_THRESHOLD
        state.add(name, "invariant", float(not moves and not decodable))
    state.lap("variance explained")


def _equivariance(state, features):
    """Equivariance per factor and invariance per ordered pair, with intervals.

    The probes' ``features`` are reused where they are what the
    equivariance probes see (the standardized embedding, or its leading
    principal components): the PCA is a large share of the cost.
    """
    dim = state.embedding.shape[1]
    principal = features.shape[1] < dim  # reduced by PCA: columns by variance
    reusable = state.geometry is state.embedding and (dim <= EQUIVARIANCE_COMPONENTS or principal)
    table, pieces = equivariance_table(
        state.geometry, state.targets, state.names, seed=state.seed, n_resamples=state.n_resamples,
        return_details=True, features=features[:, :EQUIVARIANCE_COMPONENTS] if reusable else None,
    )  # fmt: skip
    for row in metric_rows(table).itertuples(index=False):
        state.add(row.parameter, row.metric, row.value, row.ci_low, row.ci_high)
    state.details.update(pieces)
    state.lap("equivariance and invariance")


#: The scorecard's headline scores, each with a confidence interval and ties
#: with the best model: metric -> title.
HEADLINES = {
    "monotonicity": "Monotonicity: Spearman of sweep step vs distance from the sweep's start",
    "knn_r2": "Leave-one-out 10-NN R$^2$: neighbours share the factor",
    "mlp_r2": "Shallow MLP probe R$^2$ (grouped 5-fold)",
}

#: Equivariance scores shown per factor in the scorecard, with ties:
#: metric -> title. Their invariance companions (per ordered pair of
#: factors) have a heat map of their own.
EQUIVARIANCE_HEADLINES = {
    "equivariance_r2": "Equivariance: R$^2$ of a factor's change from a pair of sounds",
    "displacement_cosine": "Equivariance: mean cosine of the same step's displacements",
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
    (:func:`gear.analysis.bootstrap.paired_bootstrap_p`): the sounds both probes were
    scored on for ``knn_r2`` and ``mlp_r2``, the sweeps for
    ``monotonicity``, the lines (anchors) for ``equivariance_r2`` and
    ``displacement_cosine``, the sounds within each half of the nuisance
    for the invariance scores
    (:func:`gear.analysis.equivariance.paired_statistic`). Paired rather
    than overlapping intervals, because both models are scored on the same
    items, which makes their scores correlated (see
    :func:`gear.analysis.bootstrap.paired_bootstrap_p`).

    Parameters
    ----------
    details : dict {str: dict}
        Model id -> the ``details`` of :func:`compute_metrics` (seeded
        alike, so that the scored sounds and sweeps are the same).
    metric : {"knn_r2", "mlp_r2", "monotonicity", "equivariance_r2", "displacement_cosine", \
"invariance_within_r2", "invariance_across_r2", "invariance_r2_difference"}
    parameter : str
        The factor, or ``"target|nuisance"`` for the invariance scores.
    n_resamples, seed, level
        Of the bootstrap.

    Returns
    -------
    tied : dict {str: bool}
        Model id -> True if tied with the best (the best included). Models
        without the score, or scored on other items, are left out.
    """
    paired = {}
    for model, found in details.items():
        found_paired = _paired(found, metric, parameter)
        if found_paired is not None:
            paired[model] = found_paired
    everything = {model: float(np.asarray(statistic(np.arange(n_items)[None]))[0])
                  for model, (_, n_items, _, statistic) in paired.items()}  # fmt: skip
    finite = {model: value for model, value in everything.items() if np.isfinite(value)}
    if not finite:
        return {}
    best = max(finite, key=finite.get)
    items, n_items, strata, best_statistic = paired[best]
    tied = {}
    for model, (model_items, _, _, statistic) in paired.items():
        if model == best:
            tied[model] = True
        elif model_items == items and model in finite:
            p = paired_bootstrap_p(
                statistic, best_statistic, n_items, n_resamples=n_resamples, seed=seed, level=level,
                strata=strata, vectorized=True,
            )[3]  # fmt: skip
            tied[model] = bool(np.isfinite(p) and p > 1 - level)
    return tied


def _paired(found, metric, parameter):
    """``(items, n_items, strata, statistic)`` of one model's score, or None without it."""
    if metric in PAIRED_METRICS:
        return paired_statistic(found, metric, parameter)
    names = [str(name) for name in found["parameters"]]
    if parameter not in names:
        return None
    j = names.index(parameter)
    if metric == "monotonicity":
        values = found.get(f"monotonicity__{parameter}")
        if values is None:
            return None
        values = np.asarray(values, dtype=np.float64)
        return ("sweeps", len(values)), len(values), None, lambda idx: values[idx].mean(axis=-1)
    prefix = metric.removesuffix("_r2")
    if f"{prefix}_rows" not in found:
        return None
    rows = np.asarray(found[f"{prefix}_rows"])
    truth = np.asarray(found["truth"], dtype=np.float64)[rows, j]
    prediction = np.asarray(found[f"{prefix}_prediction"], dtype=np.float64)[:, j]
    items = (metric, tuple(rows.tolist()))
    return items, len(rows), None, lambda idx: _pooled_r2(truth[idx], prediction[idx])


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
