"""GEAR from Python: score one model on one dataset in one call.

For notebooks and training loops, without a config file or Snakemake::

    import gear

    metrics = gear.evaluate("gear.models.mfcc", "quick-harmonic")
    result = gear.evaluate(my_model, "quick-harmonic", return_details=True)
    result.isomap_figure()

:func:`evaluate` composes the functions the workflow's stages run
(:func:`gear.pipeline.synthesize` and the readers of :mod:`gear.io`,
:func:`gear.hear.embed_scenes`, :func:`gear.manifold.isomap`,
:func:`gear.regression.knn_regression`, :func:`gear.metrics.compute_metrics`,
:mod:`gear.figures`), with the settings the workflow takes from
``config.yaml`` validated by the same schema, so that it gives the
workflow's numbers for the same inputs (``tests/test_api.py`` checks it).

Datasets named by a spec (a preset name or a config-style mapping) are
synthesized once and kept on disk (:func:`load_dataset`): repeated calls
pay for the embedding and the scores only.
"""

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd

from gear import hear, pipeline
from gear.config import (
    SCHEMA_PATH,
    check_neighbors,
    load_schema,
    sorted_keys,
    validate_config,
    validator_with_defaults,
)
from gear.datasets import Dataset, resolve_dataset, sound_ids
from gear.errors import ConfigError, DataError, GearError, ModelError
from gear.fingerprint import code_fingerprint, current_modules
from gear.io import load_params, read_audio
from gear.manifold import isomap as run_isomap
from gear.metrics import compute_metrics
from gear.parameters import DatasetDescription, Parameter, as_parameters, read_description
from gear.regression import knn_regression, summarize
from gear.synthesizers import BUILTIN

__all__ = ["PRESETS", "Evaluation", "evaluate", "load_dataset", "sounds", "cache_directory"]

logger = logging.getLogger(__name__)

#: Small datasets for quick checks (a few hundred short sounds), in the
#: form of a ``datasets:`` entry of ``config.yaml``.
PRESETS = {
    # The paper's three factors on a 5 x 8 x 8 grid: 320 sounds of 0.25 s.
    "quick-harmonic": {
        "synthesizer": "harmonic",
        "parameters": {
            "f1": {"min": 65.41, "max": 1046.5, "num": 5, "scale": "log"},
            "alpha": {"min": 0.0, "max": 2.0, "num": 8},
            "r": {"min": 0.0, "max": 1.0, "num": 8},
        },
        "design": "grid",
        "sample_rate": 16000,
        "duration": 0.25,
        "seed": 0,
    },
    # Four FM factors (default ranges) on 256 scrambled Sobol points of 0.25 s.
    "quick-fm": {
        "synthesizer": "fm",
        "design": "sobol",
        "n_sounds": 256,
        "sample_rate": 16000,
        "duration": 0.25,
        "seed": 0,
    },
}

# A stand-in model entry: the schema requires one, the library never loads it.
_PLACEHOLDER_MODEL = {"module": "gear.models.base", "env": "envs/gear.yaml"}


