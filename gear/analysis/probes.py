"""Probes: how well a factor can be read off the embedding.

- :func:`ridge_r2`: cross-validated R^2 of a linear (ridge) probe on PCA
  scores of the standardized embedding.
- :func:`knn_r2`: leave-one-out R^2 of a K-NN regressor on the raw
  embedding (the distance Isomap's graph uses).
- :func:`mlp_r2`: a one-hidden-layer MLP with early stopping on PCA scores
  of the standardized embedding (the ridge probe's input), on grouped
  folds (:func:`grouped_folds`,
  :func:`gear.analysis.features.duplicate_groups`) so that duplicate
  sounds never sit on both sides of a split. It sees a seeded subsample of
  at most :data:`MAX_MLP_POINTS` sounds.
"""

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

from gear.analysis.bootstrap import pooled_r2
from gear.analysis.features import MAX_NEIGHBOR_QUERIES, nearest_other_neighbors, pca_scores, subsample
from gear.errors import ConfigError, DataError

__all__ = [
    "MAX_PROBE_COMPONENTS",
    "MAX_MLP_POINTS",
    "ridge_r2",
    "knn_r2",
    "grouped_folds",
    "mlp_r2",
]

MAX_PROBE_COMPONENTS = 256  # ridge and MLP probe features

#: The MLP probe is trained and scored on a seeded subsample of at most this
#: many sounds (as the DCI forests in :mod:`gear.analysis.disentanglement`).
MAX_MLP_POINTS = 10_000

_RIDGE_ALPHAS = np.logspace(-3, 5, 9)


def ridge_r2(features, targets, *, n_splits=5, seed=0):
    """Cross-validated R^2 of a ridge probe.

    Ridge regression with its penalty chosen per target among
    ``logspace(-3, 5, 9)`` by efficient leave-one-out on each training fold
    (nested: the test fold never picks the penalty), scored on 5 shuffled
    folds. On PCA scores of the standardized embedding (:func:`pca_scores`),
    this is ridge on the standardized embedding restricted to its leading
    principal subspace.

    Parameters
    ----------
    features : np.ndarray [shape=(n_points, n_features)]
    targets : np.ndarray [shape=(n_points, n_targets) or (n_points,)]
    n_splits : int
    seed : int
        Seed of the shuffled K-fold split.

    Returns
    -------
    r2 : np.ndarray [shape=(n_targets,)]
        Mean over folds of each target's R^2: 1 is perfect, 0 is no better
        than the fold's mean, and it can be negative. NaN for a constant
        target.
    """
    targets = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
    varying = np.ptp(targets, axis=0) > 0
    r2 = np.full(targets.shape[1], np.nan)
    if not varying.any():
        return r2
    y = targets[:, varying]
    scores = []
    for train, test in KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(features):
        probe = RidgeCV(alphas=_RIDGE_ALPHAS, alpha_per_target=True).fit(features[train], y[train])
        prediction = probe.predict(features[test]).reshape(len(test), -1)
        scores.append(r2_score(y[test], prediction, multioutput="raw_values"))
    r2[varying] = np.mean(scores, axis=0)
    return r2


def knn_r2(embedding, targets, n_neighbors=10, *, seed=0, neighbors=None):
    """Leave-one-out R^2 of a K-NN regressor on the raw embedding.

    Each sound's parameter is predicted by the unweighted mean over its K
    nearest other sounds, by Euclidean distance on the raw embedding, the
    distance Isomap's graph uses. Beyond 5,000 sounds, predictions are
    scored on a seeded subsample of 5,000 (neighbours still searched among
    all sounds).

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_points, n_features)]
    targets : np.ndarray [shape=(n_points, n_targets)]
    n_neighbors : int
    seed : int
    neighbors : tuple of np.ndarray, optional
        ``(rows, indices)`` from a search already made, with ``indices``
        of shape ``(len(rows), >= n_neighbors)``.

    Returns
    -------
    r2 : np.ndarray [shape=(n_targets,)]
        NaN for a target constant on the scored sounds.
    """
    targets = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
    if neighbors is None:
        rows = subsample(len(embedding), MAX_NEIGHBOR_QUERIES, seed)
        neighbors = (rows, nearest_other_neighbors(embedding, rows, n_neighbors)[1])
    rows, indices = neighbors
    prediction = targets[indices[:, :n_neighbors]].mean(axis=1)
    truth = targets[rows]
    residual = ((truth - prediction) ** 2).sum(axis=0)
    total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 1 - residual / total, np.nan)



