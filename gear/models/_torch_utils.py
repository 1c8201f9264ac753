"""Helpers shared by GEAR's PyTorch HEAR wrappers (not a HEAR module).

- :func:`check_audio`: the (n_sounds, n_samples) float32 tensor every
  wrapper expects, and a check of the model's type.
- :func:`import_without_torchaudio`: import a package that imports
  ``torchaudio`` only to read files (pesto), with a placeholder when the
  real torchaudio cannot be loaded beside the CPU build of torch; and
  :func:`import_transformers`, which imports ``transformers`` even when
  such a placeholder is registered.
- :func:`random_init_requested` and :func:`seeded`: the explicit,
  never silent, random-initialisation path of the wrappers whose weights
  come from a hub (tests only).
- :func:`hub_weights_error`: the one message that says which file to
  download and where to put it.
- :func:`load_hf_model`: load a Hugging Face ``transformers`` model from a
  saved directory, a single weights file, or the local Hugging Face cache,
  never from the network.
- :class:`HiddenStateRecorder`: the hidden states of a wav2vec 2.0 /
  HuBERT encoder as ``transformers`` 4.x returned them.
"""

import contextlib
import importlib
import logging
import os
import sys
import types
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from gear.checkpoints import checkpoint_error_detail
from gear.errors import ModelError

__all__ = [
    "RANDOM_INIT_ENV",
    "check_audio",
    "import_without_torchaudio",
    "import_transformers",
    "random_init_requested",
    "seeded",
    "hub_weights_error",
    "load_state_dict_file",
    "checkpoint_error_detail",
    "load_hf_model",
    "HiddenStateRecorder",
    "chunk_ranges",
    "features_by_chunk",
    "frame_embeddings",
]

logger = logging.getLogger(__name__)

#: Environment variable that makes hub-weight wrappers build a randomly
#: initialised network instead of failing when weights are missing.
#: For tests only: the embeddings of such a network mean nothing.
RANDOM_INIT_ENV = "GEAR_RANDOM_INIT"


def check_audio(audio, model, model_class):
    """The audio as a 2-D float32 tensor; the model checked to be a ``model_class``.

    Parameters
    ----------
    audio : torch.Tensor or np.ndarray [shape=(n_sounds, n_samples)]
    model : object
    model_class : type

    Returns
    -------
    audio : torch.Tensor [shape=(n_sounds, n_samples), dtype=float32]

    Raises
    ------
    ValueError
        If ``audio`` is not 2-D or ``model`` is not a ``model_class``.
    """
    if not isinstance(audio, torch.Tensor):
        audio = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    if audio.ndim != 2:
        raise ValueError(f"audio must be 2-D (n_sounds, n_samples), got shape {tuple(audio.shape)}")
    if not isinstance(model, model_class):
        raise ValueError(f"model must be a {model_class.__name__}, got {type(model).__name__}")
    return audio.float()


def chunk_ranges(n_items, chunk_size):
    """``(start, stop)`` pairs covering ``range(n_items)`` in chunks of ``chunk_size``."""
    chunk_size = max(int(chunk_size), 1)
    return [(start, min(start + chunk_size, n_items)) for start in range(0, n_items, chunk_size)]


def features_by_chunk(audio, model, model_class, features, label):
    """A frame-wise feature of every sound, computed on chunks of ``model.sound_batch_size`` sounds.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
    model : torch.nn.Module
        Checked to be a ``model_class``; its ``sound_batch_size`` sets the
        chunks.
    model_class : type
    features : callable
        ``np.ndarray [shape=(n_chunk, n_samples)] -> np.ndarray [shape=(n_chunk, n_features, n_frames)]``.
    label : str
        The model's name, for the error.

    Returns
    -------
    chunks : list of np.ndarray [shape=(n_chunk, n_features, n_frames)]
        Empty for an empty batch.

    Raises
    ------
    ValueError
        If the sounds have 0 samples (no frames).
    """
    audio = check_audio(audio, model, model_class).cpu().numpy()
    if audio.shape[1] == 0:
        raise ValueError(f"{label}: sounds of 0 samples have no frames")
    return [features(audio[start:stop]) for start, stop in chunk_ranges(len(audio), model.sound_batch_size)]


