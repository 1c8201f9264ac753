"""One function per workflow stage, from file paths to file paths.

The Snakemake scripts under ``scripts/`` call these and nothing else, so
every stage can be run and tested without Snakemake. Each function reads
its inputs, calls the numerical code of its stage and writes its outputs
atomically.
"""

import json
import logging
import resource
import time

import numpy as np
import pandas as pd

from gear import timbre
from gear.errors import DataError, FetchError, ModelError
from gear.io import atomic_path, load_array, load_params, read_audio, save_array, save_table, write_audio
from gear.parameters import read_description, write_description

# Each stage imports its own heavy modules (torch, scipy.stats, numba,
# scikit-learn, matplotlib, plotly): every job is a new process, and the
# imports of all the stages cost more CPU than most light jobs' work.

__all__ = [
    "SYNTHESIS_MODULES",
    "EMBEDDING_MODULES",
    "record_provenance",
    "record_model_spec",
    "check_model",
    "read_availability",
    "collect_embedding_costs",
    "synthesize",
    "embed",
    "reduce_isomap",
    "regress",
    "summarize_regressions",
    "draw_sound_grid",
    "draw_isomap",
    "draw_regression",
    "write_view",
    "measure",
    "gather_metrics",
    "draw_invariance",
    "save_json",
    "fetch_timbre",
    "align_timbre",
    "summarize_timbre",
    "draw_timbre",
    "draw_synthetic_vs_human",
]

logger = logging.getLogger(__name__)

#: GEAR's modules that :func:`synthesize` runs besides the synthesizer (the
#: dataset's code fingerprint follows their imports: designs, scales, ...).
SYNTHESIS_MODULES = ("gear.datasets", "gear.io", "gear.parameters")
#: GEAR's modules that :func:`embed` runs besides the model's module.
EMBEDDING_MODULES = ("gear.hear", "gear.io")


