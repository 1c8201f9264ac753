"""Figures of the paper, built on :class:`matplotlib.figure.Figure`.

Every function returns a new figure and never touches pyplot's global
state, so the module is safe in Snakemake jobs without a display.

* :func:`plot_sound_grid`: waveforms and spectra over a grid of two
  synthesis parameters (Figure 2).
* :func:`plot_isomap_grid`: 3-D Isomap embeddings per model, coloured
  by each synthesis parameter (Figure 3).
* :func:`plot_regression_ratios`: distributions of the K-NN regression
  ratio per model and parameter (Figure 4), with each median's interval.
* :func:`plot_scorecard`, :func:`plot_scorecards`: models x parameters
  heat maps of scores, with intervals and ties with the best marked.
* :func:`plot_sweep_profiles`: embedding distance along one-parameter
  sweeps, per parameter and model.
* :func:`save_figure`: atomic writes to PNG and PDF.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import cbook, colormaps, patheffects
from matplotlib.cm import ScalarMappable
from matplotlib.colors import FuncNorm, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator, NullLocator

from gear.errors import ConfigError, DataError
from gear.io import atomic_path
from gear.parameters import Parameter, as_parameters
from gear.scales import from_scale, to_scale

__all__ = [
    "ERROR_LIMITS",
    "INTERVAL_LEVEL",
    "ISOMAP_CMAP",
    "MAX_ISOMAP_COLUMNS",
    "NO_SWEEPS",
    "clipped_fractions",
    "cube_limits",
    "grid_values",
    "model_colors",
    "parameter_label",
    "plot_isomap_grid",
    "plot_regression_ratios",
    "plot_scorecard",
    "plot_scorecards",
    "plot_sound_grid",
    "plot_sweep_profiles",
    "ratio_ticks",
    "save_figure",
    "select_grid_sounds",
    "short_reason",
]

#: Diverging red-white-blue colour map of Figure 3.
ISOMAP_CMAP = "coolwarm"

#: Confidence level of the intervals and tie tests shown, for legends and footnotes.
INTERVAL_LEVEL = 0.95

_SAVE_DPI = 150
_SAVE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}

_WAVE_COLOR = "tab:blue"
_SPECTRUM_COLOR = "tab:red"


def parameter_label(parameter: Parameter | str) -> str:
    """Label of a synthesis parameter for titles and axis labels.

    Parameters
    ----------
    parameter : Parameter or str
        A parameter (its declared ``label``, matplotlib mathtext allowed)
        or a plain name.

    Returns
    -------
    label : str
    """
    return parameter.label if isinstance(parameter, Parameter) else str(parameter)


def _require_columns(table: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{name} lacks column(s) {missing}; it has {list(table.columns)}")


# --------------------------------------------------------------------------
# Figure 2: grid of sounds
# --------------------------------------------------------------------------


def _spread(values: np.ndarray, n: int) -> np.ndarray:
    """Pick ``min(n, len(values))`` entries evenly spread, ends included."""
    n = min(n, len(values))
    return values[np.round(np.linspace(0, len(values) - 1, n)).astype(int)]


def grid_values(params: pd.DataFrame, grid: Sequence[str], n_rows: int, n_cols: int):
    """The values of the sound grid's rows and columns.

    Parameters
    ----------
    params : pandas.DataFrame
    grid : (str, str)
    n_rows, n_cols : int > 0

    Returns
    -------
    row_values : np.ndarray [shape=(min(n_rows, n_distinct),)]
        ``n_rows`` distinct values of ``grid[0]`` evenly spread in rank,
        smallest and largest included.
    col_values : np.ndarray [shape=(min(n_cols, n_distinct),)]
    """
    return (
        _spread(np.unique(params[grid[0]].to_numpy(dtype=float)), n_rows),
        _spread(np.unique(params[grid[1]].to_numpy(dtype=float)), n_cols),
    )


def select_grid_sounds(
    params: pd.DataFrame,
    grid: Sequence[str],
    n_rows: int = 5,
    n_cols: int = 5,
    nearest: bool = False,
) -> np.ndarray:
    """Choose one sound per cell of a grid over two parameters.

    Columns take ``n_cols`` values evenly spread over the sorted unique
    values of ``grid[1]`` (increasing left to right); rows take ``n_rows``
    values of ``grid[0]`` likewise (increasing top to bottom). Each cell
    holds the first sound, in row order of ``params``, with exactly that
    pair of values, whatever its other parameters; with ``nearest``, the
    sound closest to the pair (distances relative to each parameter's
    span), for designs whose pairs never repeat (random, quasi-random).

    Parameters
    ----------
    params : pandas.DataFrame
        One row per sound, with the columns named in ``grid``.
    grid : (str, str)
        Parameters down rows and across columns.
    n_rows, n_cols : int > 0
        Requested grid size. If a parameter has fewer distinct values,
        each of them is used once and the grid is smaller.
    nearest : bool
        Take the nearest sound where no sound has the exact pair.

    Returns
    -------
    index : np.ndarray [shape=(n_rows', n_cols'), dtype=int]
        Positional row indices into ``params`` (not labels), ``-1``
        where no sound has that pair.

    Raises
    ------
    DataError
        If a column is missing, holds NaN, or ``params`` is empty.
    ConfigError
        If ``n_rows`` or ``n_cols`` is not positive, or ``grid`` does not
        name two parameters.
    """
    if n_rows < 1 or n_cols < 1:
        raise ConfigError(f"grid size must be positive, got {n_rows} x {n_cols}")
    if len(grid) != 2:
        raise ConfigError(f"the sound grid needs two parameters (rows, columns), got {list(grid)}")
    row_name, col_name = grid
    _require_columns(params, grid, "params")
    if len(params) == 0:
        raise DataError("params is empty: no sound to plot")
    down = params[row_name].to_numpy(dtype=float)
    across = params[col_name].to_numpy(dtype=float)
    if np.isnan(down).any() or np.isnan(across).any():
        raise DataError(f"params has NaN in column {row_name!r} or {col_name!r}")

    row_values, col_values = grid_values(params, grid, n_rows, n_cols)
    spans = [np.ptp(down) or 1.0, np.ptp(across) or 1.0]
    index = np.full((len(row_values), len(col_values)), -1, dtype=int)
    for i, a in enumerate(row_values):
        for j, v in enumerate(col_values):
            # Values come from the columns themselves, so exact equality is safe.
            hits = np.flatnonzero((down == a) & (across == v))
            if hits.size:
                index[i, j] = hits[0]
            elif nearest:
                index[i, j] = int(np.argmin(np.abs(down - a) / spans[0] + np.abs(across - v) / spans[1]))
    return index


def _spectrum_limit(spectra: np.ndarray, freqs: np.ndarray) -> float:
    """Frequency below which (nearly) all displayed energy lies.

    Harmonic sounds with a low f1 crowd the left of a full-band axis;
    zooming on 99.9 % of the energy keeps the partials readable.
    """
    energy = spectra**2
    total = energy.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    cumulative = np.cumsum(energy, axis=1) / total
    last = [int(np.searchsorted(c, 0.999)) for c in cumulative]
    k = min(int(np.ceil(1.1 * max(last))) + 1, len(freqs) - 1)
    return float(freqs[max(k, 1)])


def plot_sound_grid(
    audio: np.ndarray,
    params: pd.DataFrame,
    parameters: Sequence[Parameter | str],
    grid: Sequence[str],
    sample_rate: float | None = None,
    n_rows: int = 5,
    n_cols: int = 5,
    nearest: bool = False,
    cells: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Figure:
    """Waveforms and magnitude spectra over a grid of two parameters (Fig. 2).

    Each cell stacks the waveform (blue, top) over the Fourier magnitude
    ``|rfft|`` (red, bottom) of the sound chosen by
    :func:`select_grid_sounds`; ``grid[1]`` increases across columns,
    ``grid[0]`` down rows, and each cell is titled with the sound's other
    parameters. Time and frequency axes are shared across cells.

    Parameters
    ----------
    audio : np.ndarray [shape=(n_sounds, n_samples)]
        Waveforms, real-valued.
    params : pandas.DataFrame
        One row per sound, same order as ``audio``, with a column per
        parameter (``sound_id`` is not needed).
    parameters : sequence of Parameter or str
        Every parameter of the dataset (labels and the cells' titles).
    grid : (str, str)
        The parameters down rows and across columns.
    sample_rate : float > 0 or None
        If None, x axes are in samples and frequency bins (cycles per
        frame); otherwise in seconds and Hz.
    n_rows, n_cols : int > 0
        Grid size, see :func:`select_grid_sounds`.
    nearest : bool
        See :func:`select_grid_sounds`.
    cells : (index, row_values, col_values) or None
        The grid chosen beforehand on a larger table (positions into
        ``params``, -1 for empty cells, and the grid's values), so that
        only the sounds shown need be read; by default it is chosen here.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    DataError
        If ``audio`` is not 2-D, has fewer than 2 samples, or its length
        differs from ``params``.
    ConfigError
        If ``sample_rate`` is not positive.
    """
    audio = np.asarray(audio, dtype=float)
    if audio.ndim != 2:
        raise DataError(f"audio must be (n_sounds, n_samples), got shape {audio.shape}")
    if audio.shape[1] < 2:
        raise DataError(f"audio must have at least 2 samples per sound, got {audio.shape[1]}")
    if audio.shape[0] != len(params):
        raise DataError(f"audio has {audio.shape[0]} sounds but params has {len(params)} rows")
    if sample_rate is not None and not sample_rate > 0:
        raise ConfigError(f"sample_rate must be positive, got {sample_rate}")
    parameters = {p.name: p for p in as_parameters(parameters)}
    _require_columns(params, list(parameters), "params")
    if cells is None:
        index = select_grid_sounds(params, grid, n_rows, n_cols, nearest=nearest)
        row_values, col_values = grid_values(params, grid, n_rows, n_cols)
    else:
        index, row_values, col_values = cells
    n_rows, n_cols = index.shape
    row_parameter, col_parameter = (parameters.get(name, name) for name in grid)
    others = [p for name, p in parameters.items() if name not in grid][:3]

    n_samples = audio.shape[1]
    if sample_rate is None:
        times = np.arange(n_samples, dtype=float)
        freqs = np.arange(n_samples // 2 + 1, dtype=float)
        time_unit, freq_unit = "samples", "bins"
    else:
        times = np.arange(n_samples) / sample_rate
        freqs = np.fft.rfftfreq(n_samples, d=1.0 / sample_rate)
        time_unit, freq_unit = "s", "Hz"

    chosen = index[index >= 0]
    spectra = np.nan_to_num(np.abs(np.fft.rfft(audio[chosen], axis=1)))
    if len(chosen) and len(freqs) > 1:
        f_max = _spectrum_limit(spectra, freqs)
    else:
        f_max = float(freqs[-1]) or 1.0

    fig = Figure(figsize=(2.3 * n_cols + 0.8, 2.1 * n_rows + 0.9))
    # Fixed margins (not a layout engine) so row/column labels can be
    # placed from the grid geometry and never collide with the panels.
    outer = fig.add_gridspec(
        n_rows,
        n_cols,
        left=0.7 / fig.get_figwidth() + 0.03,
        right=0.99,
        top=1 - 0.75 / fig.get_figheight(),
        bottom=0.5 / fig.get_figheight(),
        wspace=0.12,
        hspace=0.4,
    )
    share_time = share_freq = None
    for i in range(n_rows):
        for j in range(n_cols):
            inner = outer[i, j].subgridspec(2, 1, hspace=0.25)
            ax_t = fig.add_subplot(inner[0], sharex=share_time)
            ax_f = fig.add_subplot(inner[1], sharex=share_freq)
            share_time = share_time or ax_t
            share_freq = share_freq or ax_f
            ax_t.set_label(f"waveform[{i},{j}]")
            ax_f.set_label(f"spectrum[{i},{j}]")
            for ax in (ax_t, ax_f):
                ax.tick_params(labelsize=6, length=2, pad=1)
                ax.set_yticks([])
                # Few ticks: labels of neighbouring columns must not touch.
                ax.xaxis.set_major_locator(MaxNLocator(4))
            if i < n_rows - 1:
                ax_t.tick_params(labelbottom=False)
                ax_f.tick_params(labelbottom=False)
            else:
                ax_f.set_xlabel(f"frequency ({freq_unit})", fontsize=7, labelpad=1)

            k = index[i, j]
            if k < 0:
                ax_t.text(
                    0.5,
                    0.5,
                    "no sound",
                    transform=ax_t.transAxes,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="0.5",
                )
            else:
                wave = audio[k]
                ax_t.plot(times, wave, color=_WAVE_COLOR, lw=0.4)
                peak = np.nanmax(np.abs(wave)) if np.isfinite(wave).any() else 0.0
                ax_t.set_ylim(-1.05 * peak - 1e-12, 1.05 * peak + 1e-12)
                spec = np.nan_to_num(np.abs(np.fft.rfft(wave)))
                ax_f.plot(freqs, spec, color=_SPECTRUM_COLOR, lw=0.6)
                ax_f.set_ylim(0, 1.08 * spec.max() + 1e-12)
                title = ", ".join(f"{parameter_label(p)} = {params[p.name].iloc[k]:.4g}" for p in others)
                ax_t.set_title(title, fontsize=7, pad=2)
            ax_t.set_xlim(times[0], times[-1])
            ax_f.set_xlim(0, f_max)

            if i == 0:
                box = outer[0, j].get_position(fig)
                fig.text(
                    (box.x0 + box.x1) / 2,
                    box.y1 + 0.3 / fig.get_figheight(),
                    f"{parameter_label(col_parameter)} = {col_values[j]:.3g}",
                    ha="center",
                    va="bottom",
                    fontsize=9,
                )
            if j == 0:
                box = outer[i, 0].get_position(fig)
                fig.text(
                    box.x0 - 0.12 / fig.get_figwidth(),
                    (box.y0 + box.y1) / 2,
                    f"{parameter_label(row_parameter)} = {row_values[i]:.3g}",
                    ha="right",
                    va="center",
                    rotation=90,
                    fontsize=9,
                )
    fig.suptitle(
        f"waveform (blue, time in {time_unit}) over" f" Fourier magnitude (red, frequency in {freq_unit})",
        fontsize=9,
        y=1 - 0.08 / fig.get_figheight(),
        va="top",
    )
    return fig


# --------------------------------------------------------------------------
# Figure 3: Isomap embeddings
# --------------------------------------------------------------------------


def cube_limits(points: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """Axis limits of a cube centred on a point cloud.

    Parameters
    ----------
    points : np.ndarray [shape=(n_points, 3)]
        Coordinates; non-finite rows are ignored.
    margin : float >= 0
        Relative padding added to the half-side.

    Returns
    -------
    limits : np.ndarray [shape=(3, 2)]
        ``(low, high)`` per axis, all with the same span.
    """
    finite = points[np.isfinite(points).all(axis=1)]
    if len(finite) == 0:
        return np.tile([-1.0, 1.0], (3, 1))
    low, high = finite.min(axis=0), finite.max(axis=0)
    centre = (low + high) / 2
    half = (1 + margin) * (high - low).max() / 2
    if half == 0:
        half = 1.0
    return np.stack([centre - half, centre + half], axis=1)


def _color_norm(parameter: Parameter, values: np.ndarray) -> Normalize:
    """Colour scale following the parameter's analysis scale.

    A log-scaled parameter spanning more than a factor 4 gets a log
    colour scale, a mel, ERB or semitone one a colour scale even on that
    scale; anything else is linear.
    """
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return Normalize(0.0, 1.0)
    vmin, vmax = float(finite.min()), float(finite.max())
    if parameter.scale == "log" and vmin > 0 and vmax > 4 * vmin:
        return LogNorm(vmin, vmax)
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    if parameter.scale in ("mel", "erb", "semitones") and vmin > 0:
        scale = parameter.scale
        return FuncNorm((lambda x: to_scale(x, scale), lambda y: from_scale(y, scale)), vmin, vmax)
    return Normalize(vmin, vmax)


def _log_ticks(vmin: float, vmax: float) -> np.ndarray:
    """1-2-5 ticks within ``[vmin, vmax]``; default log labels overlap."""
    decades = np.arange(np.floor(np.log10(vmin)), np.ceil(np.log10(vmax)) + 1)
    ticks = (10.0 ** decades[:, None] * np.array([1, 2, 5])).ravel()
    ticks = ticks[(ticks >= vmin * (1 - 1e-9)) & (ticks <= vmax * (1 + 1e-9))]
    if len(ticks) < 2:
        ticks = np.array([vmin, vmax])
    return ticks


def short_reason(reason: str, width: int = 100) -> str:
    """The gist of why a model is unavailable, on one line of a figure.

    Drops the prefixes that name the model and the exception type (the row
    already names the model) and keeps the first sentence, shortened to
    ``width`` characters; the full reason is in ``results/models/``.

    Parameters
    ----------
    reason : str
    width : int

    Returns
    -------
    gist : str
    """
    gist = " ".join(reason.split())
    # Nested messages: "model 'x': loading failed: ModelError: x: ...".
    prefix = re.compile(r"^(model '[^']*'|loading failed|[A-Za-z]*Error|[\w.-]+):\s")
    while prefix.match(gist):
        gist = prefix.sub("", gist, count=1)
    sentence = re.split(r"(?<=[.;])\s", gist, maxsplit=1)[0]
    return textwrap.shorten(sentence, width=width, placeholder=" ...")


#: Parameters per band of Figure 3; more parameters wrap into further bands.
MAX_ISOMAP_COLUMNS = 4


def plot_isomap_grid(
    coordinates: Mapping[str, np.ndarray],
    params: pd.DataFrame,
    parameters: Sequence[Parameter | str],
    unavailable: Mapping[str, str] | None = None,
    point_size: float = 3,
    max_columns: int = MAX_ISOMAP_COLUMNS,
) -> Figure:
    """3-D Isomap embeddings, one row per model, one column per parameter (Fig. 3).

    Each panel scatters the same points coloured by one synthesis
    parameter with the ``coolwarm`` map, in a cube with equal spans so
    the geometry is not distorted. Colours follow each parameter's scale
    (log for a log-scaled one spanning more than a factor 4). A
    horizontal colorbar sits under each column. With more than
    ``max_columns`` parameters the columns wrap: the figure stacks bands
    of ``max_columns`` parameters, each with every model's row.

    Parameters
    ----------
    coordinates : dict {str: np.ndarray [shape=(n_sounds, 3)]}
        Isomap coordinates per model id; insertion order is row order.
        Rows follow the order of ``params``.
    params : pandas.DataFrame
        One row per sound, with a column per entry of ``parameters``.
    parameters : sequence of Parameter or str
        Parameters to colour by, one figure column each.
    unavailable : dict {str: str} or None
        Model id -> reason. Each gets a row, after the others, showing
        ``"unavailable: <reason>"`` instead of scatters. An id present in
        both dicts is shown as unavailable.
    point_size : float > 0
        Marker area in points².
    max_columns : int > 0
        Parameters per band.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Axes are labelled ``isomap:<model>:<parameter>``,
        ``colorbar:<parameter>`` and ``unavailable:<model>[:<band>]``.

    Raises
    ------
    DataError
        If a coordinate array is not ``(len(params), 3)`` (the message
        names the model) or ``params`` lacks a parameter column.
    ConfigError
        If ``parameters`` is empty.
    """
    unavailable = dict(unavailable or {})
    parameters = as_parameters(parameters)
    if not parameters:
        raise ConfigError("parameters is empty: nothing to colour by")
    _require_columns(params, [p.name for p in parameters], "params")
    n_sounds = len(params)
    models = {}
    for model, coords in coordinates.items():
        if model in unavailable:
            continue
        coords = np.asarray(coords, dtype=float)
        if coords.ndim != 2 or coords.shape != (n_sounds, 3):
            raise DataError(
                f"Isomap coordinates of model {model!r} have shape {coords.shape},"
                f" expected ({n_sounds}, 3) for {n_sounds} sounds"
            )
        models[model] = coords
    rows = list(models) + list(unavailable)
    bands = [parameters[i : i + max_columns] for i in range(0, len(parameters), max_columns)]
    n_cols = len(bands[0])

    norms = {p.name: _color_norm(p, params[p.name].to_numpy(dtype=float)) for p in parameters}

    # Heights in inches: per band a header, full panels for models, a strip
    # for unavailable ones, and a thin row for the colorbars.
    header, panel, strip, bar = 0.35, 2.8, 0.6, 0.16
    model_heights = [strip if m in unavailable else panel for m in rows]
    heights = []
    for _ in bands:
        heights += [header, *model_heights, bar, header / 2]
    heights = heights[:-1]
    fig = Figure(figsize=(panel * n_cols + 0.6, sum(heights) + 0.8))
    width, height = fig.get_figwidth(), fig.get_figheight()
    grid = fig.add_gridspec(
        len(heights),
        n_cols,
        height_ratios=heights,
        left=0.5 / width,
        right=1 - 0.1 / width,
        top=1 - 0.1 / height,
        bottom=0.4 / height,
        wspace=0.02,
        hspace=0.12,
    )
    row_of_band = 0
    for band_index, band in enumerate(bands):
        for j, parameter in enumerate(band):
            title = fig.add_subplot(grid[row_of_band, j])
            title.set_axis_off()
            title.text(0.5, 0.2, parameter_label(parameter), ha="center", va="bottom", fontsize=12,
                       transform=title.transAxes)  # fmt: skip
        for i, model in enumerate(rows):
            cell = row_of_band + 1 + i
            if model in unavailable:
                ax = fig.add_subplot(grid[cell, :])
                ax.set_label(f"unavailable:{model}" + (f":{band_index}" if band_index else ""))
                ax.set_axis_off()
                # A strip is too short for a rotated label: name the model inline.
                ax.text(
                    0.5,
                    0.5,
                    f"{model} \N{EM DASH} unavailable: {short_reason(unavailable[model])}",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    fontsize=10,
                    color="0.4",
                )
                continue
            box = grid[cell, 0].get_position(fig)
            fig.text(
                0.3 / width, (box.y0 + box.y1) / 2, model, rotation=90, ha="center", va="center", fontsize=10
            )
            coords = models[model]
            limits = cube_limits(coords)
            keep = np.isfinite(coords).all(axis=1)
            for j, parameter in enumerate(band):
                ax = fig.add_subplot(grid[cell, j], projection="3d")
                ax.set_label(f"isomap:{model}:{parameter.name}")
                ax.scatter(
                    *coords[keep].T,
                    c=params[parameter.name].to_numpy(dtype=float)[keep],
                    cmap=ISOMAP_CMAP,
                    norm=norms[parameter.name],
                    s=point_size,
                    linewidths=0,
                    depthshade=False,
                    rasterized=True,
                )
                ax.set_xlim(*limits[0])
                ax.set_ylim(*limits[1])
                ax.set_zlim(*limits[2])
                ax.set_box_aspect((1, 1, 1))
                ax.set_xticklabels([])
                ax.set_yticklabels([])
                ax.set_zticklabels([])
        bar_row = row_of_band + 1 + len(rows)
        for j, parameter in enumerate(band):
            cax = fig.add_subplot(grid[bar_row, j])
            cax.set_label(f"colorbar:{parameter.name}")
            # Shrink the colorbar to the central part of its cell.
            pos = cax.get_position()
            cax.set_position([pos.x0 + 0.15 * pos.width, pos.y0, 0.7 * pos.width, pos.height])
            norm = norms[parameter.name]
            colorbar = fig.colorbar(ScalarMappable(norm=norm, cmap=ISOMAP_CMAP), cax=cax, orientation="horizontal")
            if isinstance(norm, LogNorm):
                ticks = _log_ticks(norm.vmin, norm.vmax)
                colorbar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
                colorbar.ax.xaxis.set_minor_locator(NullLocator())
            if parameter.unit:
                colorbar.set_label(parameter.unit, fontsize=7, labelpad=1)
            colorbar.ax.tick_params(labelsize=7)
        row_of_band = bar_row + 2
    return fig


# --------------------------------------------------------------------------
# Figure 4: regression ratios
# --------------------------------------------------------------------------


def _fraction_label(value: float) -> str:
    """``1/3`` for 0.333..., ``2`` for 2.0, else ``%g``."""
    if value < 1:
        inverse = 1 / value
        if np.isclose(inverse, round(inverse)):
            return f"1/{round(inverse)}"
    elif np.isclose(value, round(value)):
        return f"{round(value)}"
    return f"{value:g}"


def ratio_ticks(ylim: tuple[float, float]) -> tuple[np.ndarray, list[str]]:
    """Ticks of the ratio axis: simple fractions within the limits.

    Parameters
    ----------
    ylim : (float, float)
        Positive axis limits.

    Returns
    -------
    ticks : np.ndarray [shape=(n_ticks,)]
    labels : list of str
        E.g. ``["1/3", "1/2", "1", "2", "3"]`` for ``(1/3, 3)``.
    """
    candidates = np.array([1 / 10, 1 / 5, 1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4, 5, 10], dtype=float)
    low, high = ylim
    ticks = candidates[(candidates >= low * (1 - 1e-9)) & (candidates <= high * (1 + 1e-9))]
    return ticks, [_fraction_label(t) for t in ticks]


def clipped_fractions(
    ratios: pd.DataFrame, ylim: tuple[float, float] = (1 / 3, 3), column: str = "ratio"
) -> pd.DataFrame:
    """Count ratios that fall outside the displayed range.

    Parameters
    ----------
    ratios : pandas.DataFrame
        Tidy table with columns ``model``, ``parameter``, ``ratio``.
    ylim : (float, float)
        Displayed range; values below ``ylim[0]`` (including zero and
        negative ratios, which a log axis cannot show) or above
        ``ylim[1]`` are clipped to the border.
    column : str
        The column counted (``"ratio"``, or ``"error"`` for parameters
        whose ratio means nothing).

    Returns
    -------
    counts : pandas.DataFrame
        One row per (model, parameter) in order of first appearance, with
        columns ``n`` (rows), ``n_nan`` (undefined ratios), ``n_below``,
        ``n_above`` and ``fraction_clipped`` = ``(n_below + n_above) /
        (n - n_nan)``, NaN when no ratio is defined.
    """
    _require_columns(ratios, ("model", "parameter", column), "ratios")
    low, high = ylim
    value = pd.to_numeric(ratios[column], errors="coerce").astype(float)
    frame = pd.DataFrame(
        {
            "model": ratios["model"].to_numpy(),
            "parameter": ratios["parameter"].to_numpy(),
            "n": 1,
            "n_nan": value.isna().to_numpy().astype(int),
            "n_below": (value < low).to_numpy().astype(int),
            "n_above": (value > high).to_numpy().astype(int),
        }
    )
    counts = frame.groupby(["model", "parameter"], sort=False, as_index=False).sum()
    defined = counts["n"] - counts["n_nan"]
    clipped = (counts["n_below"] + counts["n_above"]).astype(float)
    counts["fraction_clipped"] = np.where(defined > 0, clipped / defined.where(defined > 0, 1), np.nan)
    return counts


def _annotation(row: pd.Series | None) -> str:
    """Short per-model note: clipped share and undefined count."""
    if row is None or row["n"] == 0:
        return "no data"
    parts = []
    if row["n"] == row["n_nan"]:
        return f"all {row['n']} undefined"
    parts.append(f"{100 * row['fraction_clipped']:.0f}% clipped")
    if row["n_nan"]:
        parts.append(f"{row['n_nan']} undefined")
    return ", ".join(parts)


#: Displayed range of the normalized error, for parameters without a ratio.
ERROR_LIMITS = (-0.5, 0.5)


def plot_regression_ratios(
    ratios: pd.DataFrame,
    parameters: Sequence[Parameter | str],
    ylim: tuple[float, float] = (1 / 3, 3),
    unavailable: Mapping[str, str] | None = None,
    intervals: pd.DataFrame | None = None,
    level: float = INTERVAL_LEVEL,
) -> Figure:
    """Distributions of the K-NN regression ratio per model (Fig. 4).

    One panel per parameter; models run down the vertical axis (first at
    the top), the ratio estimated/true runs along a horizontal log axis
    limited to ``ylim`` with a dashed line at 1. A parameter whose ratio
    means nothing (``ratio_scale`` False: not a positive quantity) shows
    the normalized error ``(estimate - true) / range`` on a linear axis
    from -0.5 to 0.5 instead, with a dashed line at 0. Each model shows
    a jittered strip under a box plot (statistics of the ratio computed
    in log space). Values outside the axis are drawn on the border, and
    the right-hand axis of every panel reports per model the share
    clipped and the count of undefined values. With ``intervals``, each
    model's row also shows, above its box, the median as a black diamond
    with a horizontal bar over its bootstrap interval.

    Parameters
    ----------
    ratios : pandas.DataFrame
        Tidy table with columns ``model``, ``parameter``, ``ratio`` (and
        ``error`` for parameters without a ratio), one row per sound ×
        model × parameter. NaN values (e.g. true value 0) are dropped from
        the plot and counted.
    parameters : sequence of Parameter or str
        Parameters to plot, one panel each, in this order; names are
        taken as ratio-scale parameters.
    ylim : (float, float)
        Positive limits of the ratio axis.
    unavailable : dict {str: str} or None
        Model id -> reason; listed after the others and marked
        "unavailable" in every panel.
    intervals : pandas.DataFrame [shape=(n_models * n_parameters, 5)] or None
        Columns ``model``, ``parameter``, ``median``, ``low``, ``high``, at
        most one row per (model, parameter): the median of the ratio (of
        the normalized error for a parameter without ratio scale) and the
        ends of its bootstrap interval (NaN: the marker alone). Values
        outside the axis are drawn on its border.
    level : float
        Confidence level of the intervals, for the legend.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The ratio axes are labelled ``"ratio:<parameter>"``, the error
        axes ``"error:<parameter>"``; each median's errorbar container is
        labelled ``"median:<model>:<parameter>"``.

    Raises
    ------
    DataError
        If a column of ``ratios`` or ``intervals`` is missing, or
        ``intervals`` repeats a (model, parameter).
    ConfigError
        If ``ylim`` is not ``0 < low < 1 < high`` or ``parameters`` is empty.
    """
    low, high = ylim
    if not 0 < low < 1 < high:
        raise ConfigError(f"ylim must satisfy 0 < low < 1 < high, got {ylim}")
    parameters = as_parameters(parameters)
    if not parameters:
        raise ConfigError("parameters is empty: nothing to plot")
    unavailable = dict(unavailable or {})
    medians = _median_intervals(intervals)

    models = [m for m in pd.unique(ratios["model"]) if m not in unavailable]
    models += list(unavailable)
    n_models = max(len(models), 1)
    positions = np.arange(len(models))
    rng = np.random.default_rng(0)  # fixed jitter: reproducible figures

    # With intervals, each row holds the median's bar above a narrower box.
    row_height, box_width, spread = (0.55, 0.42, 0.2) if medians is not None else (0.42, 0.55, 0.28)
    fig = Figure(
        figsize=(4.0 * len(parameters) + 1.5, row_height * n_models + (1.6 if medians is not None else 1.3)),
        layout="constrained",
    )
    axes = fig.subplots(1, len(parameters), sharey=True, squeeze=False)[0]
    for ax, parameter in zip(axes, parameters):
        if parameter.ratio_scale:
            column, limits, centre = "ratio", ylim, 1.0
            ax.set_label(f"ratio:{parameter.name}")
            ax.set_xscale("log")
            ax.set_xticks(*ratio_ticks(ylim))
            ax.set_xlabel("estimated / true")
        else:
            column, limits, centre = "error", ERROR_LIMITS, 0.0
            ax.set_label(f"error:{parameter.name}")
            ax.set_xlabel("(estimated - true) / range")
        ax.set_xlim(*limits)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.axvline(centre, color="0.3", ls="--", lw=0.8, zorder=1)
        ax.set_title(parameter_label(parameter))
        ax.grid(axis="y", color="0.92", lw=0.6)
        counts = clipped_fractions(ratios, limits, column) if column in ratios else None
        value = pd.to_numeric(ratios[column], errors="coerce").astype(float) if column in ratios else None

        notes = []
        for y, model in zip(positions, models):
            if model in unavailable:
                ax.text(
                    centre,
                    y,
                    "unavailable",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="0.45",
                    style="italic",
                    bbox=dict(fc="white", ec="none", pad=1),
                )
                notes.append("unavailable")
                continue
            if counts is None:
                notes.append("no data")
                continue
            mask = (ratios["model"] == model) & (ratios["parameter"] == parameter.name)
            row = counts[(counts["model"] == model) & (counts["parameter"] == parameter.name)]
            notes.append(_annotation(row.iloc[0] if len(row) else None))
            values = value[mask].dropna().to_numpy()
            if len(values) == 0:
                continue
            # Clipping keeps every order statistic inside the view exact.
            shown = np.clip(values, *limits)
            jitter = rng.uniform(-spread, spread, size=len(shown))
            ax.scatter(
                shown,
                y + jitter,
                s=3,
                color="tab:blue",
                alpha=0.35,
                linewidths=0,
                zorder=2,
                clip_on=False,
                rasterized=True,
            )
            log = column == "ratio"
            stats = cbook.boxplot_stats(np.log(shown) if log else shown, whis=1.5)
            if log:
                for stat in stats:
                    for key in ("med", "q1", "q3", "whislo", "whishi", "mean"):
                        stat[key] = float(np.exp(stat[key]))
                    stat["fliers"] = np.exp(stat["fliers"])
            ax.bxp(
                stats,
                positions=[y],
                widths=box_width,
                orientation="horizontal",
                showfliers=False,
                manage_ticks=False,
                patch_artist=True,
                boxprops=dict(facecolor="none", edgecolor="k", lw=1),
                medianprops=dict(color="tab:red", lw=1.5),
                whiskerprops=dict(lw=0.9),
                capprops=dict(lw=0.9),
                zorder=3,
            )
        if medians is not None:
            for y, model in zip(positions, models):
                key = (str(model), parameter.name)
                if model not in unavailable and key in medians.index:
                    _draw_median(ax, medians.loc[key], y - 0.36, limits, model, parameter)
        notes_axis = ax.secondary_yaxis("right")
        notes_axis.set_yticks(positions, notes)
        notes_axis.tick_params(labelsize=7, length=0)
        notes_axis.set_label(f"notes:{parameter.name}")

    axes[0].set_yticks(positions, models)
    axes[0].set_ylim(n_models - 0.5, -0.5)  # first model on top
    if medians is not None:
        marker = Line2D([], [], color="black", marker="D", ms=4, lw=1.2)
        fig.legend(
            [marker],
            [f"median, with its {100 * level:g} % bootstrap interval"],
            loc="outside lower center",
            fontsize=8,
            frameon=False,
        )
    return fig


def _median_intervals(intervals: pd.DataFrame | None) -> pd.DataFrame | None:
    """Figure 4's medians and intervals indexed by (model, parameter), checked."""
    if intervals is None:
        return None
    _require_columns(intervals, ("model", "parameter", "median", "low", "high"), "intervals")
    table = intervals.assign(
        model=intervals["model"].astype(str), parameter=intervals["parameter"].astype(str)
    )
    repeated = table.duplicated(["model", "parameter"])
    if repeated.any():
        first = table.loc[repeated, ["model", "parameter"]].iloc[0].tolist()
        raise DataError(f"intervals: (model, parameter) {first} appears more than once")
    table = table.set_index(["model", "parameter"])[["median", "low", "high"]]
    return table.apply(pd.to_numeric, errors="coerce").astype(float)


def _draw_median(ax, row: pd.Series, y: float, limits, model: str, parameter: Parameter) -> None:
    """One median as a black diamond with its interval as a horizontal bar, clipped to ``limits``."""
    median, low, high = (float(row[key]) for key in ("median", "low", "high"))
    if not np.isfinite(median):
        return
    median, low, high = np.clip([median, low, high], *limits)
    # A percentile interval may (rarely) miss the median: the bar then reaches the marker.
    bar = [[max(median - low, 0.0)], [max(high - median, 0.0)]]
    xerr = bar if np.isfinite(low) and np.isfinite(high) else None
    container = ax.errorbar(
        [median],
        [y],
        xerr=xerr,
        fmt="D",
        color="black",
        ms=4,
        elinewidth=1.2,
        capsize=2.5,
        zorder=5,
        label=f"median:{model}:{parameter.name}",
    )
    for artist in container.get_children():
        artist.set_clip_on(False)


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------


def save_figure(fig: Figure, paths: str | os.PathLike | Iterable[str | os.PathLike]) -> None:
    """Write a figure to one or several files, atomically.

    Each file is first written to a hidden temporary file with the same
    suffix in the destination directory, then renamed over the target,
    so an interrupted job never leaves a truncated figure behind.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    paths : path or iterable of paths
        Destinations; the suffix (``.png``, ``.pdf`` or ``.svg``) sets the
        format. PNG is rendered at 150 dpi. Parent directories are
        created.

    Raises
    ------
    ConfigError
        If a suffix is not supported (checked before anything is written).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    for path in paths:
        if path.suffix.lower() not in _SAVE_FORMATS:
            raise ConfigError(
                f"cannot save figure to {path}: suffix must be one of" f" {sorted(_SAVE_FORMATS)}"
            )
    for path in paths:
        fmt = _SAVE_FORMATS[path.suffix.lower()]
        # atomic_path also removes the temporaries a killed job left for this figure.
        with atomic_path(path) as tmp:
            # No creation date: identical inputs give identical PDFs.
            metadata = {"CreationDate": None} if fmt == "pdf" else None
            fig.savefig(tmp, format=fmt, dpi=_SAVE_DPI, metadata=metadata)


_SCORECARD_KEYS = ("title", "scores", "low", "high", "tied", "vmin", "vmax")


def _aligned_like(frame: pd.DataFrame | None, scores: pd.DataFrame, name: str) -> pd.DataFrame | None:
    """``frame`` in the row and column order of ``scores`` (None stays None)."""
    if frame is None:
        return None
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"scorecard: {name} must be a DataFrame like scores, got {type(frame).__name__}")
    rows = [m for m in scores.index if m not in frame.index]
    columns = [c for c in scores.columns if c not in frame.columns]
    if rows or columns:
        raise DataError(f"scorecard: {name} lacks model(s) {rows} and column(s) {columns} of scores")
    return frame.loc[scores.index, scores.columns]


def _scorecard_inputs(scores, low, high, tied):
    """Checked arrays: values, low, high (or None), tied mask (or None)."""
    if not isinstance(scores, pd.DataFrame) or scores.empty:
        raise DataError("scorecard: no scores to draw")
    if (low is None) != (high is None):
        raise DataError("scorecard: low and high go together (the interval's two ends); got only one")
    low, high = (_aligned_like(f, scores, n) for f, n in ((low, "low"), (high, "high")))
    tied = _aligned_like(tied, scores, "tied")
    if tied is not None:
        # NaN (no test made) is not a tie; anything but booleans is an error.
        tied = tied.astype("boolean").fillna(False).to_numpy(dtype=bool)
    if low is not None:
        low, high = low.to_numpy(dtype=float), high.to_numpy(dtype=float)
    return scores.to_numpy(dtype=float), low, high, tied


def _draw_scorecard(ax, scores, vmin, vmax, low=None, high=None, tied=None, fontsize=None, names=True):
    """One heat map of a scorecard on ``ax``; returns the image."""
    values, low, high, tied = _scorecard_inputs(scores, low, high, tied)
    ranks = scores.rank(axis=0, ascending=False, method="min").to_numpy()
    n_models, n_parameters = values.shape
    image = ax.imshow(np.clip(values, vmin, vmax), cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(n_parameters), [parameter_label(str(name)) for name in scores.columns])
    ax.set_yticks(range(n_models), [str(name) for name in scores.index] if names else [])
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for row in range(n_models):
        for column in range(n_parameters):
            value = values[row, column]
            if not np.isfinite(value):
                text = "n/a"
            else:
                text = f"{value:.2f} ({int(ranks[row, column])})"
                if low is not None:
                    ends = low[row, column], high[row, column]
                    finite = np.isfinite(ends).all()
                    text += "\n" + (f"[{ends[0]:.2f}, {ends[1]:.2f}]" if finite else "no interval")
            is_tied = tied is not None and bool(tied[row, column]) and np.isfinite(value)
            # Missing cells are left blank (white): write on them in black.
            shade = (np.clip(value, vmin, vmax) - vmin) / (vmax - vmin) if np.isfinite(value) else 1
            ax.text(
                column,
                row,
                text,
                ha="center",
                va="center",
                fontsize=fontsize,
                linespacing=1.15,
                fontweight="bold" if is_tied else "normal",
                color="black" if shade > 0.6 else "white",
            )
            if is_tied:
                # White frame edged in black: visible on every colour of the map.
                frame = Rectangle(
                    (column - 0.45, row - 0.43),
                    0.9,
                    0.86,
                    fill=False,
                    edgecolor="white",
                    lw=1.6,
                    path_effects=[patheffects.withStroke(linewidth=3.4, foreground="black")],
                    gid=f"tied:{scores.index[row]}:{scores.columns[column]}",
                )
                ax.add_patch(frame)
    return image


def _scorecard_footnote(level: float, intervals: bool, ties: bool) -> str:
    """How to read a scorecard's cells, for the foot of the figure."""
    percent = f"{100 * level:g} %"
    parts = ["Cell: score (rank per factor, 1 = best)"]
    if intervals:
        parts[0] += f", its {percent} bootstrap interval below"
    parts[0] += "."
    if ties:
        parts.append(
            "Framed, bold: statistically tied with the best model of the factor"
            f" (paired bootstrap, {percent}; the best included)."
        )
    return " ".join(parts)


def plot_scorecard(
    scores: pd.DataFrame,
    title: str = "",
    vmin: float = 0.0,
    vmax: float = 1.0,
    *,
    low: pd.DataFrame | None = None,
    high: pd.DataFrame | None = None,
    tied: pd.DataFrame | None = None,
    level: float = INTERVAL_LEVEL,
) -> Figure:
    """Scorecard: models x parameters heat map of one score, ranked per factor.

    Parameters
    ----------
    scores : pd.DataFrame [shape=(n_models, n_parameters)]
        One score per model (rows) and synthesis parameter (columns),
        higher meaning better (e.g. cross-validated R^2 of a probe).
    title : str
    vmin, vmax : float
        Colour range; values outside are drawn at the ends (R^2 can be
        negative).
    low, high : pd.DataFrame [shape=(n_models, n_parameters)] or None
        Ends of each score's bootstrap interval, with the index and columns
        of ``scores`` (NaN: no interval, written "no interval"). Both or
        neither.
    tied : pd.DataFrame [shape=(n_models, n_parameters), dtype=bool] or None
        True where the model is statistically tied with the best model of
        that parameter (the best itself included); NaN counts as False.
    level : float
        Confidence level of the intervals and the tie test, for the
        footnote.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Each cell shows the score and, in brackets, the model's rank for
        that parameter (1 = best); with intervals, ``[low, high]`` on a
        second line. Tied cells are framed (patches with gid
        ``"tied:<model>:<parameter>"``) and written in bold, and a
        footnote says how ties are decided. The heat map's axes are
        labelled ``"scorecard:0"``.

    Raises
    ------
    DataError
        If ``scores`` is empty, only one of ``low`` and ``high`` is given,
        or ``low``, ``high`` or ``tied`` lacks a model or parameter of
        ``scores``.
    """
    values, *_ = _scorecard_inputs(scores, low, high, tied)
    n_models, n_parameters = values.shape
    detailed = low is not None or tied is not None
    row_height = 0.72 if low is not None else 0.55
    figure = Figure(
        figsize=(1.6 * n_parameters + 3.0, row_height * n_models + (2.1 if detailed else 1.6)),
        layout="constrained",
    )
    ax = figure.add_subplot()
    ax.set_label("scorecard:0")
    image = _draw_scorecard(ax, scores, vmin, vmax, low, high, tied, fontsize=9 if low is not None else None)
    figure.colorbar(image, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title)
    if detailed:
        _add_footnote(figure, _scorecard_footnote(level, low is not None, tied is not None))
    return figure


def _add_footnote(figure: Figure, text: str, fontsize: float = 8) -> None:
    """A left-aligned note at the foot of a constrained-layout figure, wrapped to its width."""
    width = max(int(figure.get_figwidth() * 72 / (0.52 * fontsize)) - 4, 30)
    figure.supxlabel(textwrap.fill(text, width), x=0.01, ha="left", fontsize=fontsize, color="0.25")


def plot_scorecards(
    panels: Sequence[Mapping],
    title: str = "",
    *,
    level: float = INTERVAL_LEVEL,
    arrangement: str = "auto",
) -> Figure:
    """Several scorecards (one per headline score) in one figure.

    Each panel is the heat map of :func:`plot_scorecard` with its own
    colour range and colorbar (under it). Side by side, the panels share
    the model axis when they list the same models in the same order, and
    only the first names them.

    Parameters
    ----------
    panels : sequence of dict
        One dict per headline score with keys ``"scores"`` (required,
        pd.DataFrame [shape=(n_models, n_parameters)]), ``"title"`` (str),
        ``"low"``, ``"high"``, ``"tied"`` (as in :func:`plot_scorecard`),
        ``"vmin"``, ``"vmax"`` (float, default 0 and 1).
    title : str
        Title of the whole figure.
    level : float
        Confidence level of the intervals and tie tests, for the footnote.
    arrangement : {"auto", "row", "column"}
        Panels side by side (``"row"``) or stacked (``"column"``);
        ``"auto"`` puts them side by side up to 12 parameter columns in
        all.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Heat maps labelled ``"scorecard:<i>"`` (i = position in
        ``panels``), colorbars ``"colorbar:scorecard:<i>"``, tied cells as
        in :func:`plot_scorecard`.

    Raises
    ------
    DataError
        If ``panels`` is empty or a panel's tables are empty or disagree
        (see :func:`plot_scorecard`); the message names the panel.
    ConfigError
        If a panel has an unknown key or ``arrangement`` is unknown.
    """
    if arrangement not in ("auto", "row", "column"):
        raise ConfigError(f"scorecards: arrangement must be 'auto', 'row' or 'column', got {arrangement!r}")
    panels = list(panels)
    if not panels:
        raise DataError("scorecards: no panels to draw")
    for i, panel in enumerate(panels):
        unknown = sorted(set(panel) - set(_SCORECARD_KEYS))
        if unknown:
            raise ConfigError(
                f"scorecards: panel {i} has unknown key(s) {unknown}; known: {list(_SCORECARD_KEYS)}"
            )
        if "scores" not in panel:
            raise DataError(f"scorecards: panel {i} ({panel.get('title', '')!r}) has no 'scores'")
        try:
            _scorecard_inputs(panel["scores"], panel.get("low"), panel.get("high"), panel.get("tied"))
        except DataError as error:
            raise DataError(f"panel {i} ({panel.get('title', '')!r}): {error}") from None
    widths = [panel["scores"].shape[1] for panel in panels]
    heights = [panel["scores"].shape[0] for panel in panels]
    if arrangement == "auto":
        arrangement = "row" if sum(widths) <= 12 else "column"
    intervals = any(panel.get("low") is not None for panel in panels)
    ties = any(panel.get("tied") is not None for panel in panels)
    row_height = 0.72 if intervals else 0.55
    first = panels[0]["scores"].index
    shared = arrangement == "row" and all(list(p["scores"].index) == list(first) for p in panels)
    label_width = 0.09 * max(len(str(m)) for p in panels for m in p["scores"].index) + 0.4

    if arrangement == "row":
        size = (1.45 * sum(widths) + label_width * (1 if shared else len(panels)) + 0.5 * len(panels),
                row_height * max(heights) + 3.0)  # fmt: skip
    else:
        size = (1.6 * max(widths) + label_width + 0.8, sum(row_height * h + 2.0 for h in heights) + 0.9)
    figure = Figure(figsize=size, layout="constrained")
    if arrangement == "row":
        axes = figure.subplots(1, len(panels), squeeze=False, width_ratios=widths)[0]
    else:
        axes = figure.subplots(len(panels), 1, squeeze=False, height_ratios=[h + 2.6 for h in heights])[:, 0]
    for i, (ax, panel) in enumerate(zip(axes, panels)):
        ax.set_label(f"scorecard:{i}")
        image = _draw_scorecard(
            ax,
            panel["scores"],
            panel.get("vmin", 0.0),
            panel.get("vmax", 1.0),
            panel.get("low"),
            panel.get("high"),
            panel.get("tied"),
            fontsize=8.5 if intervals else 9,
            names=not shared or i == 0,
        )
        if panel.get("title"):
            ax.set_title(panel["title"], fontsize=11)
        bar = figure.colorbar(image, ax=ax, location="bottom", shrink=0.8, aspect=30, pad=0.02)
        bar.ax.set_label(f"colorbar:scorecard:{i}")
        bar.ax.tick_params(labelsize=8)
    if title:
        figure.suptitle(title)
    if intervals or ties:
        _add_footnote(figure, _scorecard_footnote(level, intervals, ties))
    return figure


# --------------------------------------------------------------------------
# Sweeps: embedding distance along one-parameter sweeps
# --------------------------------------------------------------------------

_PROFILE_COLUMNS = ("model", "parameter", "step", "median", "q1", "q3", "n_sweeps")

#: Text of a sweep panel whose parameter has no sweep in the design.
NO_SWEEPS = "no one-parameter sweeps in this design"


def model_colors(models: Sequence[str]) -> dict[str, tuple]:
    """One distinct colour per model, the same in every panel.

    Parameters
    ----------
    models : sequence of str
        Model ids in display order.

    Returns
    -------
    colors : dict {str: (r, g, b, a)}
        ``tab10`` for up to 10 models, ``tab20`` up to 20, then ``turbo``
        sampled evenly.
    """
    models = list(dict.fromkeys(models))
    n = len(models)
    if n <= 10:
        colors = colormaps["tab10"].colors[:n]
    elif n <= 20:
        colors = colormaps["tab20"].colors[:n]
    else:
        colors = colormaps["turbo"](np.linspace(0.05, 0.95, n))
    return {model: tuple(float(c) for c in color) for model, color in zip(models, colors)}


def plot_sweep_profiles(
    profiles: pd.DataFrame,
    parameters: Sequence[Parameter | str],
    labels: Mapping[str, str] | None = None,
    max_columns: int = MAX_ISOMAP_COLUMNS,
) -> Figure:
    """Embedding distance along one-parameter sweeps, per parameter and model.

    One panel per parameter: for every model, the median over sweeps of
    the embedding distance from the sweep's start against the sweep step
    (the parameter increasing), each sweep's distances divided by their
    maximum, with the interquartile band shaded. A dashed diagonal marks a
    sweep whose distance grows linearly, hence monotonically; a model
    whose curve turns down folds the parameter back. Panels wrap into rows
    of ``max_columns``.

    Parameters
    ----------
    profiles : pandas.DataFrame [shape=(n_models * n_parameters * n_steps, 7)]
        Tidy table with columns ``model``, ``parameter``, ``step`` (0 to
        n_steps - 1), ``median``, ``q1``, ``q3`` (normalised distances, 0
        to 1) and ``n_sweeps``, one row per (model, parameter, step).
    parameters : sequence of Parameter or str
        One panel each, in this order; a parameter absent from
        ``profiles`` gets a panel saying it has no sweeps.
    labels : dict {str: str} or None
        Legend label per model id (default: the id). Models are listed
        (and coloured) in the order of ``labels``, then any other in order
        of first appearance in ``profiles``.
    max_columns : int > 0
        Panels per row.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Axes labelled ``"sweeps:<parameter>"``; each model's line is
        labelled with its legend label and has gid
        ``"sweep:<model>:<parameter>"``, its band gid
        ``"iqr:<model>:<parameter>"``, the diagonal gid ``"linear"``.

    Raises
    ------
    DataError
        If a column is missing or a (model, parameter, step) is repeated.
    ConfigError
        If ``parameters`` is empty or ``max_columns`` is not positive.
    """
    _require_columns(profiles, _PROFILE_COLUMNS, "sweep profiles")
    parameters = as_parameters(parameters)
    if not parameters:
        raise ConfigError("sweep profiles: parameters is empty: nothing to plot")
    if max_columns < 1:
        raise ConfigError(f"sweep profiles: max_columns must be positive, got {max_columns}")
    repeated = profiles.duplicated(["model", "parameter", "step"])
    if repeated.any():
        first = profiles.loc[repeated, ["model", "parameter", "step"]].iloc[0].tolist()
        raise DataError(f"sweep profiles: (model, parameter, step) {first} appears more than once")
    labels = dict(labels or {})
    present = [str(m) for m in pd.unique(profiles["model"])]
    models = [m for m in labels if m in present] + [m for m in present if m not in labels]
    colors = model_colors(models)

    n_cols = min(len(parameters), max_columns)
    n_rows = -(-len(parameters) // max_columns)
    fig = Figure(figsize=(3.3 * n_cols + 2.4, 3.0 * n_rows + 0.4), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax in axes[len(parameters) :]:
        ax.set_axis_off()
    for ax, parameter in zip(axes, parameters):
        ax.set_label(f"sweeps:{parameter.name}")
        ax.set_title(parameter.title, fontsize=10)
        table = profiles[profiles["parameter"] == parameter.name]
        if table.empty:
            ax.text(0.5, 0.5, NO_SWEEPS, transform=ax.transAxes, ha="center", va="center", wrap=True,
                    fontsize=9, color="0.4", style="italic")  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        steps = pd.to_numeric(table["step"], errors="coerce")
        last = float(np.nanmax(steps)) if steps.notna().any() else 1.0
        counts = pd.to_numeric(table["n_sweeps"], errors="coerce").dropna().astype(int)
        if len(counts):
            few, many = counts.min(), counts.max()
            sweeps = f"{few} sweeps" if few == many else f"{few}-{many} sweeps"
            ax.set_title(f"{parameter.title}\n{sweeps} of {int(last) + 1} steps", fontsize=10)
        ax.plot([0, last], [0, 1], ls="--", color="0.2", lw=1.0, gid="linear", zorder=4)
        for model in models:
            rows = table[table["model"].astype(str) == model].sort_values("step")
            if rows.empty:
                continue
            x = rows["step"].to_numpy(dtype=float)
            color = colors[model]
            ax.fill_between(
                x,
                rows["q1"].to_numpy(dtype=float),
                rows["q3"].to_numpy(dtype=float),
                color=color,
                alpha=0.15,
                lw=0,
                gid=f"iqr:{model}:{parameter.name}",
                zorder=2,
            )
            ax.plot(
                x,
                rows["median"].to_numpy(dtype=float),
                color=color,
                lw=1.4,
                marker="o",
                ms=2.5,
                label=labels.get(model, model),
                gid=f"sweep:{model}:{parameter.name}",
                zorder=3,
            )
        ax.set_xlim(0, max(last, 1.0))
        ax.set_ylim(-0.03, 1.03)
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.set_xlabel(f"sweep step ({parameter_label(parameter)} increasing)", fontsize=9)
        ax.set_ylabel("distance from start (normalised)", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(color="0.92", lw=0.6)
    handles = [
        Line2D([], [], color=colors[m], lw=1.4, marker="o", ms=2.5, label=labels.get(m, m)) for m in models
    ]
    handles += [
        Patch(color="0.5", alpha=0.3, label="interquartile range over sweeps"),
        Line2D([], [], ls="--", color="0.2", lw=1.0, label="linear, monotonic"),
    ]
    if models:
        fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    return fig
