"""Reading and writing GEAR's files, atomically and with checks.

Every writer goes through :func:`atomic_path`: the file is written under a
temporary name in the same directory and renamed into place, so a job
killed mid-write never leaves a half-written output behind.
"""

import contextlib
import io
import os
import secrets
import struct
from collections import Counter
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
    "wav_header",
    "read_audio",
]


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
    _remove_stale_temporaries(path.parent, [path.name])
    fd, tmp_path = _create_temporary(path)
    os.close(fd)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _create_temporary(path):
    # A new empty file ``.<name>.<random><suffix>`` next to ``path``, open
    # for writing. Created with mode 0666 so that the umask gives outputs
    # the usual permissions (mkstemp would make them 0600, and need a chmod).
    while True:
        tmp_path = path.with_name(f".{path.name}.{secrets.token_hex(6)}{path.suffix}")
        try:
            return os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp_path
        except FileExistsError:
            continue


def _write_atomically(path, data):
    """Write bytes to ``path`` as :func:`atomic_path` would, but faster.

    The bytes go through the descriptor that created the temporary file:
    reopening it by name truncates it, and ext4 then flushes a truncated
    file to disk when it is renamed (``auto_da_alloc``), at about 1 ms a
    file. Stale temporary files are not removed.
    """
    fd, tmp_path = _create_temporary(path)
    try:
        with open(fd, "wb") as file:
            file.write(data)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _remove_stale_temporaries(directory, names):
    """Remove the temporary files of :func:`atomic_path` for these file names.

    Parameters
    ----------
    directory : Path
    names : iterable of str
        Final file names in ``directory``; one scan of the directory
        serves them all.
    """
    names = set(names)
    with os.scandir(directory) as entries:
        for entry in entries:
            hidden = entry.name
            if not hidden.startswith("."):
                continue
            # ".<name>.<random><suffix>": try every dot as the end of <name>.
            for end in range(1, len(hidden)):
                name = hidden[1:end]
                suffix = Path(name).suffix
                if (
                    hidden[end] == "."
                    and name in names
                    and hidden.endswith(suffix)
                    and len(hidden) > end + len(suffix)
                ):
                    Path(entry.path).unlink(missing_ok=True)
                    break


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

    Every file is the bytes libsndfile writes for that sound (float WAV
    without PEAK chunk): the sounds share one length and rate, hence one
    header, rendered once by libsndfile; each file is that header and the
    sound's little-endian float32 samples. Writing through libsndfile
    file by file took 4 to 13 times longer (``benchmarks/run.py``): it
    calls ``fsync`` on every file it closes.

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
    ids = [str(sound_id) for sound_id in ids]
    audio = np.asarray(audio)
    if audio.ndim != 2 or audio.shape[0] != len(ids):
        raise ValueError(f"write_audio: {len(ids)} ids for audio of shape {audio.shape}")
    names = [f"{sound_id}.wav" for sound_id in ids]
    _remove_stale_temporaries(directory, names)
    header = wav_header(audio.shape[1], sample_rate)
    samples = audio.astype("<f4", copy=False)
    for name, sound in zip(names, samples, strict=True):
        _write_atomically(directory / name, header + sound.tobytes())


def wav_header(n_samples, sample_rate):
    """Header of libsndfile's mono float32 WAV file, without PEAK chunk.

    Parameters
    ----------
    n_samples : int
    sample_rate : int

    Returns
    -------
    header : bytes
        Everything before the samples, which are the last chunk (``data``).
    """
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", int(sample_rate), 1, "FLOAT", format="WAV") as file:
        _omit_peak_chunk(file)
        file.write(np.zeros(n_samples, dtype=np.float32))
    content = buffer.getvalue()
    header = content[: len(content) - 4 * n_samples]
    # The samples must close the file, right after their chunk header.
    if header[-8:] != b"data" + struct.pack("<I", 4 * n_samples):
        raise RuntimeError("libsndfile wrote a float WAV file whose data chunk is not last")
    return header


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
