"""Loading HEAR 2021 modules and extracting scene embeddings in batches.

Any importable module that implements the HEAR 2021 API can be evaluated:
it must define ``load_model``, ``get_scene_embeddings`` and
``get_timestamp_embeddings``, and its model object must carry integer
``sample_rate`` and ``scene_embedding_size`` attributes. GEAR's own
wrappers live in :mod:`gear.models`; third-party modules (``hearbaseline``,
``openl3``, ...) are named the same way in ``config.yaml``.

Every failure is raised as :class:`~gear.errors.ModelError` with a
one-line message that names the module or model id, so that a failing
Snakemake job says which model broke and why.

Devices follow HEAR's evaluation kit (``heareval.embeddings``): a model
that is a ``torch.nn.Module`` is moved to the requested device
(:func:`load_model` with ``device=``), each batch is given to
``get_scene_embeddings`` as a torch tensor on the device the model's
tensors are on (:func:`model_device`), and the embeddings are brought back
to the CPU as float32. A model without PyTorch tensors (NumPy, TensorFlow,
TFLite or ONNX inside a parameter-free module) gets CPU tensors, as before.
On the CPU nothing changes: the batch is the same tensor, bit for bit.
"""

import faulthandler
import importlib
import logging
import numbers
import os
import platform
import re
import sys
import threading
import types
from pathlib import Path

import numpy as np
import soxr
import torch
from tqdm import tqdm

from gear.checkpoints import checkpoint_error_detail
from gear.errors import DataError, ModelError
from gear.logs import report_fatal

__all__ = [
    "HEAR_FUNCTIONS",
    "load_hear_module",
    "DEVICE_SETTING",
    "resolve_device",
    "model_device",
    "device_name",
    "load_model",
    "embed_scenes",
    "resample_audio",
]

logger = logging.getLogger(__name__)

#: Functions every HEAR 2021 module must define.
HEAR_FUNCTIONS = ("load_model", "get_scene_embeddings", "get_timestamp_embeddings")

# How many offending sound ids an error message lists before summarising.
_MAX_LISTED_IDS = 10

#: Values of the ``device`` setting (also the pattern of the config schema).
DEVICE_SETTING = re.compile(r"^(auto|cpu|cuda(:[0-9]+)?)$")

# Sounds per soxr call: soxr resamples all channels of a call together, so
# chunking bounds its temporary buffers without changing any sample.
_RESAMPLE_CHUNK = 256


