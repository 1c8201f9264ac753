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

from gear import hear
from gear.datasets import make_dataset
from gear.errors import DataError, ModelError
from gear.io import atomic_path, load_array, load_params, read_audio, save_array, save_table, write_audio
from gear.manifold import isomap
from gear.parameters import read_description, write_description
from gear.regression import knn_regression, summarize

__all__ = [
    "record_provenance",
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
    "save_json",
]

logger = logging.getLogger(__name__)


def save_json(path, data):
    """Write a JSON file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def record_provenance(record_path, config, description_paths, root=None):
    """Write ``provenance.json``: the config, each dataset's parameters, versions, commit.

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
    """
    from gear.provenance import provenance

    record = provenance(config, root)
    record["datasets"] = {
        dataset: read_description(path).to_dict() for dataset, path in description_paths.items()
    }
    save_json(record_path, record)


def check_model(status_path, *, model_id, module_name, weights=None, strict=False):
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

    Raises
    ------
    ModelError
        If the model cannot be loaded and ``strict`` is True.
    """
    status = {"model": model_id, "module": module_name, "available": True, "reason": None}
    start = time.perf_counter()
    try:
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
    """One table of extraction time and peak memory per (dataset, model).

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
               "seconds", "sounds_per_second", "peak_rss_mb"]  # fmt: skip
    save_table(table_path, pd.DataFrame(rows, columns=columns))


def synthesize(spec, params_path, description_path, audio_dir, *, dataset_id="dataset"):
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
    """
    start = time.perf_counter()
    dataset = make_dataset(spec, dataset_id)
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
):
    """Scene embeddings of every sound of a dataset by one HEAR model.

    Parameters
    ----------
    params_path, audio_dir : str or Path
        The dataset.
    embedding_path : str or Path
        Output ``.npy``, float32 (n_sounds, dim), rows in ``params.csv`` order.
    stats_path : str or Path
        Output JSON: time, throughput, peak memory, sample rates.
    model_id, module_name : str
    weights : str or None
    batch_size : int
    resample : bool
        Resample from the files' rate to the model's (``harmonic``); if
        False, the samples are read at the model's rate (``gear2023``).
    """
    params = load_params(params_path)
    audio, file_rate = read_audio(audio_dir, params["sound_id"])
    module = hear.load_hear_module(module_name)
    model = hear.load_model(module, weights, model_id=model_id)
    model_rate = int(model.sample_rate)
    if resample and file_rate != model_rate:
        logger.info("resampling %d sounds from %d Hz to %d Hz", len(audio), file_rate, model_rate)
        audio = hear.resample_audio(audio, file_rate, model_rate)
    start = time.perf_counter()
    embeddings = hear.embed_scenes(
        module, model, audio, batch_size=batch_size, model_id=model_id, sound_ids=list(params["sound_id"])
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
        "seconds": seconds,
        "sounds_per_second": embeddings.shape[0] / seconds if seconds > 0 else None,
        # ru_maxrss is in KiB on Linux: the whole job's peak, loading included.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    save_json(stats_path, stats)
    logger.info("%s: %d x %d embeddings in %.1f s", model_id, *embeddings.shape, seconds)


def reduce_isomap(embedding_path, coordinates_path, summary_path, *, n_neighbors, **options):
    """Isomap coordinates of one embedding set, with graph diagnostics.

    ``options`` (``n_components``, ``disconnected``, ``method``,
    ``n_landmarks``, ``neighbors``) go to :func:`gear.manifold.isomap`.
    """
    embeddings = load_array(embedding_path)
    result = isomap(embeddings, n_neighbors, **options)
    save_array(coordinates_path, result.coordinates)
    save_json(summary_path, {"n_neighbors": n_neighbors, **result.summary()})


def regress(embedding_path, params_path, description_path, table_path, *, n_neighbors, leave_one_out):
    """The paper's K-NN regression for one model: one row per sound."""
    embeddings = load_array(embedding_path)
    params = load_params(params_path)
    parameters = read_description(description_path).parameters
    table = knn_regression(embeddings, params, parameters, n_neighbors, include_self=not leave_one_out)
    save_table(table_path, table)


def summarize_regressions(table_paths, description_path, summary_path, unavailable=None):
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
    """
    parameters = read_description(description_path).parameters
    summaries = []
    for model_id, path in table_paths.items():
        summary = summarize(pd.read_csv(path, dtype={"sound_id": str}), parameters)
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


def draw_regression(table_paths, description_path, figure_paths, *, labels, unavailable=None):
    """Figure 4: distribution of the K-NN regression ratio (or error) per model."""
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
    figure = figures.plot_regression_ratios(ratios, parameters, unavailable=unavailable)
    figures.save_figure(figure, _figure_paths(figure_paths))


def write_view(coordinates_path, params_path, description_path, view_path, *, title, point_size=3):
    """Interactive 3-D view of one model's Isomap coordinates (self-contained HTML)."""
    from gear.views import isomap_view

    params = load_params(params_path)
    parameters = read_description(description_path).parameters
    html = isomap_view(load_array(coordinates_path), params, parameters, title=title, point_size=point_size)
    with atomic_path(view_path) as tmp:
        tmp.write_text(html)


def measure(embedding_path, coordinates_path, params_path, description_path, table_path, *, dataset, model_id):
    """Disentanglement metrics of one model on one dataset (tidy CSV)."""
    from gear.metrics import compute_metrics

    start = time.perf_counter()
    parameters = read_description(description_path).parameters
    table = compute_metrics(
        load_array(embedding_path), load_array(coordinates_path), load_params(params_path), parameters=parameters
    )
    table.insert(0, "model", model_id)
    table.insert(0, "dataset", dataset)
    save_table(table_path, table)
    logger.info("%s on %s: %d metrics in %.1f s", model_id, dataset, len(table), time.perf_counter() - start)


def gather_metrics(table_paths, description_path, metrics_path, scorecard_path, *, labels, unavailable=None):
    """One dataset's metrics table, and its scorecard (leave-one-out K-NN R^2).

    The K-NN R^2 is the headline: linear probes on thousands of dimensions
    saturate near 1 for every factor on these grids, while the K-NN R^2
    tells how well neighbourhoods in the embedding keep each factor.

    Unavailable models appear in the table as rows of metric
    ``unavailable`` whose value is empty, with the reason in ``parameter``.
    """
    from gear import figures
    from gear.metrics import scorecard

    tables = [pd.read_csv(path) for path in table_paths.values()]
    columns = ["dataset", "model", "parameter", "metric", "value"]
    metrics = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    dataset = metrics["dataset"].iloc[0] if len(metrics) else ""
    missing = pd.DataFrame(
        [{"dataset": dataset, "model": m, "parameter": reason, "metric": "unavailable", "value": np.nan}
         for m, reason in (unavailable or {}).items()],
        columns=columns,
    )  # fmt: skip
    save_table(metrics_path, pd.concat([metrics, missing], ignore_index=True) if len(missing) else metrics)
    parameters = read_description(description_path).parameters
    scores = scorecard(metrics, "knn_r2", [p.name for p in parameters]).rename(index=labels)
    scores.columns = [p.label for p in parameters]
    for model_id in unavailable or {}:
        scores.loc[f"{labels.get(model_id, model_id)} (unavailable)"] = np.nan
    title = "Leave-one-out 10-NN R$^2$ per factor (rank); 1 = neighbours share the factor"
    figures.save_figure(figures.plot_scorecard(scores, title=title), [str(scorecard_path)])