def frame_embeddings(chunks, n_sounds, n_samples, hop_length, sample_rate, n_features):
    """Timestamp embeddings and frame centres from chunks of frame-wise features.

    Frames are centred every ``hop_length`` samples, the first on sample 0
    (``center=True`` framing): ``1 + n_samples // hop_length`` frames.

    Parameters
    ----------
    chunks : list of np.ndarray [shape=(n_chunk, n_features, n_frames)]
        As :func:`features_by_chunk` returns.
    n_sounds, n_samples : int
        Shape of the batch.
    hop_length, sample_rate : int
    n_features : int
        Size of an embedding of an empty batch.

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_frames, n_features), dtype=float32]
    timestamps : torch.Tensor [shape=(n_sounds, n_frames), dtype=float32]
        Frame centres in milliseconds.
    """
    n_frames = 1 + n_samples // hop_length
    if chunks:
        embeddings = torch.from_numpy(np.concatenate(chunks).transpose(0, 2, 1).copy())
    else:
        embeddings = torch.zeros(0, n_frames, n_features)
    timestamps = torch.arange(n_frames, dtype=torch.float64) * (hop_length * 1000.0 / sample_rate)
    return embeddings, timestamps.float().expand(n_sounds, -1)


def _torchaudio_placeholder(owner):
    placeholder = types.ModuleType("torchaudio")
    placeholder.__doc__ = f"Placeholder registered by {owner}: torchaudio is unavailable."

    def load(*args, **kwargs):
        raise ImportError(
            f"torchaudio is not available in this environment ({owner} registered a "
            "placeholder so that its model package can be imported); read audio with gear.io instead"
        )

    placeholder.load = load
    return placeholder


def import_without_torchaudio(package, owner):
    """Import ``package``, which imports torchaudio only to read audio files.

    A torchaudio wheel from the registry does not load beside the CPU
    build of torch, and GEAR never lets these packages read files; so,
    when (and only when) the real torchaudio cannot be imported, a
    placeholder module whose ``load`` raises a clear error is registered
    first (the same placeholder as :mod:`gear.models.crepe`).

    Parameters
    ----------
    package : str
        Module to import, e.g. ``"pesto"``.
    owner : str
        Name of the GEAR module asking, for the placeholder's messages.

    Returns
    -------
    module : types.ModuleType
    """
    try:
        import torchaudio  # noqa: F401
    except Exception as error:  # a mismatched wheel raises OSError, not ImportError
        logger.debug("torchaudio unavailable (%s); registering a placeholder", error)
        sys.modules["torchaudio"] = _torchaudio_placeholder(owner)
    return importlib.import_module(package)


def import_transformers():
    """Import ``transformers`` even if a torchaudio placeholder is registered.

    ``transformers`` asks ``importlib.util.find_spec("torchaudio")`` at
    import, which raises ``ValueError`` for a module in ``sys.modules``
    without a ``__spec__`` — the placeholder that :mod:`gear.models.crepe`
    or :func:`import_without_torchaudio` registers. The placeholder is set
    aside during the import, so that transformers records (and caches)
    that torchaudio is unavailable, and put back afterwards.

    Returns
    -------
    transformers : types.ModuleType
    """
    placeholder = sys.modules.get("torchaudio")
    if placeholder is None or getattr(placeholder, "__spec__", None) is not None:
        return importlib.import_module("transformers")
    del sys.modules["torchaudio"]
    try:
        transformers = importlib.import_module("transformers")
        # Cached (functools.lru_cache) from now on.
        transformers.utils.import_utils.is_torchaudio_available()
    finally:
        sys.modules["torchaudio"] = placeholder
    return transformers


