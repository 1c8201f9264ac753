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
* :func:`plot_timbre_alignment`, :func:`plot_timbre_datasets`,
  :func:`plot_synthetic_vs_human`: human timbre alignment (:mod:`~gear.figures.timbre`).

* :func:`plot_invariance`: target x nuisance heat maps per model of how
  much a probe of one factor loses when another changes.
* :func:`save_figure`: atomic writes to PNG and PDF.

One module per family (:mod:`~gear.figures.sounds`, :mod:`~gear.figures.isomap`,
:mod:`~gear.figures.regression`, :mod:`~gear.figures.scorecard`,
:mod:`~gear.figures.sweeps`, :mod:`~gear.figures.invariance`) over one shared module
(:mod:`~gear.figures.common`: labels, colours, saving); this package
gathers their public names.
"""

from gear.figures.common import (
    INTERVAL_LEVEL,
    MAX_ISOMAP_COLUMNS,
    model_colors,
    parameter_label,
    save_figure,
    short_reason,
)
from gear.figures.invariance import INVARIANCE_LIMITS, NO_INVARIANCE, plot_invariance
from gear.figures.isomap import ISOMAP_CMAP, cube_limits, plot_isomap_grid
from gear.figures.regression import ERROR_LIMITS, clipped_fractions, plot_regression_ratios, ratio_ticks
from gear.figures.scorecard import plot_scorecard, plot_scorecards
from gear.figures.sounds import grid_values, plot_sound_grid, select_grid_sounds
from gear.figures.sweeps import NO_SWEEPS, plot_sweep_profiles
from gear.figures.timbre import alignment_panels, plot_synthetic_vs_human, plot_timbre_alignment, plot_timbre_datasets

__all__ = [
    "alignment_panels",
    "plot_synthetic_vs_human",
    "plot_timbre_alignment",
    "plot_timbre_datasets",
    "ERROR_LIMITS",
    "INTERVAL_LEVEL",
    "INVARIANCE_LIMITS",
    "ISOMAP_CMAP",
    "MAX_ISOMAP_COLUMNS",
    "NO_INVARIANCE",
    "NO_SWEEPS",
    "clipped_fractions",
    "cube_limits",
    "grid_values",
    "model_colors",
    "parameter_label",
    "plot_invariance",
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
