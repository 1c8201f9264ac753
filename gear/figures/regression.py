"""Figure 4 of the paper: the K-NN regression ratio per model and parameter, with each median's interval."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import cbook
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from gear.errors import ConfigError, DataError
from gear.figures.common import INTERVAL_LEVEL, parameter_label, require_columns
from gear.parameters import Parameter, as_parameters

__all__ = ["ERROR_LIMITS", "ratio_ticks", "clipped_fractions", "plot_regression_ratios"]


#: Displayed range of the normalized error, for parameters without a ratio.
ERROR_LIMITS = (-0.5, 0.5)


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
    require_columns(ratios, ("model", "parameter", column), "ratios")
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


def _checked_medians(intervals: pd.DataFrame | None) -> pd.DataFrame | None:
    """Figure 4's medians and intervals indexed by (model, parameter), checked."""
    if intervals is None:
        return None
    require_columns(intervals, ("model", "parameter", "median", "low", "high"), "intervals")
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
    medians = _checked_medians(intervals)

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
        column, limits, centre = _ratio_axis(ax, parameter, ylim)
        counts = clipped_fractions(ratios, limits, column) if column in ratios else None
        value = pd.to_numeric(ratios[column], errors="coerce").astype(float) if column in ratios else None

        notes = []
        for y, model in zip(positions, models):
            if model in unavailable:
                _mark_unavailable(ax, centre, y)
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
            _draw_distribution(ax, values, y, limits, log=column == "ratio", rng=rng, spread=spread,
                               box_width=box_width)  # fmt: skip
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


def _ratio_axis(ax, parameter, ylim):
    """Set up one panel: a log ratio axis, or a linear error axis; returns ``(column, limits, centre)``."""
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
    return column, limits, centre


def _mark_unavailable(ax, centre, y):
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


def _draw_distribution(ax, values, y, limits, *, log, rng, spread, box_width):
    """One model's row: a jittered strip under a box plot (statistics in log space for a ratio)."""
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
