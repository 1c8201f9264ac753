"""Reading and writing GEAR's files, atomically and with checks.

Every writer goes through :func:`atomic_path`: the file is written under a
temporary name in the same directory and renamed into place, so a job
killed mid-write never leaves a half-written output behind.
"""

import contextlib
import glob
import os
from collections import Counter
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from gear.errors import DataError

__all__ = [
    "atomic_path",
    "save_array",
    "load_array",
    "save_table",
    "load_params",
    "write_audio",
    "read_audio",
]


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path that replaces ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or Path
        Final destination; its parent directories are created.

    Yields
    ------
    tmp_path : Path
        Where to write. Removed if the block raises; temporary files left
        for the same ``path`` by a killed writer are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Temporary files of a writer that was killed (SIGKILL skips `finally`).
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*{glob.escape(path.suffix)}"):
        stale.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp_path = Path(tmp_name)
    # mkstemp creates 0600 files; outputs get the usual permissions instead.
    os.chmod(tmp_path, 0o666 & ~_UMASK)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def save_array(path, array):
    """Save an array as ``.npy``, atomically."""
    with atomic_path(path) as tmp:
        np.save(tmp, array)


def load_array(path, ndim=2):
    """Load a ``.npy`` array and check its rank.

    Raises
    ------
    DataError
        If the file is missing, unreadable or of another rank.
    """
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{path}: cannot read array ({error})") from error
    if array.ndim != ndim:
        raise DataError(f"{path}: expected a {ndim}-D array, got shape {array.shape}")
    return array


def save_table(path, table):
    """Save a DataFrame as CSV without its index, atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def load_params(path):
    """Load a dataset's ``params.csv``.

    Returns
    -------
    params : pd.DataFrame
        ``sound_id`` (str) then one float column per synthesis parameter.
    """
    try:
        params = pd.read_csv(path, dtype={"sound_id": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path}: cannot read parameter table ({error})") from error
    if "sound_id" not in params.columns or params.shape[1] < 2:
        raise DataError(f"{path}: expected columns sound_id then parameters, got {list(params.columns)}")
    if params["sound_id"].duplicated().any():
        raise DataError(f"{path}: duplicated sound_id values")
    return params


def write_audio(directory, ids, audio, sample_rate):
    """Write one float32 WAV file per sound, each atomically.

    Parameters
    ----------
    directory : str or Path
    ids : sequence of str [length=n_sounds]
        File stems.
    audio : np.ndarray [shape=(n_sounds, n_samples)]
    sample_rate : int
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for sound_id, sound in zip(ids, audio, strict=True):
        with atomic_path(directory / f"{sound_id}.wav") as tmp:
            with soundfile.SoundFile(tmp, "w", sample_rate, 1, "FLOAT", format="WAV") as file:
                _omit_peak_chunk(file)
                file.write(sound.astype(np.float32))


# libsndfile's command that turns off the PEAK chunk of float WAV files.
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def _omit_peak_chunk(file):
    # The PEAK chunk holds the time of writing: without it, the same sound
    # gives a byte-identical file on every run. soundfile has no public
    # switch for it, hence libsndfile's sf_command.
    soundfile._snd.sf_command(file._file, _SFC_SET_ADD_PEAK_CHUNK, soundfile._ffi.NULL, 0)


def read_audio(directory, ids):
    """Read the WAV files of a dataset into one array.

    Parameters
    ----------
    directory : str or Path
    ids : sequence of str [length=n_sounds]

    Returns
    -------
    audio : np.ndarray [shape=(n_sounds, n_samples)], float32
    sample_rate : int

    Raises
    ------
    DataError
        If a file is missing, corrupted or truncated, or if the files do not
        all share one length and one sample rate.
    """
    directory = Path(directory)
    ids = list(ids)
    if not ids:
        raise DataError(f"{directory}: no sounds to read")
    paths = [directory / f"{sound_id}.wav" for sound_id in ids]
    # First pass, headers only: the common format is the most frequent one,
    # so a damaged file is named even if it comes first.
    formats = []
    for path in paths:
        try:
            info = soundfile.info(path)
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            raise DataError(f"{path}: cannot read audio ({error})") from error
        formats.append((info.frames, info.samplerate, info.channels))
    (n_samples, sample_rate, channels), _ = Counter(formats).most_common(1)[0]
    for path, found in zip(paths, formats, strict=True):
        if found != (n_samples, sample_rate, channels):
            raise DataError(
                f"{path}: {found[0]} samples at {found[1]} Hz in {found[2]} channel(s), but the "
                f"dataset's sounds have {n_samples} at {sample_rate} Hz in {channels} (truncated or foreign file?)"
            )
    if channels != 1:
        raise DataError(f"{directory}: expected mono audio, got {channels} channels")
    audio = np.empty((len(ids), n_samples), dtype=np.float32)
    for row, path in enumerate(paths):
        try:
            sound, _ = soundfile.read(path, dtype="float32", frames=n_samples)
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            raise DataError(f"{path}: cannot read audio ({error})") from error
        if sound.shape[0] != n_samples:
            raise DataError(f"{path}: truncated ({sound.shape[0]} of {n_samples} samples readable)")
        audio[row] = sound
    return audio, int(sample_rate)