def _one_line(error):
    """``Type: message`` of an exception, on a single line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def load_hear_module(module_name: str) -> types.ModuleType:
    """Import a HEAR 2021 module and check that it exposes the API.

    Parameters
    ----------
    module_name : str
        Dotted module name, e.g. ``"gear.models.base"`` or ``"hearbaseline.naive"``.

    Returns
    -------
    module : types.ModuleType

    Raises
    ------
    ModelError
        If the module cannot be imported (the message carries the
        underlying exception) or lacks any of :data:`HEAR_FUNCTIONS`.
    """
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # a broken third-party module may raise anything on import
        raise ModelError(f"cannot import HEAR module {module_name!r}: {_one_line(error)}") from error
    missing = [name for name in HEAR_FUNCTIONS if not callable(getattr(module, name, None))]
    if missing:
        raise ModelError(
            f"module {module_name!r} is not a HEAR 2021 module: missing {', '.join(missing)}"
        )
    return module


def _label(module, model_id):
    """Name used in messages: the model id, else the module name."""
    return model_id or getattr(module, "__name__", repr(module))


def _cuda_visible_devices():
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    return "CUDA_VISIBLE_DEVICES not set" if value is None else f"CUDA_VISIBLE_DEVICES={value}"


def resolve_device(device, label="") -> torch.device:
    """The torch device that a ``device`` setting names, if PyTorch sees it.

    Parameters
    ----------
    device : str
        ``auto`` (a CUDA device when PyTorch sees one, else the CPU),
        ``cpu``, ``cuda`` (the first visible CUDA device) or ``cuda:N``.
    label : str
        Model name for messages.

    Returns
    -------
    device : torch.device
        ``cpu`` or ``cuda:N`` (with its index).

    Raises
    ------
    ModelError
        One line naming the model: the setting is not one of the above, or
        names a CUDA device that PyTorch does not see (the message gives
        ``CUDA_VISIBLE_DEVICES``, and says so if torch is a CPU-only build).
    """
    if not isinstance(device, str) or not DEVICE_SETTING.match(device):
        raise ModelError(
            f"model {label!r}: device setting {device!r} is not one of auto, cpu, cuda, cuda:N"
        )
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = (
            f"; torch {torch.__version__} is a CPU-only build, see envs/torch-cuda.yaml"
            if torch.version.cuda is None
            else ""
        )
        raise ModelError(
            f"model {label!r}: device {device!r} requested but PyTorch sees no CUDA device "
            f"({_cuda_visible_devices()}{build})"
        )
    index = int(device.partition(":")[2] or torch.cuda.current_device())
    count = torch.cuda.device_count()
    if index >= count:
        raise ModelError(
            f"model {label!r}: device {device!r} requested but PyTorch sees {count} CUDA "
            f"device{'s' if count != 1 else ''}, cuda:0 to cuda:{count - 1} ({_cuda_visible_devices()})"
        )
    return torch.device("cuda", index)


def model_device(model) -> torch.device:
    """Where a model's PyTorch tensors are: the device its batches go to.

    The device of its first parameter or buffer; the CPU for a module
    without any (the weight-free and the TensorFlow/TFLite/ONNX wrappers,
    which compute with NumPy or their own runtime) and for a model that is
    no ``torch.nn.Module``.
    """
    if isinstance(model, torch.nn.Module):
        for tensor in model.parameters():
            return tensor.device
        for tensor in model.buffers():
            return tensor.device
    return torch.device("cpu")


def device_name(device) -> str:
    """Name of a device: the GPU's (``torch.cuda.get_device_name``), else the CPU's model."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _place(model, device, label):
    """Move a torch model to ``device`` (HEAR's evaluation kit does ``model.to(device)``)."""
    if not isinstance(model, torch.nn.Module):
        logger.info("model %s is not a torch.nn.Module: it runs where its own runtime places it", label)
        return model
    if next(model.parameters(), None) is None and next(model.buffers(), None) is None:
        logger.info("model %s holds no PyTorch tensors: it computes on the CPU (NumPy, its runtime)", label)
        return model
    if device.type == "cuda":
        # float32 means float32 on the GPU too: no TF32 in matmuls or
        # convolutions (cuDNN allows it by default), so results stay within
        # float rounding of the CPU's.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    moved = model.to(device)
    logger.info("model %s on %s (%s)", label, device, device_name(device))
    return model if moved is None else moved


def load_model(
    module: types.ModuleType, weights: str | None = None, model_id: str = "", device: str | None = None
):
    """Load the model of a HEAR module and check its required attributes.

    Parameters
    ----------
    module : types.ModuleType
        A module returned by :func:`load_hear_module`.
    weights : str or None
        Checkpoint path passed to ``module.load_model``; if empty or None,
        ``module.load_model()`` is called without arguments.
    model_id : str
        Name of the model in the configuration, used in messages.
    device : str or None
        ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (see
        :func:`resolve_device`, checked before loading): a
        ``torch.nn.Module`` holding tensors is moved there. None: the
        model stays where ``module.load_model`` put it.

    Returns
    -------
    model : object
        Whatever the module returns; it has integer ``sample_rate`` and
        ``scene_embedding_size`` attributes.

    Raises
    ------
    ModelError
        If the device setting is wrong or names a device PyTorch does not
        see, the weights path does not exist, loading fails, or the model
        lacks a valid ``sample_rate`` or ``scene_embedding_size``.
    """
    label = _label(module, model_id)
    target = None if device is None else resolve_device(device, label)
    if weights:
        if not Path(weights).exists():
            raise ModelError(f"model {label!r}: weights file {str(weights)!r} does not exist")
        load_args = (str(weights),)
    else:
        load_args = ()
    try:
        model = module.load_model(*load_args)
    except Exception as error:
        # PyTorch's own message for such a file advises disabling its
        # weights_only safeguard: never repeat that advice.
        detail = checkpoint_error_detail(error) if weights else None
        if detail is not None:
            raise ModelError(
                f"model {label!r}: weights file {str(weights)!r} is not a valid checkpoint for this model ({detail})"
            ) from error
        raise ModelError(f"model {label!r}: loading failed: {_one_line(error)}") from error
    for attribute in ("sample_rate", "scene_embedding_size"):
        value = getattr(model, attribute, None)
        # bool is an Integral, but True is no sample rate.
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
            raise ModelError(
                f"model {label!r}: the loaded model needs a positive int attribute "
                f"{attribute!r}, got {value!r}"
            )
    logger.info(
        "model %s loaded: %d Hz, scene embeddings of dimension %d",
        label,
        model.sample_rate,
        model.scene_embedding_size,
    )
    if target is not None:
        try:
            model = _place(model, target, label)
        except Exception as error:  # e.g. CUDA out of memory
            raise ModelError(f"model {label!r}: cannot move it to {target}: {_one_line(error)}") from error
    return model


