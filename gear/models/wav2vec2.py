"""wav2vec 2.0 (large, LV-60k, self-trained, fine-tuned on LibriSpeech 960 h) as a HEAR module.

The paper evaluated ``facebook/wav2vec2-large-960h-lv60-self`` through
``hearbaseline.wav2vec2`` (hearbaseline 2021.1.1), which wraps
SpeechBrain's ``HuggingFaceWav2Vec2``. This module computes the same
thing with ``transformers.Wav2Vec2Model`` directly:

1. the waveform is layer-normalised (zero mean, unit variance, eps
   1e-5), because the checkpoint's feature extractor has
   ``do_normalize=True``;
2. the last hidden state of the model (1024 values every 320 samples,
   i.e. 20 ms, the first frame centred at 12.5 ms) is layer-normalised
   over all its values (SpeechBrain's ``output_norm=True``);
3. the scene embedding is its mean over frames: 1024 dimensions.

One deliberate difference: SpeechBrain normalises the whole *batch*
tensor at once in steps 1 and 2 (``F.layer_norm(x, x.shape)``), so a
sound's embedding depends on the other sounds of its batch. Here both
normalisations are per sound, which is what hearbaseline gives for a
batch of one sound. Sounds shorter than 400 samples (the first
convolution's receptive field, 25 ms) are zero-padded at the end to 400.

**Weights** (not shipped in any package): the Hugging Face repository
``facebook/wav2vec2-large-960h-lv60-self`` (Apache-2.0 licence), from the
path given as ``weights:`` in ``config.yaml`` — a directory with
``config.json`` and ``model.safetensors`` / ``pytorch_model.bin``, or that
weights file alone — else fetched into GEAR's cache by :mod:`gear.fetch`
(its configuration and one weights file, at the commit recorded in
``gear.lock``; see :mod:`gear.models.remote`). A fetched checkpoint is
built as its own ``config.json`` says (fewer layers are fine; the widths
must be the published ones). If neither works, :func:`load_model` raises
:class:`~gear.errors.ModelError` naming the repository and the cause.
``load_model(random_init=True)``, or the environment variable
``GEAR_RANDOM_INIT=1`` (tests only), builds the same architecture randomly
initialised, by default with 2 of its 24 transformer layers (output shapes
unchanged); a warning is logged and ``model.random_init`` is true.
"""

import json
import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from gear.errors import FetchError
from gear.models import _torch_utils, remote

transformers = _torch_utils.import_transformers()