def random_init_requested(random_init):
    """Whether to build a randomly initialised network (tests only).

    Parameters
    ----------
    random_init : bool
        The explicit ``load_model(..., random_init=True)`` option.

    Returns
    -------
    bool
        ``random_init``, or true if the environment variable
        ``GEAR_RANDOM_INIT`` is ``1`` (also ``true``/``yes``).
    """
    if random_init:
        return True
    return os.environ.get(RANDOM_INIT_ENV, "").strip().lower() in ("1", "true", "yes")


def warn_random_init(label, detail=""):
    """Log, loudly, that a model is randomly initialised."""
    logger.warning(
        "%s: RANDOMLY INITIALISED network (random_init=True or %s=1), for tests only; "
        "its embeddings are meaningless%s",
        label,
        RANDOM_INIT_ENV,
        f" ({detail})" if detail else "",
    )


@contextlib.contextmanager
def seeded(seed=0):
    """Seed torch's global generator inside the block and restore its state after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def hub_weights_error(label, what, where, reason=""):
    """The ModelError raised when a model's weights are not on this machine.

    Parameters
    ----------
    label : str
        Model name, e.g. ``"wav2vec2"``.
    what : str
        What to download: a Hugging Face repository id or a URL.
    where : str
        Where to put it so that :func:`load_model` finds it.
    reason : str
        The underlying error, if any.

    Returns
    -------
    ModelError
    """
    reason = " ".join(str(reason).split())
    message = (
        f"{label}: pretrained weights not found on this machine, and not fetched. "
        f"Download {what}, then {where}. To test the wrapper without weights, "
        f"load_model(random_init=True) or {RANDOM_INIT_ENV}=1 builds the architecture randomly "
        "initialised (tests only)."
    )
    if reason:
        message += f" [{reason}]"
    return ModelError(message)


def load_state_dict_file(path, label):
    """Read a PyTorch (``.pt``, ``.pth``, ``.bin``) or safetensors state dict.

    Parameters
    ----------
    path : str or Path
    label : str
        Model name for messages.

    Returns
    -------
    state : dict of str to torch.Tensor

    Raises
    ------
    ModelError
        If the file cannot be read or holds no state dict (a dict with a
        ``"state_dict"`` or ``"model_state"`` entry is unwrapped).
    """
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        detail = checkpoint_error_detail(error) or " ".join(str(error).split())
        raise ModelError(
            f"{label}: weights file {str(path)!r} is not a valid checkpoint for this model ({detail})"
        ) from error
    for key in ("state_dict", "model_state", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping):
        raise ModelError(f"{label}: {str(path)!r} holds a {type(state).__name__}, not a state dict")
    return dict(state)


def load_hf_model(model_class, config, repo_id, model_file_path, label, where):
    """Load a ``transformers`` model without touching the network.

    Parameters
    ----------
    model_class : type
        E.g. ``transformers.Wav2Vec2Model``.
    config : transformers.PretrainedConfig
        The published architecture; used to build the network when
        ``model_file_path`` is a single weights file.
    repo_id : str
        Hugging Face repository of the published weights.
    model_file_path : str
        Either a directory saved by ``save_pretrained`` or downloaded from
        the hub (``config.json`` and ``model.safetensors`` or
        ``pytorch_model.bin``; a hub snapshot fetched by :mod:`gear.fetch`
        is one), or a single weights file of that network (keys with a
        ``wav2vec2.`` / ``hubert.`` prefix, as in CTC checkpoints, are
        accepted). A folder is built as its own ``config.json`` says;
        only the widths must be ``config``'s.
    label : str
        Model name for messages.
    where : str
        End of the error message: where to put the download.

    Returns
    -------
    model : transformers.PreTrainedModel
        In eval mode.

    Raises
    ------
    ModelError
        If the weights are not found, or are not those of ``config``'s
        architecture.
    """
    path = Path(model_file_path)
    if path.is_file():
        state = load_state_dict_file(path, label)
        prefix = f"{config.model_type}."
        if any(key.startswith(prefix) for key in state):
            state = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
        # Checkpoints written before torch's parametrized weight norm name the
        # positional convolution's weight norm weight_g / weight_v.
        renamed = {
            ".weight_g": ".parametrizations.weight.original0",
            ".weight_v": ".parametrizations.weight.original1",
        }
        state = {
            next((key[: -len(old)] + new for old, new in renamed.items() if key.endswith(old)), key): value
            for key, value in state.items()
        }
        # The weights overwrite every parameter; the random initialisation
        # is seeded anyway, for determinism.
        with seeded(0):
            model = model_class(config)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as error:  # shape mismatches
            raise ModelError(f"{label}: {str(path)!r} does not fit {config.model_type}: {error}") from error
        # masked_spec_embed is used only in training (SpecAugment).
        missing = [key for key in missing if key != "masked_spec_embed"]
        if missing:
            raise ModelError(
                f"{label}: {str(path)!r} is not a {config.model_type} checkpoint of the expected size: "
                f"missing {', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}"
            )
        if unexpected:
            logger.info("%s: ignored %d unused entries of %s", label, len(unexpected), path)
        logger.info("%s: loaded weights from %s", label, path)
        return model.eval()
    source = str(path)
    try:
        model = model_class.from_pretrained(source, local_files_only=True)
    except Exception as error:  # OSError when absent; anything when corrupted
        raise hub_weights_error(label, f"the Hugging Face repository {repo_id!r}", where, error) from error
    for name in ("hidden_size", "num_attention_heads", "intermediate_size"):
        if getattr(model.config, name) != getattr(config, name):
            raise ModelError(
                f"{label}: {source!r} has {name}={getattr(model.config, name)}, "
                f"but {repo_id} has {getattr(config, name)}"
            )
    logger.info("%s: loaded weights from %s", label, source)
    return model.eval()


class HiddenStateRecorder:
    """Hidden states of a wav2vec 2.0 / HuBERT model as ``transformers`` 4.x returned them.

    With ``output_hidden_states=True``, transformers 4.x (and GURA, which
    used 4.11.3) returned, for the "stable layer norm" encoders of the
    large models, the input of each of the L transformer layers followed
    by the encoder's output after its final layer norm: L + 1 tensors.
    transformers 5 returns other tensors, so this recorder collects them
    with forward pre-hooks instead, independently of the version.

    Parameters
    ----------
    model : transformers.Wav2Vec2Model or transformers.HubertModel
        With ``config.do_stable_layer_norm`` (the large models).

    Examples
    --------
    >>> states = HiddenStateRecorder(model)(audio)  # L + 1 tensors (n_sounds, n_frames, hidden)
    >>> fused = HiddenStateRecorder(model).mean(audio)  # their mean, without keeping them
    """

    def __init__(self, model):
        if not model.config.do_stable_layer_norm:
            # Post-norm encoders (base models) normalise before the first
            # layer, and 4.x returned each layer's output instead.
            raise ModelError("HiddenStateRecorder supports the large (stable layer norm) models only")
        self.model = model

    def _run(self, audio, consume):
        def record(module, args, kwargs):
            consume(args[0] if args else kwargs["hidden_states"])

        handles = [
            layer.register_forward_pre_hook(record, with_kwargs=True) for layer in self.model.encoder.layers
        ]
        try:
            last = self.model(audio).last_hidden_state
        finally:
            for handle in handles:
                handle.remove()
        consume(last)

    def __call__(self, audio):
        """The L + 1 hidden states, each of shape (n_sounds, n_frames, hidden_size)."""
        states = []
        self._run(audio, states.append)
        return states

    def mean(self, audio):
        """Mean of the L + 1 hidden states (summed in float64, one at a time).

        Returns
        -------
        mean : torch.Tensor [shape=(n_sounds, n_frames, hidden_size), dtype=float32]
        """
        total = []

        def add(hidden):
            if total:
                total[0] += hidden.double()
                total[1] += 1
            else:
                total.extend([hidden.to(torch.float64, copy=True), 1])

        self._run(audio, add)
        return (total[0] / total[1]).float()
