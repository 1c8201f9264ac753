"""File I/O: atomic writes, lossless float32 WAV, clear errors on bad files."""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

import gear.io
import gear.processes
from conftest import skip_or_fail
from gear.errors import DataError
from gear.io import atomic_path, load_array, load_params, read_audio, save_array, wav_header, write_audio


def test_wav_round_trip_is_lossless(tmp_path, rng):
    audio = rng.uniform(-1, 1, (5, 333)).astype(np.float32)
    ids = [f"{i:05d}" for i in range(5)]
    write_audio(tmp_path, ids, audio, 22050)
    again, rate = read_audio(tmp_path, ids)
    assert rate == 22050 and again.dtype == np.float32
    np.testing.assert_array_equal(again, audio)


def test_wav_files_are_byte_identical_across_runs(tmp_path, rng):
    # float WAV files carry a PEAK chunk with the time of writing, unless omitted.
    audio = rng.uniform(-1, 1, (1, 100)).astype(np.float32)
    write_audio(tmp_path / "first", ["a"], audio, 16000)
    time.sleep(1.1)
    write_audio(tmp_path / "second", ["a"], audio, 16000)
    assert (tmp_path / "first/a.wav").read_bytes() == (tmp_path / "second/a.wav").read_bytes()


@pytest.mark.parametrize("n_samples, sample_rate", [(1024, 16000), (333, 22050), (1, 8000)])
def test_wav_files_are_those_libsndfile_writes(tmp_path, rng, n_samples, sample_rate):
    # write_audio renders the header once; every file must still be the
    # bytes libsndfile writes for that sound (float, no PEAK chunk).
    audio = rng.uniform(-2, 2, (3, n_samples)).astype(np.float32)
    write_audio(tmp_path, ["a", "b", "c"], audio, sample_rate)
    for name, sound in zip(["a", "b", "c"], audio):
        expected = tmp_path / f"expected_{name}.wav"
        with soundfile.SoundFile(expected, "w", sample_rate, 1, "FLOAT", format="WAV") as file:
            gear.io._omit_peak_chunk(file)
            file.write(sound)
        assert (tmp_path / f"{name}.wav").read_bytes() == expected.read_bytes()
    assert wav_header(n_samples, sample_rate) == expected.read_bytes()[:-4 * n_samples]


def test_write_audio_removes_leftovers_once_for_all_files(tmp_path, rng):
    leftovers = [tmp_path / ".00001.wav.dead01.wav", tmp_path / ".00003.wav.dead02.wav"]
    kept = [tmp_path / ".00009.wav.other.wav", tmp_path / ".00001.wav.wav", tmp_path / "notes.txt"]
    for path in leftovers + kept:
        path.write_bytes(b"x")
    write_audio(tmp_path, ["00001", "00002", "00003"], rng.uniform(-1, 1, (3, 10)), 16000)
    assert not any(path.exists() for path in leftovers)
    assert all(path.exists() for path in kept)
    assert sorted(p.name for p in tmp_path.glob("0*.wav")) == ["00001.wav", "00002.wav", "00003.wav"]


def test_write_audio_rejects_mismatched_ids(tmp_path):
    with pytest.raises(ValueError, match="2 ids for audio of shape"):
        write_audio(tmp_path, ["a", "b"], np.zeros((3, 10), dtype=np.float32), 16000)


@pytest.fixture
def dataset_dir(tmp_path, rng):
    ids = [f"{i:05d}" for i in range(4)]
    write_audio(tmp_path, ids, rng.uniform(-1, 1, (4, 1000)).astype(np.float32), 16000)
    return tmp_path, ids


def test_truncated_wav_is_named(dataset_dir):
    directory, ids = dataset_dir
    path = directory / "00002.wav"
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(DataError, match="00002.wav.*truncated"):
        read_audio(directory, ids)


def test_damaged_first_file_is_the_one_named(dataset_dir):
    directory, ids = dataset_dir
    path = directory / "00000.wav"
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(DataError, match=r"00000.wav: \d+ samples .* dataset's sounds have 1000"):
        read_audio(directory, ids)


def test_corrupted_wav_is_named(dataset_dir):
    directory, ids = dataset_dir
    (directory / "00001.wav").write_bytes(b"not a wav file at all" * 10)
    with pytest.raises(DataError, match="00001.wav: cannot read audio"):
        read_audio(directory, ids)


def test_missing_wav_is_named(dataset_dir):
    directory, ids = dataset_dir
    (directory / "00003.wav").unlink()
    with pytest.raises(DataError, match="00003.wav"):
        read_audio(directory, ids)


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.npy"
    save_array(target, np.arange(3))
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    np.testing.assert_array_equal(np.load(target), np.arange(3))  # old content intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy"]


def test_outputs_get_default_permissions(tmp_path):
    save_array(tmp_path / "out.npy", np.arange(3))
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.npy").stat().st_mode & 0o777 == 0o666 & ~mask


