"""Reading and writing GEAR's files, atomically and with checks.

Every writer goes through :func:`atomic_path`: the file is written under a
temporary name in the same directory and renamed into place, so a job
killed mid-write never leaves a half-written output behind. A full disk is
reported as such, with the file system that is full.

A job started by Snakemake calls :func:`gear.processes.watch_parent`
(through :func:`gear.logs.log_to_file`): once Snakemake has gone, the job
renames nothing into place (:func:`gear.processes.check_parent`) and exits, so that an interrupted run never leaves
outputs that Snakemake did not see being made.

A dataset's audio directory holds, besides one WAV file per sound, a
manifest (:data:`MANIFEST_NAME`: file name, size and SHA-256 of every
sound) written by :func:`write_audio`; :func:`read_audio` checks every
file it reads against it, and :func:`check_audio_manifest` (cheap: sizes
and times only) lets the workflow refuse to start on a dataset whose files
were deleted or replaced.
"""

import contextlib
import errno
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from gear.errors import DataError
from gear.processes import OrphanedJobError, check_parent

__all__ = [
    "atomic_path",
    "save_array",
    "load_array",
    "save_table",
    "load_params",
    "write_audio",
    "wav_header",
    "read_audio",
    "MANIFEST_NAME",
    "check_audio_manifest",
    "write_json_if_changed",
    "OrphanedJobError",
]

logger = logging.getLogger(__name__)

#: File of a dataset's audio directory that lists every sound's size and SHA-256.
MANIFEST_NAME = "manifest.tsv"


def _mount_point(path):
    """The mount point of the file system that holds ``path``."""
    path = Path(os.path.abspath(path))
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def _disk_full(path, error):
    """A DataError saying the disk is full, if ``error`` means that; else None.

    ``numpy.save`` reports a short write as ``OSError("N requested and M
    written")`` without an errno; it counts as a full disk when the file
    system has less room left than the bytes that were not written.
    """
    if not isinstance(error, OSError):
        return None
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    short_write = re.fullmatch(r"(\d+) requested and (\d+) written", str(error))
    if not full and short_write:
        missing = int(short_write[1]) - int(short_write[2])
        try:
            full = shutil.disk_usage(Path(path).parent).free < missing
        except OSError:
            full = False
    if not full:
        return None
    return DataError(f"{path}: not written: the disk is full (no space left on {_mount_point(Path(path).parent)})")


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
        try:
            yield tmp_path
        except OSError as error:
            # Checked before the temporary file is removed (which frees space).
            full = _disk_full(path, error)
            if full is None:
                raise
            raise full from error
        check_parent(path)
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
        try:
            with open(fd, "wb") as file:
                file.write(data)
        except OSError as error:
            full = _disk_full(path, error)
            if full is None:
                raise
            raise full from error
        check_parent(path)
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
    """Write one float32 WAV file per sound, each atomically, and the manifest.

    Every file is the bytes libsndfile writes for that sound (float WAV
    without PEAK chunk): the sounds share one length and rate, hence one
    header, rendered once by libsndfile; each file is that header and the
    sound's little-endian float32 samples. Writing through libsndfile
    file by file took 4 to 13 times longer (``benchmarks/run.py``): it
    calls ``fsync`` on every file it closes. The manifest
    (:data:`MANIFEST_NAME`: ``file``, ``bytes``, ``sha256``, tab-separated)
    is written last.

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
    _remove_stale_temporaries(directory, [*names, MANIFEST_NAME])
    # The manifest of an earlier dataset goes first: it must never vouch
    # for files that are being replaced.
    (directory / MANIFEST_NAME).unlink(missing_ok=True)
    header = wav_header(audio.shape[1], sample_rate)
    samples = audio.astype("<f4", copy=False)
    lines = ["file\tbytes\tsha256\n"]
    for name, sound in zip(names, samples, strict=True):
        data = header + sound.tobytes()
        _write_atomically(directory / name, data)
        lines.append(f"{name}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\n")
    # Written last: it is newer than every sound it lists.
    _write_atomically(directory / MANIFEST_NAME, "".join(lines).encode())


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
        If a file is missing, corrupted or truncated, differs from the
        dataset's manifest (size or SHA-256), or if the files do not all
        share one length and one sample rate; the message says how to
        regenerate the dataset.
    """
    directory = Path(directory)
    ids = list(ids)
    if not ids:
        raise DataError(f"{directory}: no sounds to read")
    manifest = _read_manifest(directory)
    paths = [directory / f"{sound_id}.wav" for sound_id in ids]
    # First pass, headers only: the common format is the most frequent one,
    # so a damaged file is named even if it comes first.
    formats = []
    for path in paths:
        if path.name not in manifest:
            raise DataError(f"{path}: not in the dataset's {MANIFEST_NAME}; {_regenerate(directory)}")
        if not path.exists():
            raise DataError(f"{path}: missing (deleted after synthesis); {_regenerate(directory)}")
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
        data = path.read_bytes()
        size, checksum = manifest[path.name]
        if len(data) != size or hashlib.sha256(data).hexdigest() != checksum:
            raise DataError(
                f"{path}: altered after synthesis (its size or SHA-256 differs from {MANIFEST_NAME}); "
                f"{_regenerate(directory)}"
            )
        try:
            sound, _ = soundfile.read(io.BytesIO(data), dtype="float32", frames=n_samples)
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            raise DataError(f"{path}: cannot read audio ({error})") from error
        if sound.shape[0] != n_samples:
            raise DataError(f"{path}: truncated ({sound.shape[0]} of {n_samples} samples readable)")
        audio[row] = sound
    return audio, int(sample_rate)


