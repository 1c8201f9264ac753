"""Tests of gear.hear: loading HEAR modules, batched extraction, resampling."""

import os
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from gear import hear
from gear.errors import ModelError


def _fake_module(monkeypatch, name="fake_hear_module", *, dim=4, nan_sound=None, extra_column=False):
    """A HEAR module whose embedding of a sound is its first sample repeated."""
    module = types.ModuleType(name)

    def load_model(model_file_path=""):
        return types.SimpleNamespace(sample_rate=16000, scene_embedding_size=dim)

    def get_scene_embeddings(audio, model):
        embeddings = audio[:, :1].repeat(1, dim + int(extra_column)).clone()
        if nan_sound is not None:
            embeddings[audio[:, 0] == nan_sound] = float("nan")
        return embeddings

    def get_timestamp_embeddings(audio, model):
        raise NotImplementedError

    module.load_model = load_model
    module.get_scene_embeddings = get_scene_embeddings
    module.get_timestamp_embeddings = get_timestamp_embeddings
    monkeypatch.setitem(sys.modules, name, module)
    return module


def _indexed_audio(n_sounds, n_samples=32):
    """Sound i is the constant i, so fake embeddings reveal the sound."""
    return np.repeat(np.arange(n_sounds, dtype=np.float32)[:, None], n_samples, axis=1)


def test_unknown_module_names_it():
    with pytest.raises(ModelError, match="gear_no_such_module_xyz"):
        hear.load_hear_module("gear_no_such_module_xyz")


