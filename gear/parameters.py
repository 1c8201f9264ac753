"""What a synthesis parameter is, and the description that travels with a dataset.

Synthesis writes ``parameters.json`` next to ``params.csv``: the
synthesizer's name, the design, and for every parameter its name, unit,
range, analysis scale, label and whether a ratio of its values means
something. Every later stage (regression, metrics, figures, views) reads
that file, and nothing else, to know which factors it is scoring: none of
them knows which synthesizer made the sounds.
"""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from gear.errors import DataError
from gear.scales import SCALES, to_scale

__all__ = [
    "Parameter",
    "DatasetDescription",
    "as_parameters",
    "analysis_matrix",
    "read_description",
    "write_description",
]


@dataclass(frozen=True)
class Parameter:
    """One synthesis parameter, as a synthesizer declares it.

    Attributes
    ----------
    name : str
        Column name in ``params.csv``.
    unit : str
        Physical unit (``"Hz"``, ``"s"``) or ``""`` for a pure number.
    min, max : float or str
        Values the synthesizer accepts (both included). ``max`` may be
        ``"nyquist"``: strictly below half the dataset's sample rate.
    scale : str
        Scale on which values are spaced and analysed (see :mod:`gear.scales`).
    label : str
        Name in figures (matplotlib mathtext allowed); defaults to ``name``.
    description : str
        One sentence for tables and the README.
    ratio_scale : bool
        Whether ``estimate / true`` means something (a positive quantity
        with a true zero). Defaults to ``min >= 0``. Where it is False, the
        K-NN regression reports the normalized error only.
    default : dict or None
        Range used when a dataset gives none: ``{"min", "max", "num"}``
        (and optionally ``"scale"``).
    """

    name: str
    unit: str = ""
    min: float = -math.inf
    max: float | str = math.inf
    scale: str = "linear"
    label: str = ""
    description: str = ""
    ratio_scale: bool | None = None
    default: dict | None = field(default=None, compare=False)

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.name)
        if self.ratio_scale is None:
            object.__setattr__(self, "ratio_scale", bool(self.min >= 0))

    @property
    def title(self):
        """Label with its unit, e.g. ``"$f_1$ (Hz)"``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass
class DatasetDescription:
    """The content of ``parameters.json``.

    Attributes
    ----------
    synthesizer : str
        Built-in id or module name.
    parameters : list of Parameter
        Every parameter, in ``params.csv`` column order; ``min`` and ``max``
        are the dataset's range, ``scale`` its spacing and analysis scale.
    design : str
    n_sounds : int
    sample_rate : int
    duration : float
    resample_to_model_rate : bool
    figure_grid : list of str
        The two parameters (rows, columns) of the sound grid figure.
    code : dict or None
        The fingerprint of the code that synthesized the sounds
        (:func:`gear.fingerprint.code_fingerprint`); None if not recorded.
    """

    synthesizer: str
    parameters: list
    design: str
    n_sounds: int
    sample_rate: int
    duration: float
    resample_to_model_rate: bool = True
    figure_grid: list = field(default_factory=list)
    code: dict | None = None

    @property
    def names(self):
        """Parameter names, in column order."""
        return [parameter.name for parameter in self.parameters]

    def to_dict(self):
        """A JSON-ready dict."""
        record = asdict(self)
        record["parameters"] = [
            {key: value for key, value in asdict(parameter).items() if key != "default"}
            for parameter in self.parameters
        ]
        return record


def as_parameters(parameters):
    """Parameter objects from parameters or plain names.

    Parameters
    ----------
    parameters : sequence of Parameter or str
        A name becomes a linear-scale, ratio-scale parameter of that name
        (the paper's reading of its factors).

    Returns
    -------
    parameters : list of Parameter
    """
    return [p if isinstance(p, Parameter) else Parameter(name=str(p), ratio_scale=True) for p in parameters]


def analysis_matrix(params, parameters, context="metrics"):
    """Parameter values on their analysis scales.

    Parameters
    ----------
    params : pd.DataFrame
        One column per parameter.
    parameters : sequence of Parameter or str
    context : str
        Prefix of error messages.

    Returns
    -------
    values : np.ndarray [shape=(n_sounds, n_parameters)], float64

    Raises
    ------
    DataError
        If a column is missing or not finite, or a value is outside its
        scale's domain (e.g. not positive on a log scale).
    """
    columns = []
    for parameter in as_parameters(parameters):
        if parameter.name not in params:
            raise DataError(
                f"{context}: params has no column {parameter.name!r} (columns: {list(params.columns)})"
            )
        value = params[parameter.name].to_numpy(dtype=np.float64)
        if not np.isfinite(value).all():
            raise DataError(f"{context}: params column {parameter.name!r} has NaN or infinite values")
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = to_scale(value, parameter.scale)
        if not np.isfinite(scaled).all():
            raise DataError(
                f"{context}: parameter {parameter.name!r} has values outside the domain of its "
                f"{parameter.scale} scale"
            )
        columns.append(scaled)
    return np.column_stack(columns) if columns else np.empty((len(params), 0))


def write_description(path, description):
    """Write ``parameters.json`` (sorted keys: identical datasets, identical bytes)."""
    # Imported here: only writing needs gear.io (pandas, soundfile), and the
    # analysis and the synthesizers import this module for its descriptions.
    from gear.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(description.to_dict(), indent=2, sort_keys=True) + "\n")


def read_description(path):
    """Read ``parameters.json``.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    description : DatasetDescription

    Raises
    ------
    DataError
        If the file is missing, not JSON, or not a description.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text())
        parameters = [Parameter(**entry) for entry in record.pop("parameters")]
        description = DatasetDescription(parameters=parameters, **record)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise DataError(f"{path}: not a GEAR dataset description ({type(error).__name__}: {error})") from error
    for parameter in description.parameters:
        if parameter.scale not in SCALES:
            raise DataError(f"{path}: parameter {parameter.name!r} has unknown scale {parameter.scale!r}")
    return description
