"""Resemblyzer's GE2E speaker encoder (``VoiceEncoder``) as a HEAR module.

The network and weights are those of the ``Resemblyzer`` 0.1.4 wheel
(Apache-2.0 licence): a 3-layer LSTM (40 -> 256) and a linear layer
(256 -> 256) with ReLU, trained with the generalised end-to-end (GE2E)
speaker-verification loss; the checkpoint ``resemblyzer/pretrained.pt``
ships inside the wheel and nothing is downloaded. The network is rebuilt
here with the same parameter names and ``pretrained.pt`` is loaded into
it, without importing the ``resemblyzer`` package (whose ``audio`` module
imports ``webrtcvad``, which needs ``pkg_resources``, i.e.
``setuptools < 81``).

**Embedding** (256 dimensions, 16 kHz): Resemblyzer's *utterance
embedding*, ``VoiceEncoder.embed_utterance(wav)`` with its defaults
(``rate=1.3``, ``min_coverage=0.75``): the mel power spectrogram of the
sound (``librosa.feature.melspectrogram``, 400-sample window, 160-sample
hop, 40 mels; not log-compressed) is cut into partial utterances of 160
frames (1.6 s) every 77 frames (the sound is zero-padded at the end to
cover the last one, e.g. a 1-s sound becomes one 1.6-s partial); each
partial goes through the LSTM, the linear layer and the ReLU of the
last hidden state, and is L2-normalised; the utterance embedding is the
L2-normalised mean of the partial embeddings. It is unit-norm and
non-negative.

**Preprocessing**: Resemblyzer's ``preprocess_wav`` normalises the
volume (``normalize_volume(wav, -30 dBFS, increase_only=True)``) and then
removes silences longer than about 0.2 s with the WebRTC voice activity
detector. The volume normalisation is applied here; the **VAD trimming
is not**: it is a speech detector, and on synthetic tones it would delete
arbitrary parts of the sound (or all of it). A silent sound (whose
normalisation and embedding are undefined in Resemblyzer) gets the
embedding of silence without normalisation, with norms clamped at 1e-12
(the zero vector if the ReLU output is all zero).

**Timestamp embeddings** (256 dimensions): the embeddings of the partial
utterances (the rows that are averaged into the scene embedding), each
timestamped at the centre of its 1.6-s window, one every 770 ms.
"""

import importlib.util
import logging
from collections.abc import Mapping
from pathlib import Path

import librosa
import numpy as np
import torch

from gear.errors import ModelError
from gear.models import _torch_utils

__all__ = [
    "VoiceEncoderEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "partial_slices",
    "packaged_weights",
]

logger = logging.getLogger(__name__)

# resemblyzer.hparams
SAMPLE_RATE = 16000
MEL_WINDOW_LENGTH = SAMPLE_RATE * 25 // 1000
MEL_WINDOW_STEP = SAMPLE_RATE * 10 // 1000
MEL_N_CHANNELS = 40
PARTIALS_N_FRAMES = 160
HIDDEN_SIZE = 256
EMBEDDING_SIZE = 256
NUM_LAYERS = 3
AUDIO_NORM_TARGET_DBFS = -30
INT16_MAX = 2**15 - 1
# VoiceEncoder.embed_utterance defaults
RATE = 1.3
MIN_COVERAGE = 0.75
NORM_EPS = 1e-12
#: Partial utterances per LSTM pass; bounds memory.
PARTIAL_BATCH_SIZE = 64


