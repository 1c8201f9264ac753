"""Constant-Q transform magnitude in dB: a weight-free reference, as a HEAR module.

Per sound, at 16 kHz: ``librosa.cqt(y, sr=16000, hop_length=512,
fmin=librosa.note_to_hz("C1"), n_bins=84, bins_per_octave=12)`` — 84
semitone bins over seven octaves, C1 (32.7 Hz) to B7 (3951 Hz), one frame
every 512 samples (32 ms) with ``center=True`` — then its magnitude in dB
as ``librosa.amplitude_to_db`` computes it (``ref=1``, ``amin=1e-5``,
``top_db=80``), with the 80 dB floor taken below each sound's own maximum
(librosa takes it over the whole array it is given, which would make a
sound's embedding depend on its batch).

**Scene embedding** (84 dimensions): the mean over frames of the dB
magnitudes. **Timestamp embeddings** (84 dimensions): the dB magnitudes
of each frame, centred every 32 ms (the first on sample 0).

No weights, nothing downloaded; the model object only holds the settings.
"""

import logging
import warnings

import librosa
import numpy as np
import torch

from gear.models import _torch_utils

__all__ = [
    "CqtEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "cqt_db",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
HOP_LENGTH = 512
FMIN = float(librosa.note_to_hz("C1"))
N_BINS = 84
BINS_PER_OCTAVE = 12
TOP_DB = 80.0
AMIN = 1e-5
#: Sounds per librosa call; bounds memory.
SOUND_BATCH_SIZE = 128


class CqtEmbedding(torch.nn.Module):
    """Settings of the CQT reference, with the HEAR model attributes.

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        84 bins.
    sound_batch_size : int
        Sounds per librosa call; bounds memory.
    """

    sample_rate = SAMPLE_RATE
    scene_embedding_size = N_BINS
    timestamp_embedding_size = N_BINS

    def __init__(self):
        # A parameter-free torch.nn.Module: the HEAR validator requires the type.
        super().__init__()
        self.sound_batch_size = SOUND_BATCH_SIZE


def load_model(model_file_path: str = "") -> CqtEmbedding:
    """The CQT reference (no weights).

    Parameters
    ----------
    model_file_path : str
        Ignored (logged if given): this reference has no weights.

    Returns
    -------
    model : CqtEmbedding
    """
    if model_file_path:
        logger.warning("cqt: has no weights; ignoring %s", model_file_path)
    return CqtEmbedding()


def cqt_db(audio):
    """CQT magnitudes in dB of a batch of sounds, each with its own 80 dB floor.

    Parameters
    ----------
    audio : np.ndarray [shape=(n_sounds, n_samples), dtype=float32]

    Returns
    -------
    decibels : np.ndarray [shape=(n_sounds, 84, 1 + n_samples // 512), dtype=float32]
    """
    with warnings.catch_warnings():
        # Short sounds: librosa zero-pads the decimated signal and warns.
        warnings.filterwarnings("ignore", message="n_fft=.* is too large")
        magnitude = np.abs(
            librosa.cqt(
                audio,
                sr=SAMPLE_RATE,
                hop_length=HOP_LENGTH,
                fmin=FMIN,
                n_bins=N_BINS,
                bins_per_octave=BINS_PER_OCTAVE,
            )
        )
    decibels = 20.0 * np.log10(np.maximum(AMIN, magnitude))
    floor = decibels.max(axis=(-2, -1), keepdims=True) - TOP_DB
    return np.maximum(decibels, floor).astype(np.float32)


def _decibels(audio, model):
    return _torch_utils.features_by_chunk(audio, model, CqtEmbedding, cqt_db, "cqt")


def get_timestamp_embeddings(audio, model):
    """CQT dB magnitudes of frames centred every 32 ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : CqtEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1 + n_samples // 512, 84), dtype=float32]
    timestamps : torch.Tensor [shape=(n_sounds, 1 + n_samples // 512), dtype=float32]
        Frame centres in milliseconds: 0, 32, 64, ...
    """
    chunks = _decibels(audio, model)
    n_sounds, n_samples = audio.shape
    return _torch_utils.frame_embeddings(chunks, n_sounds, n_samples, HOP_LENGTH, SAMPLE_RATE, N_BINS)


def get_scene_embeddings(audio, model):
    """Mean over frames of the CQT dB magnitudes.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : CqtEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 84), dtype=float32]
    """
    chunks = _decibels(audio, model)
    if not chunks:
        return torch.zeros(0, N_BINS)
    decibels = np.concatenate(chunks).astype(np.float64)
    return torch.from_numpy(decibels.mean(axis=-1).astype(np.float32))
