"""``chirp``: the amplitude-modulated exponential chirp of the Kymatio tutorial's GEAR chapter.

The synthesizer of the ISMIR 2023 Kymatio tutorial ("AM/FM chirp dataset
generation", chapter 5), with its three factors: a carrier frequency
``carrier`` = f_c (Hz), an amplitude-modulation frequency ``am_rate`` = f_m
(Hz) and a chirp rate ``chirp_rate`` = gamma (octaves per second)::

    g(t) = phi(gamma t) sin(2 pi f_m t) sin(2 pi f_c (2**(gamma t) - 1) / (gamma ln 2)),

with ``t`` in seconds from the middle of the sound (``t = (n - N / 2) /
sample_rate``, as the tutorial's ``arange(-duration / 2, duration / 2,
1 / sr)``). The instantaneous frequency of the carrier is
``f_c 2**(gamma t)``: ``f_c`` at the middle of the sound, rising (gamma > 0)
or falling (gamma < 0) by ``|gamma|`` octaves per second; at gamma = 0 the
phase is its limit ``2 pi f_c t`` (a steady tone). The amplitude modulation
multiplies by the signed ``sin(2 pi f_m t)`` (a ring modulation, as in the
tutorial): the spectrum of a steady tone has two lines at ``f_c +- f_m``
and none at ``f_c``, and the envelope ``|sin(2 pi f_m t)|`` has two lobes
per modulation period (it repeats at ``2 f_m``).

``phi`` is the tutorial's Gaussian window, of standard deviation
``0.1 * bandwidth / |gamma|`` seconds (``sigma0 * bw / gamma`` in its code,
``bandwidth`` = 2 octaves by default): the faster the chirp, the shorter
the sound, so that every chirp sweeps about the same number of octaves. At
gamma = 0 the window is flat.

Departures from the tutorial's code, all of them options or documented
here: the window is centred on ``t = 0`` (the tutorial's
``scipy.signal.gaussian`` is centred half a sample later); each sound is
scaled to a fixed ``peak`` (the tutorial multiplies by gamma and the text
normalizes the energy); the last and first ``fade`` seconds get a
raised-cosine ramp (10 ms by default), so that a window cut off by the
sound's duration does not click; samples whose instantaneous frequency is
at or above the Nyquist frequency are set to zero instead of aliasing.

Reference: "Kymatio: deep learning meets wavelet theory for music signal
processing", tutorial at ISMIR 2023, https://github.com/kymatio/ismir23-tutorial,
chapter "GEAR", section "AM/FM chirp dataset generation" (code: ``generate_am_chirp`` in
https://github.com/cyrusvahidi/ismir23-kymatio-tools, ``s1dt/synth.py``);
after J. Muradeli, C. Vahidi, C. Wang, H. Han, V. Lostanlen, M. Lagrange,
G. Fazekas, "Differentiable time-frequency scattering on GPU", DAFx 2022.
"""

import numpy as np

PARAMETERS = [
    {
        "name": "carrier",
        "unit": "Hz",
        "min": 1.0,
        "max": "nyquist",
        "scale": "log",
        "label": "$f_c$",
        "description": "carrier frequency at the middle of the sound",
        "default": {"min": 128.0, "max": 1024.0, "num": 10},
    },
    {
        "name": "am_rate",
        "unit": "Hz",
        "min": 0.01,
        "max": "nyquist",
        "scale": "log",
        "label": "$f_m$",
        "description": "amplitude-modulation frequency (the sound is multiplied by sin(2 pi f_m t))",
        "default": {"min": 2.0, "max": 32.0, "num": 10},
    },
    {
        "name": "chirp_rate",
        "unit": "oct/s",
        "min": -100.0,
        "max": 100.0,
        "scale": "linear",
        "label": r"$\gamma$",
        "description": "chirp rate: octaves per second of the carrier's rise (negative: fall)",
        "ratio_scale": False,
        "default": {"min": -4.0, "max": 4.0, "num": 10},
    },
]

OPTIONS = {"bandwidth": 2.0, "peak": 0.9, "fade": 0.01}

FIGURE_GRID = ("am_rate", "chirp_rate")

