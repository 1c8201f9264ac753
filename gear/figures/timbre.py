"""Human timbre alignment: scores across models, per listening study, and against the synthetic factors."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gear.errors import DataError
from gear.figures.common import INTERVAL_LEVEL, add_footnote, model_colors, require_columns, short_reason
from gear.figures.scorecard import plot_scorecards

__all__ = ["alignment_panels", "plot_timbre_alignment", "plot_timbre_datasets", "plot_synthetic_vs_human"]

#: Scores drawn as heat maps (higher is better); ``mae`` stays in the table.
DRAWN_SCORES = {"spearman": "Spearman", "kendall": "Kendall τ-b", "ndcg": "NDCG", "triplet": "triplets"}
_COLUMNS = ["model", "dataset", "distance", "metric", "value", "ci_low", "ci_high", "tied_with_best", "unavailable"]


def _frame(scores, index, columns, value):
    return scores.pivot_table(index=index, columns=columns, values=value, aggfunc="first", sort=False)


def alignment_panels(table: pd.DataFrame, labels: Mapping[str, str] | None = None,
                     metrics: Mapping[str, str] | None = None) -> list[dict]:
    """Scorecard panels of the pooled alignment: one per distance, models x scores.

    Parameters
    ----------
    table : pd.DataFrame
        ``results/timbre/scores.csv`` (:func:`gear.pipeline.summarize_timbre`).
    labels : dict {str: str}, optional
        Model id -> display name.
    metrics : dict {str: str}, optional
        Scores to draw -> column titles; default :data:`DRAWN_SCORES`.

    Returns
    -------
    panels : list of dict
        For :func:`gear.figures.plot_scorecards`; unavailable models get a
        row of NaN named with their reason's gist. Empty if no model has scores.
    """
    require_columns(table, _COLUMNS, "timbre scores")
    labels, metrics = dict(labels or {}), dict(metrics or DRAWN_SCORES)
    scored = table[table["unavailable"].isna() & (table["dataset"] == "pooled") & table["metric"].isin(metrics)]
    missing = table[table["unavailable"].notna()]
    panels = []
    for distance, part in scored.groupby("distance", sort=False):
        frames = [_frame(part, "model", "metric", column)[list(metrics)] for column in
                  ("value", "ci_low", "ci_high", "tied_with_best")]  # fmt: skip
        frames[3] = frames[3].astype("boolean").fillna(False).astype(bool)
        frames = [f.rename(index=lambda m: labels.get(m, m), columns=metrics) for f in frames]
        for row in missing.itertuples():
            name = f"{labels.get(row.model, row.model)} (unavailable)"
            for i, frame in enumerate(frames):
                frame.loc[name] = False if i == 3 else np.nan
        panels.append({"title": f"Human timbre alignment ({distance}, pooled)", "scores": frames[0],
                       "low": frames[1], "high": frames[2], "tied": frames[3], "vmin": 0.0, "vmax": 1.0})  # fmt: skip
    return panels


def plot_timbre_alignment(table: pd.DataFrame, labels: Mapping[str, str] | None = None) -> Figure:
    """Pooled alignment of every model with listeners' ratings, per distance.

    Heat maps (models x scores) with intervals and ties with the best marked;
    where no model has scores, the reasons in one panel of text.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    panels = alignment_panels(table, labels)
    if panels:
        figure = plot_scorecards(panels, "Human timbre alignment, pooled over the listening studies")
        return figure
    return _reasons_figure(table, labels)