def save_json(path, data):
    """Write a JSON file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def record_provenance(record_path, config, description_paths, root=None, code=None):
    """Write ``provenance.json``: the config, each dataset's parameters, the code, versions, commit.

    Parameters
    ----------
    record_path : str or Path
    config : dict
        The validated configuration.
    description_paths : dict
        Dataset id -> its ``parameters.json``; recorded under ``datasets``
        (synthesizer, design, and every parameter's name, unit, range and
        scale).
    root : str or Path or None
        The workflow's directory, for its git commit.
    code : dict or None
        Recorded under ``code``: ``{"datasets": {id: fingerprint}, "models":
        {id: fingerprint}}`` (see :func:`gear.fingerprint.code_fingerprint`).
    """
    from gear.provenance import provenance

    record = provenance(config, root)
    if code is not None:
        record["code"] = code
    record["datasets"] = {
        dataset: read_description(path).to_dict() for dataset, path in description_paths.items()
    }
    save_json(record_path, record)


def fetch_model_files(record_path, *, model_id, module_name, mode="auto", lock_path=None):
    """Fetch a model's remote files (gear.models.remote) and record where they are, or why not.

    Parameters
    ----------
    record_path : str or Path
        Output JSON: ``model``, ``module``, ``weights`` (the local path, None
        if not fetched) and ``reason`` (one line naming the URL and the
        cause, None if fetched).
    model_id, module_name : str
    mode : {"auto", "never"}
    lock_path : str or Path or None
        The lock file (``gear.lock``).
    """
    from gear.models import remote

    record = {"model": model_id, "module": module_name, "weights": None, "reason": None}
    try:
        record["weights"] = remote.fetch_weights(module_name, mode=mode, lock=lock_path)
    except FetchError as error:
        logger.warning("model %s: weights not fetched: %s", model_id, error)
        record["reason"] = str(error)
    save_json(record_path, record)


def fetched_weights(record_path, weights=None):
    """The weights a model loads: ``weights`` given by hand, else the path fetched (None if nothing to fetch).

    Raises
    ------
    ModelError
        If the fetch failed: its one-line reason.
    """
    if weights or not record_path:
        return weights
    with open(record_path) as file:
        record = json.load(file)
    if record["reason"]:
        raise ModelError(f"model {record['model']!r}: weights not fetched: {record['reason']}")
    return record["weights"]


def record_model_spec(spec_path, record):
    """Write a model's spec file, and remove the model's spec files of other content.

    The file is named ``{model}.{digest}.spec.json`` by the workflow, the
    digest being that of ``record``: a change of the model's module,
    weights, batch size, environment or code is a new file, which reruns
    the model's jobs even when Snakemake has no metadata on their outputs.
    Removing the others makes a change undone later a new file again.

    Parameters
    ----------
    spec_path : str or Path
        ``.../{model}.{16 hex digits}.spec.json``.
    record : dict
        JSON-ready: what the model's embeddings depend on.
    """
    import re
    from pathlib import Path

    spec_path = Path(spec_path)
    model = re.sub(r"\.[0-9a-f]{16}\.spec\.json$", "", spec_path.name)
    save_json(spec_path, record)
    pattern = re.compile(re.escape(model) + r"(\.[0-9a-f]{16})?\.spec\.json")
    for other in spec_path.parent.iterdir():
        if other != spec_path and pattern.fullmatch(other.name):
            other.unlink(missing_ok=True)


def check_model(status_path, *, model_id, module_name, weights=None, strict=False, fetched=None):
    """Load a model once and record whether it is available, and why not.

    Parameters
    ----------
    status_path : str or Path
        Output JSON: ``model``, ``module``, ``available``, ``reason`` (None
        when available), ``sample_rate``, ``scene_embedding_size`` and
        ``load_seconds``.
    model_id, module_name : str
    weights : str or None
    strict : bool
        Raise instead of recording an unavailable model.
    fetched : str or Path or None
        The model's record of :func:`fetch_model_files`, if it has remote files.

    Raises
    ------
    ModelError
        If the model cannot be loaded and ``strict`` is True.
    """
    from gear import hear  # imports torch: only the model stages pay for it

    status = {"model": model_id, "module": module_name, "available": True, "reason": None}
    start = time.perf_counter()
    try:
        weights = fetched_weights(fetched, weights)
        model = hear.load_model(hear.load_hear_module(module_name), weights, model_id=model_id)
    except ModelError as error:
        if strict:
            raise
        logger.warning("model %s is unavailable: %s", model_id, error)
        status.update(available=False, reason=str(error))
    else:
        status.update(sample_rate=int(model.sample_rate), scene_embedding_size=int(model.scene_embedding_size))
    status["load_seconds"] = time.perf_counter() - start
    save_json(status_path, status)


def read_availability(status_paths):
    """Split models into available ones and unavailable ones with reasons.

    Parameters
    ----------
    status_paths : dict
        Model id -> JSON written by :func:`check_model`.

    Returns
    -------
    available : list of str
    unavailable : dict
        Model id -> reason.
    """
    available, unavailable = [], {}
    for model_id, path in status_paths.items():
        with open(path) as file:
            status = json.load(file)
        if status["available"]:
            available.append(model_id)
        else:
            unavailable[model_id] = status["reason"]
    return available, unavailable


def collect_embedding_costs(stats_paths, table_path):
    """One table of extraction time, peak memory and device per (dataset, model).

    ``peak_device_mb`` (GPU memory) is empty for CPU runs, and so are the
    device columns of statistics written before they were recorded.

    Parameters
    ----------
    stats_paths : dict
        ``(dataset, model)`` -> JSON written by :func:`embed`.
    table_path : str or Path
    """
    rows = []
    for (dataset, model_id), path in stats_paths.items():
        with open(path) as file:
            stats = json.load(file)
        rows.append({"dataset": dataset, **stats})
    columns = ["dataset", "model", "n_sounds", "samples_per_sound", "model_sample_rate", "dim", "batch_size",
               "threads", "seconds", "sounds_per_second", "peak_rss_mb",
               "device", "device_name", "peak_device_mb"]  # fmt: skip
    save_table(table_path, pd.DataFrame(rows, columns=columns))


def synthesize(spec, params_path, description_path, audio_dir, *, dataset_id="dataset", code=None):
    """Synthesize a dataset; write ``params.csv``, ``parameters.json`` and one WAV per sound.

    Parameters
    ----------
    spec : dict
        Validated entry of ``config["datasets"]``.
    params_path : str or Path
        Output: ``sound_id`` then one column per parameter.
    description_path : str or Path
        Output: the parameters' names, units, ranges and scales, which
        every later stage reads (see :mod:`gear.parameters`).
    audio_dir : str or Path
    dataset_id : str
        Named in error messages.
    code : dict or None
        The fingerprint of the code that synthesizes the dataset
        (:func:`gear.fingerprint.code_fingerprint`), recorded in ``parameters.json``.
    """
    from dataclasses import replace

    from gear.datasets import make_dataset

    start = time.perf_counter()
    dataset = make_dataset(spec, dataset_id)
    if code is not None:
        dataset.description = replace(dataset.description, code=code)
    logger.info("synthesized %d sounds of %d samples in %.2f s", *dataset.audio.shape, time.perf_counter() - start)
    write_audio(audio_dir, dataset.params["sound_id"], dataset.audio, dataset.sample_rate)
    save_table(params_path, dataset.params)
    write_description(description_path, dataset.description)
    logger.info("wrote %s and %s in %.2f s", params_path, audio_dir, time.perf_counter() - start)


def embed(
    params_path,
    audio_dir,
    embedding_path,
    stats_path,
    *,
    model_id,
    module_name,
    weights=None,
    batch_size=64,
    resample=True,
    timeout=None,
    device="auto",
    fetched=None,
    code=None,
):
    """Scene embeddings of every sound of a dataset by one HEAR model.

    Parameters
    ----------
    params_path, audio_dir : str or Path
        The dataset.
    embedding_path : str or Path
        Output ``.npy``, float32 (n_sounds, dim), rows in ``params.csv`` order.
    stats_path : str or Path
        Output JSON: time, throughput, peak memory, sample rates, and the
        device: ``device`` (``cpu`` or ``cuda:N``), ``device_name`` and
        ``peak_device_mb`` (``torch.cuda.max_memory_allocated`` during
        the embedding, model weights included; null on the CPU), with the
        ``device_setting`` asked for.
    model_id, module_name : str
    weights : str or None
    batch_size : int
    resample : bool
        Resample from the files' rate to the model's (``harmonic``); if
        False, the samples are read at the model's rate (``gear2023``).
    timeout : float or None
        Seconds one batch may take (see :func:`gear.hear.embed_scenes`).
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (:func:`gear.hear.resolve_device`).
        A model without PyTorch tensors computes on the CPU whatever it is.
    fetched : str or Path or None
        The model's record of :func:`fetch_model_files`, if it has remote files.
    code : dict or None
        The fingerprint of the model's code, recorded in the statistics as ``code``.
    """
    import torch

    from gear import hear

    params = load_params(params_path)
    audio, file_rate = read_audio(audio_dir, params["sound_id"])
    module = hear.load_hear_module(module_name)
    model = hear.load_model(module, fetched_weights(fetched, weights), model_id=model_id, device=device)
    used = hear.model_device(model)
    model_rate = int(model.sample_rate)
    if resample and file_rate != model_rate:
        logger.info("resampling %d sounds from %d Hz to %d Hz", len(audio), file_rate, model_rate)
        audio = hear.resample_audio(audio, file_rate, model_rate)
    if used.type == "cuda":
        torch.cuda.reset_peak_memory_stats(used)
    start = time.perf_counter()
    embeddings = hear.embed_scenes(
        module,
        model,
        audio,
        batch_size=batch_size,
        model_id=model_id,
        sound_ids=list(params["sound_id"]),
        timeout=timeout,
    )
    seconds = time.perf_counter() - start
    save_array(embedding_path, embeddings.astype(np.float32))
    stats = {
        "model": model_id,
        "module": module_name,
        "n_sounds": int(embeddings.shape[0]),
        "dim": int(embeddings.shape[1]),
        "file_sample_rate": int(file_rate),
        "model_sample_rate": model_rate,
        "resampled": bool(resample and file_rate != model_rate),
        "samples_per_sound": int(audio.shape[1]),
        "batch_size": int(batch_size),
        "threads": torch.get_num_threads(),
        "seconds": seconds,
        "sounds_per_second": embeddings.shape[0] / seconds if seconds > 0 else None,
        # ru_maxrss is in KiB on Linux: the whole job's peak, loading included.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device_setting": device,
        "device": str(used),
        "device_name": hear.device_name(used),
        "peak_device_mb": torch.cuda.max_memory_allocated(used) / 2**20 if used.type == "cuda" else None,
        "code": code,
    }
    save_json(stats_path, stats)
    logger.info("%s: %d x %d embeddings in %.1f s on %s", model_id, *embeddings.shape, seconds, used)


def reduce_isomap(embedding_path, coordinates_path, summary_path, *, n_neighbors, distance="euclidean", **options):
    """Isomap coordinates of one embedding set, with graph diagnostics.

    ``options`` (``n_components``, ``disconnected``, ``method``,
    ``n_landmarks``, ``neighbors``) go to :func:`gear.manifold.isomap`;
    with ``distance="cosine"`` the embeddings are L2-normalised first
    (:func:`gear.analysis.features.prepare_distance`). The summary records the distance.
    """
    from gear.manifold import isomap
    from gear.analysis.features import prepare_distance

    embeddings = prepare_distance(load_array(embedding_path), distance)
    result = isomap(embeddings, n_neighbors, **options)
    save_array(coordinates_path, result.coordinates)
    save_json(summary_path, {"n_neighbors": n_neighbors, "distance": distance, **result.summary()})


def regress(
    embedding_path, params_path, description_path, table_path, *, n_neighbors, leave_one_out, distance="euclidean"
):
    """The paper's K-NN regression for one model: one row per sound (neighbours by ``distance``)."""
    from gear.regression import knn_regression
    from gear.analysis.features import prepare_distance

    embeddings = prepare_distance(load_array(embedding_path), distance)
    params = load_params(params_path)
    parameters = read_description(description_path).parameters
    table = knn_regression(embeddings, params, parameters, n_neighbors, include_self=not leave_one_out)
    save_table(table_path, table)


