"""HEAR naive baseline (log-mel spectrum and random projection) as a HEAR module.

A reimplementation of ``hearbaseline.naive`` (hearbaseline 2021.1.1) that
gives the same embeddings on the same audio, with three differences that
do not change the output:

- the mel filterbank is built with keyword arguments, which librosa >= 0.10
  requires (hearbaseline passes the sample rate positionally and fails);
- the projection matrix is drawn from a local ``torch.Generator`` seeded
  with 0, which yields the very matrix of ``torch.manual_seed(0)`` without
  resetting the global random state of the caller;
- frames are cut by index arithmetic, chunk by chunk, so memory stays
  bounded for long sounds and many sounds.

State dicts are interchangeable with hearbaseline's (same parameter and
buffer names).
"""

import logging
import math
from collections.abc import Mapping

import librosa
import numpy as np
import torch

from gear.errors import ModelError

__all__ = [
    "RandomProjectionMelEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "frame_starts",
]

logger = logging.getLogger(__name__)

#: Hop between timestamp embeddings, in milliseconds.
TIMESTAMP_HOP_SIZE = 50
#: Hop between the frames averaged into a scene embedding, in milliseconds.
SCENE_HOP_SIZE = 250
#: Frames per forward pass (as hearbaseline), which bounds memory.
FRAME_BATCH_SIZE = 512


class RandomProjectionMelEmbedding(torch.nn.Module):
    """Log-mel power spectrum of one frame, projected to 4096 dimensions.

    Attributes
    ----------
    sample_rate : int
        44100 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        4096.
    frame_batch_size : int
        Frames per forward pass in :func:`get_timestamp_embeddings`.
    """

    sample_rate = 44100
    embedding_size = 4096
    scene_embedding_size = embedding_size
    timestamp_embedding_size = embedding_size

    n_fft = 4096
    n_mels = 256
    seed = 0
    epsilon = 1e-4

    def __init__(self):
        super().__init__()
        self.frame_batch_size = FRAME_BATCH_SIZE
        # Periodic Hann window, torch's default, as in hearbaseline.
        self.register_buffer("window", torch.hann_window(self.n_fft))
        mel_scale = librosa.filters.mel(sr=self.sample_rate, n_fft=self.n_fft, n_mels=self.n_mels)
        self.register_buffer("mel_scale", torch.from_numpy(np.asarray(mel_scale, dtype=np.float32)))
        # Same stream as torch.manual_seed(0); torch.rand(...), but the
        # caller's global RNG state is left alone.
        generator = torch.Generator().manual_seed(self.seed)
        projection = torch.rand(self.n_mels, self.embedding_size, generator=generator)
        self.projection = torch.nn.Parameter(projection / math.sqrt(self.n_mels))

    def forward(self, x):
        """Embed frames.

        Parameters
        ----------
        x : torch.Tensor [shape=(n_frames, n_fft)]

        Returns
        -------
        embeddings : torch.Tensor [shape=(n_frames, 4096)]
        """
        x = torch.fft.rfft(x * self.window)
        x = torch.abs(x) ** 2.0
        x = torch.matmul(x, self.mel_scale.transpose(0, 1))
        x = torch.log(x + self.epsilon)
        return x.matmul(self.projection)


def load_model(model_file_path: str = "") -> RandomProjectionMelEmbedding:
    """Build the baseline model, optionally loading a state dict.

    Parameters
    ----------
    model_file_path : str
        A state dict saved with ``torch.save(model.state_dict(), path)``
        (hearbaseline's or this module's). Empty: the seeded random projection.

    Returns
    -------
    model : RandomProjectionMelEmbedding
        In eval mode.

    Raises
    ------
    ModelError
        If the file is not a state dict of this model.
    """
    model = RandomProjectionMelEmbedding()
    if model_file_path:
        state = torch.load(model_file_path, map_location="cpu", weights_only=True)
        if not isinstance(state, Mapping):
            raise ModelError(f"{model_file_path}: expected a state dict, got {type(state).__name__}")
        model.load_state_dict(state)
        logger.info("naive baseline: loaded weights from %s", model_file_path)
    return model.eval()


