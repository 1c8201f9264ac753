"""``drum``: the rectangular drum of the functional transformation method (FTM).

Rabenstein's FTM solves the fourth-order PDE of a damped, stiff
rectangular membrane (tension, bending stiffness, frequency-independent
and frequency-dependent damping) fixed at its edges, as a sum of modes.
Han and Lostanlen ("wav2shape") and Han, Lostanlen and Lagrange
("perceptual-neural-physical sound matching", PNP) reparametrise it by
five perceptual parameters: the fundamental frequency ``omega`` of mode
(1, 1), its sustain ``tau``, the damping ``p`` (how much faster higher modes
decay), the dispersion ``d`` (how much higher modes are detuned upwards
from the membrane's series, as by stiffness) and the aspect ratio
``alpha = l2 / l1`` of the rectangle.

Mode (m1, m2), m1, m2 = 1 .. M, has, with ``w = 2 pi omega`` (rad/s),
``beta = alpha + 1 / alpha`` and ``I = m1**2 alpha + m2**2 / alpha``
(so that ``I = beta`` for mode (1, 1))::

    decay rate   sigma = (1 + p (I - beta)) / tau                                  (1/s)
    frequency    Omega**2 = w**2 (I / beta) (1 + d**2 beta (I - beta))
                            + ((1 - p beta) / tau)**2 (I - beta) / beta             (rad/s)**2
    amplitude    a = sin(m1 pi x1)**2 sin(m2 pi x2)**2 / Omega

and the sound is their impulse response, scaled to a fixed peak::

    y(t) = peak * sum_{m1, m2} a exp(-sigma t) sin(Omega t) / max|.|,  t = n / sample_rate.

Mode (1, 1) decays at ``1 / tau`` and rings at ``omega`` exactly; with
``d = p = 0`` the frequencies are the ideal membrane's
``omega sqrt(I / beta)``; ``alpha = 1`` (a square) gives modes (m1, m2) and
(m2, m1) the same frequency and decay. ``(x1, x2)`` is where the drum is
struck and heard, as a fraction of each side (both 0.4 in PNP; modes with a
node there, e.g. m = 5 and 10 for 0.4, are silent). Modes at or above the
Nyquist frequency are left out. ``Omega**2`` and ``sigma`` are PNP's
``beta - alpha**2`` and ``(d1 - d3 n) / 2`` expanded by hand into forms
without cancellation (they agreed with PNP's to 1e-9 relative on 2,000
random drums when this module was written); both are positive for every
m1, m2 >= 1 and every allowed parameter value, so no mode is overdamped
(PNP takes an absolute value there, which never acts).

The sum over modes is vectorised over modes and sounds: with
``z_m = exp((-sigma_m + i Omega_m) / sample_rate)`` and blocks of
``B ~ sqrt(n_samples)`` samples, ``y[j B + k] = Im(sum_m (a_m z_m**(j B))
z_m**k)`` is one real matrix product per sound; the powers are running
products of about ``sqrt(n_samples)`` factors each (no recursion over the
sound's samples).

References
----------
R. Rabenstein, L. Trautmann, "Digital sound synthesis of string instruments
with the functional transformation method", Signal Processing 83(8), 2003.
H. Han, V. Lostanlen, "wav2shape: hearing the shape of a drum machine",
Forum Acusticum 2020 (``getsigma``, ``getomega`` in its code).
H. Han, V. Lostanlen, M. Lagrange, "Perceptual-neural-physical sound
matching", ICASSP 2023, arXiv:2301.02886; its code's
``pnp_synth.physical.ftm.rectangular_drum`` (``x1 = x2 = 0.4``, 10 x 10
modes; there ``omega`` is in rad/s, here in Hz) is the model above. The
default ranges of ``omega``, ``tau``, ``p`` and ``d`` follow that paper's
dataset as the paper states them (omega from 40 Hz to 1 kHz, tau from 0.4
to 3 s, log10 p from -5 to -0.7, log10 D from -5 to -0.5; its code reads
them from a table); the range of ``alpha`` is GEAR's.
"""

import numpy as np
from threadpoolctl import threadpool_limits

