"""Sampling designs: from parameter ranges to a table of parameter values.

No audio here: a design only decides which combinations of parameter
values a dataset holds. Values are drawn or spaced on each parameter's
scale (:mod:`gear.scales`), so a log-scaled frequency is sampled evenly in
octaves.

``grid``
    Full factorial over every parameter's ``num`` values, first parameter
    outermost. A parameter with ``draw: random`` is not a grid axis: each
    combination of the others gets one of its ``num`` values at random
    (the paper's "one random f1 per (alpha, r) pair").
``random``
    ``n_sounds`` independent uniform draws on each parameter's scale.
``sobol``, ``lhs``
    Scrambled Sobol sequence or Latin hypercube (``scipy.stats.qmc``) of
    ``n_sounds`` points, mapped to each parameter's scale: even coverage
    of many factors with few sounds.
``sweeps``
    ``n_anchors`` random anchor points; from each, every parameter is swept
    over its whole range in ``n_steps`` steps, the others held at the
    anchor's values: ``n_anchors * n_parameters * n_steps`` sounds.

Every design is seeded: the same specification gives the same table.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np

from gear.errors import ConfigError
from gear.scales import from_scale, spaced_values, to_scale

__all__ = ["DESIGNS", "MAX_GRID_SOUNDS", "Range", "design_size", "design_table"]

DESIGNS = ("grid", "random", "sobol", "lhs", "sweeps")

#: Largest full grid accepted; beyond it a quasi-random design does better.
MAX_GRID_SOUNDS = 1_000_000


@dataclass(frozen=True)
class Range:
    """The values one parameter takes in a dataset.

    Attributes
    ----------
    name : str
    min, max : float
        Both included.
    num : int or None
        Number of values of a grid axis (``grid`` design only).
    scale : str
        Scale of spacing and drawing.
    draw : {"grid", "random"}
        In a grid design, ``random`` draws one of the ``num`` values per
        combination of the other parameters instead of making an axis.
    """

    name: str
    min: float
    max: float
    num: int | None = None
    scale: str = "linear"
    draw: str = "grid"

    def values(self):
        """The ``num`` values of a grid axis, evenly spaced on the scale."""
        return spaced_values(self.min, self.max, self.num, self.scale)

    def from_unit(self, unit):
        """Map numbers in [0, 1] to the range, linearly on the scale.

        Correctly rounded (``exact=True``): a design's values are the same
        bytes on every processor.
        """
        low, high = to_scale([self.min, self.max], self.scale, exact=True)
        return from_scale(low + np.asarray(unit) * (high - low), self.scale, exact=True)


def design_size(ranges, design="grid", n_sounds=None, n_anchors=None, n_steps=None):
    """Number of sounds a design makes, without making it.

    Parameters
    ----------
    ranges : sequence of Range
    design : str
    n_sounds, n_anchors, n_steps : int or None
        As for :func:`design_table`.

    Returns
    -------
    n_sounds : int
    """
    if design == "grid":
        return math.prod(r.num for r in ranges if r.draw == "grid")
    if design == "sweeps":
        return n_anchors * len(ranges) * n_steps
    return n_sounds


def design_table(ranges, design="grid", *, n_sounds=None, n_anchors=None, n_steps=None, seed=0):
    """Parameter values of every sound of a design.

    Parameters
    ----------
    ranges : sequence of Range
        One per parameter, in column order.
    design : str
        One of :data:`DESIGNS`.
    n_sounds : int or None
        Sounds of the ``random``, ``sobol`` and ``lhs`` designs.
    n_anchors, n_steps : int or None
        Anchors and steps per sweep of the ``sweeps`` design.
    seed : int

    Returns
    -------
    values : dict {str: np.ndarray [shape=(n_sounds,)]}, float64

    Raises
    ------
    ConfigError
        If a setting the design needs is missing, or a grid would exceed
        :data:`MAX_GRID_SOUNDS`.

    Examples
    --------
    >>> table = design_table([Range("a", 0, 1, 2), Range("b", 1, 100, 3, "log")])
    >>> table["b"].tolist()
    [1.0, 10.0, 100.0, 1.0, 10.0, 100.0]
    """
    ranges = list(ranges)
    if design not in DESIGNS:
        raise ConfigError(f"design: unknown design {design!r} (expected one of {', '.join(DESIGNS)})")
    drawn = [r.name for r in ranges if r.draw != "grid"]
    if drawn and design != "grid":
        raise ConfigError(f"{drawn[0]}: 'draw: random' applies to the grid design only (design is {design})")
    if design == "grid":
        return _grid(ranges, seed)
    rng = np.random.default_rng(seed)
    if design == "sweeps":
        if not n_anchors or not n_steps:
            raise ConfigError("design sweeps: needs n_anchors and n_steps")
        return _sweeps(ranges, n_anchors, n_steps, rng)
    if not n_sounds:
        raise ConfigError(f"design {design}: needs n_sounds")
    # Imported here: scipy.stats takes 2 s to import, which every Snakemake
    # command (the config check imports this module) would otherwise pay.
    from scipy.stats import qmc

    if design == "random":
        unit = rng.random((n_sounds, len(ranges)))
    elif design == "sobol":
        with warnings.catch_warnings():
            # Balance properties need a power of 2; any size is still a valid design.
            warnings.simplefilter("ignore", UserWarning)
            unit = qmc.Sobol(len(ranges), scramble=True, rng=rng).random(n_sounds)
    else:
        unit = qmc.LatinHypercube(len(ranges), rng=rng).random(n_sounds)
    return {r.name: r.from_unit(unit[:, i]) for i, r in enumerate(ranges)}


def _grid(ranges, seed):
    axes = [r for r in ranges if r.draw == "grid"]
    size = math.prod(r.num for r in axes)
    if size > MAX_GRID_SOUNDS:
        shape = " x ".join(str(r.num) for r in axes)
        raise ConfigError(
            f"design grid: {shape} = {size:,} sounds is more than {MAX_GRID_SOUNDS:,}; "
            "use design: sobol or lhs with n_sounds for many factors"
        )
    grids = np.meshgrid(*[r.values() for r in axes], indexing="ij")
    table = {r.name: grid.ravel() for r, grid in zip(axes, grids, strict=True)}
    rng = np.random.default_rng(seed)
    for r in ranges:
        if r.draw != "grid":
            table[r.name] = rng.choice(r.values(), size=size)
    return {r.name: table[r.name] for r in ranges}


def _sweeps(ranges, n_anchors, n_steps, rng):
    anchors = rng.random((n_anchors, len(ranges)))
    columns = {r.name: [] for r in ranges}
    for anchor in anchors:
        for swept, sweep_range in enumerate(ranges):
            for i, r in enumerate(ranges):
                if i == swept:
                    columns[r.name].append(spaced_values(r.min, r.max, n_steps, r.scale))
                else:
                    columns[r.name].append(np.full(n_steps, r.from_unit(anchor[i])))
    return {name: np.concatenate(parts) for name, parts in columns.items()}
