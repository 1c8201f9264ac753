"""Figure 2 of the paper: waveforms and spectra over a grid of two synthesis parameters."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gear.errors import ConfigError, DataError
from gear.figures.common import parameter_label, require_columns
from gear.parameters import Parameter, as_parameters

__all__ = ["grid_values", "select_grid_sounds", "plot_sound_grid"]


_WAVE_COLOR = "tab:blue"


_SPECTRUM_COLOR = "tab:red"


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
    require_columns(params, grid, "params")
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
    audio = _checked_audio(audio, len(params), sample_rate)
    parameters = {p.name: p for p in as_parameters(parameters)}
    require_columns(params, list(parameters), "params")
    if cells is None:
        index = select_grid_sounds(params, grid, n_rows, n_cols, nearest=nearest)
        row_values, col_values = grid_values(params, grid, n_rows, n_cols)
    else:
        index, row_values, col_values = cells
    n_rows, n_cols = index.shape
    row_parameter, col_parameter = (parameters.get(name, name) for name in grid)
    others = [p for name, p in parameters.items() if name not in grid][:3]

    times, freqs, time_unit, freq_unit = _time_and_frequency(audio.shape[1], sample_rate)
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
            ax_t, ax_f = _cell_axes(fig, outer[i, j], (i, j), share_time, share_freq)
            share_time = share_time or ax_t
            share_freq = share_freq or ax_f
            if i < n_rows - 1:
                ax_t.tick_params(labelbottom=False)
                ax_f.tick_params(labelbottom=False)
            else:
                ax_f.set_xlabel(f"frequency ({freq_unit})", fontsize=7, labelpad=1)
            k = index[i, j]
            if k < 0:
                ax_t.text(0.5, 0.5, "no sound", transform=ax_t.transAxes, ha="center", va="center",
                          fontsize=7, color="0.5")  # fmt: skip
            else:
                title = ", ".join(f"{parameter_label(p)} = {params[p.name].iloc[k]:.4g}" for p in others)
                _draw_sound(ax_t, ax_f, audio[k], times, freqs, title)
            ax_t.set_xlim(times[0], times[-1])
            ax_f.set_xlim(0, f_max)
            if i == 0:
                _label_column(fig, outer[0, j], f"{parameter_label(col_parameter)} = {col_values[j]:.3g}")
            if j == 0:
                _label_row(fig, outer[i, 0], f"{parameter_label(row_parameter)} = {row_values[i]:.3g}")
    fig.suptitle(
        f"waveform (blue, time in {time_unit}) over" f" Fourier magnitude (red, frequency in {freq_unit})",
        fontsize=9,
        y=1 - 0.08 / fig.get_figheight(),
        va="top",
    )
    return fig


def _checked_audio(audio, n_sounds, sample_rate):
    """The waveforms as a float array ``(n_sounds, n_samples)``, or an error naming what is wrong."""
    audio = np.asarray(audio, dtype=float)
    if audio.ndim != 2:
        raise DataError(f"audio must be (n_sounds, n_samples), got shape {audio.shape}")
    if audio.shape[1] < 2:
        raise DataError(f"audio must have at least 2 samples per sound, got {audio.shape[1]}")
    if audio.shape[0] != n_sounds:
        raise DataError(f"audio has {audio.shape[0]} sounds but params has {n_sounds} rows")
    if sample_rate is not None and not sample_rate > 0:
        raise ConfigError(f"sample_rate must be positive, got {sample_rate}")
    return audio


def _time_and_frequency(n_samples, sample_rate):
    """Time and frequency axes of a sound, in seconds and Hz, or samples and bins without a rate."""
    if sample_rate is None:
        times = np.arange(n_samples, dtype=float)
        freqs = np.arange(n_samples // 2 + 1, dtype=float)
        return times, freqs, "samples", "bins"
    times = np.arange(n_samples) / sample_rate
    freqs = np.fft.rfftfreq(n_samples, d=1.0 / sample_rate)
    return times, freqs, "s", "Hz"


def _cell_axes(fig, cell, where, share_time, share_freq):
    """The waveform axes over the spectrum axes of one grid cell."""
    i, j = where
    inner = cell.subgridspec(2, 1, hspace=0.25)
    ax_t = fig.add_subplot(inner[0], sharex=share_time)
    ax_f = fig.add_subplot(inner[1], sharex=share_freq)
    ax_t.set_label(f"waveform[{i},{j}]")
    ax_f.set_label(f"spectrum[{i},{j}]")
    for ax in (ax_t, ax_f):
        ax.tick_params(labelsize=6, length=2, pad=1)
        ax.set_yticks([])
        # Few ticks: labels of neighbouring columns must not touch.
        ax.xaxis.set_major_locator(MaxNLocator(4))
    return ax_t, ax_f


def _draw_sound(ax_t, ax_f, wave, times, freqs, title):
    """One sound's waveform and Fourier magnitude, each scaled to its own peak."""
    ax_t.plot(times, wave, color=_WAVE_COLOR, lw=0.4)
    peak = np.nanmax(np.abs(wave)) if np.isfinite(wave).any() else 0.0
    ax_t.set_ylim(-1.05 * peak - 1e-12, 1.05 * peak + 1e-12)
    spec = np.nan_to_num(np.abs(np.fft.rfft(wave)))
    ax_f.plot(freqs, spec, color=_SPECTRUM_COLOR, lw=0.6)
    ax_f.set_ylim(0, 1.08 * spec.max() + 1e-12)
    ax_t.set_title(title, fontsize=7, pad=2)


def _label_column(fig, cell, text):
    box = cell.get_position(fig)
    fig.text((box.x0 + box.x1) / 2, box.y1 + 0.3 / fig.get_figheight(), text, ha="center", va="bottom",
             fontsize=9)  # fmt: skip


def _label_row(fig, cell, text):
    box = cell.get_position(fig)
    fig.text(box.x0 - 0.12 / fig.get_figwidth(), (box.y0 + box.y1) / 2, text, ha="right", va="center",
             rotation=90, fontsize=9)  # fmt: skip