PARAMETERS = [
    {
        "name": "omega",
        "unit": "Hz",
        "min": 1.0,
        "max": "nyquist",
        "scale": "log",
        "label": r"$\omega$",
        "description": "fundamental frequency: that of mode (1, 1) (PNP's omega / 2 pi)",
        "default": {"min": 40.0, "max": 1000.0, "num": 4},
    },
    {
        "name": "tau",
        "unit": "s",
        "min": 0.001,
        "max": np.inf,
        "scale": "log",
        "label": r"$\tau$",
        "description": "sustain: time constant of the decay of mode (1, 1)",
        "default": {"min": 0.4, "max": 3.0, "num": 4},
    },
    {
        "name": "p",
        "min": 0.0,
        "max": np.inf,
        "scale": "log",
        "label": "$p$",
        "description": "frequency-dependent damping: higher modes decay faster as p grows",
        "default": {"min": 1e-5, "max": 0.2, "num": 4},
    },
    {
        "name": "d",
        "min": 0.0,
        "max": np.inf,
        "scale": "log",
        "label": "$D$",
        "description": "dispersion (stiffness): higher modes are raised above the membrane's series",
        "default": {"min": 1e-5, "max": 0.3, "num": 4},
    },
    {
        "name": "alpha",
        "min": 1e-5,
        "max": 1e5,
        "scale": "log",
        "label": r"$\alpha$",
        "description": "aspect ratio l2 / l1 of the rectangle (1: square; alpha and 1 / alpha "
        "sound alike when x1 = x2)",
        "default": {"min": 0.2, "max": 1.0, "num": 4},
    },
]

OPTIONS = {"modes": 10, "x1": 0.4, "x2": 0.4, "peak": 0.9}

FIGURE_GRID = ("tau", "alpha")

# At most 64 sounds per block, and at most 2**22 output samples (32 MB of float64): the
# work arrays then hold ~ 64 * 4 * modes**2 * sqrt(n_samples) * 8 bytes each.
_BLOCK = 64
_BUFFER_ELEMENTS = 2**22


def modal_parameters(params, modes=10, x1=0.4, x2=0.4):
    """Frequency, decay rate and amplitude of every mode of every drum.

    Parameters
    ----------
    params : dict {str: np.ndarray [shape=(n_sounds,)]}
        ``omega`` (Hz), ``tau`` (s), ``p``, ``d``, ``alpha``.
    modes : int
        Modes per side M: mode indices ``m1, m2 = 1 .. M``.
    x1, x2 : float
        Strike and listening point, as a fraction of each side.

    Returns
    -------
    frequency : np.ndarray [shape=(n_sounds, M, M)]
        ``Omega / (2 pi)`` in Hz; axis 1 is m1 - 1, axis 2 is m2 - 1.
    decay : np.ndarray [shape=(n_sounds, M, M)]
        ``sigma`` in 1/s (amplitudes fall as ``exp(-sigma t)``).
    amplitude : np.ndarray [shape=(n_sounds, M, M)]
        ``sin(m1 pi x1)**2 sin(m2 pi x2)**2 / Omega``.
    """
    omega, tau, p, d, alpha = (np.asarray(params[name], dtype=np.float64)[:, np.newaxis, np.newaxis]
                               for name in ("omega", "tau", "p", "d", "alpha"))  # fmt: skip
    m = np.arange(1, modes + 1, dtype=np.float64)
    m1, m2 = m[:, np.newaxis] ** 2, m[np.newaxis, :] ** 2
    alpha2 = alpha**2
    beta = alpha + 1 / alpha
    excess = (m1 - 1) * alpha + (m2 - 1) / alpha  # I - beta >= 0, without cancellation
    ratio = (m1 * alpha2 + m2) / (alpha2 + 1)  # I / beta
    excess_ratio = ((m1 - 1) * alpha2 + m2 - 1) / (alpha2 + 1)  # (I - beta) / beta
    w = 2 * np.pi * omega
    angular_sq = w**2 * ratio * (1 + d**2 * beta * excess) + ((1 - p * beta) / tau) ** 2 * excess_ratio
    angular = np.sqrt(angular_sq)
    decay = (1 + p * excess) / tau
    weight = np.sin(m * np.pi * x1)[:, np.newaxis] ** 2 * np.sin(m * np.pi * x2)[np.newaxis, :] ** 2
    return angular / (2 * np.pi), np.broadcast_to(decay, angular.shape), weight / angular


