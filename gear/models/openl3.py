"""OpenL3 (music, mel256, 6144) through torchopenl3's network, as a HEAR module.

The network is ``torchopenl3.models.PytorchOpenl3`` (torchopenl3 1.0.1,
MIT licence), the PyTorch port of OpenL3 (Cramer et al., 2019) that HEAR
2021 evaluated through ``hearbaseline.torchopenl3``: content type
``music``, input representation ``mel256`` (a kapre-0.1.4-style 256-band
HTK mel spectrogram of each 1-s window at 48 kHz, 2048-sample window,
242-sample hop, in dB relative to the window's maximum, floored at -80
dB), seven convolution blocks with batch normalisation, and a final
max-pooling to ``8 x 8`` that gives 512 x 12 = 6144 values per window.
Only the network class is used: ``torchopenl3.core.load_audio_embedding_model``
would download the weights.

**Framing**, as ``hearbaseline.torchopenl3`` (2021.1.1) does it: the
sound is zero-padded at the end by ``24000 - n_samples % hop`` samples,
then by half a window (24000 samples) at the start (``center=True``) and
at the end to a whole number of hops; 1-s windows start every hop (250 ms
for scene embeddings, 50 ms for timestamp embeddings), so that window
``k`` is centred on ``k * hop``. The scene embedding is the mean of the
window embeddings at a 250 ms hop: 6144 dimensions at 48 kHz. Windows go
through the network ``frame_batch_size`` at a time, across sounds.

**Weights** (not in any package):
``torchopenl3_mel256_music_6144.pth.tar`` from
``https://github.com/torchopenl3/torchopenl3-models/raw/master/``, read
from the ``weights:`` path of ``config.yaml``, else fetched into GEAR's
cache by :mod:`gear.fetch` (verified against ``gear.lock``; see
:mod:`gear.models.remote`). If neither works, :func:`load_model` raises
:class:`~gear.errors.ModelError` naming the URL and the cause. ``load_model(random_init=True)`` or
``GEAR_RANDOM_INIT=1`` (tests only) builds the network randomly
initialised (seeded); a warning is logged and ``model.random_init`` is true.
"""

import logging
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
import torchopenl3.models

from gear.errors import FetchError, ModelError
from gear.models import _torch_utils, remote

__all__ = [
    "OpenL3Embedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "frame_count",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 48000
INPUT_REPR = "mel256"
CONTENT_TYPE = "music"
EMBEDDING_SIZE = 6144
WINDOW_SIZE = SAMPLE_RATE
TIMESTAMP_HOP_SIZE = 50
SCENE_HOP_SIZE = 250
WEIGHTS_FILENAME = f"torchopenl3_{INPUT_REPR}_{CONTENT_TYPE}_{EMBEDDING_SIZE}.pth.tar"
WEIGHTS_URL = remote.OPENL3_URL
#: Windows per forward pass; about 1 GB of activations.
FRAME_BATCH_SIZE = 16


class OpenL3Embedding(torchopenl3.models.PytorchOpenl3):
    """torchopenl3's OpenL3 network (music, mel256, 6144) with the HEAR attributes.

    Attributes
    ----------
    sample_rate : int
        48000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        6144.
    frame_batch_size : int
        1-s windows per forward pass, across sounds; bounds memory.
    random_init : bool
        True if the weights are random (tests only).
    """

    sample_rate = SAMPLE_RATE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self, random_init=False):
        with warnings.catch_warnings():
            # librosa warns that some of the 256 HTK mel bands of a
            # 2048-point DFT are empty; that is the published network.
            warnings.filterwarnings("ignore", message="Empty filters detected")
            super().__init__(content_type=CONTENT_TYPE, input_repr=INPUT_REPR, embedding_size=EMBEDDING_SIZE)
        self.frame_batch_size = FRAME_BATCH_SIZE
        self.random_init = bool(random_init)


