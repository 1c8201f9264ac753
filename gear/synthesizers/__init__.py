"""Synthesizers: any module that declares its parameters and renders sounds.

The contract
------------
A synthesizer is a Python module (built-in, or any importable module named
in ``config.yaml``) with two required names::

    PARAMETERS = [
        {"name": "carrier", "unit": "Hz", "min": 20.0, "max": "nyquist",
         "scale": "log", "default": {"min": 110.0, "max": 880.0, "num": 8}},
        {"name": "index", "min": 0.0, "max": 20.0},
        ...
    ]

    def synthesize(params, sample_rate, duration, **options):
        # params: dict name -> np.ndarray [shape=(n_sounds,)], float64
        # returns np.ndarray [shape=(n_sounds, round(duration * sample_rate))]
        ...

Each entry of ``PARAMETERS`` holds the fields of
:class:`gear.parameters.Parameter`: ``name`` (required), ``unit``, ``min``
and ``max`` (the values it accepts; ``max`` may be ``"nyquist"``), the
``scale`` on which it is spaced and analysed (``linear``, ``log``, ``mel``,
``erb``, ``semitones``), a figure ``label``, a ``description``,
``ratio_scale`` and a ``default`` range. ``synthesize`` must return finite
float32 sounds, none of them silent, one row per sound.

Optional names:

``OPTIONS``
    dict of fixed settings and their defaults (e.g. ``{"peak": 0.9}``),
    passed to ``synthesize`` as keywords; a dataset overrides them under
    ``options:``.
``FIGURE_GRID``
    the two parameters (rows, columns) of the sound-grid figure
    (default: the first two).
``FIXED_DESIGN``, ``SAMPLE_RATE``, ``DURATION``, ``RESAMPLE_TO_MODEL_RATE``
    for presets that replicate a published dataset (``gear2023``):
    ``FIXED_DESIGN()`` returns the parameter table, and the dataset then
    takes no parameters, design, rate or duration.

:func:`load_synthesizer` checks the contract and turns every violation,
and every bad render, into a one-line :class:`~gear.errors.SynthesizerError`
naming the synthesizer and the parameter or sound.
"""

import importlib
import inspect
import math
from dataclasses import dataclass, field

import numpy as np

from gear.errors import SynthesizerError
from gear.parameters import Parameter
from gear.scales import SCALES

__all__ = ["BUILTIN", "Synthesizer", "load_synthesizer"]

#: Built-in synthesizers: id -> module.
BUILTIN = {
    "gear2023": "gear.synthesizers.gear2023",
    "harmonic": "gear.synthesizers.harmonic",
    "fm": "gear.synthesizers.fm",
    "chirp": "gear.synthesizers.chirp",
    "drum": "gear.synthesizers.drum",
}

_PARAMETER_FIELDS = {f for f in inspect.signature(Parameter).parameters}