__all__ = [
    "Wav2Vec2Embedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "published_config",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
REPO_ID = remote.WAV2VEC2_REPO
#: Samples between frames of the convolutional feature encoder (20 ms).
FRAME_HOP_SAMPLES = 320
#: Receptive field of the convolutional feature encoder (25 ms).
MIN_SAMPLES = 400
#: Sounds per forward pass: bounds memory (activations grow with
#: sounds x frames, attention with frames squared).
SOUND_BATCH_SIZE = 8
#: Transformer layers of the random-init network (tests only).
RANDOM_INIT_LAYERS = 2
#: The checkpoint's feature extractor normalises waveforms.
DO_NORMALIZE = True
LAYER_NORM_EPS = 1e-5


def published_config(num_hidden_layers=24):
    """The architecture of ``facebook/wav2vec2-large-960h-lv60-self`` (its ``config.json``).

    Parameters
    ----------
    num_hidden_layers : int
        24 as published; fewer only for random-init tests.

    Returns
    -------
    config : transformers.Wav2Vec2Config
    """
    return transformers.Wav2Vec2Config(
        hidden_size=1024,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=16,
        intermediate_size=4096,
        hidden_act="gelu",
        feat_extract_norm="layer",
        feat_extract_activation="gelu",
        conv_dim=(512,) * 7,
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_bias=True,
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
        do_stable_layer_norm=True,
        layer_norm_eps=1e-5,
        apply_spec_augment=False,
        vocab_size=32,
    )


class Wav2Vec2Embedding(torch.nn.Module):
    """A ``transformers`` wav2vec 2.0 / HuBERT model with the HEAR attributes.

    Parameters
    ----------
    model : transformers.Wav2Vec2Model or transformers.HubertModel
    normalize_waveform : bool
        Layer-normalise each waveform first (the checkpoint's ``do_normalize``).
    random_init : bool
        True if the weights are random (tests only).

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        The model's hidden size: 1024.
    sound_batch_size : int
        Sounds per forward pass; bounds memory.
    random_init : bool
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, model, normalize_waveform=DO_NORMALIZE, random_init=False):
        super().__init__()
        self.model = model.eval()
        self.embedding_size = int(model.config.hidden_size)
        self.scene_embedding_size = self.embedding_size
        self.timestamp_embedding_size = self.embedding_size
        self.normalize_waveform = bool(normalize_waveform)
        self.random_init = bool(random_init)
        self.sound_batch_size = SOUND_BATCH_SIZE

    def forward(self, audio):
        """Normalised last hidden states of a batch of sounds.

        Parameters
        ----------
        audio : torch.Tensor [shape=(n_sounds, n_samples)]

        Returns
        -------
        frames : torch.Tensor [shape=(n_sounds, n_frames, embedding_size)]
        """
        audio = _pad_to_receptive_field(audio)
        if self.normalize_waveform:
            audio = F.layer_norm(audio, audio.shape[-1:], eps=LAYER_NORM_EPS)
        hidden = self.model(audio).last_hidden_state
        return F.layer_norm(hidden, hidden.shape[-2:], eps=LAYER_NORM_EPS)


def _pad_to_receptive_field(audio):
    if audio.shape[-1] < MIN_SAMPLES:
        audio = F.pad(audio, (0, MIN_SAMPLES - audio.shape[-1]))
    return audio


def read_do_normalize(directory, default):
    """``do_normalize`` of a checkpoint's ``preprocessor_config.json``, if present."""
    if directory is None:
        return default
    config_file = Path(directory) / "preprocessor_config.json"
    if not config_file.is_file():
        return default
    try:
        return bool(json.loads(config_file.read_text()).get("do_normalize", default))
    except (OSError, ValueError):
        return default


def build(
    model_class, config, repo_id, model_file_path, label, random_init, num_hidden_layers, where, module_name
):
    """Load or randomly initialise a wav2vec 2.0-style model (shared with :mod:`gear.models.hubert`).

    Returns
    -------
    model : transformers.PreTrainedModel
    do_normalize : bool
    random : bool
    """
    if model_file_path:
        model = _torch_utils.load_hf_model(model_class, config, repo_id, model_file_path, label, where)
        path = Path(model_file_path)
        directory = path if path.is_dir() else None
        return model, read_do_normalize(directory, DO_NORMALIZE), False
    if _torch_utils.random_init_requested(random_init):
        layers = RANDOM_INIT_LAYERS if num_hidden_layers is None else int(num_hidden_layers)
        config.num_hidden_layers = layers
        _torch_utils.warn_random_init(label, f"{layers} transformer layers")
        with _torch_utils.seeded(0):
            model = model_class(config)
        return model.eval(), DO_NORMALIZE, True
    try:
        directory = remote.fetch_weights(module_name)
    except FetchError as error:
        raise _torch_utils.hub_weights_error(
            label, f"the Hugging Face repository {repo_id!r}", where, error
        ) from None
    model = _torch_utils.load_hf_model(model_class, config, repo_id, directory, label, where)
    return model, read_do_normalize(Path(directory), DO_NORMALIZE), False


def weights_location(repo_id, model_id):
    """End of the missing-weights message: where to put the download."""
    return (
        f"either let GEAR fetch it (network, or a mirror as HF_ENDPOINT), or save it to a directory "
        f"(`hf download {repo_id} --local-dir DIR` on a machine with network) and give that "
        f"directory as `weights:` of model '{model_id}' in config.yaml"
    )


def load_model(model_file_path: str = "", random_init: bool = False, num_hidden_layers=None):
    """Load wav2vec2-large-960h-lv60-self, from a path or the local Hugging Face cache.

    Parameters
    ----------
    model_file_path : str
        A directory with the checkpoint (``config.json`` and weights), or
        its weights file alone; empty for GEAR's cache (fetched if absent).
    random_init : bool
        Tests only: if no ``model_file_path`` is given, build the
        architecture randomly initialised (seeded) instead of loading
        weights. The environment variable ``GEAR_RANDOM_INIT=1`` does the same.
    num_hidden_layers : int or None
        Transformer layers of the random-init network; None for 2.

    Returns
    -------
    model : Wav2Vec2Embedding
        In eval mode, on the CPU.

    Raises
    ------
    ModelError
        If the weights are not on this machine (the message names the
        repository and where to put it) or are not those of this model.
    """
    model, do_normalize, random = build(
        transformers.Wav2Vec2Model,
        published_config(),
        REPO_ID,
        model_file_path,
        "wav2vec2",
        random_init,
        num_hidden_layers,
        weights_location(REPO_ID, "wav2vec2"),
        __name__,
    )
    return Wav2Vec2Embedding(model, normalize_waveform=do_normalize, random_init=random).eval()


def frame_timestamps(n_frames, n_sounds):
    """Centres of wav2vec 2.0 frames: 12.5 ms + 20 ms k (as hearbaseline.wav2vec2).

    Returns
    -------
    timestamps : torch.Tensor [shape=(n_sounds, n_frames), dtype=float32]
    """
    centres = 12.5 + torch.arange(n_frames, dtype=torch.float64) * (FRAME_HOP_SAMPLES * 1000.0 / SAMPLE_RATE)
    return centres.float().expand(n_sounds, -1)


def embed_frames(audio, model, reduce_mean):
    """Run ``model`` on ``model.sound_batch_size`` sounds at a time.

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_frames, dim)] or, if
        ``reduce_mean``, [shape=(n_sounds, dim)], float32
    """
    outputs = []
    model.eval()
    with torch.no_grad():
        for start, stop in _torch_utils.chunk_ranges(audio.shape[0], model.sound_batch_size):
            frames = model(audio[start:stop])
            outputs.append(frames.double().mean(dim=1).float() if reduce_mean else frames)
    if not outputs:
        dim = model.scene_embedding_size
        if reduce_mean:
            return torch.zeros(0, dim)
        n_samples = max(audio.shape[1], MIN_SAMPLES)
        n_frames = int(model.model._get_feat_extract_output_lengths(torch.tensor(n_samples)))
        return torch.zeros(0, n_frames, dim)
    return torch.cat(outputs)


def get_timestamp_embeddings(audio, model):
    """Normalised last hidden states, one every 20 ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : Wav2Vec2Embedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_frames, 1024), dtype=float32]
        ``n_frames`` is about ``n_samples / 320`` (49 for one second).
    timestamps : torch.Tensor [shape=(n_sounds, n_frames), dtype=float32]
        Frame centres in milliseconds: 12.5, 32.5, ...
    """
    audio = _torch_utils.check_audio(audio, model, Wav2Vec2Embedding)
    embeddings = embed_frames(audio, model, reduce_mean=False)
    return embeddings, frame_timestamps(embeddings.shape[1], audio.shape[0])


def get_scene_embeddings(audio, model):
    """Mean over frames of the normalised last hidden state.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : Wav2Vec2Embedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1024), dtype=float32]
    """
    audio = _torch_utils.check_audio(audio, model, Wav2Vec2Embedding)
    return embed_frames(audio, model, reduce_mean=True)