def test_atomic_path_removes_leftovers_of_a_killed_writer(tmp_path):
    leftover = tmp_path / ".out.npy.x1y2z3.npy"
    leftover.write_bytes(b"half-written by a killed job")
    unrelated = tmp_path / ".other.npy.abc.npy"
    unrelated.write_bytes(b"another output's temporary file")
    save_array(tmp_path / "out.npy", np.arange(3))
    assert not leftover.exists() and unrelated.exists()


def test_load_array_checks_rank_and_corruption(tmp_path):
    save_array(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(DataError, match="expected a 2-D array"):
        load_array(tmp_path / "a.npy")
    (tmp_path / "b.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match="cannot read array"):
        load_array(tmp_path / "b.npy")


def test_load_params_rejects_duplicates_and_missing_ids(tmp_path):
    pd.DataFrame({"sound_id": ["a", "a"], "f1": [1, 2]}).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(DataError, match="duplicated sound_id"):
        load_params(tmp_path / "dup.csv")
    pd.DataFrame({"f1": [1, 2]}).to_csv(tmp_path / "noid.csv", index=False)
    with pytest.raises(DataError, match="expected columns sound_id"):
        load_params(tmp_path / "noid.csv")


# The manifest of a dataset's audio (sizes and SHA-256, written last).

REGENERATE = "regenerate the dataset: snakemake --cores 8 --forcerun {}/params.csv"


def test_manifest_lists_every_sound_with_its_checksum(dataset_dir):
    directory, ids = dataset_dir
    manifest = pd.read_csv(directory / gear.io.MANIFEST_NAME, sep="\t")
    assert manifest["file"].tolist() == [f"{i}.wav" for i in ids]
    for name, size, checksum in manifest.itertuples(index=False):
        data = (directory / name).read_bytes()
        assert size == len(data) and checksum == hashlib.sha256(data).hexdigest()
    # Written last: newer than (or as new as) every sound.
    written = (directory / gear.io.MANIFEST_NAME).stat().st_mtime_ns
    assert all((directory / name).stat().st_mtime_ns <= written for name in manifest["file"])


def test_altered_sound_of_the_same_size_is_named(dataset_dir):
    directory, ids = dataset_dir
    path = directory / "00001.wav"
    data = bytearray(path.read_bytes())
    data[-4:] = np.float32(0.5).tobytes()
    stat = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as `cp -p` would leave it
    gear.io.check_audio_manifest(directory)  # sizes and times cannot see it
    with pytest.raises(DataError) as error:
        read_audio(directory, ids)
    assert str(error.value) == (
        f"{path}: altered after synthesis (its size or SHA-256 differs from manifest.tsv); "
        + REGENERATE.format(directory.parent)
    )


def test_deleted_sound_is_named_with_how_to_regenerate(dataset_dir):
    directory, ids = dataset_dir
    path = directory / "00002.wav"
    path.unlink()
    expected = f"{path}: missing (deleted after synthesis); " + REGENERATE.format(directory.parent)
    with pytest.raises(DataError) as error:
        read_audio(directory, ids)
    assert str(error.value) == expected
    with pytest.raises(DataError) as error:
        gear.io.check_audio_manifest(directory)
    assert str(error.value) == expected


def test_replaced_sound_is_found_by_size_or_time(dataset_dir, rng):
    directory, ids = dataset_dir
    path = directory / "00000.wav"
    write_audio(directory / "other", ["00000"], rng.uniform(-1, 1, (1, 1000)).astype(np.float32), 16000)
    time.sleep(0.01)
    os.replace(directory / "other/00000.wav", path)
    path.touch()
    with pytest.raises(DataError) as error:
        gear.io.check_audio_manifest(directory)
    assert str(error.value) == (
        f"{path}: modified after synthesis (newer than manifest.tsv); " + REGENERATE.format(directory.parent)
    )
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError) as error:
        gear.io.check_audio_manifest(directory)
    assert str(error.value) == (
        f"{path}: 100 bytes, but {len(wav_header(1000, 16000)) + 4000} when synthesized (replaced after synthesis); "
        + REGENERATE.format(directory.parent)
    )


def test_missing_manifest_is_an_error_when_reading(dataset_dir):
    directory, ids = dataset_dir
    (directory / "manifest.tsv").unlink()
    with pytest.raises(DataError) as error:
        read_audio(directory, ids)
    assert str(error.value) == (
        f"{directory / 'manifest.tsv'}: missing, so the dataset's sounds cannot be verified; "
        + REGENERATE.format(directory.parent)
    )
    # At the workflow's start, a directory without manifest is an interrupted
    # synthesis (Snakemake's own business) unless Snakemake marked it complete.
    gear.io.check_audio_manifest(directory)
    (directory / ".snakemake_timestamp").touch()
    with pytest.raises(DataError, match="manifest.tsv: missing"):
        gear.io.check_audio_manifest(directory)


def test_rewriting_a_dataset_replaces_its_manifest(dataset_dir, rng):
    directory, ids = dataset_dir
    audio = rng.uniform(-1, 1, (2, 500)).astype(np.float32)
    write_audio(directory, ids[:2], audio, 16000)
    again, _ = read_audio(directory, ids[:2])
    np.testing.assert_array_equal(again, audio)
    with pytest.raises(DataError, match="00002.wav: not in the dataset.s manifest.tsv"):
        read_audio(directory, ids)


# A full disk.


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs (needs root, as CI has: skipped elsewhere, a failure in CI)."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        skip_or_fail(f"cannot mount a small tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_while_saving_an_array_says_so(full_disk):
    path = full_disk / "embeddings" / "model.npy"
    with pytest.raises(DataError) as error:
        save_array(path, np.zeros((36, 4096), dtype=np.float32))
    assert str(error.value) == f"{path}: not written: the disk is full (no space left on {full_disk})"
    assert list(path.parent.iterdir()) == []  # no temporary file left


def test_full_disk_while_writing_audio_says_so(full_disk, rng):
    directory = full_disk / "audio"
    with pytest.raises(DataError) as error:
        write_audio(directory, [f"{i:05d}" for i in range(40)], rng.uniform(-1, 1, (40, 1000)), 16000)
    assert re.fullmatch(
        rf"{re.escape(str(directory))}/\d{{5}}\.wav: not written: the disk is full "
        rf"\(no space left on {re.escape(str(full_disk))}\)",
        str(error.value),
    )
    assert not [path for path in directory.iterdir() if path.name.startswith(".")]


def test_short_write_without_errno_is_a_full_disk_only_when_space_is_short(tmp_path, monkeypatch):
    # numpy reports a short write as OSError("N requested and M written").
    def short_write(path, array):
        raise OSError("147456 requested and 104416 written")

    monkeypatch.setattr(gear.io.np, "save", short_write)
    monkeypatch.setattr(gear.io.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 0))
    with pytest.raises(DataError, match="not written: the disk is full"):
        save_array(tmp_path / "a.npy", np.zeros(3))
    monkeypatch.setattr(gear.io.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 0, 10**9))
    with pytest.raises(OSError, match="147456 requested and 104416 written"):
        save_array(tmp_path / "a.npy", np.zeros(3))


