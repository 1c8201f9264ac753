"""Tests of GEAR's HEAR wrappers against the hearbaseline 2021.1.1 originals.

hearbaseline is in requirements-nodeps.txt: without it these tests skip,
except in CI (``CI`` set), where that is a failure.
"""

import importlib

import librosa
import numpy as np
import pytest
import torch

from conftest import skip_or_fail
from gear.models import base, crepe

SCENE_TOL = {"rtol": 1e-5, "atol": 1e-5}


def _hearbaseline(module_name):
    """A module of the reference package; skip without it (fail in CI)."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        skip_or_fail(
            f"{module_name} cannot be imported ({error}): pip install --no-deps -r requirements-nodeps.txt"
        )


def _random_audio(n_sounds, n_samples, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.uniform(-1, 1, size=(n_sounds, n_samples)).astype(np.float32))


def _sine(frequency, n_samples, sample_rate=16000, amplitude=0.5):
    t = np.arange(n_samples) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


# --- naive baseline -------------------------------------------------------


@pytest.fixture(scope="module")
def base_model():
    return base.load_model()


@pytest.fixture(scope="module")
def hearbaseline_naive():
    naive = _hearbaseline("hearbaseline.naive")
    mel = librosa.filters.mel

    # hearbaseline passes the sample rate positionally; librosa >= 0.10 wants sr=.
    def positional_mel(sr, **kwargs):
        return mel(sr=sr, **kwargs)

    with pytest.MonkeyPatch.context() as patch, torch.random.fork_rng():
        patch.setattr(librosa.filters, "mel", positional_mel)
        model = naive.load_model()
    return naive, model


def test_base_matches_hearbaseline(base_model, hearbaseline_naive):
    naive, reference = hearbaseline_naive
    for name, tensor in reference.state_dict().items():
        assert torch.equal(base_model.state_dict()[name], tensor), name
    # An odd length exercises the rounding of the 50 ms (2205-sample) hop.
    audio = _random_audio(3, 30871)
    expected = naive.get_scene_embeddings(audio, reference)
    got = base.get_scene_embeddings(audio, base_model)
    assert got.shape == (3, 4096) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, **SCENE_TOL)
    expected, expected_times = naive.get_timestamp_embeddings(audio, reference)
    got, got_times = base.get_timestamp_embeddings(audio, base_model)
    assert got.shape == expected.shape == (3, 15, 4096)
    torch.testing.assert_close(got, expected, **SCENE_TOL)
    torch.testing.assert_close(got_times, expected_times, rtol=0, atol=0)


@pytest.mark.parametrize("n_samples", [0, 1, 2204, 2205, 4410, 30000, 44101])
@pytest.mark.parametrize("hop_size", [50, 250, 10.1, 100 / 3])
def test_frame_starts_match_hearbaseline(n_samples, hop_size):
    util = _hearbaseline("hearbaseline.util")
    ramp = torch.arange(n_samples, dtype=torch.float32)[None]
    frames, timestamps = util.frame_audio(ramp, 4096, hop_size, 44100)
    starts, times = base.frame_starts(n_samples, 4096, hop_size, 44100)
    assert len(starts) == frames.shape[1]
    padded = np.pad(np.arange(n_samples, dtype=np.float32), (2048, 2048))
    np.testing.assert_array_equal(padded[starts[:, None] + np.arange(4096)], frames[0].numpy())
    np.testing.assert_array_equal(times, timestamps[0].numpy())


def test_base_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    base.load_model()
    assert torch.equal(torch.random.get_rng_state(), state)


def test_base_frame_chunks_do_not_change_output(base_model):
    audio = _random_audio(3, 20000, seed=2)
    full = base.get_timestamp_embeddings(audio, base_model)[0]
    scene = base.get_scene_embeddings(audio, base_model)
    base_model.frame_batch_size = 4
    try:
        chunked = base.get_timestamp_embeddings(audio, base_model)[0]
        chunked_scene = base.get_scene_embeddings(audio, base_model)
    finally:
        base_model.frame_batch_size = base.FRAME_BATCH_SIZE
    torch.testing.assert_close(chunked, full, **SCENE_TOL)
    torch.testing.assert_close(chunked_scene, scene, **SCENE_TOL)


def test_base_deterministic(base_model):
    audio = _random_audio(2, 8000, seed=3)
    first = base.get_scene_embeddings(audio, base_model)
    assert torch.equal(base.get_scene_embeddings(audio, base_model), first)
    assert torch.isfinite(first).all()


def test_base_state_dict_round_trip(base_model, tmp_path):
    path = tmp_path / "naive.pt"
    state = {name: tensor + 1 for name, tensor in base_model.state_dict().items()}
    torch.save(state, path)
    loaded = base.load_model(str(path))
    assert torch.equal(loaded.projection, base_model.projection + 1)
    assert not loaded.training


# --- CREPE ----------------------------------------------------------------


@pytest.fixture(scope="module")
def crepe_model():
    return crepe.load_model()


def test_crepe_attributes(crepe_model):
    assert crepe_model.sample_rate == 16000
    assert crepe_model.scene_embedding_size == crepe_model.timestamp_embedding_size == 2048
    assert not crepe_model.training


def test_crepe_does_not_touch_torchcrepe_singleton(crepe_model):
    import torchcrepe

    before = getattr(torchcrepe.infer, "model", None)
    crepe.load_model()
    crepe.get_scene_embeddings(torch.zeros(1, 1000), crepe_model)
    assert getattr(torchcrepe.infer, "model", None) is before


def test_torchaudio_placeholder_is_clear():
    import torchaudio
    import torchcrepe

    if not getattr(torchaudio, "__doc__", "") or "Placeholder" not in torchaudio.__doc__:
        # requirements*.txt install none (it does not load beside the CPU torch).
        skip_or_fail("a real torchaudio is installed, so GEAR registers no placeholder to test")
    with pytest.raises(ImportError, match="torchaudio is not available"):
        torchcrepe.load.audio("anything.wav")


@pytest.mark.parametrize("n_samples", [16000, 4800])
def test_crepe_matches_hearbaseline(crepe_model, n_samples):
    hb_crepe = _hearbaseline("hearbaseline.torchcrepe")
    reference = hb_crepe.load_model()
    audio = torch.from_numpy(_sine(330.0, n_samples) + 0.1 * _random_audio(1, n_samples, seed=4).numpy())
    expected = hb_crepe.get_scene_embeddings(audio, reference)
    got = crepe.get_scene_embeddings(audio, crepe_model)
    assert got.shape == (1, 2048) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, **SCENE_TOL)
    expected, expected_times = hb_crepe.get_timestamp_embeddings(audio, reference)
    got, got_times = crepe.get_timestamp_embeddings(audio, crepe_model)
    assert got.shape == expected.shape == (1, 1 + n_samples // 800, 2048)
    torch.testing.assert_close(got, expected, **SCENE_TOL)
    torch.testing.assert_close(got_times, expected_times.float(), rtol=0, atol=0)


def test_crepe_depends_on_pitch(crepe_model):
    n = 8000
    audio = torch.from_numpy(np.stack([_sine(220.0, n), _sine(440.0, n), _sine(220.0, n)]))
    embeddings = crepe.get_scene_embeddings(audio, crepe_model).numpy()
    assert np.isfinite(embeddings).all()
    np.testing.assert_array_equal(embeddings[0], embeddings[2])
    distance = np.linalg.norm(embeddings[0] - embeddings[1])
    assert distance > 0.1 * np.linalg.norm(embeddings[0])


def test_crepe_batch_equals_one_at_a_time(crepe_model):
    audio = torch.from_numpy(
        np.stack([_sine(f, 12000) for f in (150.0, 300.0)]) + 0.05 * _random_audio(2, 12000, seed=5).numpy()
    )
    # Chunks of 3 frames straddle the two sounds (4 frames each).
    crepe_model.frame_batch_size = 3
    try:
        batched = crepe.get_scene_embeddings(audio, crepe_model)
        batched_again = crepe.get_scene_embeddings(audio, crepe_model)
    finally:
        crepe_model.frame_batch_size = crepe.FRAME_BATCH_SIZE
    single = torch.cat([crepe.get_scene_embeddings(audio[i : i + 1], crepe_model) for i in range(2)])
    torch.testing.assert_close(batched, single, **SCENE_TOL)
    assert torch.equal(batched, batched_again)


def test_crepe_silence_is_finite(crepe_model):
    embeddings = crepe.get_scene_embeddings(torch.zeros(1, 4000), crepe_model)
    assert torch.isfinite(embeddings).all()
