"""GPU against CPU, where PyTorch sees a CUDA device; skipped elsewhere ("no CUDA device").

Run on a GPU node, in envs/torch-cuda.yaml (or any CUDA build of torch 2.13):
``pytest tests/test_gpu.py``. The device plumbing that needs no GPU is tested
in ``tests/test_device.py``.
"""

import json

import numpy as np
import pytest
import torch

from gear import hear, pipeline

from test_device import small_dataset, tones  # noqa: F401 (small_dataset is a fixture)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

#: Largest |GPU - CPU| of a scene embedding, relative to the largest |value|
#: of that sound's CPU embedding: the README's model table. mfcc computes in
#: NumPy on the CPU whatever the device, hence exactly equal.
TOLERANCE = {"base": 1e-4, "crepe": 1e-3, "mfcc": 0.0}
#: Where each model computes when a GPU is asked for.
COMPUTES_ON = {"base": "cuda", "crepe": "cuda", "mfcc": "cpu"}


@pytest.mark.parametrize("name", sorted(TOLERANCE))
def test_gpu_embeddings_match_the_cpu_within_the_stated_tolerance(name):
    module = hear.load_hear_module(f"gear.models.{name}")
    on_cpu = hear.load_model(module, None, model_id=name, device="cpu")
    on_gpu = hear.load_model(module, None, model_id=name, device="cuda")
    assert hear.model_device(on_gpu).type == COMPUTES_ON[name]
    audio = tones(on_cpu.sample_rate, n_sounds=6, seconds=1.0)
    cpu = hear.embed_scenes(module, on_cpu, audio, batch_size=4, progress=False)
    gpu = hear.embed_scenes(module, on_gpu, audio, batch_size=4, progress=False)
    assert isinstance(gpu, np.ndarray) and gpu.dtype == np.float32 and gpu.shape == cpu.shape
    error = np.abs(gpu.astype(np.float64) - cpu) / np.abs(cpu).max(axis=1, keepdims=True)
    assert error.max() <= TOLERANCE[name], f"{name}: relative difference {error.max():.2e}"


def test_auto_uses_the_gpu():
    assert hear.resolve_device("auto", "base") == torch.device("cuda", torch.cuda.current_device())


@pytest.mark.parametrize("name", ["base", "mfcc"])
def test_the_statistics_record_the_gpu(name, small_dataset, tmp_path):  # noqa: F811
    stats_path = tmp_path / f"{name}.json"
    pipeline.embed(
        small_dataset / "params.csv",
        small_dataset / "audio",
        tmp_path / f"{name}.npy",
        stats_path,
        model_id=name,
        module_name=f"gear.models.{name}",
        device="auto",
    )
    stats = json.loads(stats_path.read_text())
    if COMPUTES_ON[name] == "cuda":
        index = torch.cuda.current_device()
        assert stats["device"] == f"cuda:{index}"
        assert stats["device_name"] == torch.cuda.get_device_name(index)
        # At least the projection matrix (256 x 4096 float32: 4 MiB) was on the GPU.
        assert stats["peak_device_mb"] >= 4
    else:
        assert stats["device"] == "cpu" and stats["peak_device_mb"] is None


def test_frame_chunks_bound_gpu_memory():
    """CREPE's activations grow with its frame chunk, not with the number of sounds."""
    module = hear.load_hear_module("gear.models.crepe")
    model = hear.load_model(module, None, model_id="crepe", device="cuda")
    device = hear.model_device(model)
    audio = tones(model.sample_rate, n_sounds=64, seconds=2.0)  # 64 x 9 = 576 frames per batch
    peaks = {}
    for chunk in (512, 32):
        model.frame_batch_size = chunk
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        hear.embed_scenes(module, model, audio, batch_size=64, progress=False)
        peaks[chunk] = torch.cuda.max_memory_allocated(device)
    assert peaks[32] < peaks[512] / 4, peaks