def load_model(model_file_path: str = "", random_init: bool = False) -> OpenL3Embedding:
    """Build the network and load its weights from a path or GEAR's cache (fetched if absent).

    Parameters
    ----------
    model_file_path : str
        ``torchopenl3_mel256_music_6144.pth.tar`` (a state dict); empty for
        GEAR's cache (:func:`gear.models.remote.fetch_weights`).
    random_init : bool
        Tests only: if no weights path is given, build the network randomly
        initialised (seeded) instead. ``GEAR_RANDOM_INIT=1`` does the same.

    Returns
    -------
    model : OpenL3Embedding
        In eval mode, on the CPU.

    Raises
    ------
    ModelError
        If the weights are neither given nor fetched (the message names the
        URL and the cause) or are not those of this network.
    """
    if not model_file_path and _torch_utils.random_init_requested(random_init):
        _torch_utils.warn_random_init("openl3")
        with _torch_utils.seeded(0):
            model = OpenL3Embedding(random_init=True)
        return model.eval()
    where = "give its path as `weights:` of model 'openl3' in config.yaml"
    try:
        path = Path(model_file_path or remote.fetch_weights(__name__))
    except FetchError as error:
        raise _torch_utils.hub_weights_error("openl3", WEIGHTS_URL, where, error) from None
    if not path.is_file():
        raise _torch_utils.hub_weights_error("openl3", WEIGHTS_URL, where, f"{path} does not exist")
    state = _torch_utils.load_state_dict_file(path, "openl3")
    model = OpenL3Embedding()
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ModelError(f"openl3: {path}: not a {WEIGHTS_FILENAME} state dict: {error}") from error
    logger.info("openl3: loaded weights from %s", path)
    return model.eval()


def frame_count(n_samples, hop_samples):
    """Number of 1-s windows of a sound, as hearbaseline.torchopenl3 frames it.

    Returns
    -------
    n_frames : int
    end_padding : int
        Zeros appended after the sound (before centring).
    """
    end_padding = WINDOW_SIZE // 2 - n_samples % hop_samples
    length = n_samples + end_padding + WINDOW_SIZE // 2
    if length < WINDOW_SIZE:
        return 1, end_padding
    return 1 + -(-(length - WINDOW_SIZE) // hop_samples), end_padding


def _embed(audio, model, hop_size, reduce_mean):
    """Window embeddings (n_sounds, n_frames, 6144), or their means (n_sounds, 6144)."""
    audio = _torch_utils.check_audio(audio, model, OpenL3Embedding)
    n_sounds, n_samples = audio.shape
    hop_samples = int(SAMPLE_RATE * hop_size / 1000)
    n_frames, end_padding = frame_count(n_samples, hop_samples)
    padded = F.pad(audio, (WINDOW_SIZE // 2, end_padding))
    needed = (n_frames - 1) * hop_samples + WINDOW_SIZE
    padded = F.pad(padded, (0, max(needed - padded.shape[1], 0)))
    windows = padded.unfold(1, WINDOW_SIZE, hop_samples)[:, :n_frames]
    # Everything on the audio's device (GEAR passes it on the model's).
    device = audio.device
    if reduce_mean:
        out = torch.zeros(n_sounds, EMBEDDING_SIZE, dtype=torch.float64, device=device)
    else:
        out = torch.empty(n_sounds * n_frames, EMBEDDING_SIZE, device=device)
    model.eval()
    with torch.no_grad():
        for first, last in _torch_utils.chunk_ranges(n_sounds * n_frames, model.frame_batch_size):
            flat = torch.arange(first, last, device=device)
            sound = torch.div(flat, n_frames, rounding_mode="floor")
            embedded = model(windows[sound, flat % n_frames].unsqueeze(1))
            if reduce_mean:
                out.index_add_(0, sound, embedded.double())
            else:
                out[first:last] = embedded
    if reduce_mean:
        return (out / n_frames).float()
    return out.view(n_sounds, n_frames, EMBEDDING_SIZE)


def get_timestamp_embeddings(audio, model, hop_size=TIMESTAMP_HOP_SIZE):
    """Embeddings of 1-s windows centred every ``hop_size`` ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 48 kHz in [-1, 1].
    model : OpenL3Embedding
    hop_size : float
        Hop in milliseconds.

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_frames, 6144), dtype=float32]
    timestamps : torch.Tensor [shape=(n_sounds, n_frames), dtype=float32]
        Window centres in milliseconds: 0, hop_size, ...
    """
    embeddings = _embed(audio, model, hop_size, reduce_mean=False)
    timestamps = torch.arange(embeddings.shape[1], dtype=torch.float64) * float(hop_size)
    return embeddings, timestamps.float().expand(embeddings.shape[0], -1)


def get_scene_embeddings(audio, model):
    """Mean of the embeddings of 1-s windows centred every 250 ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 48 kHz in [-1, 1].
    model : OpenL3Embedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 6144), dtype=float32]
    """
    return _embed(audio, model, SCENE_HOP_SIZE, reduce_mean=True)