def grouped_folds(groups, n_splits=5, seed=0):
    """Fold of each row, whole groups per fold, groups in seeded random order.

    Like :class:`sklearn.model_selection.GroupKFold` with shuffling: groups
    are taken in a seeded random order and each goes to the fold that has
    the fewest rows so far, so folds are balanced in rows and no group is
    split between folds (duplicate sounds never sit on both sides of a
    train/test split).

    Parameters
    ----------
    groups : np.ndarray [shape=(n_points,)]
        Any labels; rows with equal labels stay together.
    n_splits : int
    seed : int

    Returns
    -------
    folds : np.ndarray [shape=(n_points,), dtype=int]
        In ``0 .. n_splits - 1``; every fold is non-empty.

    Raises
    ------
    DataError
        If there are fewer groups than folds.
    """
    _, labels = np.unique(np.asarray(groups), return_inverse=True)
    labels = labels.ravel()
    sizes = np.bincount(labels)
    if n_splits < 2 or len(sizes) < n_splits:
        raise DataError(f"scores: {len(sizes)} groups cannot fill {n_splits} folds (at least 2 folds)")
    fold_of_group = np.empty(len(sizes), dtype=np.intp)
    filled = np.zeros(n_splits, dtype=np.int64)
    for group in np.random.default_rng(seed).permutation(len(sizes)):
        fold = int(np.argmin(filled))
        fold_of_group[group] = fold
        filled[fold] += sizes[group]
    return fold_of_group[labels]


def _fit_mlp(x, y, groups, *, hidden_units, max_epochs, patience, tol, seed):
    """One-hidden-layer MLP with early stopping on whole held-out groups.

    scikit-learn's own early stopping draws its validation rows at random,
    so a duplicate of a validation row can sit in the training rows and the
    validation score keeps improving while the network memorises. Here the
    validation set is about a tenth of the groups (:func:`grouped_folds`;
    one group in ``n_groups`` if there are fewer than 10),
    and the loop reproduces scikit-learn's rule: stop after more than
    ``patience`` epochs without a validation improvement larger than
    ``tol``, and restore the best weights.
    """
    n_groups = len(np.unique(groups))
    held_out = grouped_folds(groups, min(10, n_groups), seed) == 0
    fit, validation = ~held_out, held_out
    x_fit, y_fit, x_val, y_val = x[fit], y[fit], x[validation], y[validation]
    if y.shape[1] == 1:
        y_fit = y_fit.ravel()  # scikit-learn warns on a column vector
    network = MLPRegressor(
        hidden_layer_sizes=(hidden_units,),
        activation="relu",
        solver="adam",
        alpha=1e-4,
        batch_size=min(200, len(x_fit)),
        learning_rate_init=1e-3,
        shuffle=True,
        random_state=seed,
    )
    best, best_weights, stalled = -np.inf, None, 0
    for _ in range(max_epochs):
        network.partial_fit(x_fit, y_fit)
        score = -float(np.mean((network.predict(x_val).reshape(y_val.shape) - y_val) ** 2))
        stalled = stalled + 1 if score < best + tol else 0
        if score > best:
            best = score
            best_weights = ([w.copy() for w in network.coefs_], [b.copy() for b in network.intercepts_])
        if stalled > patience:
            break
    network.coefs_, network.intercepts_ = best_weights
    return network


