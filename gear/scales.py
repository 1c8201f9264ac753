"""Scales on which synthesis parameters are spaced and analysed.

A parameter's scale says which differences are equal: on ``log`` a factor,
on ``mel`` or ``erb`` a perceptual step in pitch, on ``semitones`` a
musical interval. The same scale serves twice: the values of a dataset are
evenly spaced on it, and every score compares parameters on it (so that a
K-NN regression or a rank correlation of a frequency is computed on a
perceptual axis, not in Hz).

=============  ===================================  =====================
scale          forward transform of a value ``x``    domain
=============  ===================================  =====================
``linear``     ``x``                                 any
``log``        ``ln(x)``                             ``x > 0``
``mel``        ``2595 log10(1 + x / 700)`` (HTK)     ``x >= 0`` (Hz)
``erb``        ``21.4 log10(1 + 0.00437 x)``         ``x >= 0`` (Hz)
               (ERB-rate, Glasberg and Moore 1990)
``semitones``  ``69 + 12 log2(x / 440)`` (MIDI)      ``x > 0`` (Hz)
=============  ===================================  =====================
"""

import numpy as np

from gear.errors import ConfigError

__all__ = ["SCALES", "to_scale", "from_scale", "spaced_values", "check_domain"]

#: Names of the known scales.
SCALES = ("linear", "log", "mel", "erb", "semitones")

# Smallest value each scale accepts, and whether it is excluded.
_DOMAIN = {"linear": (-np.inf, True), "log": (0.0, True), "mel": (0.0, False), "erb": (0.0, False),
           "semitones": (0.0, True)}  # fmt: skip


def _check_name(scale):
    if scale not in SCALES:
        raise ConfigError(f"scale: unknown scale {scale!r} (expected one of {', '.join(SCALES)})")


def check_domain(low, scale, name):
    """Raise if a range starting at ``low`` leaves the scale's domain.

    Parameters
    ----------
    low : float
        Smallest value of the range.
    scale : str
    name : str
        What to name in the message (e.g. ``"datasets.fm.carrier"``).

    Raises
    ------
    ConfigError
    """
    _check_name(scale)
    bound, exclusive = _DOMAIN[scale]
    if low < bound or (exclusive and low == bound):
        relation = ">" if exclusive else ">="
        raise ConfigError(f"{name}: a {scale} scale needs min {relation} {bound:g}, got {low:g}")


def to_scale(values, scale):
    """Map values to a scale on which equal differences are equal steps.

    Parameters
    ----------
    values : np.ndarray [shape=(n,)] or float
    scale : str
        One of :data:`SCALES`.

    Returns
    -------
    scaled : np.ndarray [shape=(n,)], float64

    Examples
    --------
    >>> to_scale([440.0, 880.0], "semitones")
    array([69., 81.])
    """
    _check_name(scale)
    values = np.asarray(values, dtype=np.float64)
    if scale == "linear":
        return values.copy()
    if scale == "log":
        return np.log(values)
    if scale == "mel":
        return 2595.0 * np.log10(1.0 + values / 700.0)
    if scale == "erb":
        return 21.4 * np.log10(1.0 + 0.00437 * values)
    return 69.0 + 12.0 * np.log2(values / 440.0)


def from_scale(scaled, scale):
    """Inverse of :func:`to_scale`.

    Parameters
    ----------
    scaled : np.ndarray [shape=(n,)] or float
    scale : str

    Returns
    -------
    values : np.ndarray [shape=(n,)], float64
    """
    _check_name(scale)
    scaled = np.asarray(scaled, dtype=np.float64)
    if scale == "linear":
        return scaled.copy()
    if scale == "log":
        return np.exp(scaled)
    if scale == "mel":
        return 700.0 * (10.0 ** (scaled / 2595.0) - 1.0)
    if scale == "erb":
        return (10.0 ** (scaled / 21.4) - 1.0) / 0.00437
    return 440.0 * 2.0 ** ((scaled - 69.0) / 12.0)


def spaced_values(low, high, num, scale="linear"):
    """``num`` values from ``low`` to ``high`` (both included), evenly spaced on a scale.

    Parameters
    ----------
    low, high : float
    num : int >= 1
        With 1, the single value is ``low``.
    scale : str

    Returns
    -------
    values : np.ndarray [shape=(num,)], float64
        The ends are exactly ``low`` and ``high``.

    Examples
    --------
    >>> spaced_values(110.0, 440.0, 3, "log")
    array([110., 220., 440.])
    """
    _check_name(scale)
    if scale == "linear":
        return np.linspace(low, high, num)
    if scale == "log":
        # numpy's own geometric spacing: the values GEAR has always used.
        return np.geomspace(low, high, num)
    values = from_scale(np.linspace(*to_scale([low, high], scale), num), scale)
    # Round trips through the transform move the ends by an ulp or two.
    values[0] = low
    if num > 1:
        values[-1] = high
    return values
