"""MFCC summary statistics: a weight-free reference, as a HEAR module.

Per sound, at 16 kHz: a mel power spectrogram (``librosa.feature.melspectrogram``:
512-sample (32 ms) periodic Hann window, 160-sample (10 ms) hop,
``center=True`` with zero padding, 40 Slaney mel bands from 0 to 8 kHz,
power 2), converted to dB as ``librosa.power_to_db`` does (``ref=1``,
``amin=1e-10``, ``top_db=80`` below the sound's own maximum), then the
orthonormal type-II DCT along frequency, first 20 coefficients — i.e.
``librosa.feature.mfcc(y, sr=16000, n_mfcc=20, n_mels=40, n_fft=512,
hop_length=160)``. This librosa call is what the module computes, sound
by sound; the dB floor is computed per sound, never over a batch, so a
sound's embedding does not depend on its batch.

**Scene embedding** (40 dimensions): the mean over frames of the 20
coefficients, followed by their standard deviation over frames
(population, ``ddof=0``): ``[mean_0 .. mean_19, std_0 .. std_19]``.

**Timestamp embeddings** (20 dimensions): the 20 coefficients of each
frame, centred every 10 ms (the first on sample 0).

No weights, nothing downloaded; the model object only holds the settings.
"""

import logging
import warnings

import librosa
import numpy as np
import scipy.fft
import torch

from gear.models import _torch_utils

__all__ = [
    "MfccEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "mfcc",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 160
N_MELS = 40
N_MFCC = 20
TOP_DB = 80.0
AMIN = 1e-10
#: Sounds per librosa call; bounds memory.
SOUND_BATCH_SIZE = 256


class MfccEmbedding(torch.nn.Module):
    """Settings of the MFCC reference, with the HEAR model attributes.

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size : int
        40: 20 means and 20 standard deviations.
    timestamp_embedding_size : int
        20: the coefficients of one frame.
    sound_batch_size : int
        Sounds per librosa call; bounds memory.
    """

    sample_rate = SAMPLE_RATE
    n_mfcc = N_MFCC
    scene_embedding_size = 2 * N_MFCC
    timestamp_embedding_size = N_MFCC

    def __init__(self):
        # A parameter-free torch.nn.Module: the HEAR validator requires the type.
        super().__init__()
        self.sound_batch_size = SOUND_BATCH_SIZE


def load_model(model_file_path: str = "") -> MfccEmbedding:
    """The MFCC reference (no weights).

    Parameters
    ----------
    model_file_path : str
        Ignored (logged if given): this reference has no weights.

    Returns
    -------
    model : MfccEmbedding
    """
    if model_file_path:
        logger.warning("mfcc: has no weights; ignoring %s", model_file_path)
    return MfccEmbedding()


def mfcc(audio):
    """MFCCs of a batch of sounds, each with its own dB floor.

    Parameters
    ----------
    audio : np.ndarray [shape=(n_sounds, n_samples), dtype=float32]

    Returns
    -------
    coefficients : np.ndarray [shape=(n_sounds, 20, 1 + n_samples // 160), dtype=float32]
        Equal, per sound, to ``librosa.feature.mfcc(y=sound, sr=16000,
        n_mfcc=20, n_mels=40, n_fft=512, hop_length=160)``.
    """
    with warnings.catch_warnings():
        # Sounds shorter than n_fft are zero-padded by librosa, which warns.
        warnings.filterwarnings("ignore", message="n_fft=.* is too large")
        power = librosa.feature.melspectrogram(
            y=audio, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS
        )
    # librosa.power_to_db with top_db, but the maximum is each sound's own
    # (librosa takes it over the whole array it is given).
    decibels = 10.0 * np.log10(np.maximum(AMIN, power))
    floor = decibels.max(axis=(-2, -1), keepdims=True) - TOP_DB
    decibels = np.maximum(decibels, floor)
    coefficients = scipy.fft.dct(decibels, axis=-2, type=2, norm="ortho")[..., :N_MFCC, :]
    return coefficients.astype(np.float32)


def _coefficients(audio, model):
    return _torch_utils.features_by_chunk(audio, model, MfccEmbedding, mfcc, "mfcc")


def get_timestamp_embeddings(audio, model):
    """MFCCs of frames centred every 10 ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : MfccEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1 + n_samples // 160, 20), dtype=float32]
    timestamps : torch.Tensor [shape=(n_sounds, 1 + n_samples // 160), dtype=float32]
        Frame centres in milliseconds: 0, 10, 20, ...
    """
    chunks = _coefficients(audio, model)
    n_sounds, n_samples = audio.shape
    return _torch_utils.frame_embeddings(chunks, n_sounds, n_samples, HOP_LENGTH, SAMPLE_RATE, N_MFCC)


def get_scene_embeddings(audio, model):
    """Mean and standard deviation over frames of the 20 MFCCs.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : MfccEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 40), dtype=float32]
        Means of coefficients 0-19, then their standard deviations.
    """
    chunks = _coefficients(audio, model)
    if not chunks:
        return torch.zeros(0, model.scene_embedding_size)
    coefficients = np.concatenate(chunks).astype(np.float64)
    stats = np.concatenate([coefficients.mean(axis=-1), coefficients.std(axis=-1)], axis=-1)
    return torch.from_numpy(stats.astype(np.float32))