def mlp_r2(
    embedding,
    targets,
    groups=None,
    *,
    seed=0,
    n_splits=5,
    hidden_units=128,
    max_points=MAX_MLP_POINTS,
    max_epochs=200,
    patience=10,
    return_predictions=False,
):
    """Cross-validated R^2 of a shallow neural (MLP) probe.

    The nonlinear counterpart of the ridge probe (:func:`ridge_r2`),
    as HEAR's downstream models are:

    - inputs: the embedding's dimensions standardized, reduced to at most
      256 principal components (:func:`gear.analysis.features.pca_scores`, the ridge
      probe's input, fitted without labels), then all divided by one common
      factor so that their mean variance is 1. Components keep their
      relative variances: whitening them would give near-constant noise
      components the weight of informative ones.
    - targets: standardized on each training fold; one network for all
      targets.
    - network: scikit-learn's :class:`~sklearn.neural_network.MLPRegressor`,
      one hidden layer of ``hidden_units`` ReLU units, Adam (learning rate
      1e-3, batches of 200, L2 penalty 1e-4), with early stopping: about a
      tenth of the training fold's groups is held out for validation, and
      training stops after more than ``patience`` epochs without
      improvement (at most ``max_epochs``), keeping the best weights.
    - folds: ``n_splits`` grouped folds (:func:`grouped_folds`): rows of a
      group (e.g. duplicate embeddings, :func:`duplicate_groups`) are never
      split between training and test, nor between fitting and early
      stopping.
    - cost: beyond ``max_points`` sounds (10,000 by default), the probe is
      trained and scored on a seeded subsample of that many sounds, so
      time and memory are bounded whatever the dataset's size. Training
      runs on one BLAS thread (faster on such small batches).

    Parameters
    ----------
    embedding : np.ndarray [shape=(n_points, n_features)]
        The raw embedding (it is standardized and reduced here).
    targets : np.ndarray [shape=(n_points, n_targets) or (n_points,)]
        Parameters on their analysis scale (e.g. log f1).
    groups : np.ndarray [shape=(n_points,)], optional
        Group labels; default: every row its own group.
    seed : int
        Seeds the subsample, the PCA, the folds and the networks.
    n_splits : int
    hidden_units : int
    max_points : int
    max_epochs, patience : int
    return_predictions : bool
        Also return the out-of-fold predictions, for :func:`r2_ci`.

    Returns
    -------
    r2 : np.ndarray [shape=(n_targets,)]
        R^2 of the out-of-fold predictions of all scored sounds, pooled
        (``1 - SS_res / SS_tot`` around their overall mean; pooled rather
        than averaged over folds so that it is the statistic
        :func:`r2_ci` resamples). NaN for a target constant on the scored
        sounds.
    rows : np.ndarray [shape=(n_scored,), dtype=int]
        Only with ``return_predictions``: the scored rows (sorted).
    predictions : np.ndarray [shape=(n_scored, n_targets)]
        Only with ``return_predictions``: each scored row's prediction by
        the network that did not see it, in the targets' units (NaN for a
        constant target).

    Raises
    ------
    DataError
        If shapes disagree, values are not finite, or there are too few
        groups for the folds (every training fold needs at least 2 groups).
    """
    embedding = np.asarray(embedding)
    targets = np.asarray(targets, dtype=np.float64)
    targets = targets.reshape(len(targets), -1)
    if embedding.ndim != 2 or len(embedding) != len(targets):
        raise DataError(
            f"scores: embedding of shape {embedding.shape} and {len(targets)} targets do not match"
        )
    if not (np.isfinite(embedding).all() and np.isfinite(targets).all()):
        raise DataError("scores: the embedding or the targets contain NaN or infinite values")
    if max_epochs < 1 or hidden_units < 1:
        raise ConfigError(
            f"scores: max_epochs and hidden_units must be positive, got {max_epochs}, {hidden_units}"
        )
    groups = np.arange(len(targets)) if groups is None else np.asarray(groups)
    if groups.shape != (len(targets),):
        raise DataError(f"scores: groups of shape {groups.shape} for {len(targets)} points")
    rows = subsample(len(targets), max_points, seed)
    y, groups = targets[rows], groups[rows]
    folds = grouped_folds(groups, n_splits, seed)
    for fold in range(n_splits):
        if len(np.unique(groups[folds != fold])) < 2:
            raise DataError(
                "scores: a training fold has fewer than 2 groups; too few groups for the MLP probe"
            )
    x = pca_scores(embedding[rows], MAX_PROBE_COMPONENTS, standardize=True, seed=seed)
    scale = np.sqrt(x.var(axis=0).mean())
    # Float32 halves the time per epoch; a probe needs no more precision.
    x = (x / scale if scale > 0 else x).astype(np.float32)
    varying = np.ptp(y, axis=0) > 0
    predictions = np.full(y.shape, np.nan)
    # One BLAS thread: on batches of 200 rows, threads cost more than they
    # save (at 2,500 sounds, 59 s with two threads on a loaded 2-core
    # machine, 7 s with one), and Snakemake runs jobs side by side anyway.
    with threadpool_limits(limits=1, user_api="blas"):
        for fold in range(n_splits if varying.any() else 0):
            train, test = folds != fold, folds == fold
            y_train = y[train][:, varying]
            mean, sd = y_train.mean(axis=0), y_train.std(axis=0)
            sd[sd == 0] = 1.0
            network = _fit_mlp(
                x[train],
                ((y_train - mean) / sd).astype(np.float32),
                groups[train],
                hidden_units=hidden_units,
                max_epochs=max_epochs,
                patience=patience,
                tol=1e-4,
                seed=seed + fold,
            )
            predicted = network.predict(x[test]).astype(np.float64).reshape(test.sum(), -1) * sd + mean
            predictions[np.ix_(test, varying)] = predicted
    r2 = pooled_r2(y, predictions)
    return (r2, rows, predictions) if return_predictions else r2