@dataclass
class Synthesizer:
    """A loaded synthesizer whose contract has been checked.

    Attributes
    ----------
    name : str
        Built-in id or module name, as given in the configuration.
    module : module
    parameters : list of Parameter
        As declared, in declaration order (the order of ``params.csv``).
    options : dict
        Default options.
    figure_grid : list of str
    fixed_design : callable or None
    sample_rate, duration : int, float or None
        Fixed by presets, else None.
    resample_to_model_rate : bool
    """

    name: str
    module: object
    parameters: list
    options: dict = field(default_factory=dict)
    figure_grid: list = field(default_factory=list)
    fixed_design: object = None
    sample_rate: int | None = None
    duration: float | None = None
    resample_to_model_rate: bool = True

    def parameter(self, name):
        """The declared parameter of this name."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise SynthesizerError(
            f"synthesizer {self.name!r} has no parameter {name!r} (it has {', '.join(self.names)})"
        )

    @property
    def names(self):
        """Parameter names, in declaration order."""
        return [parameter.name for parameter in self.parameters]

    def render(self, values, sample_rate, duration, options=None, sound_ids=None):
        """Render a table of parameter values into sounds, and check them.

        Parameters
        ----------
        values : dict {str: np.ndarray [shape=(n_sounds,)]}
            One array per declared parameter.
        sample_rate : int
        duration : float
            Seconds; each sound has ``round(duration * sample_rate)`` samples.
        options : dict or None
            Overrides of the declared options.
        sound_ids : sequence of str or None
            Names of the sounds in error messages (default: row numbers).

        Returns
        -------
        audio : np.ndarray [shape=(n_sounds, n_samples)], float32

        Raises
        ------
        SynthesizerError
            If ``synthesize`` raises, or returns the wrong shape, non-finite
            values or a silent sound.
        """
        arrays = {name: np.asarray(values[name], dtype=np.float64) for name in self.names}
        n_sounds = len(next(iter(arrays.values()))) if arrays else 0
        n_samples = int(round(duration * sample_rate))
        settings = {**self.options, **(options or {})}
        try:
            audio = self.module.synthesize(arrays, sample_rate, duration, **settings)
        except Exception as error:  # noqa: BLE001 - any failure of user code, named
            message = " ".join(str(error).split())
            raise SynthesizerError(
                f"synthesizer {self.name!r}: synthesize failed: {type(error).__name__}: {message}"
            ) from error
        audio = np.asarray(audio)
        if audio.shape != (n_sounds, n_samples):
            raise SynthesizerError(
                f"synthesizer {self.name!r}: synthesize returned shape {audio.shape}, expected "
                f"({n_sounds}, {n_samples}) (n_sounds, round(duration * sample_rate))"
            )
        if not np.issubdtype(audio.dtype, np.floating):
            raise SynthesizerError(f"synthesizer {self.name!r}: synthesize returned {audio.dtype} samples, not float")
        audio = audio.astype(np.float32, copy=False)
        ids = list(sound_ids) if sound_ids is not None else [str(i) for i in range(n_sounds)]
        bad = np.flatnonzero(~np.isfinite(audio).all(axis=1))
        if bad.size:
            raise SynthesizerError(
                f"synthesizer {self.name!r}: NaN or infinite samples in {bad.size} sound(s), first "
                f"{ids[bad[0]]} ({self._describe(arrays, bad[0])})"
            )
        silent = np.flatnonzero(np.abs(audio).max(axis=1, initial=0) == 0)
        if silent.size:
            raise SynthesizerError(
                f"synthesizer {self.name!r}: {silent.size} silent sound(s), first {ids[silent[0]]} "
                f"({self._describe(arrays, silent[0])})"
            )
        return audio

    def _describe(self, arrays, row):
        return ", ".join(f"{name} = {arrays[name][row]:.6g}" for name in self.names)


def load_synthesizer(name):
    """Import a synthesizer and check its contract.

    Parameters
    ----------
    name : str
        A built-in id (see :data:`BUILTIN`) or an importable module name.

    Returns
    -------
    synthesizer : Synthesizer

    Raises
    ------
    SynthesizerError
        If the module cannot be imported or breaks the contract.
    """
    module_name = BUILTIN.get(name, name)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - ImportError and whatever the module raises
        hint = f" (built-in: {', '.join(BUILTIN)})" if name == module_name else ""
        raise SynthesizerError(
            f"cannot import synthesizer {name!r}{hint}: {type(error).__name__}: {error}"
        ) from error
    missing = [attr for attr in ("PARAMETERS", "synthesize") if not hasattr(module, attr)]
    if missing:
        raise SynthesizerError(
            f"module {module_name!r} is not a GEAR synthesizer: missing {', '.join(missing)} "
            "(see gear.synthesizers for the contract)"
        )
    if not callable(module.synthesize):
        raise SynthesizerError(f"synthesizer {name!r}: synthesize is not callable")
    parameters = _declared_parameters(name, module.PARAMETERS)
    names = [parameter.name for parameter in parameters]
    options = getattr(module, "OPTIONS", {})
    if not isinstance(options, dict):
        raise SynthesizerError(f"synthesizer {name!r}: OPTIONS must be a dict, got {type(options).__name__}")
    figure_grid = list(getattr(module, "FIGURE_GRID", names[:2]))
    unknown = [p for p in figure_grid if p not in names]
    if unknown or len(figure_grid) > 2:
        raise SynthesizerError(f"synthesizer {name!r}: FIGURE_GRID {figure_grid} must name up to two of its parameters")
    return Synthesizer(
        name=name,
        module=module,
        parameters=parameters,
        options=dict(options),
        figure_grid=figure_grid,
        fixed_design=getattr(module, "FIXED_DESIGN", None),
        sample_rate=getattr(module, "SAMPLE_RATE", None),
        duration=getattr(module, "DURATION", None),
        resample_to_model_rate=bool(getattr(module, "RESAMPLE_TO_MODEL_RATE", True)),
    )


def _declared_parameters(name, declared):
    if isinstance(declared, (str, bytes)) or not hasattr(declared, "__iter__"):
        raise SynthesizerError(f"synthesizer {name!r}: PARAMETERS must be a list of dicts")
    parameters = []
    for index, entry in enumerate(declared):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise SynthesizerError(f"synthesizer {name!r}: PARAMETERS[{index}] must be a dict with a 'name'")
        where = f"synthesizer {name!r}: parameter {entry['name']!r}"
        unknown = sorted(set(entry) - _PARAMETER_FIELDS)
        if unknown:
            raise SynthesizerError(f"{where}: unknown field(s) {', '.join(unknown)}")
        parameter = Parameter(**entry)
        if parameter.scale not in SCALES:
            raise SynthesizerError(f"{where}: unknown scale {parameter.scale!r} (expected one of {', '.join(SCALES)})")
        low, high = parameter.min, parameter.max
        if not isinstance(low, (int, float)) or (not isinstance(high, (int, float)) and high != "nyquist"):
            raise SynthesizerError(f"{where}: min must be a number and max a number or 'nyquist'")
        if high != "nyquist" and not low <= high:
            raise SynthesizerError(f"{where}: min {low} is above max {high}")
        if not math.isinf(low) and math.isnan(low):
            raise SynthesizerError(f"{where}: min is NaN")
        parameters.append(parameter)
    names = [parameter.name for parameter in parameters]
    if not names:
        raise SynthesizerError(f"synthesizer {name!r}: PARAMETERS is empty")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SynthesizerError(f"synthesizer {name!r}: parameter(s) declared twice: {', '.join(duplicated)}")
    if "sound_id" in names:
        raise SynthesizerError(f"synthesizer {name!r}: 'sound_id' is reserved for the sound identifiers")
    return parameters