def frame_starts(n_samples, frame_size, hop_size, sample_rate):
    """Frame start indices and centre times, as ``hearbaseline.util.frame_audio``.

    The audio is padded with ``frame_size // 2`` zeros before and
    ``frame_size - frame_size // 2`` after; frame ``k`` starts at
    ``round(k * hop)`` samples (round half to even, like Python's ``round``)
    and frames are kept while they end inside the padded audio. The first
    frame is always kept.

    Parameters
    ----------
    n_samples : int
        Length of the unpadded audio.
    frame_size : int
    hop_size : float
        Hop in milliseconds.
    sample_rate : int

    Returns
    -------
    starts : np.ndarray [shape=(n_frames,), dtype=int64]
        Start of each frame in the padded audio.
    timestamps : np.ndarray [shape=(n_frames,), dtype=float32]
        Frame centres in milliseconds.
    """
    step = hop_size / 1000.0 * sample_rate
    if step <= 0:
        raise ValueError(f"hop_size must be positive, got {hop_size}")
    n_padded = n_samples + frame_size
    # An upper bound on the frame count; the exact one is found below.
    k = np.arange(int(np.floor((n_samples + 1) / step)) + 2, dtype=np.float64)
    # Same float64 operations as hearbaseline's loop, hence the same rounding.
    starts = np.round(k * step).astype(np.int64)
    keep = starts + frame_size <= n_padded
    keep[0] = True
    n_frames = int(np.argmin(keep)) if not keep.all() else len(keep)
    timestamps = k[:n_frames] * step / sample_rate * 1000.0
    return starts[:n_frames], timestamps.astype(np.float32)


def _check_inputs(audio, model):
    if not isinstance(audio, torch.Tensor):
        audio = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    if audio.ndim != 2:
        raise ValueError(f"audio must be 2-D (n_sounds, n_samples), got shape {tuple(audio.shape)}")
    if not isinstance(model, RandomProjectionMelEmbedding):
        raise ValueError(
            f"model must be a {RandomProjectionMelEmbedding.__name__}, got {type(model).__name__}"
        )
    return audio


def _embed_frames(audio, model, hop_size, reduce_mean):
    """Embed every frame of every sound, ``model.frame_batch_size`` at a time.

    Returns ``(embeddings, timestamps)``: embeddings of shape
    (n_sounds, n_frames, dim), or (n_sounds, dim) means over frames if
    ``reduce_mean``; timestamps of shape (n_frames,) in ms.
    """
    n_sounds, n_samples = audio.shape
    frame_size = model.n_fft
    starts, timestamps = frame_starts(n_samples, frame_size, hop_size, model.sample_rate)
    n_frames = len(starts)
    device = model.window.device
    padded = torch.nn.functional.pad(
        audio.to(device=device, dtype=torch.float32), (frame_size // 2, frame_size - frame_size // 2)
    )
    # Stride-1 view of every possible frame: indexing it copies only the
    # frames of one chunk.
    windows = padded.unfold(1, frame_size, 1)
    starts = torch.from_numpy(starts).to(device)
    dim = model.embedding_size
    if reduce_mean:
        # Float64 sums: the mean does not depend on how frames are chunked.
        out = torch.zeros(n_sounds, dim, dtype=torch.float64, device=device)
    else:
        out = torch.empty(n_sounds * n_frames, dim, dtype=torch.float32, device=device)
    chunk = max(int(model.frame_batch_size), 1)
    model.eval()
    with torch.no_grad():
        for first in range(0, n_sounds * n_frames, chunk):
            flat = torch.arange(first, min(first + chunk, n_sounds * n_frames), device=device)
            sound = torch.div(flat, n_frames, rounding_mode="floor")
            frames = windows[sound, starts[flat % n_frames]]
            embedded = model(frames)
            if reduce_mean:
                out.index_add_(0, sound, embedded.double())
            else:
                out[first : first + len(flat)] = embedded
    if reduce_mean:
        return (out / n_frames).float(), timestamps
    return out.view(n_sounds, n_frames, dim), timestamps


def get_timestamp_embeddings(audio, model, hop_size=TIMESTAMP_HOP_SIZE):
    """Embeddings of frames centred every ``hop_size`` ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 44.1 kHz in [-1, 1].
    model : RandomProjectionMelEmbedding
    hop_size : float
        Hop in milliseconds.

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_frames, 4096), dtype=float32]
    timestamps : torch.Tensor [shape=(n_sounds, n_frames), dtype=float32]
        Frame centres in milliseconds.
    """
    audio = _check_inputs(audio, model)
    embeddings, timestamps = _embed_frames(audio, model, hop_size, reduce_mean=False)
    timestamps = torch.from_numpy(timestamps).to(embeddings.device).expand(audio.shape[0], -1)
    return embeddings, timestamps


def get_scene_embeddings(audio, model):
    """Mean of the frame embeddings at a 250 ms hop.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 44.1 kHz in [-1, 1].
    model : RandomProjectionMelEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 4096), dtype=float32]
    """
    audio = _check_inputs(audio, model)
    embeddings, _ = _embed_frames(audio, model, SCENE_HOP_SIZE, reduce_mean=True)
    return embeddings