# A job whose Snakemake process has gone writes nothing.


def test_orphaned_job_renames_nothing_into_place(tmp_path, monkeypatch):
    monkeypatch.setattr(gear.processes, "_parent_pid", 2**22 + 1)  # no such process (above pid_max)
    with pytest.raises(gear.io.OrphanedJobError, match="not written: the Snakemake process that started"):
        save_array(tmp_path / "out.npy", np.arange(3))
    with pytest.raises(gear.io.OrphanedJobError):
        write_audio(tmp_path / "audio", ["a"], np.zeros((1, 10)), 16000)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("announced", [False, True])
def test_orphaned_process_exits_without_writing(tmp_path, announced):
    # A parent that exits while its child computes: the child, once orphaned,
    # must neither write its output nor keep running, even if the parent
    # exited before the child started watching (when the parent announced
    # its pid, as the workflow does in $GEAR_SNAKEMAKE_PID).
    out = tmp_path / "out.npy"
    child = (
        "import time, numpy as np; from gear.io import save_array; "
        "from gear.processes import watch_parent; watch_parent(0.1); "
        f"print('watching', flush=True); time.sleep(3); save_array({str(out)!r}, np.arange(3))"
    )
    # Unannounced, the parent waits until the child watches; announced, it
    # exits at once, before the child has even imported numpy.
    parent = (
        "import os, subprocess, sys; "
        f"os.environ['GEAR_SNAKEMAKE_PID'] = str(os.getpid()) if {announced} else ''; "
        f"p = subprocess.Popen([sys.executable, '-c', {child!r}], stdout=subprocess.PIPE); "
        f"{'' if announced else 'p.stdout.readline(); '}print(p.pid, flush=True)"
    )
    result = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=60)
    pid = int(result.stdout)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    time.sleep(0.5)
    assert not out.exists()


def test_write_json_if_changed_keeps_the_time_of_unchanged_content(tmp_path):
    path = tmp_path / "spec.json"
    assert gear.io.write_json_if_changed(path, {"module": "a", "batch_size": 8})
    before = path.stat().st_mtime_ns
    time.sleep(0.01)
    assert not gear.io.write_json_if_changed(path, {"batch_size": 8, "module": "a"})
    assert path.stat().st_mtime_ns == before
    assert gear.io.write_json_if_changed(path, {"module": "b", "batch_size": 8})
    assert path.stat().st_mtime_ns > before