def _regenerate(audio_dir):
    """How to regenerate the dataset whose audio is in ``audio_dir``.

    Forcing the dataset's ``params.csv`` reruns its synthesis and whatever
    depends on it, and nothing of other datasets. (Deleting the directory
    would not do: Snakemake does not remake the missing inputs of outputs
    that exist.)
    """
    params = Path(audio_dir).parent / "params.csv"
    return f"regenerate the dataset: snakemake --cores 8 --forcerun {params}"


def _read_manifest(directory):
    """``{file name: (bytes, sha256)}`` of a dataset's audio directory."""
    path = Path(directory) / MANIFEST_NAME
    try:
        table = pd.read_csv(path, sep="\t", dtype={"file": str, "bytes": "int64", "sha256": str})
    except FileNotFoundError:
        raise DataError(
            f"{path}: missing, so the dataset's sounds cannot be verified; {_regenerate(directory)}"
        ) from None
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path}: cannot read manifest ({error}); {_regenerate(directory)}") from error
    if list(table.columns) != ["file", "bytes", "sha256"]:
        raise DataError(f"{path}: expected columns file, bytes, sha256; {_regenerate(directory)}")
    return dict(zip(table["file"], zip(table["bytes"].tolist(), table["sha256"]), strict=True))


def check_audio_manifest(directory):
    """Cheap check (no reading) that a synthesized dataset's sounds are intact.

    For the workflow's start: every file of the manifest must exist, have
    the size the manifest records, and be no newer than the manifest.
    :func:`read_audio` later compares every file it reads byte for byte
    (SHA-256).

    Parameters
    ----------
    directory : str or Path
        A dataset's audio directory. Nothing is checked if it does not
        exist, or has no manifest and no ``.snakemake_timestamp`` (the
        marker Snakemake writes once the synthesis job has succeeded):
        then the synthesis has not run or was interrupted, which Snakemake
        handles itself.

    Raises
    ------
    DataError
        Naming the first file that was deleted, resized or replaced, and how
        to regenerate the dataset.
    """
    directory = Path(directory)
    manifest_path = directory / MANIFEST_NAME
    if not directory.is_dir():
        return
    if not manifest_path.exists() and not (directory / ".snakemake_timestamp").exists():
        return
    manifest = _read_manifest(directory)
    written = manifest_path.stat().st_mtime_ns
    for name, (size, _) in manifest.items():
        path = directory / name
        try:
            found = path.stat()
        except FileNotFoundError:
            raise DataError(f"{path}: missing (deleted after synthesis); {_regenerate(directory)}") from None
        if found.st_size != size:
            raise DataError(
                f"{path}: {found.st_size} bytes, but {size} when synthesized (replaced after synthesis); "
                f"{_regenerate(directory)}"
            )
        if found.st_mtime_ns > written:
            raise DataError(
                f"{path}: modified after synthesis (newer than {MANIFEST_NAME}); {_regenerate(directory)}"
            )


def write_json_if_changed(path, data):
    """Write ``data`` as JSON, atomically, unless the file already holds exactly that.

    The file's modification time thus changes only with its content: a rule
    that takes it as input reruns when, and only when, ``data`` changed.

    Returns
    -------
    changed : bool
    """
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    path = Path(path)
    try:
        if path.read_text() == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return True


def interrupted_outputs(root="."):
    """Output files that Snakemake still marks incomplete although they exist.

    Snakemake marks a job's outputs incomplete when the job starts and
    unmarks them once it has recorded the job as finished. An output that
    exists with its mark still set was written by a job whose Snakemake
    run was interrupted before recording it (Snakemake, sent SIGINT alone,
    waits for its running jobs and exits without recording them). Snakemake
    itself checks these marks only for jobs it knows before resolving its
    checkpoints: the jobs behind ``check_model`` (embed, isomap, ...) would
    escape the check, hence this one.

    Parameters
    ----------
    root : str or Path
        The working directory of the workflow.

    Returns
    -------
    paths : list of str
        Relative paths of regular files (directory outputs are left to
        Snakemake), sorted.
    """
    from base64 import urlsafe_b64decode

    markers = Path(root) / ".snakemake" / "incomplete"
    if not markers.is_dir():
        return []
    found = []
    for marker in markers.rglob("*"):
        if not marker.is_file() or marker.name == "migration_underway":
            continue
        # Long ids are split into directories "@<chunk>" (snakemake.persistence).
        parts = marker.relative_to(markers).parts
        encoded = "".join(part.removeprefix("@") for part in parts)
        try:
            path = urlsafe_b64decode(encoded.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            continue
        if not os.path.isabs(path) and (Path(root) / path).is_file():
            found.append(path)
    return sorted(found)
