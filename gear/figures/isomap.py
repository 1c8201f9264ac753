"""Figure 3 of the paper: 3-D Isomap embeddings per model, coloured by each synthesis parameter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import FuncNorm, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from gear.errors import ConfigError, DataError
from gear.figures.common import MAX_ISOMAP_COLUMNS, parameter_label, require_columns, short_reason
from gear.parameters import Parameter, as_parameters
from gear.scales import from_scale, to_scale

__all__ = ["ISOMAP_CMAP", "cube_limits", "plot_isomap_grid"]


#: Diverging red-white-blue colour map of Figure 3.
ISOMAP_CMAP = "coolwarm"


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
    require_columns(params, [p.name for p in parameters], "params")
    models = _checked_coordinates(coordinates, unavailable, len(params))
    rows = list(models) + list(unavailable)
    bands = [parameters[i : i + max_columns] for i in range(0, len(parameters), max_columns)]
    n_cols = len(bands[0])

    norms = {p.name: _color_norm(p, params[p.name].to_numpy(dtype=float)) for p in parameters}

    fig, grid = _figure_grid(rows, unavailable, len(bands), n_cols)
    width = fig.get_figwidth()
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
                suffix = f":{band_index}" if band_index else ""
                _unavailable_strip(fig, grid[cell, :], model, unavailable[model], suffix)
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
                colors = params[parameter.name].to_numpy(dtype=float)[keep]
                _scatter_cube(ax, coords[keep], colors, norms[parameter.name], limits, point_size)
        bar_row = row_of_band + 1 + len(rows)
        for j, parameter in enumerate(band):
            cax = fig.add_subplot(grid[bar_row, j])
            cax.set_label(f"colorbar:{parameter.name}")
            _colorbar(fig, cax, norms[parameter.name], parameter.unit)
        row_of_band = bar_row + 2
    return fig


def _checked_coordinates(coordinates, unavailable, n_sounds):
    """Each available model's coordinates as float arrays, checked to be ``(n_sounds, 3)``."""
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
    return models


def _figure_grid(rows, unavailable, n_bands, n_cols):
    """The figure and its grid: per band of parameters, a header, one row per model, the colorbars."""
    # Heights in inches: per band a header, full panels for models, a strip
    # for unavailable ones, and a thin row for the colorbars.
    header, panel, strip, bar = 0.35, 2.8, 0.6, 0.16
    model_heights = [strip if m in unavailable else panel for m in rows]
    heights = []
    for _ in range(n_bands):
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
    return fig, grid


def _unavailable_strip(fig, cell, model, reason, suffix):
    """A thin full-width row naming a model that has no coordinates, and why."""
    ax = fig.add_subplot(cell)
    ax.set_label(f"unavailable:{model}" + suffix)
    ax.set_axis_off()
    # A strip is too short for a rotated label: name the model inline.
    ax.text(
        0.5,
        0.5,
        f"{model} \N{EM DASH} unavailable: {short_reason(reason)}",
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=10,
        color="0.4",
    )


def _scatter_cube(ax, coords, colors, norm, limits, point_size):
    """3-D scatter of one model's coordinates in a cube, coloured by one parameter, without tick labels."""
    ax.scatter(
        *coords.T,
        c=colors,
        cmap=ISOMAP_CMAP,
        norm=norm,
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


def _colorbar(fig, cax, norm, unit):
    """A horizontal colorbar in the central part of its cell; decade ticks on a log scale."""
    # Shrink the colorbar to the central part of its cell.
    pos = cax.get_position()
    cax.set_position([pos.x0 + 0.15 * pos.width, pos.y0, 0.7 * pos.width, pos.height])
    colorbar = fig.colorbar(ScalarMappable(norm=norm, cmap=ISOMAP_CMAP), cax=cax, orientation="horizontal")
    if isinstance(norm, LogNorm):
        ticks = _log_ticks(norm.vmin, norm.vmax)
        colorbar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
        colorbar.ax.xaxis.set_minor_locator(NullLocator())
    if unit:
        colorbar.set_label(unit, fontsize=7, labelpad=1)
    colorbar.ax.tick_params(labelsize=7)
