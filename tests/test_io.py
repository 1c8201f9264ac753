"""File I/O: atomic writes, lossless float32 WAV, clear errors on bad files."""

import os
import time

import numpy as np
import pandas as pd
import pytest
import soundfile

import gear.io
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