def summarize_regressions(table_paths, description_path, summary_path, unavailable=None, n_resamples=1000):
    """Median and spread of the regression ratios, per model and parameter.

    Parameters
    ----------
    table_paths : dict
        Model id -> per-sound regression CSV.
    description_path : str or Path
        The dataset's ``parameters.json``.
    summary_path : str or Path
    unavailable : dict or None
        Model id -> reason; listed with an empty row and the reason.
    n_resamples : int
        Of the bootstrap interval of the median ``|log ratio|``.
    """
    from gear.regression import summarize

    parameters = read_description(description_path).parameters
    summaries = []
    for model_id, path in table_paths.items():
        summary = summarize(pd.read_csv(path, dtype={"sound_id": str}), parameters, n_resamples=n_resamples)
        summary.insert(0, "model", model_id)
        summaries.append(summary)
    for model_id, reason in (unavailable or {}).items():
        summaries.append(pd.DataFrame({"model": [model_id], "unavailable": [reason]}))
    table = pd.concat(summaries, ignore_index=True)
    if "unavailable" not in table.columns:
        table["unavailable"] = pd.NA
    save_table(summary_path, table)


def _figure_paths(paths):
    return [str(path) for path in paths]


# The drawing stages import gear.figures (matplotlib) inside the function:
# embedding jobs run in model environments that need not have matplotlib.


