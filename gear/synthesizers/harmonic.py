"""``harmonic``: the paper's additive harmonic tones (Eq. 1) in physical units.

A tone of fundamental ``f1`` (Hz) sums every harmonic below the Nyquist
frequency, with amplitudes ``(1 + (-1)**p r) / p**alpha``, under a Hann
window over the whole sound, and is normalized to a fixed peak::

    y(t) = peak * w(t) sum_{p : p f1 < sr/2} (1 + (-1)**p r) / p**alpha cos(2 pi p f1 t) / max|.|

Reference: V. Lostanlen, L. Yan, X. Yang, "From HEAR to GEAR", PMLR 166, 2023, Eq. 1.
"""

import numpy as np

from gear.synthesizers.additive import additive_tones

PARAMETERS = [
    {
        "name": "f1",
        "unit": "Hz",
        "min": 1.0,
        "max": "nyquist",
        "scale": "log",
        "label": "$f_1$",
        "description": "fundamental frequency",
        "default": {"min": 65.41, "max": 1046.5, "num": 10},
    },
    {
        "name": "alpha",
        "min": 0.0,
        "max": 10.0,
        "label": r"$\alpha$",
        "description": "spectral decay exponent: harmonic p has amplitude p**-alpha",
        "default": {"min": 0.0, "max": 2.0, "num": 16},
    },
    {
        "name": "r",
        "min": -1.0,
        "max": 1.0,
        "label": "$r$",
        "description": "odd-to-even amplitude difference: 1 keeps even harmonics only, -1 odd ones only",
        # The paper's Figure 4 reads r as a ratio; its values here are in [0, 1].
        "ratio_scale": True,
        "default": {"min": 0.0, "max": 1.0, "num": 16},
    },
]

OPTIONS = {"peak": 0.9}

FIGURE_GRID = ("alpha", "r")


def synthesize(params, sample_rate, duration, peak=0.9):
    """Render harmonic tones.

    Parameters
    ----------
    params : dict {str: np.ndarray [shape=(n_sounds,)]}
        ``f1`` (Hz, below Nyquist), ``alpha``, ``r``.
    sample_rate : int
    duration : float
        Seconds.
    peak : float
        Peak absolute amplitude of every sound.

    Returns
    -------
    audio : np.ndarray [shape=(n_sounds, round(duration * sample_rate))], float32
    """
    f1, alpha, r = (np.asarray(params[name], dtype=np.float64) for name in ("f1", "alpha", "r"))
    nyquist = sample_rate / 2
    n_samples = int(round(duration * sample_rate))
    # Largest p with p * f1 strictly below Nyquist.
    n_harmonics = np.ceil(nyquist / f1).astype(np.int64) - 1
    t = np.arange(n_samples) / sample_rate
    audio = additive_tones(f1, alpha, r, t, n_harmonics, window=np.hanning(n_samples), dtype=np.float32)
    peaks = np.maximum(audio.max(axis=1, keepdims=True), -audio.min(axis=1, keepdims=True))
    # r = 1 with alpha large still leaves the even harmonics: a silent
    # sound would need every amplitude zero, which Eq. 1 cannot give.
    audio *= peak / peaks.astype(np.float64)
    return audio