def _to_numpy(output):
    """Host NumPy copy of a torch, TensorFlow or NumPy embedding batch."""
    if isinstance(output, torch.Tensor):
        return output.detach().cpu().numpy()
    # TensorFlow eager tensors implement __array__.
    return np.asarray(output)


def _describe_ids(ids):
    """``a, b, ... (n sounds)`` with at most :data:`_MAX_LISTED_IDS` ids."""
    shown = ", ".join(str(sound_id) for sound_id in ids[:_MAX_LISTED_IDS])
    more = ", ..." if len(ids) > _MAX_LISTED_IDS else ""
    return f"{shown}{more} ({len(ids)} sound{'s' if len(ids) != 1 else ''})"


def embed_scenes(
    module: types.ModuleType,
    model,
    audio: np.ndarray,
    *,
    batch_size: int = 64,
    model_id: str = "",
    sound_ids=None,
    progress: bool = True,
    timeout: float | None = None,
) -> np.ndarray:
    """Scene embeddings of many sounds, computed batch by batch.

    Parameters
    ----------
    module : types.ModuleType
        HEAR module, see :func:`load_hear_module`.
    model : object
        Model returned by :func:`load_model`.
    audio : np.ndarray [shape=(n_sounds, n_samples)]
        Mono audio at ``model.sample_rate``, converted to float32. Each
        batch is passed as a torch tensor on :func:`model_device` of the
        model (the CPU unless :func:`load_model` moved it).
    batch_size : int > 0
        Sounds per call to ``module.get_scene_embeddings``; with the
        wrapper's own frame chunks, what bounds memory (on a GPU too).
    model_id : str
        Name of the model, used in messages and on the progress bar.
    sound_ids : sequence of length n_sounds, optional
        Names of the sounds for error messages; row indices if omitted.
    progress : bool
        Show a tqdm progress bar on stderr.
    timeout : float > 0 or None
        Seconds one call of ``get_scene_embeddings`` (one batch) may take.
        When exceeded, the process logs the Python stacks, reports one line
        naming the model, the batch and the limit
        (:func:`gear.logs.report_fatal`) and exits with status 1 at once:
        a model stuck in C code cannot be interrupted, and nothing has been
        written yet. For workflow jobs only; None: no limit.

    Returns
    -------
    embeddings : np.ndarray [shape=(n_sounds, model.scene_embedding_size), dtype=float32]

    Raises
    ------
    DataError
        If ``audio`` is not 2-D or ``sound_ids`` has the wrong length.
    ModelError
        If the module raises, returns a batch of the wrong shape, or
        returns non-finite values (the message lists the sounds).
    """
    label = _label(module, model_id)
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise DataError(f"model {label!r}: audio must be 2-D (n_sounds, n_samples), got shape {audio.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    n_sounds = audio.shape[0]
    if sound_ids is None:
        sound_ids = list(range(n_sounds))
    else:
        sound_ids = list(sound_ids)
        if len(sound_ids) != n_sounds:
            raise DataError(f"model {label!r}: {len(sound_ids)} sound ids for {n_sounds} sounds")
    dim = int(model.scene_embedding_size)
    embeddings = np.empty((n_sounds, dim), dtype=np.float32)
    non_finite = []
    device = model_device(model)
    logger.info(
        "model %s: embedding %d sounds of %d samples in batches of %d on %s",
        label,
        n_sounds,
        audio.shape[1],
        batch_size,
        device,
    )
    # no_grad rather than inference_mode: inference tensors cannot be
    # updated in place later, which breaks modules that cache tensors.
    with torch.no_grad(), tqdm(
        total=n_sounds, desc=label, unit="sound", file=sys.stderr, disable=not progress
    ) as bar:
        for start in range(0, n_sounds, batch_size):
            stop = min(start + batch_size, n_sounds)
            batch = torch.from_numpy(audio[start:stop])
            if device.type != "cpu":
                batch = batch.to(device)
            try:
                with _time_limit(timeout, label, sound_ids[start:stop]):
                    output = _to_numpy(module.get_scene_embeddings(batch, model))
            except Exception as error:
                hint = (
                    f" (lower models.{label}.batch_size, now {batch_size}, to use less GPU memory)"
                    if isinstance(error, torch.cuda.OutOfMemoryError)
                    else ""
                )
                raise ModelError(
                    f"model {label!r}: get_scene_embeddings failed on sounds "
                    f"{_describe_ids(sound_ids[start:stop])}: {_one_line(error)}{hint}"
                ) from error
            expected = (stop - start, dim)
            if output.shape != expected:
                raise ModelError(
                    f"model {label!r}: get_scene_embeddings returned shape {output.shape}, "
                    f"expected {expected} (n_sounds, scene_embedding_size)"
                )
            if not np.issubdtype(output.dtype, np.number):
                raise ModelError(f"model {label!r}: get_scene_embeddings returned dtype {output.dtype}")
            embeddings[start:stop] = output
            bad_rows = ~np.isfinite(embeddings[start:stop]).all(axis=1)
            if bad_rows.any():
                bad = [sound_ids[start + i] for i in np.flatnonzero(bad_rows)]
                logger.warning("model %s: non-finite embeddings for sounds %s", label, _describe_ids(bad))
                non_finite.extend(bad)
            bar.update(stop - start)
    # Raised after the loop so the message counts every offending sound.
    if non_finite:
        raise ModelError(
            f"model {label!r}: non-finite embedding values for sounds {_describe_ids(non_finite)}"
        )
    return embeddings


def _format_seconds(seconds):
    return f"{seconds:g} s"


class _time_limit:
    """Context manager: end the process if the block takes more than ``seconds``.

    A watchdog thread waits for the block; if the block is still running at
    the deadline, it dumps every thread's stack to stderr (the job's log),
    reports the one-line reason and calls ``os._exit(1)``: a Python-level
    alarm would not interrupt a model blocked in C code.
    """

    def __init__(self, seconds, label, sound_ids):
        self.seconds = seconds
        self.label = label
        self.sound_ids = list(sound_ids)
        self._done = threading.Event()

    def _watch(self):
        if self._done.wait(self.seconds):
            return
        message = (
            f"model {self.label!r}: get_scene_embeddings did not return within the time limit of "
            f"{_format_seconds(self.seconds)} on sounds {_describe_ids(self.sound_ids)}; "
            f"nothing was written (raise models.{self.label}.timeout or embedding_timeout if it is only slow)"
        )
        try:
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        except (OSError, ValueError, RuntimeError):  # stderr without a file descriptor
            pass
        report_fatal(message)
        logging.shutdown()
        os._exit(1)

    def __enter__(self):
        if self.seconds is not None:
            threading.Thread(target=self._watch, name="gear-time-limit", daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        return False


def resample_audio(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample every sound of a batch with soxr (``"HQ"`` quality).

    Parameters
    ----------
    audio : np.ndarray [shape=(n_sounds, n_samples)]
    orig_sr, target_sr : int > 0
        Sample rates in Hz.

    Returns
    -------
    resampled : np.ndarray [shape=(n_sounds, n_samples'), dtype=float32]
        ``n_samples'`` is about ``n_samples * target_sr / orig_sr``. The
        input itself (as float32) when the rates are equal.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise DataError(f"audio must be 2-D (n_sounds, n_samples), got shape {audio.shape}")
    if orig_sr <= 0 or target_sr <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_sr} and {target_sr}")
    if orig_sr == target_sr:
        return audio
    chunks = [
        # soxr wants (frames, channels): each sound is one channel.
        soxr.resample(audio[start : start + _RESAMPLE_CHUNK].T, orig_sr, target_sr, quality="HQ").T
        for start in range(0, audio.shape[0], _RESAMPLE_CHUNK)
    ]
    if not chunks:
        n_out = int(round(audio.shape[1] * target_sr / orig_sr))
        return np.empty((0, n_out), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(chunks, axis=0), dtype=np.float32)