# Samples per block of sounds: bounds each float64 work array to 32 MB, whatever the duration.
_BUFFER_ELEMENTS = 2**22


def synthesize(params, sample_rate, duration, bandwidth=2.0, peak=0.9, fade=0.01):
    """Render amplitude-modulated exponential chirps.

    Parameters
    ----------
    params : dict {str: np.ndarray [shape=(n_sounds,)]}
        ``carrier`` (Hz, positive), ``am_rate`` (Hz, positive), ``chirp_rate``
        (octaves per second, any sign).
    sample_rate : int
    duration : float
        Seconds.
    bandwidth : float
        Octaves; the Gaussian window has standard deviation
        ``0.1 * bandwidth / |chirp_rate|`` seconds.
    peak : float
        Peak absolute amplitude of every sound.
    fade : float
        Seconds of raised-cosine fade-in and fade-out (0: none).

    Returns
    -------
    audio : np.ndarray [shape=(n_sounds, round(duration * sample_rate))], float32

    Examples
    --------
    >>> audio = synthesize({"carrier": np.array([512.0]), "am_rate": np.array([8.0]),
    ...                     "chirp_rate": np.array([2.0])}, 16000, 1.0)
    >>> audio.shape, float(np.abs(audio).max())
    ((1, 16000), 0.8999999761581421)
    """
    carrier, am_rate, gamma = (np.asarray(params[name], dtype=np.float64) for name in
                               ("carrier", "am_rate", "chirp_rate"))  # fmt: skip
    n_samples = int(round(duration * sample_rate))
    t = (np.arange(n_samples) - n_samples / 2) / sample_rate
    ramps = _fades(n_samples, fade * sample_rate)
    audio = np.empty((carrier.size, n_samples), dtype=np.float32)
    block = max(1, _BUFFER_ELEMENTS // max(n_samples, 1))
    for start in range(0, carrier.size, block):
        rows = slice(start, start + block)
        fc, fm, rate = carrier[rows, np.newaxis], am_rate[rows, np.newaxis], gamma[rows, np.newaxis]
        x = (np.log(2) * rate) * t  # gamma t ln 2
        growth = np.expm1(x)  # 2**(gamma t) - 1
        # (2**(gamma t) - 1) / (gamma ln 2) = t * expm1(x) / x, which is t where x = 0.
        relative = np.divide(growth, x, out=np.ones_like(x), where=x != 0)
        relative *= (2 * np.pi) * fc * t
        signal = np.sin(relative, out=relative)
        # Instantaneous frequency f_c 2**(gamma t) at or above Nyquist: silence, not aliases.
        signal[fc * (growth + 1) >= sample_rate / 2] = 0.0
        modulator = np.multiply((2 * np.pi) * fm, t, out=growth)
        signal *= np.sin(modulator, out=modulator)
        # Window exp(-t^2 / (2 s^2)) with s = 0.1 bandwidth / |gamma|: flat at gamma = 0.
        window = np.multiply(np.abs(rate) / (0.1 * bandwidth), t, out=x)
        window **= 2
        window *= -0.5
        signal *= np.exp(window, out=window)
        signal *= ramps
        peaks = np.abs(signal).max(axis=1, keepdims=True)
        peaks[peaks == 0] = 1.0  # left silent, for the caller to report
        audio[rows] = signal * (peak / peaks)
    return audio


def _fades(n_samples, n_fade):
    """Ones with raised-cosine ramps from and to zero over ``n_fade`` samples at each end.

    Parameters
    ----------
    n_samples : int
    n_fade : float
        Ramp length in samples (rounded; at most half the sound).

    Returns
    -------
    window : np.ndarray [shape=(n_samples,)], float64
        Never zero: the ramps are ``0.5 (1 - cos(pi k / (L + 1)))``, k = 1 .. L.
    """
    window = np.ones(n_samples)
    length = int(min(max(round(n_fade), 0), n_samples // 2))
    if length:
        ramp = 0.5 * (1 - np.cos(np.pi * np.arange(1, length + 1) / (length + 1)))
        window[:length] = ramp
        window[n_samples - length :] = ramp[::-1]
    return window