def plot_timbre_datasets(table: pd.DataFrame, labels: Mapping[str, str] | None = None,
                         metric: str = "spearman") -> Figure:
    """One score per model and listening study, per distance (no tie tests: per study, few sounds).

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    require_columns(table, _COLUMNS, "timbre scores")
    labels = dict(labels or {})
    scored = table[table["unavailable"].isna() & (table["dataset"] != "pooled") & (table["metric"] == metric)]
    panels = []
    for distance, part in scored.groupby("distance", sort=False):
        frames = [_frame(part, "model", "dataset", column).rename(index=lambda m: labels.get(m, m))
                  for column in ("value", "ci_low", "ci_high")]  # fmt: skip
        panels.append({"title": f"{DRAWN_SCORES.get(metric, metric)} per study ({distance})", "scores": frames[0],
                       "low": frames[1], "high": frames[2], "vmin": 0.0, "vmax": 1.0})  # fmt: skip
    if not panels:
        return _reasons_figure(table, labels)
    return plot_scorecards(panels, f"Human timbre alignment per listening study: {DRAWN_SCORES.get(metric, metric)}",
                           arrangement="column")  # fmt: skip


def _reasons_figure(table, labels):
    """A figure that says why there are no scores."""
    labels = dict(labels or {})
    figure = Figure(figsize=(8, 1 + 0.3 * max(len(table), 1)), layout="constrained")
    ax = figure.add_subplot()
    ax.set_axis_off()
    lines = [f"{labels.get(row.model, row.model)}: {short_reason(str(row.unavailable))}"
             for row in table[table["unavailable"].notna()].itertuples()]  # fmt: skip
    ax.text(0, 1, "No human timbre alignment:\n" + "\n".join(lines or ["(no model)"]), va="top", fontsize=9,
            transform=ax.transAxes)  # fmt: skip
    return figure


def plot_synthetic_vs_human(points: pd.DataFrame, *, synthetic_label: str, human_label: str,
                            labels: Mapping[str, str] | None = None) -> Figure:
    """Each model's synthetic-factor headline against its human timbre alignment.

    One panel per synthetic dataset, a point per model; the alignment's
    interval as a vertical bar, the headline's as a horizontal one where known.

    Parameters
    ----------
    points : pd.DataFrame
        Columns ``dataset``, ``model``, ``synthetic``, ``synthetic_low``,
        ``synthetic_high``, ``human``, ``human_low``, ``human_high`` (NaN
        bounds: no bar).
    synthetic_label, human_label : str
        Axis titles.
    labels : dict {str: str}, optional
        Model id -> display name.

    Returns
    -------
    figure : matplotlib.figure.Figure

    Raises
    ------
    DataError
        If no model has both scores.
    """
    require_columns(points, ["dataset", "model", "synthetic", "synthetic_low", "synthetic_high", "human",
                             "human_low", "human_high"], "synthetic-vs-human table")  # fmt: skip
    if points.empty:
        raise DataError("synthetic-vs-human figure: no model has both a synthetic score and a human alignment")
    labels = dict(labels or {})
    datasets = list(dict.fromkeys(points["dataset"]))
    colors = model_colors(list(dict.fromkeys(points["model"])))
    figure = Figure(figsize=(4.2 * len(datasets), 4.4), layout="constrained")
    axes = figure.subplots(1, len(datasets), sharey=True, squeeze=False)[0]
    for ax, dataset in zip(axes, datasets, strict=True):
        for row in points[points["dataset"] == dataset].itertuples():
            bars = {}
            for axis, (value, low, high) in {"x": (row.synthetic, row.synthetic_low, row.synthetic_high),
                                             "y": (row.human, row.human_low, row.human_high)}.items():  # fmt: skip
                bars[axis] = None if np.isnan([low, high]).any() else [[value - low], [high - value]]
            name = labels.get(row.model, row.model)
            ax.errorbar(row.synthetic, row.human, xerr=bars["x"], yerr=bars["y"], fmt="o", color=colors[row.model],
                        capsize=2, label=name)  # fmt: skip
            ax.annotate(name, (row.synthetic, row.human), textcoords="offset points", xytext=(4, 3), fontsize=7)
        ax.set_title(dataset)
        ax.set_xlabel(synthetic_label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(human_label)
    add_footnote(figure, f"Vertical bars: {INTERVAL_LEVEL:.0%} bootstrap intervals of the alignment, pooled over "
                         "the listening studies (anchors resampled within each study).")  # fmt: skip
    return figure