def synthesize(params, sample_rate, duration, modes=10, x1=0.4, x2=0.4, peak=0.9):
    """Render FTM rectangular drums.

    Parameters
    ----------
    params : dict {str: np.ndarray [shape=(n_sounds,)]}
        ``omega`` (Hz), ``tau`` (s), ``p``, ``d``, ``alpha``.
    sample_rate : int
    duration : float
        Seconds.
    modes : int
        Modes per side: ``modes**2`` modes in all (10 x 10 in PNP).
    x1, x2 : float
        Strike and listening point, as a fraction of each side, in (0, 1).
    peak : float
        Peak absolute amplitude of every sound.

    Returns
    -------
    audio : np.ndarray [shape=(n_sounds, round(duration * sample_rate))], float32

    Examples
    --------
    >>> audio = synthesize({"omega": np.array([200.0]), "tau": np.array([0.5]), "p": np.array([0.01]),
    ...                     "d": np.array([0.01]), "alpha": np.array([0.7])}, 16000, 0.5)
    >>> audio.shape, float(np.abs(audio).max())
    ((1, 8000), 0.8999999761581421)
    """
    modes = int(modes)
    frequency, decay, amplitude = modal_parameters(params, modes, x1, x2)
    n_sounds = frequency.shape[0]
    frequency = frequency.reshape(n_sounds, -1)
    decay = decay.reshape(n_sounds, -1)
    amplitude = amplitude.reshape(n_sounds, -1)
    # Modes at a node of the strike point (weight ~1e-32 from sin(k pi) rounding) cost time only.
    heard = amplitude.max(axis=0, initial=0) > 1e-12 * amplitude.max(initial=0)
    frequency, decay, amplitude = frequency[:, heard], decay[:, heard], amplitude[:, heard]
    # Modes at or above Nyquist are left out (amplitude 0).
    amplitude = np.where(frequency < sample_rate / 2, amplitude, 0.0)
    n_samples = int(round(duration * sample_rate))
    block = max(int(np.ceil(np.sqrt(n_samples))), 1)  # samples per block: B
    n_blocks = -(-n_samples // block)  # J
    audio = np.empty((n_sounds, n_samples), dtype=np.float32)
    # Small products: BLAS threads only contend (and are much slower on a loaded machine).
    with threadpool_limits(limits=1, user_api="blas"):
        sounds = max(1, min(_BLOCK, _BUFFER_ELEMENTS // max(n_samples, 1)))
        for first in range(0, n_sounds, sounds):
            rows = slice(first, first + sounds)
            step = np.exp((-decay[rows] + 2j * np.pi * frequency[rows]) / sample_rate)  # z: (S, M)
            # z**k, k = 0 .. B - 1, and a z**(j B), j = 0 .. J - 1, by running products
            # (relative error ~ 1e-13 after 10**3 factors of modulus <= 1).
            within = _powers(step, block)  # (S, M, B)
            start = _powers(within[:, :, -1] * step, n_blocks) * amplitude[rows][:, :, np.newaxis]
            # Im(start.T @ within) = Re(start).T Im(within) + Im(start).T Re(within): one real product.
            left = np.concatenate([start.real, start.imag], axis=1).transpose(0, 2, 1)  # (S, J, 2M)
            right = np.concatenate([within.imag, within.real], axis=1)  # (S, 2M, B)
            signal = np.matmul(left, right).reshape(left.shape[0], -1)[:, :n_samples]
            peaks = np.abs(signal).max(axis=1, keepdims=True)
            peaks[peaks == 0] = 1.0  # left silent, for the caller to report
            audio[rows] = signal * (peak / peaks)
    return audio


def _powers(z, count):
    """``z**k`` for ``k = 0 .. count - 1``, by a running product.

    Parameters
    ----------
    z : np.ndarray [shape=(n_sounds, n_modes)], complex
    count : int

    Returns
    -------
    powers : np.ndarray [shape=(n_sounds, n_modes, count)], complex
    """
    powers = np.empty(z.shape + (count,), dtype=np.complex128)
    powers[..., 0] = 1.0
    if count > 1:
        powers[..., 1:] = z[..., np.newaxis]
        np.cumprod(powers[..., 1:], axis=-1, out=powers[..., 1:])
    return powers
