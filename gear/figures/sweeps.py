"""Embedding distance along one-parameter sweeps, per parameter and model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from gear.errors import ConfigError, DataError
from gear.figures.common import MAX_ISOMAP_COLUMNS, model_colors, parameter_label, require_columns
from gear.parameters import Parameter, as_parameters

__all__ = ["NO_SWEEPS", "plot_sweep_profiles"]


_PROFILE_COLUMNS = ("model", "parameter", "step", "median", "q1", "q3", "n_sweeps")


#: Text of a sweep panel whose parameter has no sweep in the design.
NO_SWEEPS = "no one-parameter sweeps in this design"


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
    require_columns(profiles, _PROFILE_COLUMNS, "sweep profiles")
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
        _draw_profiles(ax, table, parameter, models, colors, labels)
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


def _draw_profiles(ax, table, parameter, models, colors, labels):
    """One parameter's panel: each model's median profile over its interquartile band, and the diagonal."""
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
