"""The ``device`` setting, on a machine without a GPU.

What runs here: the setting is checked (config schema and load time, one
line naming the model and the setting), ``auto`` falls back to the CPU,
``cuda`` without a GPU is a one-line error, a CPU run gives the very bytes
of the default path, the statistics record the device, and batches and the
wrappers' own tensors follow the model's device. The last two use PyTorch's
``meta`` device, which any machine has: a tensor left on the CPU next to a
``meta`` one fails exactly as it would next to a CUDA one. What needs a GPU
(agreement of GPU and CPU embeddings) is in ``tests/test_gpu.py``.
"""

import json
import types

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from gear import hear, pipeline
from gear.config import load_schema, validate_config
from gear.errors import ConfigError, ModelError

from conftest import ROOT, TEST_CONFIG


@pytest.fixture
def no_cuda(monkeypatch):
    """PyTorch seeing no GPU, as on the test machines (forced, so that the tests mean the same everywhere)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    """PyTorch seeing two CUDA devices; only resolve_device may be called."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)


def tones(sample_rate, n_sounds=3, seconds=0.5):
    """A few harmonic tones with a little noise, float32 (n_sounds, n_samples)."""
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    rng = np.random.default_rng(7)
    rows = [
        sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)) * 0.2
        + 0.01 * rng.standard_normal(t.size)
        for f0 in np.geomspace(110, 880, n_sounds)
    ]
    return np.asarray(rows, dtype=np.float32)


def fake_module(model, calls=None):
    """A HEAR module around ``model``; ``calls`` collects each batch's device and type."""

    def get_scene_embeddings(audio, model):
        if calls is not None:
            calls.append((type(audio), audio.device))
        return torch.zeros(audio.shape[0], model.scene_embedding_size)

    module = types.ModuleType("fake_hear_module")
    module.load_model = lambda *args: model
    module.get_scene_embeddings = get_scene_embeddings
    module.get_timestamp_embeddings = lambda audio, model: None
    return module


class TinyModel(torch.nn.Module):
    sample_rate = 16000
    scene_embedding_size = 4

    def __init__(self):
        super().__init__()
        self.register_buffer("scale", torch.ones(1))


# The setting and its errors


@pytest.mark.parametrize("setting", ["cpu", "auto"])
def test_cpu_and_auto_resolve_to_the_cpu_without_a_gpu(setting, no_cuda):
    assert hear.resolve_device(setting, "base") == torch.device("cpu")


@pytest.mark.parametrize(
    "setting, expected", [("auto", "cuda:0"), ("cuda", "cuda:0"), ("cuda:1", "cuda:1"), ("cpu", "cpu")]
)
def test_settings_resolve_to_the_device_pytorch_sees(setting, expected, two_gpus):
    assert hear.resolve_device(setting, "base") == torch.device(expected)