def draw_sound_grid(params_path, description_path, audio_dir, figure_paths, *, n_rows, n_cols):
    """Figure 2: a grid of sounds over the two parameters the synthesizer names."""
    from gear import figures

    params = load_params(params_path)
    description = read_description(description_path)
    grid = description.figure_grid
    # Designs whose pairs never repeat show the sound nearest each cell.
    nearest = description.design not in ("grid", "fixed")
    # Read only the sounds shown (-1 marks an empty cell of the grid).
    index = figures.select_grid_sounds(params, grid, n_rows, n_cols, nearest=nearest)
    shown = np.unique(index[index >= 0])
    cells = (np.where(index >= 0, np.searchsorted(shown, index), -1), *figures.grid_values(params, grid, n_rows, n_cols))
    chosen = params.iloc[shown].reset_index(drop=True)
    audio, sample_rate = read_audio(audio_dir, chosen["sound_id"])
    # Sounds never resampled have no physical rate: axes in samples and bins.
    physical_units = description.resample_to_model_rate
    figure = figures.plot_sound_grid(
        audio,
        chosen,
        description.parameters,
        grid,
        sample_rate=sample_rate if physical_units else None,
        n_rows=n_rows,
        n_cols=n_cols,
        cells=cells,
    )
    figures.save_figure(figure, _figure_paths(figure_paths))


def draw_isomap(
    coordinate_paths,
    summary_paths,
    params_path,
    description_path,
    figure_paths,
    *,
    labels,
    point_size,
    unavailable=None,
):
    """Figure 3: 3-D Isomap scatter plots, one row per model (unavailable ones say why)."""
    from gear import figures

    params = load_params(params_path)
    coordinates = {}
    for model_id, path in coordinate_paths.items():
        with open(summary_paths[model_id]) as file:
            n_graph_components = json.load(file)["n_graph_components"]
        label = labels.get(model_id, model_id)
        if n_graph_components > 1:
            label = f"{label}\n(K-NN graph: {n_graph_components} components, joined)"
        coords = load_array(path)
        if coords.shape[0] != len(params):
            raise DataError(f"{path}: {coords.shape[0]} points but {len(params)} sounds in {params_path}")
        coordinates[label] = coords
    unavailable = {labels.get(model, model): reason for model, reason in (unavailable or {}).items()}
    figure = figures.plot_isomap_grid(
        coordinates,
        params,
        read_description(description_path).parameters,
        unavailable=unavailable,
        point_size=point_size,
    )
    figures.save_figure(figure, _figure_paths(figure_paths))


def _bootstrap_medians(ratios, parameters, n_resamples, seed=0):
    # Per (model, parameter): median of the ratio (in log space) or of the
    # error (parameters without a ratio scale), and its bootstrap interval.
    from gear.analysis.bootstrap import bootstrap_ci

    rows = []
    for parameter in parameters:
        column = "ratio" if parameter.ratio_scale else "error"
        for model, group in ratios[ratios["parameter"] == parameter.name].groupby("model", sort=False):
            values = group[column].to_numpy(dtype=np.float64)
            values = values[np.isfinite(values) & ((values > 0) if column == "ratio" else True)]
            if not values.size:
                continue
            if column == "ratio":
                values = np.log(values)
            low, high = bootstrap_ci(lambda i, v=values: np.median(v[i], axis=-1), values.size,
                                     n_resamples=n_resamples, seed=seed, vectorized=True)  # fmt: skip
            median = np.median(values)
            if column == "ratio":
                median, low, high = np.exp([median, low, high])
            rows.append({"model": model, "parameter": parameter.name, "median": median, "low": low, "high": high})
    return pd.DataFrame(rows, columns=["model", "parameter", "median", "low", "high"])