def test_module_raising_on_import_is_reported(monkeypatch, tmp_path):
    (tmp_path / "gear_broken_hear.py").write_text("raise RuntimeError('boom\\nsecond line')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelError, match=r"gear_broken_hear.*RuntimeError: boom second line") as info:
        hear.load_hear_module("gear_broken_hear")
    assert "\n" not in str(info.value)


def test_module_lacking_hear_functions(monkeypatch):
    module = types.ModuleType("half_hear_module")
    module.load_model = lambda: None
    monkeypatch.setitem(sys.modules, "half_hear_module", module)
    with pytest.raises(ModelError, match="half_hear_module") as info:
        hear.load_hear_module("half_hear_module")
    message = str(info.value)
    assert "get_scene_embeddings" in message and "get_timestamp_embeddings" in message
    assert "load_model," not in message


def test_fake_module_loads(monkeypatch):
    _fake_module(monkeypatch)
    module = hear.load_hear_module("fake_hear_module")
    model = hear.load_model(module, model_id="fake")
    embeddings = hear.embed_scenes(module, model, _indexed_audio(5), batch_size=2, progress=False)
    assert embeddings.dtype == np.float32 and embeddings.shape == (5, 4)
    np.testing.assert_array_equal(embeddings[:, 0], np.arange(5))


def test_missing_weights_path(monkeypatch, tmp_path):
    module = _fake_module(monkeypatch)
    missing = tmp_path / "nope.pt"
    with pytest.raises(ModelError, match="nope.pt") as info:
        hear.load_model(module, str(missing), model_id="my_model")
    assert "my_model" in str(info.value)


def test_load_failure_is_wrapped(monkeypatch):
    module = _fake_module(monkeypatch)

    def broken(model_file_path=""):
        raise OSError("disk on fire")

    monkeypatch.setattr(module, "load_model", broken)
    with pytest.raises(ModelError, match="my_model.*disk on fire"):
        hear.load_model(module, model_id="my_model")


def test_model_without_sample_rate(monkeypatch):
    module = _fake_module(monkeypatch)
    monkeypatch.setattr(module, "load_model", lambda: types.SimpleNamespace(scene_embedding_size=3))
    with pytest.raises(ModelError, match="sample_rate"):
        hear.load_model(module, model_id="m")


def test_nan_embedding_names_model_and_sound(monkeypatch):
    module = _fake_module(monkeypatch, nan_sound=3)
    model = hear.load_model(module, model_id="nan_model")
    sound_ids = [f"sound_{i:03d}" for i in range(6)]
    with pytest.raises(ModelError, match="nan_model") as info:
        hear.embed_scenes(
            module,
            model,
            _indexed_audio(6),
            batch_size=4,
            model_id="nan_model",
            sound_ids=sound_ids,
            progress=False,
        )
    message = str(info.value)
    assert "sound_003" in message and "(1 sound)" in message
    assert "sound_002" not in message


def test_many_nan_sounds_are_summarised(monkeypatch):
    module = _fake_module(monkeypatch)
    monkeypatch.setattr(
        module, "get_scene_embeddings", lambda audio, model: torch.full((len(audio), 4), np.inf)
    )
    model = hear.load_model(module)
    with pytest.raises(ModelError, match=r"\(25 sounds\)") as info:
        hear.embed_scenes(module, model, _indexed_audio(25), batch_size=8, model_id="inf", progress=False)
    assert "11" not in str(info.value)  # only the first 10 ids are listed


def test_wrong_shape(monkeypatch):
    module = _fake_module(monkeypatch, extra_column=True)
    model = hear.load_model(module)
    with pytest.raises(ModelError, match=r"wide_model.*\(3, 5\).*\(3, 4\)"):
        hear.embed_scenes(module, model, _indexed_audio(3), model_id="wide_model", progress=False)


def test_numpy_output_accepted(monkeypatch):
    module = _fake_module(monkeypatch)
    monkeypatch.setattr(
        module, "get_scene_embeddings", lambda audio, model: np.ones((len(audio), 4), dtype=np.float64)
    )
    model = hear.load_model(module)
    embeddings = hear.embed_scenes(module, model, _indexed_audio(3), progress=False)
    assert embeddings.dtype == np.float32
    np.testing.assert_array_equal(embeddings, 1.0)


def test_batched_equals_one_at_a_time_on_base_model():
    module = hear.load_hear_module("gear.models.base")
    model = hear.load_model(module, model_id="base")
    rng = np.random.default_rng(1)
    audio = rng.uniform(-0.5, 0.5, size=(7, 11025)).astype(np.float32)
    one = hear.embed_scenes(module, model, audio, batch_size=1, model_id="base", progress=False)
    seven = hear.embed_scenes(module, model, audio, batch_size=7, model_id="base", progress=False)
    assert one.shape == (7, 4096) and one.dtype == np.float32
    np.testing.assert_allclose(seven, one, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("orig_sr", "target_sr"), [(44100, 16000), (16000, 48000)])
def test_resample_preserves_frequency(orig_sr, target_sr):
    duration, frequency = 0.5, 1000.0
    t = np.arange(int(orig_sr * duration)) / orig_sr
    audio = np.stack([np.sin(2 * np.pi * frequency * t), 0.5 * np.sin(2 * np.pi * 2 * frequency * t)])
    resampled = hear.resample_audio(audio.astype(np.float32), orig_sr, target_sr)
    assert resampled.dtype == np.float32 and resampled.ndim == 2 and resampled.shape[0] == 2
    assert abs(resampled.shape[1] - audio.shape[1] * target_sr / orig_sr) <= 1
    spectrum = np.abs(np.fft.rfft(resampled, axis=1))
    peaks = np.fft.rfftfreq(resampled.shape[1], 1 / target_sr)[spectrum.argmax(axis=1)]
    np.testing.assert_allclose(peaks, [frequency, 2 * frequency], atol=2.0)


def test_resample_identity():
    audio = np.zeros((2, 100), dtype=np.float32)
    assert hear.resample_audio(audio, 16000, 16000) is audio


# A weights file that is no checkpoint, and a model that never returns.


@pytest.mark.parametrize(
    "content, detail",
    [
        (bytes(range(256)) * 16, "not a PyTorch checkpoint"),
        (b"PK\x03\x04" + b"\x00" * 100, "not a PyTorch checkpoint, or a damaged one"),
    ],
)
def test_weights_file_of_random_bytes_is_not_a_valid_checkpoint(tmp_path, content, detail):
    # PyTorch's own message advises torch.load(..., weights_only=False): never repeated.
    path = tmp_path / "random.pt"
    path.write_bytes(content)
    with pytest.raises(ModelError) as error:
        hear.load_model(hear.load_hear_module("gear.models.base"), str(path), model_id="base")
    assert str(error.value) == (
        f"model 'base': weights file '{path}' is not a valid checkpoint for this model ({detail})"
    )
    assert "weights_only" not in str(error.value)


def test_state_dict_reader_says_the_file_is_not_a_checkpoint(tmp_path):
    from gear.models._torch_utils import load_state_dict_file

    path = tmp_path / "random.pt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelError) as error:
        load_state_dict_file(path, "openl3")
    assert str(error.value) == (
        f"openl3: weights file '{path}' is not a valid checkpoint for this model (not a PyTorch checkpoint)"
    )


def test_checkpoint_of_pickled_objects_is_refused_without_the_unsafe_advice(tmp_path):
    path = tmp_path / "objects.pt"
    torch.save({"optimizer": types.SimpleNamespace(lr=0.1)}, path)
    with pytest.raises(ModelError) as error:
        hear.load_model(hear.load_hear_module("gear.models.base"), str(path), model_id="base")
    assert str(error.value) == (
        f"model 'base': weights file '{path}' is not a valid checkpoint for this model (it holds pickled "
        "Python objects (types.SimpleNamespace), not only tensors; save the model's state_dict instead)"
    )


def test_hung_model_stops_the_job_naming_model_batch_and_limit(tmp_path):
    # In a subprocess: the time limit ends the process (a model stuck in C
    # code cannot be interrupted otherwise).
    fake_models = Path(__file__).parent / "fake_models"
    code = (
        "import numpy as np; from gear import hear, logs; "
        f"logs.log_to_file({str(tmp_path / 'job.log')!r}, job='embed (model=sleepy)'); "
        "module = hear.load_hear_module('sleeping_model'); model = hear.load_model(module, model_id='sleepy'); "
        "hear.embed_scenes(module, model, np.zeros((12, 100)), batch_size=5, model_id='sleepy', "
        "sound_ids=[f'{i:05d}' for i in range(12)], timeout=1.5); print('returned')"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake_models), os.environ.get("PYTHONPATH", "")]))
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1 and "returned" not in result.stdout
    message = (
        "model 'sleepy': get_scene_embeddings did not return within the time limit of 1.5 s on sounds "
        "00000, 00001, 00002, 00003, 00004 (5 sounds); nothing was written (raise models.sleepy.timeout "
        "or embedding_timeout if it is only slow)"
    )
    assert result.stderr.splitlines() == [f"GEAR: embed (model=sleepy): {message}"]
    log = (tmp_path / "job.log").read_text()
    assert f"ERROR gear: GEAR: embed (model=sleepy): {message}" in log
    assert "sleeping_model.py" in log  # where it hung (faulthandler's dump)
    assert time.monotonic() - start < 60


def test_no_time_limit_when_none(monkeypatch):
    module = _fake_module(monkeypatch)
    model = hear.load_model(module)
    out = hear.embed_scenes(module, model, _indexed_audio(6), batch_size=4, progress=False, timeout=None)
    assert out.shape == (6, 4)