def packaged_weights() -> Path:
    """``pretrained.pt`` inside the installed resemblyzer package (not imported)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "resemblyzer: the Resemblyzer package is not installed (pip install --no-deps resemblyzer==0.1.4)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"


class VoiceEncoderEmbedding(torch.nn.Module):
    """Resemblyzer's ``VoiceEncoder`` network with the HEAR model attributes.

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        256.
    partial_batch_size : int
        Partial utterances per LSTM pass; bounds memory.
    """

    sample_rate = SAMPLE_RATE
    embedding_size = EMBEDDING_SIZE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(MEL_N_CHANNELS, HIDDEN_SIZE, NUM_LAYERS, batch_first=True)
        self.linear = torch.nn.Linear(HIDDEN_SIZE, EMBEDDING_SIZE)
        self.relu = torch.nn.ReLU()
        self.partial_batch_size = PARTIAL_BATCH_SIZE

    def forward(self, mels):
        """L2-normalised embeddings of partial utterances (``VoiceEncoder.forward``).

        Parameters
        ----------
        mels : torch.Tensor [shape=(n_partials, 160, 40)]

        Returns
        -------
        embeddings : torch.Tensor [shape=(n_partials, 256)]
        """
        _, (hidden, _) = self.lstm(mels)
        raw = self.relu(self.linear(hidden[-1]))
        return raw / torch.clamp(torch.norm(raw, dim=1, keepdim=True), min=NORM_EPS)


def load_model(model_file_path: str = "") -> VoiceEncoderEmbedding:
    """Build the voice encoder and load its weights.

    Parameters
    ----------
    model_file_path : str
        A Resemblyzer checkpoint (a dict with ``model_state``) or a state
        dict; empty for the packaged ``resemblyzer/pretrained.pt``.

    Returns
    -------
    model : VoiceEncoderEmbedding
        In eval mode, on the CPU.

    Raises
    ------
    ModelError
        If the file is not a checkpoint of this network.
    """
    path = Path(model_file_path) if model_file_path else packaged_weights()
    state = _torch_utils.load_state_dict_file(path, "resemblyzer")
    # Resemblyzer loads with strict=False: the checkpoint also holds the
    # GE2E loss's similarity_weight and similarity_bias.
    state = {key: value for key, value in state.items() if not key.startswith("similarity_")}
    model = VoiceEncoderEmbedding()
    if not isinstance(state, Mapping):
        raise ModelError(f"resemblyzer: {path}: not a state dict")
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ModelError(f"resemblyzer: {path}: not a VoiceEncoder checkpoint: {error}") from error
    logger.info("resemblyzer: loaded weights from %s", path)
    return model.eval()


def partial_slices(n_samples, rate=RATE, min_coverage=MIN_COVERAGE):
    """Mel-frame ranges of the partial utterances (``VoiceEncoder.compute_partial_slices``).

    Parameters
    ----------
    n_samples : int
    rate : float
        Partial utterances per second.
    min_coverage : float
        Keep a last partial only if this fraction of it is inside the sound.

    Returns
    -------
    starts : np.ndarray [shape=(n_partials,), dtype=int64]
        First mel frame of each 160-frame partial.
    """
    n_frames = int(np.ceil((n_samples + 1) / MEL_WINDOW_STEP))
    frame_step = int(np.round((SAMPLE_RATE / rate) / MEL_WINDOW_STEP))
    steps = max(1, n_frames - PARTIALS_N_FRAMES + frame_step + 1)
    starts = np.arange(0, steps, frame_step, dtype=np.int64)
    last_start = starts[-1] * MEL_WINDOW_STEP
    coverage = (n_samples - last_start) / (PARTIALS_N_FRAMES * MEL_WINDOW_STEP)
    if coverage < min_coverage and len(starts) > 1:
        starts = starts[:-1]
    return starts


def _normalize_volume(audio):
    """``resemblyzer.audio.normalize_volume(wav, -30, increase_only=True)``, per sound.

    Silent sounds are left as they are (Resemblyzer would return NaN).
    """
    audio = audio.astype(np.float64)
    rms = np.sqrt(np.mean((audio * INT16_MAX) ** 2, axis=1, keepdims=True))
    with np.errstate(divide="ignore"):
        wave_dbfs = 20 * np.log10(rms / INT16_MAX)
    change = AUDIO_NORM_TARGET_DBFS - wave_dbfs
    gain = np.where((change > 0) & np.isfinite(change), 10 ** (np.minimum(change, 300) / 20), 1.0)
    return (audio * gain).astype(np.float32)


def _partial_embeddings(audio, model):
    """Embeddings of every partial utterance of every sound.

    Returns
    -------
    partials : torch.Tensor [shape=(n_sounds, n_partials, 256), dtype=float32]
    starts : np.ndarray [shape=(n_partials,)]
    """
    # Features in NumPy on the CPU; the network on the model's device.
    audio = _torch_utils.check_audio(audio, model, VoiceEncoderEmbedding).cpu().numpy()
    n_sounds, n_samples = audio.shape
    starts = partial_slices(n_samples)
    # embed_utterance pads the waveform to the end of the last partial.
    max_wave_length = int(starts[-1] + PARTIALS_N_FRAMES) * MEL_WINDOW_STEP
    if n_sounds == 0:
        return torch.zeros(0, len(starts), EMBEDDING_SIZE), starts
    audio = _normalize_volume(audio)
    if max_wave_length >= n_samples:
        audio = np.pad(audio, ((0, 0), (0, max_wave_length - n_samples)))
    # resemblyzer.audio.wav_to_mel_spectrogram; librosa treats rows independently.
    mels = librosa.feature.melspectrogram(
        y=audio,
        sr=SAMPLE_RATE,
        n_fft=MEL_WINDOW_LENGTH,
        hop_length=MEL_WINDOW_STEP,
        n_mels=MEL_N_CHANNELS,
    ).astype(np.float32)
    mels = torch.from_numpy(mels.transpose(0, 2, 1).copy())  # (n_sounds, n_frames, 40)
    index = torch.from_numpy(starts[:, None] + np.arange(PARTIALS_N_FRAMES)[None, :])
    n_partials = len(starts)
    device = next(model.parameters()).device
    out = torch.empty(n_sounds * n_partials, EMBEDDING_SIZE, device=device)
    model.eval()
    with torch.no_grad():
        for first, last in _torch_utils.chunk_ranges(n_sounds * n_partials, model.partial_batch_size):
            flat = torch.arange(first, last)
            sound = torch.div(flat, n_partials, rounding_mode="floor")
            batch = mels[sound[:, None], index[flat % n_partials]]
            out[first:last] = model(batch.to(device))
    return out.view(n_sounds, n_partials, EMBEDDING_SIZE), starts


def get_timestamp_embeddings(audio, model):
    """Embeddings of the 1.6-s partial utterances, every 770 ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : VoiceEncoderEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_partials, 256), dtype=float32]
        Unit-norm partial embeddings.
    timestamps : torch.Tensor [shape=(n_sounds, n_partials), dtype=float32]
        Centres of the partials in milliseconds: 800, 1570, ...
    """
    partials, starts = _partial_embeddings(audio, model)
    centres = (starts * MEL_WINDOW_STEP + PARTIALS_N_FRAMES * MEL_WINDOW_STEP / 2) * 1000.0 / SAMPLE_RATE
    timestamps = torch.from_numpy(centres.astype(np.float32)).expand(partials.shape[0], -1)
    return partials, timestamps


def get_scene_embeddings(audio, model):
    """Resemblyzer's utterance embedding (without VAD trimming).

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : VoiceEncoderEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 256), dtype=float32]
        Unit-norm (zero for silence), non-negative.
    """
    partials, _ = _partial_embeddings(audio, model)
    mean = partials.double().mean(dim=1)
    return (mean / torch.clamp(torch.norm(mean, dim=1, keepdim=True), min=NORM_EPS)).float()