@dataclass
class Evaluation:
    """Everything :func:`evaluate` computed for one model on one dataset.

    Attributes
    ----------
    metrics : pd.DataFrame
        Tidy table ``dataset, model, parameter, metric, value``, as
        ``results/metrics/{dataset}/{model}.csv`` of the workflow.
    regression : pd.DataFrame [shape=(n_sounds, 1 + 4 * n_parameters)]
        The K-NN regression, one row per sound (``sound_id``, then per
        parameter ``_true``, ``_estimate``, ``_ratio``, ``_error``).
    regression_summary : pd.DataFrame
        Median and spread of the ratios per parameter, with a ``model``
        column (a model's rows of ``results/regression/{dataset}/summary.csv``).
    coordinates : np.ndarray [shape=(n_sounds, n_components)]
        Isomap coordinates.
    isomap_summary : dict
        K-NN graph diagnostics (connected components, method, eigenvalues).
    embeddings : np.ndarray [shape=(n_sounds, dim)], float32
    params : pd.DataFrame
        ``sound_id`` then one column per parameter, in embedding row order.
    description : DatasetDescription
        The parameters' names, units, ranges and scales.
    dataset, model : str
        Names used in the tables and figures.
    seconds : dict
        Wall-clock time of each step (``dataset``, ``load_model``,
        ``embed``, ``isomap``, ``regression``, ``metrics``, ``timbre``).
    timbre : pd.DataFrame or None
        With ``timbre=``: the human timbre alignment, columns ``dataset``
        (each study, then ``pooled``), ``distance``, ``metric``, ``value``,
        ``low``, ``high`` (:func:`gear.analysis.alignment.pooled_scores`).
    """

    metrics: pd.DataFrame
    regression: pd.DataFrame
    regression_summary: pd.DataFrame
    coordinates: np.ndarray
    isomap_summary: dict
    embeddings: np.ndarray
    params: pd.DataFrame
    description: DatasetDescription
    dataset: str
    model: str
    seconds: dict = field(default_factory=dict)
    timbre: pd.DataFrame | None = None

    @property
    def parameters(self):
        """The dataset's parameters (list of :class:`~gear.parameters.Parameter`)."""
        return self.description.parameters

    def isomap_figure(self, point_size=3):
        """Figure 3 for this model: its 3-D Isomap coloured by each parameter.

        Parameters
        ----------
        point_size : float

        Returns
        -------
        figure : matplotlib.figure.Figure
        """
        from gear import figures

        label = self.model
        n_components = self.isomap_summary.get("n_graph_components", 1)
        if n_components > 1:  # as the workflow's Figure 3 marks it
            label = f"{label}\n(K-NN graph: {n_components} components, joined)"
        return figures.plot_isomap_grid({label: self.coordinates}, self.params, self.parameters, point_size=point_size)

    def regression_figure(self):
        """Figure 4 for this model: the distribution of the K-NN regression ratio per parameter.

        Returns
        -------
        figure : matplotlib.figure.Figure
        """
        from gear import figures

        ratios = pd.concat(
            [
                pd.DataFrame(
                    {
                        "model": self.model,
                        "parameter": p.name,
                        "ratio": self.regression[f"{p.name}_ratio"],
                        "error": self.regression[f"{p.name}_error"],
                    }
                )
                for p in self.parameters
            ],
            ignore_index=True,
        )
        return figures.plot_regression_ratios(ratios, self.parameters)

    def invariance_figure(self):
        """Invariance heat map for this model: across minus within R^2, target x nuisance.

        Returns
        -------
        figure : matplotlib.figure.Figure
            As the workflow's ``results/figures/{dataset}/invariance.png``
            (without ties: one model); says there are no scores if
            :func:`evaluate` ran with ``equivariance=False``.
        """
        from gear import figures

        return figures.plot_invariance(self.metrics, self.parameters)


