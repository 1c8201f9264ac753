"""``gear2023``: the dataset of the paper's published code, to float precision.

The published code (``utils.synthesis_data`` of the repository named in the
paper's footnote) differs from the paper's text:

- ``T = 1024`` samples and ``t = arange(T) / T``: ``f1`` is in cycles per
  1,024-sample frame, not in Hz.
- ``alpha = arange(1, 3, 0.04)`` and ``r = arange(1, 2, 0.02)`` (50 values
  each; the text says alpha in [0, 2], r in [0, 1]). With ``r >= 1`` the
  odd harmonics have amplitude ``1 - r <= 0``.
- The number of harmonics is ``int(T / (2 f1)) - 1``, so it varies with
  ``f1`` (the text says 32).
- ``f1`` is drawn per sound, alpha in the outer loop and r in the inner
  loop, as ``np.random.choice(range(12, 24), 1)[0]`` from numpy's legacy
  global generator seeded with 0 (so ``f1`` in 12..23, never 24).
- The window is ``numpy.hanning`` (symmetric).
- The sounds are then scaled by scikit-learn's ``MaxAbsScaler`` fitted on
  the whole dataset: each *time sample* is divided by its maximum absolute
  value across sounds, not each sound by its peak.

The sounds have no physical rate: every model reads the same 1,024 samples
at its own rate (their WAV files carry a nominal 16 kHz header).
"""

import numpy as np

from gear.synthesizers.additive import additive_tones

#: Samples per sound, and the nominal rate of the WAV headers.
N_SAMPLES = 1024
SAMPLE_RATE = 16000
DURATION = N_SAMPLES / SAMPLE_RATE
RESAMPLE_TO_MODEL_RATE = False

PARAMETERS = [
    {
        "name": "f1",
        "unit": "cycles per frame",
        "min": 1.0,
        "max": N_SAMPLES / 2,
        "scale": "log",
        "label": "$f_1$",
        "description": "fundamental, in cycles per 1,024-sample frame (12 to 23)",
    },
    {"name": "alpha", "min": 0.0, "max": 10.0, "label": r"$\alpha$", "description": "spectral decay exponent"},
    {"name": "r", "min": 0.0, "max": 2.0, "label": "$r$", "description": "odd-to-even amplitude difference"},
]

FIGURE_GRID = ("alpha", "r")


def published_design(n_alpha=50, n_r=50):
    """The parameters of the published dataset, in its order.

    Parameters
    ----------
    n_alpha, n_r : int
        Grid sizes: 50 and 50 in the published code. Other sizes follow
        the same recipe (``arange`` steps of ``2 / n_alpha`` and
        ``1 / n_r``), e.g. to benchmark larger datasets.

    Returns
    -------
    values : dict {str: np.ndarray [shape=(n_alpha * n_r,)]}
        ``f1``, ``alpha``, ``r``.
    """
    alpha_values = np.arange(1, 3, (3 - 1) / n_alpha)
    r_values = np.arange(1, 2, (2 - 1) / n_r)
    alpha, r = (grid.ravel() for grid in np.meshgrid(alpha_values, r_values, indexing="ij"))
    # A local RandomState seeded 0 draws exactly what the legacy global
    # generator did, without touching global state. One vectorized
    # randint(0, 12) gives the same stream as the per-sound
    # choice(range(12, 24), 1) calls (both draw one masked 32-bit word per
    # value), without a Python loop over sounds.
    f1 = 12 + np.random.RandomState(0).randint(0, 12, size=alpha.size)
    return {"f1": f1.astype(np.float64), "alpha": alpha, "r": r}


FIXED_DESIGN = published_design


def synthesize(params, sample_rate=SAMPLE_RATE, duration=DURATION):
    """Render the published sounds, max-abs scaled per time sample over the set.

    Parameters
    ----------
    params : dict {str: np.ndarray [shape=(n_sounds,)]}
        ``f1`` (cycles per frame), ``alpha``, ``r``.
    sample_rate, duration : ignored
        Always 1,024 samples (the published sounds have no physical rate).

    Returns
    -------
    audio : np.ndarray [shape=(n_sounds, 1024)], float32
    """
    f1 = np.asarray(params["f1"]).astype(np.int64)
    t = np.arange(N_SAMPLES) / N_SAMPLES
    n_harmonics = (N_SAMPLES / (2 * f1)).astype(int) - 1
    audio = additive_tones(
        f1, params["alpha"], params["r"], t, n_harmonics, window=np.hanning(N_SAMPLES), dtype=np.float32
    )
    _max_abs_scale(audio)
    return audio


def _max_abs_scale(audio):
    """Divide each column by its maximum absolute value, in place.

    scikit-learn's ``MaxAbsScaler().fit_transform`` (all-zero columns are
    left alone) without its two full-size temporaries.
    """
    scale = np.maximum(audio.max(axis=0, initial=0), -audio.min(axis=0, initial=0))
    scale[scale == 0] = 1
    audio /= scale
