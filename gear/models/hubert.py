"""HuBERT large (pre-trained on Libri-Light 60k h, not fine-tuned) as a HEAR module.

``transformers.HubertModel`` with the weights of the Hugging Face
repository ``facebook/hubert-large-ll60k``, embedded exactly as
:mod:`gear.models.wav2vec2` embeds wav2vec 2.0 (SpeechBrain's
``HuggingFaceWav2Vec2`` convention, which SpeechBrain also applies to
HuBERT checkpoints): per-sound layer-normalised waveform (the
checkpoint's feature extractor has ``do_normalize=True``), last hidden
state (1024 values every 20 ms) layer-normalised per sound, and its mean
over frames as the scene embedding: 1024 dimensions, 16 kHz. Sounds
shorter than 400 samples are zero-padded to 400.

**Weights** (not shipped in any package): ``facebook/hubert-large-ll60k``
(Apache-2.0 licence), from the ``weights:`` path of ``config.yaml`` (a
directory with ``config.json`` and the weights, or the weights file
alone), else fetched into GEAR's cache by :mod:`gear.fetch` (see
:mod:`gear.models.remote`); otherwise :func:`load_model` raises
:class:`~gear.errors.ModelError` naming the repository, the cause and
where to put a download. ``load_model(random_init=True)`` or
``GEAR_RANDOM_INIT=1`` (tests only) builds the architecture randomly
initialised, by default with 2 of its 24 transformer layers; a warning is
logged and ``model.random_init`` is true.
"""

import logging

from gear.models import _torch_utils, remote, wav2vec2
from gear.models.wav2vec2 import Wav2Vec2Embedding

transformers = _torch_utils.import_transformers()

__all__ = [
    "HubertEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "published_config",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = wav2vec2.SAMPLE_RATE
REPO_ID = remote.HUBERT_REPO


def published_config(num_hidden_layers=24):
    """The architecture of ``facebook/hubert-large-ll60k`` (its ``config.json``).

    Parameters
    ----------
    num_hidden_layers : int
        24 as published; fewer only for random-init tests.

    Returns
    -------
    config : transformers.HubertConfig
    """
    return transformers.HubertConfig(
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
        feat_proj_layer_norm=True,
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
        do_stable_layer_norm=True,
        layer_norm_eps=1e-5,
        apply_spec_augment=False,
    )


class HubertEmbedding(Wav2Vec2Embedding):
    """``transformers.HubertModel`` with the HEAR attributes (see :class:`Wav2Vec2Embedding`).

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        1024.
    sound_batch_size : int
        Sounds per forward pass; bounds memory.
    random_init : bool
        True if the weights are random (tests only).
    """


def load_model(model_file_path: str = "", random_init: bool = False, num_hidden_layers=None):
    """Load hubert-large-ll60k, from a path or the local Hugging Face cache.

    Parameters
    ----------
    model_file_path : str
        A directory with the checkpoint (``config.json`` and weights), or
        its weights file alone; empty for GEAR's cache (fetched if absent).
    random_init : bool
        Tests only: if no ``model_file_path`` is given, build the
        architecture randomly initialised (seeded). ``GEAR_RANDOM_INIT=1``
        does the same.
    num_hidden_layers : int or None
        Transformer layers of the random-init network; None for 2.

    Returns
    -------
    model : HubertEmbedding
        In eval mode, on the CPU.

    Raises
    ------
    ModelError
        If the weights are not on this machine (the message names the
        repository and where to put it) or are not those of this model.
    """
    model, do_normalize, random = wav2vec2.build(
        transformers.HubertModel,
        published_config(),
        REPO_ID,
        model_file_path,
        "hubert",
        random_init,
        num_hidden_layers,
        wav2vec2.weights_location(REPO_ID, "hubert"),
        __name__,
    )
    return HubertEmbedding(model, normalize_waveform=do_normalize, random_init=random).eval()


def get_timestamp_embeddings(audio, model):
    """Normalised last hidden states, one every 20 ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : HubertEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_frames, 1024), dtype=float32]
    timestamps : torch.Tensor [shape=(n_sounds, n_frames), dtype=float32]
        Frame centres in milliseconds: 12.5, 32.5, ...
    """
    return wav2vec2.get_timestamp_embeddings(audio, model)


def get_scene_embeddings(audio, model):
    """Mean over frames of the normalised last hidden state.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : HubertEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1024), dtype=float32]
    """
    return wav2vec2.get_scene_embeddings(audio, model)
