"""Datasets: a synthesizer, a sampling design, and the sounds they make.

A dataset entry of ``config.yaml`` names a synthesizer (a built-in id or
any module following the contract of :mod:`gear.synthesizers`), the range
and scale of each of its parameters, and a sampling design
(:mod:`gear.designs`)::

    harmonic:
      synthesizer: harmonic
      parameters:
        f1: {min: 65.41, max: 1046.5, num: 10, scale: log}
        alpha: {min: 0.0, max: 2.0, num: 16}
        r: {min: 0.0, max: 1.0, num: 16}
      design: grid
      sample_rate: 16000
      duration: 0.5

:func:`resolve_dataset` checks such an entry against the synthesizer's
declarations (every error names the dataset and the parameter) and
:func:`make_dataset` renders it. A dataset is the sounds, their parameter
table (``sound_id`` then one column per parameter, in the synthesizer's
order) and a :class:`~gear.parameters.DatasetDescription` that later
stages read instead of knowing the synthesizer.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gear.designs import MAX_GRID_SOUNDS, Range, design_size, design_table
from gear.errors import ConfigError, SynthesizerError
from gear.parameters import DatasetDescription, Parameter
from gear.scales import check_domain
from gear.synthesizers import load_synthesizer
from gear.synthesizers.gear2023 import published_design

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "DEFAULT_DURATION",
    "Dataset",
    "ResolvedDataset",
    "resolve_dataset",
    "dataset_size",
    "make_dataset",
    "gear2023",
    "sound_ids",
]

DEFAULT_SAMPLE_RATE = 16000
DEFAULT_DURATION = 1.0

_DESIGN_KEYS = {"grid": set(), "random": {"n_sounds"}, "sobol": {"n_sounds"}, "lhs": {"n_sounds"},
                "sweeps": {"n_anchors", "n_steps"}}  # fmt: skip
_PRESET_KEYS = ("parameters", "design", "n_sounds", "n_anchors", "n_steps", "sample_rate", "duration", "options")


@dataclass
class Dataset:
    """Sounds and the parameters that made them.

    Attributes
    ----------
    audio : np.ndarray [shape=(n_sounds, n_samples)], float32
    params : pd.DataFrame [shape=(n_sounds, 1 + n_parameters)]
        ``sound_id`` then one column per parameter.
    sample_rate : int
        Rate written in the WAV headers.
    resample_to_model_rate : bool
        If False, every model reads the samples unresampled at its own
        rate (the published code's behaviour).
    description : DatasetDescription or None
        What ``parameters.json`` holds.
    """

    audio: np.ndarray
    params: pd.DataFrame
    sample_rate: int
    resample_to_model_rate: bool
    description: DatasetDescription | None = None


@dataclass
class ResolvedDataset:
    """A dataset entry checked against its synthesizer, defaults filled in.

    Attributes
    ----------
    synthesizer : gear.synthesizers.Synthesizer
    ranges : list of gear.designs.Range
        One per declared parameter, in declaration order (empty for a
        preset with a fixed design).
    design : str
    n_sounds : int
    sample_rate : int
    duration : float
    options : dict
    settings : dict
        ``n_sounds``, ``n_anchors``, ``n_steps`` and ``seed`` for the design.
    """

    synthesizer: object
    ranges: list
    design: str
    n_sounds: int
    sample_rate: int
    duration: float
    options: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def describe(self, params=None):
        """The dataset's :class:`DatasetDescription` (ranges from ``params`` for presets)."""
        parameters = []
        for declared in self.synthesizer.parameters:
            chosen = next((r for r in self.ranges if r.name == declared.name), None)
            if chosen is not None:
                low, high, scale = chosen.min, chosen.max, chosen.scale
            else:
                values = params[declared.name].to_numpy(dtype=np.float64)
                low, high, scale = float(values.min()), float(values.max()), declared.scale
            parameters.append(
                Parameter(
                    name=declared.name,
                    unit=declared.unit,
                    min=float(low),
                    max=float(high),
                    scale=scale,
                    label=declared.label,
                    description=declared.description,
                    ratio_scale=declared.ratio_scale,
                )
            )
        return DatasetDescription(
            synthesizer=self.synthesizer.name,
            parameters=parameters,
            design="fixed" if self.synthesizer.fixed_design is not None else self.design,
            n_sounds=int(self.n_sounds),
            sample_rate=int(self.sample_rate),
            duration=float(self.duration),
            resample_to_model_rate=self.synthesizer.resample_to_model_rate,
            figure_grid=list(self.synthesizer.figure_grid),
        )


def sound_ids(n_sounds):
    """Zero-padded identifiers ``00000, 00001, ...`` that sort like integers.

    Parameters
    ----------
    n_sounds : int

    Returns
    -------
    ids : list of str [length=n_sounds]
    """
    width = max(5, len(str(max(n_sounds - 1, 0))))
    return [f"{i:0{width}d}" for i in range(n_sounds)]


def resolve_dataset(spec, dataset_id="dataset"):
    """Check a dataset entry against its synthesizer and fill in defaults.

    Parameters
    ----------
    spec : dict
        One entry of ``config["datasets"]`` (schema-validated).
    dataset_id : str
        Named in error messages.

    Returns
    -------
    resolved : ResolvedDataset

    Raises
    ------
    ConfigError
        One line naming the dataset and the key: unknown synthesizer, a
        module that breaks the contract, an unknown or missing parameter,
        a range outside what the synthesizer allows or above Nyquist, a
        setting the design lacks or does not use, a grid too large.
    """
    where = f"config: datasets.{dataset_id}"
    try:
        synthesizer = load_synthesizer(spec["synthesizer"])
    except SynthesizerError as error:
        raise ConfigError(f"{where}.synthesizer: {error}") from None
    if synthesizer.fixed_design is not None:
        given = [key for key in _PRESET_KEYS if key in spec]
        if given:
            raise ConfigError(
                f"{where}: synthesizer {synthesizer.name!r} replicates a published dataset and takes "
                f"no {', '.join(given)}"
            )
        return ResolvedDataset(
            synthesizer=synthesizer,
            ranges=[],
            design="fixed",
            n_sounds=len(next(iter(synthesizer.fixed_design().values()))),
            sample_rate=int(synthesizer.sample_rate),
            duration=float(synthesizer.duration),
        )
    sample_rate = int(spec.get("sample_rate", DEFAULT_SAMPLE_RATE))
    duration = float(spec.get("duration", DEFAULT_DURATION))
    if int(round(duration * sample_rate)) < 2:
        raise ConfigError(f"{where}.duration: {duration} s gives fewer than 2 samples at {sample_rate} Hz")
    options = dict(spec.get("options", {}))
    unknown = sorted(set(options) - set(synthesizer.options))
    if unknown:
        known = ", ".join(synthesizer.options) or "none"
        raise ConfigError(
            f"{where}.options.{unknown[0]}: synthesizer {synthesizer.name!r} has no option {unknown[0]!r} "
            f"(its options: {known})"
        )
    design = spec.get("design", "grid")
    ranges = _resolve_ranges(where, synthesizer, spec.get("parameters", {}), design, sample_rate)
    settings = {"seed": int(spec.get("seed", 0))}
    for key in ("n_sounds", "n_anchors", "n_steps"):
        if key in spec and key not in _DESIGN_KEYS[design]:
            raise ConfigError(f"{where}.{key}: not used by the {design} design")
        if key in _DESIGN_KEYS[design]:
            if key not in spec:
                raise ConfigError(f"{where}: the {design} design needs {key}")
            settings[key] = int(spec[key])
    if design == "sweeps" and settings["n_steps"] < 3:
        raise ConfigError(f"{where}.n_steps: a sweep needs at least 3 steps, got {settings['n_steps']}")
    size = design_size(ranges, design, settings.get("n_sounds"), settings.get("n_anchors"), settings.get("n_steps"))
    if design == "grid" and size > MAX_GRID_SOUNDS:
        shape = " x ".join(str(r.num) for r in ranges if r.draw == "grid")
        raise ConfigError(
            f"{where}: a grid of {shape} = {size:,} sounds is more than {MAX_GRID_SOUNDS:,}; "
            "use design: sobol or lhs with n_sounds for many factors"
        )
    return ResolvedDataset(synthesizer, ranges, design, size, sample_rate, duration, options, settings)


def _resolve_ranges(where, synthesizer, given, design, sample_rate):
    names = synthesizer.names
    for name in given:
        if name not in names:
            raise ConfigError(
                f"{where}.parameters.{name}: synthesizer {synthesizer.name!r} has no parameter {name!r} "
                f"(it has {', '.join(names)})"
            )
    ranges = []
    for declared in synthesizer.parameters:
        key = f"{where}.parameters.{declared.name}"
        spec = given.get(declared.name)
        if spec is None and declared.default is not None:
            # A default range serves every design; its number of values, grids only.
            spec = {k: v for k, v in declared.default.items() if design == "grid" or k != "num"}
        if spec is None:
            raise ConfigError(
                f"{where}.parameters: synthesizer {synthesizer.name!r} needs a range for {declared.name!r} "
                "(it declares no default)"
            )
        spec = {"scale": declared.scale, "draw": "grid", **spec}
        low, high, num, scale = spec.get("min"), spec.get("max"), spec.get("num"), spec["scale"]
        if low is None or high is None:
            raise ConfigError(f"{key}: needs min and max")
        if design == "grid" and num is None:
            raise ConfigError(f"{key}.num: the grid design needs a number of values")
        if design != "grid" and num is not None:
            raise ConfigError(f"{key}.num: used by the grid design only (design is {design})")
        if num is not None and num < 1:
            raise ConfigError(f"{key}.num: must be at least 1, got {num}")
        if high < low or (high == low and (num or 2) > 1):
            detail = f" for num={num}" if num is not None else ""
            raise ConfigError(f"{key}: range [{low}, {high}] is empty or inverted{detail}")
        unit = f" {declared.unit}" if declared.unit else ""
        if declared.max == "nyquist":
            if high >= sample_rate / 2:
                raise ConfigError(f"{key}.max: {high}{unit} is not below Nyquist ({sample_rate / 2}{unit})")
        elif high > declared.max:
            raise ConfigError(
                f"{key}.max: {high}{unit} is above what synthesizer {synthesizer.name!r} allows "
                f"(at most {declared.max:g}{unit})"
            )
        if low < declared.min:
            raise ConfigError(
                f"{key}.min: {low}{unit} is below what synthesizer {synthesizer.name!r} allows "
                f"(at least {declared.min:g}{unit})"
            )
        check_domain(low, scale, key)
        ranges.append(Range(declared.name, float(low), float(high), num, scale, spec["draw"]))
    return ranges


def dataset_size(spec, dataset_id="dataset"):
    """Number of sounds a dataset entry makes, without synthesizing it.

    Parameters
    ----------
    spec : dict
    dataset_id : str

    Returns
    -------
    n_sounds : int
    """
    return resolve_dataset(spec, dataset_id).n_sounds


def make_dataset(spec, dataset_id="dataset"):
    """Build a dataset from its configuration entry.

    Parameters
    ----------
    spec : dict
        One entry of ``config["datasets"]``.
    dataset_id : str
        Named in error messages.

    Returns
    -------
    dataset : Dataset

    Raises
    ------
    ConfigError
        If the entry is invalid (see :func:`resolve_dataset`).
    SynthesizerError
        If the synthesizer fails or renders unusable sounds.
    """
    resolved = resolve_dataset(spec, dataset_id)
    synthesizer = resolved.synthesizer
    if synthesizer.fixed_design is not None:
        values = synthesizer.fixed_design()
    else:
        values = design_table(resolved.ranges, resolved.design, **resolved.settings)
    return _render(resolved, values)


def _render(resolved, values):
    synthesizer = resolved.synthesizer
    ids = sound_ids(len(next(iter(values.values()))))
    params = pd.DataFrame({"sound_id": ids, **{name: np.asarray(values[name], dtype=np.float64)
                                                for name in synthesizer.names}})  # fmt: skip
    audio = synthesizer.render(values, resolved.sample_rate, resolved.duration, resolved.options, sound_ids=ids)
    return Dataset(
        audio=audio,
        params=params,
        sample_rate=resolved.sample_rate,
        resample_to_model_rate=synthesizer.resample_to_model_rate,
        description=resolved.describe(params),
    )


def gear2023(n_alpha=50, n_r=50):
    """The dataset of the paper's published code (see :mod:`gear.synthesizers.gear2023`).

    Parameters
    ----------
    n_alpha, n_r : int
        Grid sizes: 50 and 50 as published; other sizes follow the same
        recipe (e.g. to benchmark larger datasets).

    Returns
    -------
    dataset : Dataset
        ``n_alpha * n_r`` sounds of 1,024 samples.
    """
    resolved = resolve_dataset({"synthesizer": "gear2023"}, "gear2023")
    values = published_design(n_alpha, n_r)
    resolved.n_sounds = math.prod((n_alpha, n_r))
    return _render(resolved, values)
