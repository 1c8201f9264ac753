"""Wavelet scattering transform (kymatio ``Scattering1D``): a weight-free reference, as a HEAR module.

Per sound, at 16 kHz: kymatio 0.3's 1-D scattering transform (NumPy
frontend) with ``J=8`` and ``Q=(8, 1)``:

- ``Q1 = 8`` wavelets per octave at the first order, with centre
  frequencies from about 7 kHz down to 16 Hz (below about 60 Hz they are
  linearly spaced), which covers the fundamentals of musical and speech
  sounds (C2 = 65 Hz and up);
- ``Q2 = 1`` wavelet per octave at the second order, which captures
  amplitude modulations (beating between partials) from about 60 Hz up;
- ``J = 8``: low-pass averaging over ``2**8 = 256`` samples (16 ms).

**Scene embedding** (233 dimensions): the first-order (54 paths) and
second-order (179 paths) coefficients — the zeroth order is left out —
averaged over time, then ``log1p(S / 1e-4)``. The scale 1e-4 (kept in
``model.log_eps``) is a choice of GEAR: the time-averaged coefficients of
sounds at full scale are about 1e-2 at the first order and 1e-6 to 1e-3
at the second, where ``log1p(S)`` alone would be linear; dividing by
1e-4 makes the logarithm compress everything above about 50 dB below
full scale. Paths are ordered as ``Scattering1D.meta()`` lists them
(first order by decreasing frequency, then second order).

**Timestamp embeddings** (233 dimensions): the same ``log1p(S / 1e-4)``
of each time sample of the scattering transform, one every 256 samples
(16 ms), the first centred on sample 0.

No weights, nothing downloaded. The filter bank depends on the number of
samples, so one ``Scattering1D`` is built (and kept) per sound length.
Sounds shorter than 256 samples are zero-padded at the end to 256.
"""

import logging
import warnings

import numpy as np
import torch
from kymatio.scattering1d.frontend.numpy_frontend import ScatteringNumPy1D

from gear.models import _torch_utils

__all__ = [
    "ScatteringEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
J = 8
Q = (8, 1)
LOG_EPS = 1e-4
#: Sounds per scattering call; bounds memory (about 1 MB per 1-s sound).
SOUND_BATCH_SIZE = 32
#: Dimensions: first-order and second-order paths for J=8, Q=(8, 1).
EMBEDDING_SIZE = 233
#: Shorter sounds are zero-padded at the end to this length (2**J).
MIN_SAMPLES = 2**J


class ScatteringEmbedding(torch.nn.Module):
    """Settings and cached filter banks of the scattering reference.

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        233 (first- and second-order paths).
    sound_batch_size : int
        Sounds per scattering call; bounds memory.
    log_eps : float
        Scale inside ``log1p(S / log_eps)``.
    J, Q : int, tuple
        Scattering parameters.
    """

    sample_rate = SAMPLE_RATE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self):
        # A parameter-free torch.nn.Module: the HEAR validator requires the type.
        super().__init__()
        self.J = J
        self.Q = Q
        self.log_eps = LOG_EPS
        self.sound_batch_size = SOUND_BATCH_SIZE
        self._transforms = {}

    def transform(self, n_samples):
        """The ``Scattering1D`` of sounds of ``n_samples`` and its order 1-2 path mask.

        Returns
        -------
        scattering : kymatio ScatteringNumPy1D
        keep : np.ndarray [shape=(n_paths,), dtype=bool]
        """
        if n_samples not in self._transforms:
            with warnings.catch_warnings():
                # Short sounds: kymatio warns that its padding is shorter
                # than the largest filter; the transform is still defined.
                warnings.filterwarnings("ignore", message="Signal support is too small")
                scattering = ScatteringNumPy1D(J=self.J, shape=n_samples, Q=self.Q)
            keep = np.asarray(scattering.meta()["order"]) > 0
            if keep.sum() != EMBEDDING_SIZE:
                raise RuntimeError(f"scattering: expected {EMBEDDING_SIZE} paths, kymatio gives {keep.sum()}")
            self._transforms[n_samples] = (scattering, keep)
        return self._transforms[n_samples]


def load_model(model_file_path: str = "") -> ScatteringEmbedding:
    """The scattering reference (no weights).

    Parameters
    ----------
    model_file_path : str
        Ignored (logged if given): this reference has no weights.

    Returns
    -------
    model : ScatteringEmbedding
    """
    if model_file_path:
        logger.warning("scattering: has no weights; ignoring %s", model_file_path)
    model = ScatteringEmbedding()
    return model


def _scatter(audio, model, reduce_mean):
    audio = _torch_utils.check_audio(audio, model, ScatteringEmbedding).cpu().numpy().astype(np.float64)
    n_sounds, n_samples = audio.shape
    if n_samples == 0:
        raise ValueError("scattering: sounds of 0 samples cannot be transformed")
    if n_samples < MIN_SAMPLES:
        audio = np.pad(audio, ((0, 0), (0, MIN_SAMPLES - n_samples)))
        n_samples = MIN_SAMPLES
    scattering, keep = model.transform(n_samples)
    outputs = []
    for start, stop in _torch_utils.chunk_ranges(n_sounds, model.sound_batch_size):
        coefficients = scattering(audio[start:stop])[:, keep, :]
        if reduce_mean:
            coefficients = coefficients.mean(axis=-1)
        outputs.append(np.log1p(coefficients / model.log_eps).astype(np.float32))
    return outputs


def get_timestamp_embeddings(audio, model):
    """``log1p(S / 1e-4)`` of the order 1-2 scattering coefficients, every 256 samples.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : ScatteringEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_frames, 233), dtype=float32]
        ``n_frames`` is ``ceil(n_samples / 256)``.
    timestamps : torch.Tensor [shape=(n_sounds, n_frames), dtype=float32]
        Centres in milliseconds: 0, 16, 32, ...
    """
    outputs = _scatter(audio, model, reduce_mean=False)
    n_sounds, n_samples = audio.shape
    n_frames = -(-max(n_samples, MIN_SAMPLES) // 2**model.J)
    if outputs:
        embeddings = torch.from_numpy(np.concatenate(outputs).transpose(0, 2, 1).copy())
        n_frames = embeddings.shape[1]
    else:
        embeddings = torch.zeros(0, n_frames, EMBEDDING_SIZE)
    timestamps = torch.arange(n_frames, dtype=torch.float64) * (2**model.J * 1000.0 / SAMPLE_RATE)
    return embeddings, timestamps.float().expand(n_sounds, -1)


def get_scene_embeddings(audio, model):
    """``log1p(S / 1e-4)`` of the time-averaged order 1-2 scattering coefficients.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : ScatteringEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 233), dtype=float32]
    """
    outputs = _scatter(audio, model, reduce_mean=True)
    if not outputs:
        return torch.zeros(0, EMBEDDING_SIZE)
    return torch.from_numpy(np.concatenate(outputs))