def draw_regression(table_paths, description_path, figure_paths, *, labels, unavailable=None, n_resamples=1000):
    """Figure 4: distribution of the K-NN regression ratio (or error) per model.

    Each model's median is marked with its 95 % bootstrap interval over
    sounds (``n_resamples`` resamples, seeded).
    """
    from gear import figures

    parameters = read_description(description_path).parameters
    frames = []
    for model_id, path in table_paths.items():
        table = pd.read_csv(path, dtype={"sound_id": str})
        for parameter in parameters:
            name = parameter.name
            frames.append(
                pd.DataFrame(
                    {
                        "model": labels.get(model_id, model_id),
                        "parameter": name,
                        "ratio": table[f"{name}_ratio"],
                        "error": table[f"{name}_error"],
                    }
                )
            )
    unavailable = {labels.get(model, model): reason for model, reason in (unavailable or {}).items()}
    columns = ["model", "parameter", "ratio", "error"]
    ratios = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    intervals = _bootstrap_medians(ratios, parameters, n_resamples)
    figure = figures.plot_regression_ratios(ratios, parameters, unavailable=unavailable, intervals=intervals)
    figures.save_figure(figure, _figure_paths(figure_paths))


def write_view(coordinates_path, params_path, description_path, view_path, *, title, point_size=3):
    """Interactive 3-D view of one model's Isomap coordinates (self-contained HTML)."""
    from gear.views import isomap_view

    params = load_params(params_path)
    parameters = read_description(description_path).parameters
    html = isomap_view(load_array(coordinates_path), params, parameters, title=title, point_size=point_size)
    with atomic_path(view_path) as tmp:
        tmp.write_text(html)


def measure(
    embedding_path,
    coordinates_path,
    params_path,
    description_path,
    table_path,
    details_path,
    sweeps_path,
    *,
    dataset,
    model_id,
    distance="euclidean",
    n_resamples=1000,
    equivariance=True,
):
    """Disentanglement metrics of one model on one dataset.

    Writes the tidy table (with confidence intervals of the headline
    scores), the per-sound, per-sweep and per-line details the paired tests
    between models need (``.npz``), and the sweep profiles for the sweep
    figure. ``equivariance`` adds the equivariance and invariance scores
    (see :func:`gear.metrics.compute_metrics`).
    """
    from gear.metrics import compute_metrics

    start = time.perf_counter()
    parameters = read_description(description_path).parameters
    table, details = compute_metrics(
        load_array(embedding_path),
        load_array(coordinates_path),
        load_params(params_path),
        parameters=parameters,
        distance=distance,
        n_resamples=n_resamples,
        equivariance=equivariance,
        return_details=True,
    )
    table.insert(0, "model", model_id)
    table.insert(0, "dataset", dataset)
    profiles = details.pop("profiles")
    profiles.insert(0, "model", model_id)
    arrays = {key.replace("monotonicity:", "monotonicity__"): np.asarray(value) for key, value in details.items()}
    with atomic_path(details_path) as tmp:
        with open(tmp, "wb") as file:
            np.savez(file, **arrays)
    save_table(sweeps_path, profiles)
    save_table(table_path, table)
    logger.info("%s on %s: %d metrics in %.1f s", model_id, dataset, len(table), time.perf_counter() - start)


def timbre_scorecard_panels(timbre_path, labels):
    """The scorecard's human-alignment panel: pooled Spearman and triplet agreement, first distance.

    Returns
    -------
    panels : list of dict
        Empty without ``timbre_path`` or without any model's scores.
    """
    if not timbre_path:
        return []
    from gear import figures

    panels = figures.alignment_panels(pd.read_csv(timbre_path), labels, {"spearman": "Spearman", "triplet": "triplets"})
    return panels[:1]


