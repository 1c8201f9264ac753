"""``fm``: two-operator frequency modulation (Chowning), with an exponential decay.

A sine carrier of frequency ``carrier`` (Hz) whose phase is modulated by a
sine of frequency ``ratio * carrier`` with peak phase deviation ``index``
(radians), under an exponential amplitude decay of time constant ``decay``
(seconds)::

    y(t) = peak * exp(-t / decay) * fade(t) * sin(2 pi fc t + index * sin(2 pi fm t)),
    fm = ratio * fc,  t = n / sample_rate, n = 0 .. n_samples - 1

``fade`` is a raised-cosine ramp from 1 to 0 over the last ``fade`` seconds
(an option, 10 ms by default) so that a sound cut off before it has decayed
does not end on a click; there is no ramp at the onset (the sine starts at
zero, a struck attack). With ``decay`` long and ``fade = 0`` the sound is
exactly periodic in ``1 / gcd(fc, fm)`` and, by the Jacobi-Anger expansion,

    sin(2 pi fc t + I sin(2 pi fm t)) = sum_n J_n(I) sin(2 pi (fc + n fm) t),

so the sideband at ``fc + n fm`` has amplitude ``peak * |J_n(index)|``
(Bessel functions of the first kind). Sidebands beyond the Nyquist
frequency, or below 0 Hz, fold back: the synthesizer does not band-limit
them (Carson's rule puts 98% of the power within ``fc +- (index + 1) fm``).

Reference: J. M. Chowning, "The synthesis of complex audio spectra by means
of frequency modulation", J. Audio Eng. Soc. 21(7), 526-534, 1973.
"""

import math

import numpy as np

PARAMETERS = [
    {
        "name": "carrier",
        "unit": "Hz",
        "min": 1.0,
        "max": "nyquist",
        "scale": "log",
        "label": "$f_c$",
        "description": "carrier frequency",
        "default": {"min": 110.0, "max": 1760.0, "num": 8},
    },
    {
        "name": "ratio",
        "min": 0.0,
        "max": math.inf,
        "scale": "log",
        "label": "$f_m / f_c$",
        "description": "modulator-to-carrier frequency ratio (integers give harmonic spectra)",
        "default": {"min": 0.5, "max": 4.0, "num": 5},
    },
    {
        "name": "index",
        "unit": "rad",
        "min": 0.0,
        "max": math.inf,
        "scale": "linear",
        "label": "$I$",
        "description": "modulation index: peak phase deviation of the carrier (0 gives a pure sine)",
        "default": {"min": 0.0, "max": 8.0, "num": 5},
    },
    {
        "name": "decay",
        "unit": "s",
        "min": 0.001,
        "max": math.inf,
        "scale": "log",
        "label": r"$\tau$",
        "description": "time constant of the exponential amplitude decay exp(-t / decay)",
        "default": {"min": 0.05, "max": 1.0, "num": 5},
    },
]

OPTIONS = {"peak": 0.9, "fade": 0.01}

FIGURE_GRID = ("ratio", "index")

# Samples per block of sounds: bounds each float64 work array to 32 MB, whatever the duration.
_BUFFER_ELEMENTS = 2**22


def synthesize(params, sample_rate, duration, peak=0.9, fade=0.01):
    """Render two-operator FM tones.

    Parameters
    ----------
    params : dict {str: np.ndarray [shape=(n_sounds,)]}
        ``carrier`` (Hz), ``ratio``, ``index`` (rad), ``decay`` (s).
    sample_rate : int
    duration : float
        Seconds.
    peak : float
        Amplitude at the onset (before the decay).
    fade : float
        Length in seconds of the raised-cosine fade-out at the end (0: none;
        at most the whole sound).

    Returns
    -------
    audio : np.ndarray [shape=(n_sounds, round(duration * sample_rate))], float32

    Examples
    --------
    >>> audio = synthesize({"carrier": np.array([440.0]), "ratio": np.array([2.0]),
    ...                     "index": np.array([3.0]), "decay": np.array([0.5])}, 16000, 0.25)
    >>> audio.shape, audio.dtype
    ((1, 4000), dtype('float32'))
    """
    carrier, ratio, index, decay = (np.asarray(params[name], dtype=np.float64) for name in
                                    ("carrier", "ratio", "index", "decay"))  # fmt: skip
    n_samples = int(round(duration * sample_rate))
    n = np.arange(n_samples, dtype=np.float64)
    t = n / sample_rate
    window = _fade_out(n_samples, fade * sample_rate)
    audio = np.empty((carrier.size, n_samples), dtype=np.float32)
    block = max(1, _BUFFER_ELEMENTS // max(n_samples, 1))
    for start in range(0, carrier.size, block):
        rows = slice(start, start + block)
        omega_c = 2 * np.pi * carrier[rows, np.newaxis] / sample_rate  # radians per sample
        omega_m = omega_c * ratio[rows, np.newaxis]
        # One buffer holds the modulator, then the carrier's phase, then the sound (float64
        # phases stay exact to ~1e-9 rad over 10**6 samples).
        buffer = np.multiply(omega_m, n)
        np.sin(buffer, out=buffer)
        buffer *= index[rows, np.newaxis]
        buffer += omega_c * n
        np.sin(buffer, out=buffer)
        envelope = np.multiply(-1 / decay[rows, np.newaxis], t)
        np.exp(envelope, out=envelope)
        envelope *= peak * window
        buffer *= envelope
        audio[rows] = buffer
    return audio


def _fade_out(n_samples, n_fade):
    """A window of ones ending in a raised-cosine ramp to zero over ``n_fade`` samples.

    Parameters
    ----------
    n_samples : int
    n_fade : float
        Ramp length in samples (rounded; clipped to ``[0, n_samples]``).

    Returns
    -------
    window : np.ndarray [shape=(n_samples,)], float64
        1 before the ramp; the ramp's last sample is the last non-zero value
        ``0.5 (1 + cos(pi n_fade / (n_fade + 1)))``.
    """
    window = np.ones(n_samples)
    length = int(min(max(round(n_fade), 0), n_samples))
    if length:
        k = np.arange(1, length + 1)
        window[n_samples - length :] = 0.5 * (1 + np.cos(np.pi * k / (length + 1)))
    return window
