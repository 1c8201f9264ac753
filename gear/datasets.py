"""Synthetic datasets: parameter grids and the sounds they make.

Two kinds of dataset are known:

``gear2023``
    An exact replication of the dataset of the paper's published code,
    which differs from the paper's text (see :func:`gear2023`).
``harmonic``
    The same synthesis model in physical units (see :func:`harmonic`).

A dataset is a pair ``(audio, params)``: ``audio`` has one row per sound
and ``params`` is a table with ``sound_id`` then one column per synthesis
parameter (``f1``, ``alpha``, ``r``), in the same row order.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gear.errors import ConfigError
from gear.synth import additive_tones

__all__ = [
    "PARAMETERS",
    "Dataset",
    "gear2023",
    "harmonic",
    "parameter_values",
    "make_dataset",
    "sound_ids",
]

#: Synthesis parameters, in the paper's order.
PARAMETERS = ("f1", "alpha", "r")

#: Sample rate written in the header of ``gear2023`` WAV files. Those sounds
#: have no physical rate: each model reads the same 1,024 samples at its own.
GEAR2023_NOMINAL_SAMPLE_RATE = 16000


@dataclass
class Dataset:
    """Sounds and the parameters that made them.

    Attributes
    ----------
    audio : np.ndarray [shape=(n_sounds, n_samples)], float32
    params : pd.DataFrame [shape=(n_sounds, 1 + n_parameters)]
        ``sound_id`` then ``f1``, ``alpha``, ``r``.
    sample_rate : int
        Rate written in the WAV headers.
    resample_to_model_rate : bool
        If False, every model reads the samples unresampled at its own
        rate (the published code's behaviour).
    """

    audio: np.ndarray
    params: pd.DataFrame
    sample_rate: int
    resample_to_model_rate: bool


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


def _params_table(f1, alpha, r):
    ids = sound_ids(len(f1))
    return pd.DataFrame({"sound_id": ids, "f1": f1, "alpha": alpha, "r": r})


def gear2023(n_alpha=50, n_r=50):
    """The dataset of the paper's published code, to float precision.

    The published code (``utils.synthesis_data`` of the repository named in
    the paper's footnote) differs from the paper's text:

    - ``T = 1024`` samples and ``t = arange(T) / T``: ``f1`` is in cycles per
      1,024-sample frame, not in Hz.
    - ``alpha = arange(1, 3, 0.04)`` and ``r = arange(1, 2, 0.02)`` (50
      values each; the text says alpha in [0, 2], r in [0, 1]). With
      ``r >= 1`` the odd harmonics have amplitude ``1 - r <= 0``.
    - The number of harmonics is ``int(T / (2 f1)) - 1``, so it varies with
      ``f1`` (the text says 32).
    - ``f1`` is drawn per sound, alpha in the outer loop and r in the inner
      loop, as ``np.random.choice(range(12, 24), 1)[0]`` from numpy's legacy
      global generator seeded with 0 (so ``f1`` in 12..23, never 24).
    - The window is ``numpy.hanning`` (symmetric).
    - The sounds are then scaled by scikit-learn's ``MaxAbsScaler`` fitted on
      the whole dataset: each *time sample* is divided by its maximum
      absolute value across sounds, not each sound by its peak.

    Parameters
    ----------
    n_alpha, n_r : int
        Grid sizes: 50 and 50 in the published code. Other sizes follow
        the same recipe (``arange`` steps of ``2 / n_alpha`` and
        ``1 / n_r``), e.g. to benchmark larger datasets.

    Returns
    -------
    dataset : Dataset
        ``n_alpha * n_r`` sounds (2,500 by default) of 1,024 samples.
    """
    n_samples = 1024
    alpha_values = np.arange(1, 3, (3 - 1) / n_alpha)
    r_values = np.arange(1, 2, (2 - 1) / n_r)
    alpha, r = (grid.ravel() for grid in np.meshgrid(alpha_values, r_values, indexing="ij"))
    # A local RandomState seeded 0 draws exactly what the legacy global
    # generator did, without touching global state. One vectorized
    # randint(0, 12) gives the same stream as the per-sound
    # choice(range(12, 24), 1) calls (both draw one masked 32-bit word per
    # value), without a Python loop over sounds.
    f1 = 12 + np.random.RandomState(0).randint(0, 12, size=alpha.size)
    t = np.arange(n_samples) / n_samples
    n_harmonics = (n_samples / (2 * f1)).astype(int) - 1
    audio = additive_tones(f1, alpha, r, t, n_harmonics, window=np.hanning(n_samples), dtype=np.float32)
    _max_abs_scale(audio)
    return Dataset(
        audio=audio,
        params=_params_table(f1.astype(np.float64), alpha, r),
        sample_rate=GEAR2023_NOMINAL_SAMPLE_RATE,
        resample_to_model_rate=False,
    )


def _max_abs_scale(audio):
    """Divide each column by its maximum absolute value, in place.

    scikit-learn's ``MaxAbsScaler().fit_transform`` (all-zero columns are
    left alone) without its two full-size temporaries.
    """
    scale = np.maximum(audio.max(axis=0, initial=0), -audio.min(axis=0, initial=0))
    scale[scale == 0] = 1
    audio /= scale


def parameter_values(spec, name):
    """Values of one synthesis parameter from its configuration.

    Parameters
    ----------
    spec : dict
        ``{"min": float, "max": float, "num": int, "scale": "linear"|"log"}``;
        both ends are included.
    name : str
        Parameter name, for error messages.

    Returns
    -------
    values : np.ndarray [shape=(num,)]

    Raises
    ------
    ConfigError
        If the range is empty or inverted, or a log scale includes 0.
    """
    low, high, num = spec["min"], spec["max"], spec["num"]
    scale = spec.get("scale", "linear")
    if num < 1:
        raise ConfigError(f"{name}.num: must be at least 1, got {num}")
    if high < low or (high == low and num > 1):
        raise ConfigError(f"{name}: range [{low}, {high}] is empty or inverted for num={num}")
    if scale == "log":
        if low <= 0:
            raise ConfigError(f"{name}: a log scale needs min > 0, got {low}")
        return np.geomspace(low, high, num)
    return np.linspace(low, high, num)


def harmonic(f1, alpha, r, sample_rate=16000, duration=1.0, peak=0.9, f1_sampling="grid", seed=0):
    """Harmonic tones in physical units.

    Every harmonic below the Nyquist frequency is kept, each sound is
    Hann-windowed over its whole duration and normalized to a fixed peak.

    Parameters
    ----------
    f1, alpha, r : dict
        Ranges, as accepted by :func:`parameter_values`; ``f1`` in Hz.
    sample_rate : int
        Samples per second.
    duration : float
        Seconds per sound.
    peak : float
        Peak absolute amplitude of every sound.
    f1_sampling : {"grid", "random"}
        ``"grid"``: every combination of f1, alpha and r (f1 outer loop,
        then alpha, then r). ``"random"``: as the paper, one f1 drawn at
        random from its values for each (alpha, r) pair.
    seed : int
        Seed of the random draws of ``f1_sampling="random"``.

    Returns
    -------
    dataset : Dataset
    """
    f1_values = parameter_values(f1, "f1")
    alpha_values = parameter_values(alpha, "alpha")
    r_values = parameter_values(r, "r")
    nyquist = sample_rate / 2
    if f1_values.max() >= nyquist:
        raise ConfigError(f"f1.max: {f1_values.max()} Hz is not below Nyquist ({nyquist} Hz)")
    n_samples = int(round(duration * sample_rate))
    if n_samples < 2:
        raise ConfigError(f"duration: {duration} s gives fewer than 2 samples")
    if f1_sampling == "grid":
        f1_grid, alpha_grid, r_grid = (
            grid.ravel() for grid in np.meshgrid(f1_values, alpha_values, r_values, indexing="ij")
        )
    elif f1_sampling == "random":
        alpha_grid, r_grid = (grid.ravel() for grid in np.meshgrid(alpha_values, r_values, indexing="ij"))
        f1_grid = np.random.default_rng(seed).choice(f1_values, size=alpha_grid.size)
    else:
        raise ConfigError(f"f1_sampling: expected 'grid' or 'random', got {f1_sampling!r}")
    # Largest p with p * f1 strictly below Nyquist.
    n_harmonics = np.ceil(nyquist / f1_grid).astype(np.int64) - 1
    t = np.arange(n_samples) / sample_rate
    window = np.hanning(n_samples)
    audio = additive_tones(f1_grid, alpha_grid, r_grid, t, n_harmonics, window=window, dtype=np.float32)
    peaks = np.maximum(audio.max(axis=1, keepdims=True), -audio.min(axis=1, keepdims=True))
    # r = 1 with alpha large still leaves the even harmonics: a silent
    # sound would need every amplitude zero, which Eq. 1 cannot give.
    audio *= peak / peaks.astype(np.float64)
    return Dataset(
        audio=audio,
        params=_params_table(f1_grid, alpha_grid, r_grid),
        sample_rate=int(sample_rate),
        resample_to_model_rate=True,
    )


def make_dataset(spec):
    """Build a dataset from its (validated) configuration entry.

    Parameters
    ----------
    spec : dict
        One entry of ``config["datasets"]``, with a ``kind`` key.

    Returns
    -------
    dataset : Dataset
    """
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind == "gear2023":
        if spec:
            raise ConfigError(f"gear2023 takes no options (it replicates the paper), got {sorted(spec)}")
        return gear2023()
    if kind == "harmonic":
        return harmonic(**spec)
    raise ConfigError(f"kind: unknown dataset kind {kind!r} (expected 'gear2023' or 'harmonic')")