def gather_metrics(
    table_paths,
    details_paths,
    sweeps_paths,
    description_path,
    metrics_path,
    scorecard_path,
    sweeps_figure_path,
    *,
    labels,
    unavailable=None,
    n_resamples=1000,
    timbre_path=None,
):
    """One dataset's metrics table, its scorecard and its sweep figure.

    The scorecard shows the headline scores (:data:`gear.metrics.HEADLINES`:
    monotonicity along sweeps, leave-one-out K-NN R^2, MLP probe R^2), each
    cell with its 95 % interval, and marks per factor the models
    statistically tied with the best (paired bootstrap,
    :func:`gear.metrics.tied_with_best`); the table gains a column
    ``tied_with_best`` for those scores. The ridge probe is left out of the
    scorecard: on dense grids it saturates near 1 for every model. Where
    the tables hold them, two more panels show the equivariance scores per
    factor (:data:`gear.metrics.EQUIVARIANCE_HEADLINES`), and the
    invariance scores' ties fill ``tied_with_best`` too (their heat map is
    :func:`draw_invariance`'s).

    The table's column ``unavailable`` holds, for each unavailable model,
    the reason, on one row whose parameter, metric and value are empty; it
    is empty for every scored row.

    With ``timbre_path`` (``results/timbre/scores.csv``), the scorecard
    gains a panel of each model's human timbre alignment
    (:func:`timbre_scorecard_panels`).
    """
    from gear import figures
    from gear.metrics import HEADLINES

    tables = [pd.read_csv(path) for path in table_paths.values()]
    columns = ["dataset", "model", "parameter", "metric", "value", "ci_low", "ci_high"]
    metrics = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    parameters = read_description(description_path).parameters
    details = {}
    for model_id, path in details_paths.items():
        with np.load(path, allow_pickle=False) as found:
            details[model_id] = {key: found[key] for key in found.files}
    metrics["tied_with_best"] = pd.array([pd.NA] * len(metrics), dtype="boolean")
    panels = []
    for metric, title in HEADLINES.items():
        panel = _headline_panel(metrics, details, metric, title, parameters, labels, unavailable, n_resamples)
        if panel is not None:
            panels.append(panel)
    panels += _equivariance_panels(metrics, details, parameters, labels, unavailable, n_resamples)
    dataset = metrics["dataset"].iloc[0] if len(metrics) else ""
    metrics["unavailable"] = pd.Series([pd.NA] * len(metrics), dtype="string")
    missing = pd.DataFrame(
        [{"dataset": dataset, "model": m, "unavailable": reason} for m, reason in (unavailable or {}).items()],
        columns=metrics.columns,
    )
    save_table(metrics_path, pd.concat([metrics, missing], ignore_index=True) if len(missing) else metrics)
    panels += timbre_scorecard_panels(timbre_path, labels)
    if panels:
        figure = figures.plot_scorecards(panels)
    else:
        figure = figures.plot_scorecard(pd.DataFrame(np.nan, index=["(no model)"], columns=[p.label for p in parameters]))
    figures.save_figure(figure, [str(scorecard_path)])
    profiles = [pd.read_csv(path) for path in sweeps_paths.values()]
    profiles = pd.concat(profiles, ignore_index=True) if profiles else pd.DataFrame(
        columns=["model", "parameter", "step", "median", "q1", "q3", "n_sweeps"])  # fmt: skip
    profiles["model"] = profiles["model"].map(lambda model_id: labels.get(model_id, model_id))
    figures.save_figure(figures.plot_sweep_profiles(profiles, parameters), [str(sweeps_figure_path)])


def _mark_ties(metrics, details, metric, parameter, n_resamples):
    """Fill ``tied_with_best`` of one score and parameter; returns model id -> tied."""
    from gear.metrics import tied_with_best

    tied = tied_with_best(details, metric, parameter, n_resamples=n_resamples)
    for model_id, is_tied in tied.items():
        rows = (metrics["model"] == model_id) & (metrics["metric"] == metric) & (metrics["parameter"] == parameter)
        metrics.loc[rows, "tied_with_best"] = is_tied
    return tied


def _headline_panel(metrics, details, metric, title, parameters, labels, unavailable, n_resamples, vmin=None):
    """One scorecard panel (scores, intervals, ties per factor), or None if no model has the score.

    Marks the ties in ``metrics["tied_with_best"]``. ``vmin`` defaults to
    -1 for monotonicity, else 0.
    """
    from gear.metrics import scorecard

    names = [p.name for p in parameters]
    values = scorecard(metrics, metric, names)
    if values.isna().all().all():
        return None
    low, high = (scorecard(metrics.assign(value=metrics[bound]), metric, names) for bound in ("ci_low", "ci_high"))
    tied = pd.DataFrame(False, index=values.index, columns=values.columns)
    for name in names:
        for model_id, is_tied in _mark_ties(metrics, details, metric, name, n_resamples).items():
            tied.loc[model_id, name] = is_tied
    frames = [frame.rename(index=labels).set_axis([p.label for p in parameters], axis=1)
              for frame in (values, low, high, tied)]  # fmt: skip
    for model_id in unavailable or {}:
        for frame in frames:
            frame.loc[f"{labels.get(model_id, model_id)} (unavailable)"] = np.nan if frame is not frames[3] else False
    if vmin is None:
        vmin = -1.0 if metric == "monotonicity" else 0.0
    return {"title": title, "scores": frames[0], "low": frames[1], "high": frames[2],
            "tied": frames[3].astype(bool), "vmin": vmin, "vmax": 1.0}  # fmt: skip


# Equivariance and invariance (gear.analysis.equivariance): two scorecard
# panels per factor, ties of the invariance scores per ordered pair, and
# their own heat map (draw_invariance).


def _equivariance_panels(metrics, details, parameters, labels, unavailable, n_resamples):
    """Scorecard panels of :data:`gear.metrics.EQUIVARIANCE_HEADLINES`; marks invariance ties too."""
    from gear.analysis.equivariance import INVARIANCE_METRICS
    from gear.metrics import EQUIVARIANCE_HEADLINES

    panels = []
    for metric, title in EQUIVARIANCE_HEADLINES.items():
        panel = _headline_panel(metrics, details, metric, title, parameters, labels, unavailable, n_resamples)
        if panel is not None:
            panels.append(panel)
    for metric in INVARIANCE_METRICS.values():
        for pair in metrics.loc[metrics["metric"] == metric, "parameter"].unique():
            _mark_ties(metrics, details, metric, pair, n_resamples)
    return panels


