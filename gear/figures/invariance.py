"""Invariance heat maps: does a readout of one factor survive a change of another?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from gear.errors import ConfigError
from gear.figures.common import INTERVAL_LEVEL, add_footnote, parameter_label, require_columns
from gear.parameters import Parameter, as_parameters

__all__ = ["INVARIANCE_LIMITS", "NO_INVARIANCE", "plot_invariance"]


#: Colour range of the heat maps. Across-half R^2 has no lower bound (a
#: probe can be worse than the training mean by any amount), so the
#: difference is clipped to this range in colour; the printed value is not.
INVARIANCE_LIMITS = (-1.0, 1.0)

#: Text of a figure without any invariance score (switched off, one factor).
NO_INVARIANCE = "no invariance scores for this dataset"

_READING = {
    "invariance_r2_difference": "across - within R$^2$",
    "invariance_within_r2": "within R$^2$",
    "invariance_across_r2": "across R$^2$",
}

_COLUMNS = ("model", "parameter", "metric", "value", "ci_low", "ci_high")


def plot_invariance(
    metrics: pd.DataFrame,
    parameters: Sequence[Parameter | str],
    *,
    metric: str = "invariance_r2_difference",
    limits: tuple[float, float] = INVARIANCE_LIMITS,
    level: float = INTERVAL_LEVEL,
) -> Figure:
    """One heat map per model: target (rows) x nuisance (columns) of an invariance score.

    Parameters
    ----------
    metrics : pd.DataFrame
        A metrics table (:func:`gear.metrics.compute_metrics`'s, with a
        ``model`` column): columns ``model, parameter, metric, value,
        ci_low, ci_high`` and optionally ``tied_with_best`` (bool or NA).
        Its rows of ``metric`` are drawn, their parameter
        ``"target|nuisance"``; models in order of appearance.
    parameters : sequence of Parameter or str
        Factor order (rows and columns) and labels.
    metric : str
        ``invariance_r2_difference`` (across minus within R^2), or
        ``invariance_within_r2`` or ``invariance_across_r2``.
    limits : (float, float)
        Colour range, centred on 0 by a diverging map; values outside are
        drawn at the ends and printed as they are.
    level : float
        Confidence level of the intervals and tie tests, for the footnote.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Axes labelled ``"invariance:<model>"``; each cell shows the value
        and its interval (``"n/a"`` where the score is missing, nothing on
        the diagonal). Cells tied with the best model of their (target,
        nuisance) are bold and framed (patches with gid
        ``"tied:<model>:<target>|<nuisance>"``). Without any score, one
        axes ``"invariance:none"`` says :data:`NO_INVARIANCE`.

    Raises
    ------
    DataError
        If a column is missing.
    ConfigError
        If ``limits`` do not enclose 0.
    """
    require_columns(metrics, _COLUMNS, "invariance: the metrics table")
    scores = metrics[metrics["metric"] == metric].copy()
    pair = scores["parameter"].astype(str).str.split("|", n=1, expand=True).reindex(columns=[0, 1])
    scores["target"], scores["nuisance"] = pair[0], pair[1]
    low_limit, high_limit = limits
    if not low_limit < 0 < high_limit:
        raise ConfigError(f"invariance: limits must enclose 0, got {limits}")
    parameters = as_parameters(parameters)
    names = [p.name for p in parameters]
    models = list(dict.fromkeys(scores["model"]))
    if not models:
        figure = Figure(figsize=(5, 2), layout="constrained")
        ax = figure.add_subplot()
        ax.set_label("invariance:none")
        ax.text(0.5, 0.5, NO_INVARIANCE, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return figure
    side = 1.3 * len(names) + 1.2
    figure = Figure(figsize=(side * min(len(models), 3) + 1.0, side * -(-len(models) // 3) + 1.4),
                    layout="constrained")  # fmt: skip
    axes = figure.subplots(-(-len(models) // 3), min(len(models), 3), squeeze=False).ravel()
    tied = scores["tied_with_best"] if "tied_with_best" in scores else pd.Series(False, index=scores.index)
    image = None
    for ax, model in zip(axes, models):
        rows = scores["model"] == model
        table = scores[rows].assign(tied=tied[rows].astype("boolean").fillna(False).astype(bool))
        cells = table.set_index(["target", "nuisance"])
        values = np.full((len(names), len(names)), np.nan)
        for i, target in enumerate(names):
            for j, nuisance in enumerate(names):
                if (target, nuisance) in cells.index:
                    values[i, j] = cells.loc[(target, nuisance), "value"]
        clipped = np.clip(values, low_limit, high_limit)
        image = ax.imshow(clipped, cmap="RdBu", vmin=low_limit, vmax=high_limit)
        for i, target in enumerate(names):
            for j, nuisance in enumerate(names):
                if i == j:
                    continue
                _write_cell(ax, cells, target, nuisance, i, j, values[i, j], limits, model)
        ax.set_label(f"invariance:{model}")
        ax.set_title(str(model), fontsize=10)
        ax.set_xticks(range(len(names)), [parameter_label(p) for p in parameters])
        ax.set_yticks(range(len(names)), [parameter_label(p) for p in parameters])
        ax.set_xlabel("nuisance (changed between halves)")
        ax.set_ylabel("target (probed)")
        ax.tick_params(length=0)
    for ax in axes[len(models) :]:
        ax.set_axis_off()
    bar = figure.colorbar(image, ax=list(axes[: len(models)]), shrink=0.8)
    bar.set_label(f"{_READING.get(metric, metric)} (clipped)")
    percent = f"{100 * level:g} %"
    add_footnote(
        figure,
        f"Cell: {_READING.get(metric, metric)} of a probe of the target (row) fitted on one half of "
        f"the nuisance's (column) values, with the {percent} bootstrap interval below; within: tested "
        "on held-out sounds of its own half, across: on the other half. A difference of 0: the readout "
        f"survives the change; negative: it does not. Colours are clipped to [{low_limit:g}, "
        f"{high_limit:g}]; values are not. Framed, bold: statistically tied with the best model of that "
        f"target and nuisance (paired bootstrap, {percent}; the best included).",
    )
    return figure


def _write_cell(ax, cells, target, nuisance, row, column, value, limits, model):
    """Value, interval and tie frame of one cell."""
    low_limit, high_limit = limits
    if not np.isfinite(value):
        ax.text(column, row, "n/a", ha="center", va="center", fontsize=8)
        return
    cell = cells.loc[(target, nuisance)]
    ends = float(cell["ci_low"]), float(cell["ci_high"])
    interval = f"[{ends[0]:.2f}, {ends[1]:.2f}]" if np.isfinite(ends).all() else "no interval"
    text = f"{value:.2f}\n{interval}"
    shade = abs(np.clip(value, low_limit, high_limit)) / max(-low_limit, high_limit)
    ax.text(column, row, text, ha="center", va="center", fontsize=8, linespacing=1.15,
            fontweight="bold" if cell["tied"] else "normal",
            color="white" if shade > 0.6 else "black")  # fmt: skip
    if cell["tied"]:
        ax.add_patch(
            Rectangle(
                (column - 0.45, row - 0.43), 0.9, 0.86, fill=False, edgecolor="white", lw=1.6,
                path_effects=[patheffects.withStroke(linewidth=3.4, foreground="black")],
                gid=f"tied:{model}:{target}|{nuisance}",
            )
        )  # fmt: skip
