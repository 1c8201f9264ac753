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

Values that become a dataset (grid axes, design draws) are computed with
``exact=True``: every logarithm, exponential and power is then evaluated
element by element in 128-bit arithmetic (mpmath, integers only) and
rounded once to float64, so that they are the same bytes on every
processor. numpy instead dispatches these functions at run time to SIMD
code (AVX-512 where the CPU has it) that rounds differently in the last
bit. The elementary operations around them (``+ - * /``) are correctly
rounded IEEE operations everywhere and stay in numpy. Scores keep the fast
numpy functions: a last-bit difference there is far below their noise.
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


def _correctly_rounded(values, function):
    """``function(mpmath, value)`` of every value, in 128 bits, rounded once to float64.

    mpmath computes with integers only, so the result is the same bytes on
    every processor; it is also the correctly rounded value, which glibc's
    scalar functions (what numpy calls on a CPU without AVX-512) give in all
    but rare cases. Values outside the real domain give NaN, as in numpy.

    Parameters
    ----------
    values : np.ndarray, float64
    function : callable ``(mpmath, mpf) -> mpf``

    Returns
    -------
    np.ndarray, float64, same shape as ``values``
    """
    import mpmath  # imported here: only datasets need it, not every config check

    def one(value):
        if value != value:  # NaN stays NaN
            return value
        result = function(mpmath, mpmath.mpf(value))
        return float(result) if isinstance(result, mpmath.mpf) else np.nan  # complex: outside the domain

    values = np.asarray(values, dtype=np.float64)
    with mpmath.workprec(128):
        return np.array([one(value) for value in values.ravel().tolist()], dtype=np.float64).reshape(values.shape)


class _Numpy:
    """The scales' transcendental functions as numpy computes them: fast, last bit CPU-dependent."""

    log, log10, log2, exp, power = np.log, np.log10, np.log2, np.exp, np.power


class _Exact:
    """The same functions correctly rounded: the same bytes on every processor (~10 us a value)."""

    @staticmethod
    def log(x):
        return _correctly_rounded(x, lambda mp, v: mp.log(v))

    @staticmethod
    def log10(x):
        return _correctly_rounded(x, lambda mp, v: mp.log10(v))

    @staticmethod
    def log2(x):
        return _correctly_rounded(x, lambda mp, v: mp.log(v, 2))

    @staticmethod
    def exp(x):
        return _correctly_rounded(x, lambda mp, v: mp.exp(v))

    @staticmethod
    def power(base, exponent):
        return _correctly_rounded(exponent, lambda mp, v: mp.power(base, v))


def to_scale(values, scale, exact=False):
    """Map values to a scale on which equal differences are equal steps.

    Parameters
    ----------
    values : np.ndarray [shape=(n,)] or float
    scale : str
        One of :data:`SCALES`.
    exact : bool
        Correctly rounded logarithms: the same bytes on every processor
        (for values that make a dataset; ~10 us a value instead of ~1 ns).

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
    functions = _Exact if exact else _Numpy
    if scale == "linear":
        return values.copy()
    if scale == "log":
        return functions.log(values)
    if scale == "mel":
        return 2595.0 * functions.log10(1.0 + values / 700.0)
    if scale == "erb":
        return 21.4 * functions.log10(1.0 + 0.00437 * values)
    return 69.0 + 12.0 * functions.log2(values / 440.0)


def from_scale(scaled, scale, exact=False):
    """Inverse of :func:`to_scale`.

    Parameters
    ----------
    scaled : np.ndarray [shape=(n,)] or float
    scale : str
    exact : bool
        Correctly rounded exponentials (see :func:`to_scale`).

    Returns
    -------
    values : np.ndarray [shape=(n,)], float64
    """
    _check_name(scale)
    scaled = np.asarray(scaled, dtype=np.float64)
    functions = _Exact if exact else _Numpy
    if scale == "linear":
        return scaled.copy()
    if scale == "log":
        return functions.exp(scaled)
    if scale == "mel":
        return 700.0 * (functions.power(10.0, scaled / 2595.0) - 1.0)
    if scale == "erb":
        return (functions.power(10.0, scaled / 21.4) - 1.0) / 0.00437
    return 440.0 * functions.power(2.0, (scaled - 69.0) / 12.0)


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
        The ends are exactly ``low`` and ``high``; every value is the same
        bytes on every processor (correctly rounded logarithms and powers).

    Examples
    --------
    >>> spaced_values(110.0, 440.0, 3, "log")
    array([110., 220., 440.])
    """
    _check_name(scale)
    if scale == "linear":
        return np.linspace(low, high, num)
    if scale == "log":
        # numpy.geomspace's recipe, the values GEAR has always used, with
        # correctly rounded log10 and power.
        values = _Exact.power(10.0, np.linspace(*_Exact.log10([low, high]), num))
    else:
        values = from_scale(np.linspace(*to_scale([low, high], scale, exact=True), num), scale, exact=True)
    # Round trips through the transform move the ends by an ulp or two.
    values[0] = low
    if num > 1:
        values[-1] = high
    return values