def draw_invariance(metrics_path, description_path, figure_path, *, labels):
    """Heat maps target x nuisance of ``invariance_r2_difference``, one per model.

    Parameters
    ----------
    metrics_path : str or Path
        The dataset's metrics table (written by :func:`gather_metrics`).
    description_path : str or Path
        The dataset's ``parameters.json`` (factor order and labels).
    figure_path : str or Path
    labels : dict
        Model id -> name in the figure.
    """
    from gear import figures

    metrics = pd.read_csv(metrics_path)
    metrics["model"] = metrics["model"].map(lambda model_id: labels.get(model_id, model_id))
    figure = figures.plot_invariance(metrics, read_description(description_path).parameters)
    figures.save_figure(figure, [str(figure_path)])


# Human timbre alignment: the data once, every model's per-anchor scores,
# then one table across models (gear.timbre, gear.analysis.alignment).

#: Columns of a model's per-anchor alignment table.
ANCHOR_COLUMNS = timbre.ANCHOR_COLUMNS


def fetch_timbre(record_path, *, mode=None, lock=None):
    """Fetch the human timbre data (once, into GEAR's cache); record where it is, or why it is missing.

    Parameters
    ----------
    record_path : str or Path
        Output JSON: ``available``, ``root`` (the folder to read the data
        from) and ``reason`` (one line, None when available).
    mode, lock
        As for :func:`gear.fetch.fetch`.
    """
    from gear.errors import FetchError
    from gear.timbre import fetch_timbre_data

    try:
        root = fetch_timbre_data(mode=mode, lock=lock)
    except FetchError as error:
        logger.warning("human timbre data unavailable: %s", error)
        record = {"available": False, "root": None, "reason": f"human timbre data unavailable: {error}"}
    else:
        record = {"available": True, "root": str(root), "reason": None}
    save_json(record_path, record)


def align_timbre(
    data_record_path,
    status_path,
    anchors_path,
    stats_path,
    *,
    model_id,
    module_name,
    weights=None,
    fetched=None,
    datasets=None,
    distances=None,
    device="auto",
):
    """One model's alignment with human dissimilarity ratings, per anchor sound.

    Each sound is embedded alone, at its own length, resampled to the
    model's rate (:func:`gear.timbre.embed_timbre_sounds`); every distance
    is scored per anchor (:func:`gear.analysis.alignment.anchor_scores`).

    Parameters
    ----------
    data_record_path : str or Path
        Written by :func:`fetch_timbre`.
    status_path : str or Path
        The model's availability (:func:`check_model`).
    anchors_path : str or Path
        Output CSV, columns :data:`ANCHOR_COLUMNS` (no rows when the data
        or the model is unavailable).
    stats_path : str or Path
        Output JSON: ``model``, ``available``, ``reason`` (one line, naming
        the dataset and file where the model failed), ``n_sounds``, ``dim``,
        ``seconds``.
    model_id, module_name, weights, fetched, device
        As for :func:`embed`.
    datasets : sequence of str or None
        Default: all of :data:`gear.timbre.TIMBRE_DATASETS`.
    distances : sequence of str or None
        Default: :data:`gear.analysis.alignment.DISTANCES`.
    """
    with open(data_record_path) as file:
        data = json.load(file)
    with open(status_path) as file:
        status = json.load(file)
    stats = {"model": model_id, "available": False, "reason": None, "n_sounds": 0, "dim": None, "seconds": 0.0}
    table = pd.DataFrame(columns=ANCHOR_COLUMNS)
    if not data["available"]:
        stats["reason"] = data["reason"]
    elif not status["available"]:
        stats["reason"] = f"model unavailable: {status['reason']}"
    else:
        from gear import hear

        start = time.perf_counter()
        try:
            module = hear.load_hear_module(module_name)
            model = hear.load_model(module, fetched_weights(fetched, weights), model_id=model_id, device=device)
            table = timbre.timbre_anchor_scores(module, model, data["root"], datasets=datasets, distances=distances,
                                                model_id=model_id)  # fmt: skip
        except (ModelError, DataError) as error:
            logger.warning("%s: no human timbre alignment: %s", model_id, error)
            stats["reason"] = str(error)
        else:
            stats.update(available=True, n_sounds=int(table["sound"].groupby(table["dataset"]).nunique().sum()),
                         dim=int(model.scene_embedding_size))  # fmt: skip
        stats["seconds"] = time.perf_counter() - start
    save_table(anchors_path, table)
    save_json(stats_path, stats)