def test_a_cuda_index_beyond_the_visible_devices_is_one_line_naming_the_model(two_gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    with pytest.raises(ModelError) as error:
        hear.resolve_device("cuda:2", "crepe")
    assert str(error.value) == (
        "model 'crepe': device 'cuda:2' requested but PyTorch sees 2 CUDA devices, cuda:0 to cuda:1 "
        "(CUDA_VISIBLE_DEVICES=2,3)"
    )


@pytest.mark.parametrize("setting", ["gpu", "CUDA", "cuda:", "cuda:x", "cuda0", " cpu", "", 0])
def test_a_wrong_device_setting_is_one_line_naming_model_and_setting_before_loading(setting):
    loaded = []
    module = fake_module(TinyModel())
    module.load_model = lambda *args: loaded.append(args) or TinyModel()
    with pytest.raises(ModelError) as error:
        hear.load_model(module, None, model_id="base", device=setting)
    assert (
        str(error.value) == f"model 'base': device setting {setting!r} is not one of auto, cpu, cuda, cuda:N"
    )
    assert not loaded, "the model was loaded before its device setting was checked"


@pytest.mark.parametrize(
    "visible, shown",
    [(None, "CUDA_VISIBLE_DEVICES not set"), ("", "CUDA_VISIBLE_DEVICES="), ("0", "CUDA_VISIBLE_DEVICES=0")],
)
@pytest.mark.parametrize("setting", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_one_line_naming_the_model(setting, visible, shown, no_cuda, monkeypatch):
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    with pytest.raises(ModelError) as error:
        hear.load_model(fake_module(TinyModel()), None, model_id="base", device=setting)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(
        f"model 'base': device {setting!r} requested but PyTorch sees no CUDA device ({shown}"
    )
    if torch.version.cuda is None:  # this machine's CPU-only build: the message says what to use
        assert message.endswith(f"; torch {torch.__version__} is a CPU-only build, see envs/torch-cuda.yaml)")
    else:
        assert message.endswith(f"({shown})")


@pytest.mark.parametrize(
    "where, path", [((), "device"), (("models", "base"), "models.base.device")], ids=["top", "model"]
)
@pytest.mark.parametrize("value", ["gpu", "cuda:", 1])
def test_the_config_schema_rejects_a_wrong_device_in_one_line(where, path, value):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    entry = config
    for key in where:
        entry = entry[key]
    entry["device"] = value
    with pytest.raises(ConfigError) as error:
        validate_config(config, root=ROOT)
    assert str(error.value) == f"config: {path}: {value!r} is not one of auto, cpu, cuda, cuda:N"


@pytest.mark.parametrize("value", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_the_config_schema_accepts_every_device_and_defaults_to_auto(value):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    assert validate_config(config, root=ROOT)["device"] == "auto"
    config["device"] = value
    config["models"]["base"]["device"] = value
    validate_config(config, root=ROOT)


def test_the_schema_and_the_load_time_check_accept_the_same_settings():
    schema = load_schema()
    assert schema["properties"]["device"]["pattern"] == hear.DEVICE_SETTING.pattern
    assert schema["$defs"]["model"]["properties"]["device"]["pattern"] == hear.DEVICE_SETTING.pattern


# Placement and batches


def test_batches_go_to_the_models_device_as_torch_tensors():
    calls = []
    model = TinyModel().to("meta")
    module = fake_module(model, calls)
    embeddings = hear.embed_scenes(
        module, model, np.zeros((5, 100), np.float32), batch_size=2, progress=False
    )
    assert calls == [(torch.Tensor, torch.device("meta"))] * 3
    assert embeddings.dtype == np.float32 and embeddings.shape == (5, 4)


def test_a_model_without_tensors_gets_cpu_batches_and_is_not_moved(no_cuda):
    calls = []

    class Weightless(torch.nn.Module):
        sample_rate = 16000
        scene_embedding_size = 4

    model = hear.load_model(fake_module(Weightless(), calls), None, model_id="mfcc", device="cpu")
    assert hear.model_device(model) == torch.device("cpu")
    hear.embed_scenes(fake_module(model, calls), model, np.zeros((2, 100), np.float32), progress=False)
    assert calls == [(torch.Tensor, torch.device("cpu"))]
    # Not a torch module at all: the CPU too.
    assert hear.model_device(types.SimpleNamespace(sample_rate=1)) == torch.device("cpu")


def test_out_of_memory_names_the_batch_size_to_lower():
    model = TinyModel()
    module = fake_module(model)

    def out_of_memory(audio, model):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    module.get_scene_embeddings = out_of_memory
    with pytest.raises(ModelError) as error:
        hear.embed_scenes(
            module, model, np.zeros((6, 10), np.float32), batch_size=4, model_id="crepe", progress=False
        )
    assert str(error.value).endswith(
        "CUDA out of memory. Tried to allocate 2.00 GiB "
        "(lower models.crepe.batch_size, now 4, to use less GPU memory)"
    )


@pytest.mark.parametrize("name", ["base", "mfcc"])
def test_a_cpu_run_is_bit_identical_to_the_default_path(name, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    module = hear.load_hear_module(f"gear.models.{name}")
    default = hear.load_model(module, None, model_id=name)
    audio = tones(default.sample_rate)
    expected = hear.embed_scenes(module, default, audio, batch_size=2, progress=False)
    for setting in ("cpu", "auto"):
        model = hear.load_model(module, None, model_id=name, device=setting)
        assert hear.model_device(model) == torch.device("cpu")
        got = hear.embed_scenes(module, model, audio, batch_size=2, progress=False)
        assert got.dtype == np.float32
        assert got.tobytes() == expected.tobytes(), f"{name}: device={setting!r} changed the embeddings"


# The wrappers keep their tensors on the model's device. Resemblyzer
# computes its features in NumPy (CPU audio in, network on the device); PESTO
# reads a scalar with .item(), which works on a GPU but not on `meta`.
META_WRAPPERS = {
    "base": {},
    "crepe": {},
    "openl3": {"random_init": True},
    "byols": {"random_init": True},
    "wav2vec2": {"random_init": True, "num_hidden_layers": 2},
    "resemblyzer": {},
}


@pytest.mark.parametrize("name", sorted(META_WRAPPERS))
def test_a_wrapper_computes_on_its_models_device(name):
    module = hear.load_hear_module(f"gear.models.{name}")
    model = module.load_model(**META_WRAPPERS[name]).to("meta")
    audio = torch.from_numpy(tones(model.sample_rate, n_sounds=2, seconds=1.0))
    if name != "resemblyzer":
        audio = audio.to("meta")
    with torch.no_grad():
        scene = module.get_scene_embeddings(audio, model)
        frames, _ = module.get_timestamp_embeddings(audio, model)
    assert scene.device == torch.device("meta") and tuple(scene.shape) == (2, model.scene_embedding_size)
    assert frames.device == torch.device("meta") and frames.shape[0] == 2


# What the workflow records


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    """Four harmonic sounds of 0.3 s at 16 kHz, as the synthesize rule writes them."""
    spec = yaml.safe_load(TEST_CONFIG.read_text())["datasets"]["tiny"]
    spec["parameters"] = {
        "f1": {"min": 110, "max": 440, "num": 2, "scale": "log"},
        "alpha": {"min": 0.0, "max": 2.0, "num": 2},
        "r": {"min": 0.5, "max": 0.5, "num": 1},
    }
    directory = tmp_path_factory.mktemp("dataset")
    pipeline.synthesize(spec, directory / "params.csv", directory / "parameters.json", directory / "audio")
    return directory


@pytest.mark.parametrize("setting", ["cpu", "auto"])
def test_the_statistics_record_device_name_and_peak_memory(setting, small_dataset, tmp_path, no_cuda):
    stats_path = tmp_path / "mfcc.json"
    pipeline.embed(
        small_dataset / "params.csv",
        small_dataset / "audio",
        tmp_path / "mfcc.npy",
        stats_path,
        model_id="mfcc",
        module_name="gear.models.mfcc",
        device=setting,
    )
    stats = json.loads(stats_path.read_text())
    assert stats["device_setting"] == setting
    assert stats["device"] == "cpu"
    assert stats["device_name"] == hear.device_name("cpu") and stats["device_name"]
    assert stats["peak_device_mb"] is None  # GPU memory: none on the CPU
    pipeline.collect_embedding_costs({("small", "mfcc"): stats_path}, tmp_path / "costs.csv")
    costs = pd.read_csv(tmp_path / "costs.csv")
    assert costs.loc[0, "device"] == "cpu" and costs.loc[0, "device_name"] == stats["device_name"]
    assert np.isnan(costs.loc[0, "peak_device_mb"])


def test_the_workflow_stops_before_writing_when_cuda_is_missing(small_dataset, tmp_path, no_cuda):
    with pytest.raises(
        ModelError, match=r"^model 'base': device 'cuda' requested but PyTorch sees no CUDA device"
    ):
        pipeline.embed(
            small_dataset / "params.csv",
            small_dataset / "audio",
            tmp_path / "base.npy",
            tmp_path / "base.json",
            model_id="base",
            module_name="gear.models.base",
            device="cuda",
        )
    assert not list(tmp_path.iterdir())