def cache_directory(cache_dir=None):
    """Where synthesized datasets are kept.

    Parameters
    ----------
    cache_dir : str or Path or None
        If None: ``$GEAR_CACHE_DIR/datasets`` if that variable is set (the
        directory GEAR's model wrappers also cache into), else
        ``~/.cache/gear/datasets``.

    Returns
    -------
    path : Path
    """
    if cache_dir is not None:
        return Path(cache_dir)
    root = os.environ.get("GEAR_CACHE_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "gear") / "datasets"


def _schema_error(error, prefix):
    path = ".".join(str(part) for part in error.absolute_path)
    return ConfigError(f"{prefix}{'.' + path if path else ''}: {error.message}")


def _settings(isomap, regression, n_sounds, dataset_id):
    """Isomap and regression settings checked and completed by the workflow's schema."""
    schema = load_schema()
    validator_class = validator_with_defaults(jsonschema.Draft202012Validator)
    settings = {}
    for section, given in (("isomap", isomap), ("regression", regression)):
        if given is not None and not isinstance(given, Mapping):
            raise ConfigError(f"{section}: expected a mapping of settings, got {type(given).__name__}")
        values = json.loads(json.dumps(dict(given or {})))
        validator = validator_class({"$defs": schema.get("$defs", {}), **schema["properties"][section]})
        error = jsonschema.exceptions.best_match(validator.iter_errors(values))
        if error is not None:
            raise _schema_error(error, section)
        settings[section] = values
    check_neighbors(settings, {dataset_id: n_sounds})
    return settings["isomap"], settings["regression"]


def _canonical_spec(spec, dataset_id):
    """A dataset entry validated, defaults filled, keys sorted (what the workflow's rules receive)."""
    config = {
        "datasets": {dataset_id: json.loads(json.dumps(dict(spec)))},
        "models": {"placeholder": _PLACEHOLDER_MODEL},
        # The dataset alone is checked here; K against its size in _settings.
        "isomap": {"n_neighbors": 1},
        "regression": {"n_neighbors": 1},
    }
    validate_config(config, root=SCHEMA_PATH.parents[2])
    return sorted_keys(config["datasets"][dataset_id])


def _synthesis_modules(spec):
    """The modules that synthesize a dataset entry: its synthesizer's and GEAR's synthesis code."""
    name = spec.get("synthesizer")
    synthesizer = [BUILTIN.get(name, name)] if isinstance(name, str) else []
    return [*synthesizer, *pipeline.SYNTHESIS_MODULES]


def _cache_key(spec, code):
    """SHA-256 of the canonical spec and the synthesis code's fingerprint (32 hex digits)."""
    return hashlib.sha256(json.dumps({"spec": spec, "code": code}, sort_keys=True).encode()).hexdigest()[:32]


def _read_dataset(directory):
    params = load_params(directory / "params.csv")
    audio, sample_rate = read_audio(directory / "audio", params["sound_id"])
    description = read_description(directory / "parameters.json")
    return Dataset(
        audio=audio,
        params=params,
        sample_rate=sample_rate,
        resample_to_model_rate=description.resample_to_model_rate,
        description=description,
    )


def load_dataset(dataset="quick-harmonic", *, cache_dir=None, dataset_id=None):
    """A dataset from its spec, synthesized once and then read from the cache.

    Parameters
    ----------
    dataset : str or Mapping
        A preset name (see :data:`PRESETS`) or a dataset entry as in
        ``config.yaml``'s ``datasets:`` (``synthesizer``, ``parameters``,
        ``design``, ...), validated by the workflow's schema.
    cache_dir : str or Path or None
        See :func:`cache_directory`.
    dataset_id : str or None
        Named in error messages; defaults to the preset name or ``"dataset"``.

    Returns
    -------
    dataset : gear.datasets.Dataset
        The sounds (float32, as read back from the WAV files the workflow
        writes), the parameter table and the description.

    Raises
    ------
    ConfigError
        If the preset is unknown or the entry invalid (one line naming the key).

    Notes
    -----
    Each dataset is a directory named by the SHA-256 of its canonical spec
    (schema defaults filled in, keys sorted) and of the fingerprint of the
    code that synthesizes it, as the workflow computes it
    (:func:`gear.fingerprint.code_fingerprint`: ``gear.__version__``, the
    files of the synthesizer module, of the local modules it imports and of
    GEAR's synthesis code, or the version of the distribution that installed
    the synthesizer), holding what the workflow's ``synthesize`` rule writes
    (``params.csv``, ``parameters.json`` with the fingerprint, ``audio/``)
    and ``spec.json``. Before it is computed, a local synthesizer module (or
    a module it imports) whose file changed since this process imported it
    is imported again (:func:`gear.fingerprint.current_modules`), so that
    the sounds are those of the code in the key. It is written into
    a private temporary directory of the cache and renamed into place
    (atomic on one filesystem): a reader never sees a partial dataset, and
    when two processes fill the same entry at once, the first rename wins
    and the other process discards its copy.
    """
    if isinstance(dataset, str):
        if dataset not in PRESETS:
            raise ConfigError(f"dataset: unknown preset {dataset!r} (presets: {', '.join(PRESETS)})")
        dataset_id = dataset_id or dataset
        spec = PRESETS[dataset]
    elif isinstance(dataset, Mapping):
        dataset_id = dataset_id or "dataset"
        spec = dataset
    else:
        raise ConfigError(f"dataset: expected a preset name or a dataset mapping, got {type(dataset).__name__}")
    # Before the spec is checked against the synthesizer's declarations.
    modules = _synthesis_modules(spec)
    code = current_modules(modules)
    spec = _canonical_spec(spec, dataset_id)
    root = cache_directory(cache_dir)
    entry = root / _cache_key(spec, code)
    if not (entry / "spec.json").is_file():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=root))
        try:
            start = time.perf_counter()
            pipeline.synthesize(
                spec, tmp / "params.csv", tmp / "parameters.json", tmp / "audio",
                dataset_id=dataset_id, code=code,
            )  # fmt: skip
            if code_fingerprint(modules) != code:
                raise GearError(
                    f"dataset {dataset_id}: the code of {', '.join(modules)} changed while it was "
                    "synthesized; nothing was cached: call again"
                )
            # Written last: its presence marks a complete entry.
            (tmp / "spec.json").write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
            try:
                os.rename(tmp, entry)
                logger.info("dataset %s synthesized into %s in %.2f s", dataset_id, entry, time.perf_counter() - start)
            except OSError:
                if not (entry / "spec.json").is_file():
                    raise
                logger.info("dataset %s: another process filled %s first", dataset_id, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _read_dataset(entry)


def sounds(audio, params, sample_rate, parameters=None, *, resample=True):
    """A dataset from sounds you already have and their parameter table.

    Parameters
    ----------
    audio : np.ndarray [shape=(n_sounds, n_samples)]
        Mono sounds, converted to float32.
    params : pd.DataFrame or Mapping [shape=(n_sounds, ...)]
        One column per parameter, in ``audio`` row order; a ``sound_id``
        column is added if missing.
    sample_rate : int
        Rate of ``audio`` in Hz.
    parameters : sequence of Parameter, dict or str, or None
        The factors to score, each a :class:`~gear.parameters.Parameter`,
        a dict of its fields (``name``, ``unit``, ``scale``, ``label``,
        ``ratio_scale``, ...), or a column name (linear scale, ratio
        scale). None: every column but ``sound_id``.
    resample : bool
        Resample the sounds to each model's rate (False: every model reads
        the samples at its own rate, as the ``gear2023`` dataset does).

    Returns
    -------
    dataset : gear.datasets.Dataset

    Raises
    ------
    DataError
        If shapes disagree or a parameter column is missing.
    """
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    params = pd.DataFrame(params).reset_index(drop=True)
    if audio.ndim != 2 or audio.shape[0] != len(params):
        raise DataError(f"sounds: audio of shape {audio.shape} for {len(params)} rows of parameters")
    if "sound_id" not in params:
        params.insert(0, "sound_id", sound_ids(len(params)))
    params["sound_id"] = params["sound_id"].astype(str)
    if parameters is None:
        parameters = [column for column in params.columns if column != "sound_id"]
    parameters = as_parameters([Parameter(**p) if isinstance(p, Mapping) else p for p in parameters])
    for parameter in parameters:
        if parameter.name not in params:
            raise DataError(f"sounds: params has no column {parameter.name!r} (columns: {list(params.columns)})")
    values = {p.name: params[p.name].to_numpy(dtype=np.float64) for p in parameters}
    described = [
        Parameter(
            name=p.name, unit=p.unit, min=float(values[p.name].min()), max=float(values[p.name].max()),
            scale=p.scale, label=p.label, description=p.description, ratio_scale=p.ratio_scale,
        )
        for p in parameters
    ]  # fmt: skip
    description = DatasetDescription(
        synthesizer="(in memory)",
        parameters=described,
        design="given",
        n_sounds=len(params),
        sample_rate=int(sample_rate),
        duration=audio.shape[1] / sample_rate,
        resample_to_model_rate=resample,
        figure_grid=[p.name for p in described[:2]],
    )
    return Dataset(audio, params, int(sample_rate), resample, description)


def _model_object(model, name, weights):
    """(module-like object, loaded model, name) for the three kinds of ``model``."""
    if isinstance(model, str):
        module = hear.load_hear_module(model)
        name = name or model.rsplit(".", 1)[-1]
        return module, hear.load_model(module, weights, model_id=name), name
    if isinstance(model, types.ModuleType):
        missing = [f for f in hear.HEAR_FUNCTIONS if not callable(getattr(model, f, None))]
        if missing:
            raise ModelError(f"module {model.__name__!r} is not a HEAR 2021 module: missing {', '.join(missing)}")
        name = name or model.__name__.rsplit(".", 1)[-1]
        return model, hear.load_model(model, weights, model_id=name), name
    name = name or type(model).__name__
    missing = [a for a in ("sample_rate", "scene_embedding_size") if not hasattr(model, a)]
    if not callable(getattr(model, "get_scene_embeddings", None)):
        missing.append("get_scene_embeddings(audio)")
    if missing:
        raise ModelError(
            f"model {name!r}: an in-memory model needs sample_rate, scene_embedding_size and "
            f"get_scene_embeddings(audio); missing {', '.join(missing)}"
        )
    # A HEAR module around the object, so that it goes through the same
    # checks (load_model) and the same batched extraction (embed_scenes).
    adapter = types.SimpleNamespace(
        __name__=name,
        load_model=lambda: model,
        get_scene_embeddings=lambda audio, loaded: loaded.get_scene_embeddings(audio),
    )
    return adapter, hear.load_model(adapter, None, model_id=name), name


def evaluate(
    model,
    dataset="quick-harmonic",
    *,
    name=None,
    weights=None,
    batch_size=64,
    isomap=None,
    regression=None,
    equivariance=True,
    timbre=False,
    return_details=False,
    cache_dir=None,
    dataset_id=None,
    progress=False,
):
    """Score one model on one dataset: embeddings, Isomap, K-NN regression, metrics.

    Parameters
    ----------
    model : str, module or object
        One of:

        - the name of an importable HEAR 2021 module (``"gear.models.base"``,
          ``"hearbaseline.naive"``), loaded with ``weights``;
        - a HEAR module already imported (``load_model``,
          ``get_scene_embeddings``, ``get_timestamp_embeddings``);
        - any object with a positive int ``sample_rate`` (Hz), a positive
          int ``scene_embedding_size`` and a method
          ``get_scene_embeddings(audio)`` that maps a float32 torch tensor
          of shape (n_sounds, n_samples) at ``sample_rate`` to an array or
          tensor of shape (n_sounds, scene_embedding_size), e.g. a wrapper
          of the network being trained. It is called under
          ``torch.no_grad()``; put the network in eval mode first.
    dataset : str, Mapping or gear.datasets.Dataset
        A preset name (:data:`PRESETS`: ``"quick-harmonic"``,
        ``"quick-fm"``), a dataset entry as in ``config.yaml`` (both
        synthesized once and cached, see :func:`load_dataset`), or sounds
        with their parameters (see :func:`sounds`).
    name : str or None
        The model's name in the tables and figures; defaults to the last
        part of the module name, or the object's class name.
    weights : str or None
        Checkpoint passed to the module's ``load_model`` (modules only).
    batch_size : int
        Sounds per call to ``get_scene_embeddings``.
    isomap, regression : dict or None
        Settings as under ``isomap:`` and ``regression:`` in
        ``config.yaml``, checked and completed with the defaults of
        ``workflow/schemas/config.schema.yaml`` (K = 100 and 3 components;
        K = 40, self included).
    equivariance : bool
        Add the equivariance and invariance scores, as
        ``metrics: {equivariance: true}`` in ``config.yaml`` (see
        :func:`gear.metrics.compute_metrics`).
    timbre : bool, str or Path
        Also score the model's alignment with human timbre dissimilarity
        ratings (:mod:`gear.timbre`, :mod:`gear.analysis.alignment`): True
        fetches the data into GEAR's cache (once; as the workflow does), a
        path reads a local copy laid out as the timbremetrics repository.
        The pooled scores are added to the metrics table as rows with
        ``dataset`` ``"timbre"``, ``parameter`` the distance and ``metric``
        ``timbre_<score>`` (with intervals); :attr:`Evaluation.timbre` has
        every study's. The same anchors and resamples as the workflow's.
    return_details : bool
        Return an :class:`Evaluation` (tables, coordinates, embeddings,
        figures) instead of the metrics table alone.
    cache_dir : str or Path or None
        Dataset cache (see :func:`cache_directory`).
    dataset_id : str or None
        The dataset's name in the tables; defaults to the preset name, else
        ``"dataset"``.
    progress : bool
        Show a progress bar while embedding.

    Returns
    -------
    metrics : pd.DataFrame or Evaluation
        Tidy table ``dataset, model, parameter, metric, value`` (the
        workflow's ``results/metrics/{dataset}/{model}.csv``), or
        everything if ``return_details``.

    Raises
    ------
    ConfigError
        Unknown preset, invalid dataset entry or settings, K too large.
    ModelError
        A model that cannot be loaded, lacks what it needs, or returns
        embeddings of the wrong shape or non-finite values.
    FetchError
        ``timbre=True`` and the data cannot be had (offline, fetching off).

    Examples
    --------
    >>> import gear
    >>> metrics = gear.evaluate("gear.models.mfcc", "quick-harmonic")  # doctest: +SKIP
    >>> metrics.query("metric == 'knn_r2'")[["parameter", "value"]]  # doctest: +SKIP
    """
    seconds = {}
    clock = time.perf_counter()
    data, dataset_id = _dataset_of(dataset, dataset_id, cache_dir)
    isomap_settings, regression_settings = _settings(isomap, regression, len(data.params), dataset_id)
    parameters = data.description.parameters
    seconds["dataset"] = time.perf_counter() - clock

    clock = time.perf_counter()
    module, loaded, name = _model_object(model, name, weights)
    seconds["load_model"] = time.perf_counter() - clock

    clock = time.perf_counter()
    embeddings = _embed(module, loaded, data, batch_size=batch_size, name=name, progress=progress)
    seconds["embed"] = time.perf_counter() - clock

    # As gear.pipeline.reduce_isomap, regress and measure.
    clock = time.perf_counter()
    reduced = run_isomap(embeddings, **isomap_settings)
    seconds["isomap"] = time.perf_counter() - clock
    clock = time.perf_counter()
    table = knn_regression(
        embeddings, data.params, parameters, regression_settings["n_neighbors"],
        include_self=not regression_settings["leave_one_out"],
    )  # fmt: skip
    summary = summarize(table, parameters)
    summary.insert(0, "model", name)
    seconds["regression"] = time.perf_counter() - clock
    clock = time.perf_counter()
    metrics = compute_metrics(
        embeddings, reduced.coordinates, data.params, parameters=parameters, equivariance=equivariance
    )
    metrics.insert(0, "model", name)
    metrics.insert(0, "dataset", dataset_id)
    seconds["metrics"] = time.perf_counter() - clock
    alignment = None
    if timbre is not False:
        clock = time.perf_counter()
        alignment = _timbre_alignment(module, loaded, name, timbre)
        pooled = alignment[alignment["dataset"] == "pooled"]
        rows = pd.DataFrame({"dataset": "timbre", "model": name, "parameter": pooled["distance"],
                             "metric": "timbre_" + pooled["metric"], "value": pooled["value"],
                             "ci_low": pooled["low"], "ci_high": pooled["high"]})  # fmt: skip
        metrics = pd.concat([metrics, rows[metrics.columns]], ignore_index=True)
        seconds["timbre"] = time.perf_counter() - clock
    logger.info("%s on %s: %s", name, dataset_id, ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()))
    if not return_details:
        return metrics
    return Evaluation(
        metrics=metrics,
        regression=table,
        regression_summary=summary,
        coordinates=reduced.coordinates,
        isomap_summary={"n_neighbors": isomap_settings["n_neighbors"], **reduced.summary()},
        embeddings=embeddings,
        params=data.params,
        description=data.description,
        dataset=dataset_id,
        model=name,
        seconds=seconds,
        timbre=alignment,
    )


