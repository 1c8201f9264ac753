"""Models x parameters heat maps of scores, with intervals and ties with the best marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from gear.errors import ConfigError, DataError
from gear.figures.common import INTERVAL_LEVEL, add_footnote, parameter_label

__all__ = ["plot_scorecard", "plot_scorecards"]


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
        add_footnote(figure, _scorecard_footnote(level, low is not None, tied is not None))
    return figure


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
        add_footnote(figure, _scorecard_footnote(level, intervals, ties))
    return figure