def summarize_timbre(anchors_paths, stats_paths, table_path, *, n_resamples=1000, seed=0):
    """Every model's alignment scores, per dataset and pooled, with intervals and ties.

    Parameters
    ----------
    anchors_paths, stats_paths : dict
        Model id -> the outputs of :func:`align_timbre`.
    table_path : str or Path
        Output CSV, tidy: ``model``, ``dataset`` (each, then ``pooled``),
        ``distance``, ``metric``, ``value``, ``ci_low``, ``ci_high``,
        ``tied_with_best`` (pooled rows: the paired bootstrap against the
        best model, :func:`gear.analysis.alignment.tied_with_best`), and
        ``unavailable`` (the reason, on one row per model without scores).
    n_resamples, seed
        Of the bootstrap: the same resamples for every model.
    """
    from gear.analysis.alignment import pooled_scores, tied_with_best

    columns = ["model", "dataset", "distance", "metric", "value", "ci_low", "ci_high", "tied_with_best", "unavailable"]
    anchors, rows, missing = {}, [], []
    for model_id, path in anchors_paths.items():
        with open(stats_paths[model_id]) as file:
            stats = json.load(file)
        if not stats["available"]:
            missing.append({"model": model_id, "unavailable": stats["reason"]})
            continue
        table = pd.read_csv(path)
        for distance, part in table.groupby("distance", sort=False):
            anchors.setdefault(distance, {})[model_id] = {
                name: scores.reset_index(drop=True) for name, scores in part.groupby("dataset", sort=False)
            }
    for distance, by_model in anchors.items():
        for model_id, by_dataset in by_model.items():
            scores = pooled_scores(by_dataset, n_resamples=n_resamples, seed=seed)
            rows.append(scores.rename(columns={"low": "ci_low", "high": "ci_high"}).assign(model=model_id,
                                                                                           distance=distance))  # fmt: skip
    result = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
    result["tied_with_best"] = pd.array([pd.NA] * len(result), dtype="boolean")
    for distance, by_model in anchors.items():
        for metric in result["metric"].unique():
            for model_id, tied in tied_with_best(by_model, metric, n_resamples=n_resamples, seed=seed).items():
                where = (result["model"] == model_id) & (result["distance"] == distance) & (result["metric"] == metric)
                result.loc[where & (result["dataset"] == "pooled"), "tied_with_best"] = tied
    result["unavailable"] = pd.Series([pd.NA] * len(result), dtype="string")
    if missing:
        result = pd.concat([result, pd.DataFrame(missing, columns=columns)], ignore_index=True)
    save_table(table_path, result[columns])


def draw_timbre(table_path, figure_paths, *, labels):
    """The pooled alignment figure and the per-study figure.

    Parameters
    ----------
    table_path : str or Path
        Written by :func:`summarize_timbre`.
    figure_paths : list of str
        The pooled figure's PNG, the per-study figure's PNG, then each in
        the extra formats (``alignment.pdf``, ``datasets.pdf``, ...), told
        apart by their names.
    labels : dict
        Model id -> display name.
    """
    from gear import figures

    table = pd.read_csv(table_path)
    pooled = [str(path) for path in figure_paths if "datasets" not in str(path).rsplit("/", 1)[-1]]
    per_study = [str(path) for path in figure_paths if "datasets" in str(path).rsplit("/", 1)[-1]]
    figures.save_figure(figures.plot_timbre_alignment(table, labels), pooled)
    figures.save_figure(figures.plot_timbre_datasets(table, labels), per_study)


#: The synthetic headline put against the human alignment: the mean over factors of the MLP probe's R^2.
SYNTHETIC_HEADLINE = "mlp_r2"


def draw_synthetic_vs_human(metrics_paths, timbre_path, figure_paths, *, labels, distance="l2", metric="spearman"):
    """Each model's synthetic-factor headline against its human alignment, per synthetic dataset.

    Parameters
    ----------
    metrics_paths : dict
        Dataset id -> ``results/metrics/{dataset}.csv``.
    timbre_path : str or Path
        ``results/timbre/scores.csv``.
    figure_paths : list of str
    labels : dict
    distance, metric : str
        The alignment score on the vertical axis (pooled).
    """
    from gear import figures

    timbre = pd.read_csv(timbre_path)
    human = timbre[(timbre["dataset"] == "pooled") & (timbre["distance"] == distance) & (timbre["metric"] == metric)]
    human = human.set_index("model")[["value", "ci_low", "ci_high"]]
    rows = []
    for dataset, path in metrics_paths.items():
        metrics = pd.read_csv(path)
        headline = metrics[metrics["metric"] == SYNTHETIC_HEADLINE].groupby("model", sort=False)["value"].mean()
        for model_id, value in headline.items():
            if model_id in human.index:
                found = human.loc[model_id]
                rows.append({"dataset": dataset, "model": model_id, "synthetic": value, "synthetic_low": np.nan,
                             "synthetic_high": np.nan, "human": found["value"], "human_low": found["ci_low"],
                             "human_high": found["ci_high"]})  # fmt: skip
    points = pd.DataFrame(rows, columns=["dataset", "model", "synthetic", "synthetic_low", "synthetic_high", "human",
                                         "human_low", "human_high"])  # fmt: skip
    if points.empty:
        reasons = timbre[timbre["unavailable"].notna()]
        figure = figures.plot_timbre_alignment(reasons if len(reasons) else timbre, labels)
    else:
        figure = figures.plot_synthetic_vs_human(
            points, synthetic_label="mean MLP probe R$^2$ over the synthetic factors",
            human_label=f"human timbre alignment ({metric}, {distance})", labels=labels)  # fmt: skip
    figures.save_figure(figure, [str(path) for path in figure_paths])