def _timbre_alignment(module, loaded, name, timbre):
    """Scores per study and pooled, per distance, as :func:`gear.pipeline.align_timbre` and ``summarize_timbre``."""
    from gear.analysis.alignment import pooled_scores
    from gear.timbre import fetch_timbre_data, timbre_anchor_scores

    root = fetch_timbre_data() if timbre is True else timbre
    anchors = timbre_anchor_scores(module, loaded, root, model_id=name)
    tables = [
        pooled_scores({study: part.reset_index(drop=True) for study, part in by_distance.groupby("dataset", sort=False)})
        .assign(distance=distance)
        for distance, by_distance in anchors.groupby("distance", sort=False)
    ]  # fmt: skip
    return pd.concat(tables, ignore_index=True)[["dataset", "distance", "metric", "value", "low", "high"]]


def _dataset_of(dataset, dataset_id, cache_dir):
    """The sounds :func:`evaluate` was given, and the dataset id its table will show."""
    if isinstance(dataset, Dataset):
        if dataset.description is None:
            raise DataError("dataset: a Dataset without a description; build it with gear.sounds")
        return dataset, dataset_id or "dataset"
    if isinstance(dataset, Mapping) and "audio" in dataset:
        return sounds(**dataset), dataset_id or "dataset"
    dataset_id = dataset_id or (dataset if isinstance(dataset, str) else "dataset")
    return load_dataset(dataset, cache_dir=cache_dir, dataset_id=dataset_id), dataset_id


def _embed(module, loaded, data, *, batch_size, name, progress):
    """Scene embeddings of the dataset's sounds, as :func:`gear.pipeline.embed` makes them (float32)."""
    # Resample to the model's rate unless the dataset is read at every
    # model's own rate (gear2023).
    audio = data.audio
    if data.resample_to_model_rate and data.sample_rate != int(loaded.sample_rate):
        audio = hear.resample_audio(audio, data.sample_rate, int(loaded.sample_rate))
    return hear.embed_scenes(
        module, loaded, audio, batch_size=batch_size, model_id=name,
        sound_ids=list(data.params["sound_id"]), progress=progress,
    ).astype(np.float32)  # fmt: skip
