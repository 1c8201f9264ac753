"""gear.evaluate: the workflow's numbers from one call, in-memory models and sounds, the dataset cache."""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import r2_score
from sklearn.neighbors import NearestNeighbors

import gear
from conftest import ROOT
from gear import pipeline
from gear.errors import ConfigError, ModelError
from gear.io import load_array


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def count_syntheses(monkeypatch):
    """Count the calls to the workflow's synthesis stage made through gear.api."""
    calls = []
    synthesize = pipeline.synthesize

    def counting(*args, **kwargs):
        calls.append(kwargs.get("dataset_id"))
        return synthesize(*args, **kwargs)

    monkeypatch.setattr(pipeline, "synthesize", counting)
    return calls


def test_import_gear_does_not_import_heavy_packages():
    code = "import sys, gear; print(sorted(m for m in ('torch', 'sklearn', 'matplotlib', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert callable(gear.evaluate) and "quick-harmonic" in gear.PRESETS


def test_library_gives_the_workflows_numbers(local_run, cache):
    """The tiny config's dataset and base model, through the library and through Snakemake."""
    results, config = local_run
    result = gear.evaluate(
        "gear.models.base",
        config["datasets"]["tiny"],
        name="base",
        dataset_id="tiny",
        isomap=config["isomap"],
        regression=config["regression"],
        cache_dir=cache,
        return_details=True,
    )
    np.testing.assert_array_equal(result.embeddings, load_array(results / "embeddings/tiny/base.npy"))
    np.testing.assert_array_equal(result.coordinates, load_array(results / "isomap/tiny/base.npy"))
    regression = pd.read_csv(results / "regression/tiny/base.csv", dtype={"sound_id": str})
    pd.testing.assert_frame_equal(result.regression, regression, check_exact=True)
    summary = pd.read_csv(results / "regression/tiny/summary.csv")
    summary = summary[summary["model"] == "base"].drop(columns="unavailable").reset_index(drop=True)
    pd.testing.assert_frame_equal(result.regression_summary, summary, check_dtype=False)
    workflow_metrics = pd.read_csv(results / "metrics/tiny/base.csv")
    pd.testing.assert_frame_equal(result.metrics, workflow_metrics, check_dtype=False)
    assert set(result.metrics["parameter"]) >= {"f1", "alpha", "r"}
    assert {"equivariance_r2", "displacement_cosine", "invariance_r2_difference"} <= set(result.metrics["metric"])
    # The sounds are the workflow's, read from the same kind of files.
    params = pd.read_csv(results / "datasets/tiny/params.csv", dtype={"sound_id": str})
    pd.testing.assert_frame_equal(result.params, params)


def test_in_memory_objects_give_the_modules_numbers(cache):
    """A HEAR module, the same module imported, and an object wrapping its model agree."""
    from gear.models import mfcc

    by_name = gear.evaluate("gear.models.mfcc", "quick-harmonic", cache_dir=cache, return_details=True)
    by_module = gear.evaluate(mfcc, "quick-harmonic", cache_dir=cache)

    class Wrapper:  # what a user would write around their own network
        def __init__(self):
            self.inner = mfcc.load_model()
            self.sample_rate = self.inner.sample_rate
            self.scene_embedding_size = self.inner.scene_embedding_size

        def get_scene_embeddings(self, audio):
            return mfcc.get_scene_embeddings(audio, self.inner)

    by_object = gear.evaluate(Wrapper(), "quick-harmonic", name="mfcc", cache_dir=cache)
    pd.testing.assert_frame_equal(by_module, by_name.metrics)
    pd.testing.assert_frame_equal(by_object, by_name.metrics)
    assert set(by_name.metrics["model"]) == {"mfcc"} and set(by_name.metrics["dataset"]) == {"quick-harmonic"}
    assert by_name.embeddings.shape == (320, 40)
    # Figures 3 and 4 as matplotlib objects, one panel per parameter.
    figure = by_name.isomap_figure()
    assert len([ax for ax in figure.axes if ax.name == "3d"]) == 3
    assert by_name.regression_figure().axes
    assert [ax.get_label() for ax in by_name.invariance_figure().axes][0] == "invariance:mfcc"
    # Switched off: the same table without the equivariance and invariance rows.
    without = gear.evaluate("gear.models.mfcc", "quick-harmonic", cache_dir=cache, equivariance=False)
    kept = ~by_module["metric"].str.contains("variance_r2|displacement_cosine|invariance_")
    assert (~kept).sum() == 3 * 2 + 6 * 3
    pd.testing.assert_frame_equal(without, by_module[kept].reset_index(drop=True))


class SpectrumNet(torch.nn.Module):
    """A network being trained: log-magnitude spectrum, mean over frames, linear layer."""

    sample_rate = 16000
    scene_embedding_size = 8

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.project = torch.nn.Linear(129, self.scene_embedding_size)

    def get_scene_embeddings(self, audio):
        window = torch.hann_window(256)
        spectrum = torch.stft(audio, n_fft=256, hop_length=128, window=window, return_complex=True).abs()
        return self.project(torch.log1p(spectrum).mean(dim=-1))


def test_a_network_scored_between_training_steps(cache):
    # Teaching the first unit alpha must raise the ridge probe's R^2 of alpha:
    # the probe can read that unit, so it scores at least about as well as
    # the unit alone (its R^2 computed here, outside GEAR).
    net = SpectrumNet()
    dataset = gear.load_dataset("quick-harmonic", cache_dir=cache)
    alpha = dataset.params["alpha"].to_numpy()
    target = torch.tensor(alpha, dtype=torch.float32)
    audio = torch.from_numpy(dataset.audio)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    scores, unit_r2 = [], []
    for step in range(2):
        metrics = gear.evaluate(net.eval(), dataset, dataset_id="quick-harmonic", isomap={"n_neighbors": 20})
        scores.append(metrics.query("metric == 'ridge_r2' and parameter == 'alpha'")["value"].item())
        with torch.no_grad():
            first_unit = net.get_scene_embeddings(audio)[:, 0].numpy().astype(np.float64)
        unit_r2.append(1 - np.sum((alpha - first_unit) ** 2) / np.sum((alpha - alpha.mean()) ** 2))
        if step == 0:
            net.train()
            for _ in range(100):
                optimizer.zero_grad()
                loss = ((net.get_scene_embeddings(audio)[:, 0] - target) ** 2).mean()
                loss.backward()
                optimizer.step()
    assert set(metrics["model"]) == {"SpectrumNet"}
    assert unit_r2[0] < 0 and unit_r2[1] > 0.95  # the unit learnt alpha
    assert scores[0] < 0.93 and scores[1] > scores[0] + 0.04  # measured: 0.89 before
    assert scores[1] >= unit_r2[1] - 0.02


def test_in_memory_sounds_give_the_specs_numbers(cache):
    """Sounds handed over with their parameter table score as the cached spec does."""
    from_spec = gear.evaluate("gear.models.mfcc", "quick-fm", cache_dir=cache, return_details=True)
    dataset = gear.load_dataset("quick-fm", cache_dir=cache)
    parameters = [{"name": p.name, "unit": p.unit, "scale": p.scale} for p in dataset.description.parameters]
    given = gear.evaluate(
        "gear.models.mfcc",
        {"audio": dataset.audio, "params": dataset.params.drop(columns="sound_id"), "sample_rate": 16000,
         "parameters": parameters},
        dataset_id="quick-fm",
    )  # fmt: skip
    assert list(dataset.params.columns) == ["sound_id", "carrier", "ratio", "index", "decay"]
    pd.testing.assert_frame_equal(given, from_spec.metrics)


def test_missing_model_attributes_are_named(cache):
    class NoRate:
        scene_embedding_size = 4

        def embed(self, audio):
            return audio[:, :4]

    with pytest.raises(ModelError) as error:
        gear.evaluate(NoRate(), "quick-harmonic", cache_dir=cache)
    message = str(error.value)
    assert "\n" not in message and "'NoRate'" in message
    assert message.endswith("missing sample_rate, get_scene_embeddings(audio)")

    class TextRate(SpectrumNet):
        sample_rate = "16 kHz"

    with pytest.raises(ModelError, match="positive int attribute 'sample_rate', got '16 kHz'"):
        gear.evaluate(TextRate(), "quick-harmonic", cache_dir=cache)


def test_bad_settings_are_one_line_errors(cache):
    with pytest.raises(ConfigError, match=r"unknown preset 'quick' \(presets: quick-harmonic, quick-fm\)"):
        gear.evaluate("gear.models.mfcc", "quick", cache_dir=cache)
    with pytest.raises(ConfigError, match=r"isomap: Additional properties are not allowed \('n_neighbours'"):
        gear.evaluate("gear.models.mfcc", "quick-harmonic", isomap={"n_neighbours": 10}, cache_dir=cache)
    with pytest.raises(ConfigError, match=r"regression.n_neighbors: 400 neighbours .* \(320 sounds\)"):
        gear.evaluate("gear.models.mfcc", "quick-harmonic", regression={"n_neighbors": 400}, cache_dir=cache)
    with pytest.raises(ConfigError, match=r"datasets.dataset.parameters.f1.max: 9000 Hz is not below Nyquist"):
        gear.load_dataset({"synthesizer": "harmonic", "parameters": {"f1": {"min": 100, "max": 9000, "num": 2}}},
                          cache_dir=cache)  # fmt: skip


def test_a_dataset_is_synthesized_once(cache, monkeypatch):
    calls = count_syntheses(monkeypatch)
    first = gear.load_dataset("quick-harmonic", cache_dir=cache)
    again = gear.evaluate("gear.models.mfcc", "quick-harmonic", cache_dir=cache, return_details=True)
    assert calls == ["quick-harmonic"]
    np.testing.assert_array_equal(first.audio, gear.load_dataset("quick-harmonic", cache_dir=cache).audio)
    pd.testing.assert_frame_equal(first.params, again.params)
    # The same spec with its keys in another order is the same entry...
    spec = gear.PRESETS["quick-harmonic"]
    reordered = {key: spec[key] for key in reversed(list(spec))}
    gear.load_dataset(reordered, cache_dir=cache)
    assert calls == ["quick-harmonic"]
    # ...another spec is a new one, and $GEAR_CACHE_DIR is where entries go by default.
    monkeypatch.setenv("GEAR_CACHE_DIR", str(cache))
    gear.load_dataset(spec | {"duration": 0.2})
    assert calls == ["quick-harmonic", "dataset"]
    entries = sorted(path.name for path in (cache / "datasets").iterdir())
    assert len(entries) == 1 and not entries[0].startswith(".")
    assert len(list(cache.iterdir())) == 2  # the first entry, and datasets/


# Each process holds its synthesized copy until both have one, then both rename.
RACER = textwrap.dedent(
    """
    import hashlib, logging, sys, time
    from pathlib import Path
    import gear
    from gear import pipeline

    cache, me, other = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    synthesize = pipeline.synthesize

    def synthesize_then_wait(*args, **kwargs):
        synthesize(*args, **kwargs)
        (cache.parent / me).touch()
        deadline = time.time() + 120
        while not (cache.parent / other).exists() and time.time() < deadline:
            time.sleep(0.05)

    pipeline.synthesize = synthesize_then_wait
    dataset = gear.load_dataset("quick-harmonic", cache_dir=cache)
    print("digest", hashlib.sha256(dataset.audio.tobytes() + dataset.params.to_csv().encode()).hexdigest())
    """
)


def test_two_processes_filling_the_cache_at_once(cache):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER, str(cache), me, other], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
        for me, other in (("a", "b"), ("b", "a"))
    ]  # fmt: skip
    outputs = [racer.communicate(timeout=300) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs
    logs = "".join(out for out, _ in outputs)
    # Both synthesized (both waited for the other), one rename won, the other gave way.
    assert len(re.findall(r"synthesized into", logs)) == 1, logs
    assert len(re.findall(r"another process filled", logs)) == 1, logs
    assert len(set(re.findall(r"digest (\w+)", logs))) == 1
    assert [path.name for path in cache.iterdir() if path.name.startswith(".")] == []
    (entry,) = cache.iterdir()
    assert sorted(path.name for path in entry.iterdir()) == ["audio", "parameters.json", "params.csv", "spec.json"]
    assert len(list((entry / "audio").glob("*.wav"))) == 320


def readme_python_example():
    """The first Python block of the section "GEAR from Python" (once the README's, now docs/python.md)."""
    page = (ROOT / "docs" / "python.md").read_text()
    section = page.split("## GEAR from Python", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("GEAR_CACHE_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(readme_python_example(), "docs/python.md", "exec"), namespace)
    table = namespace["table"]
    assert set(table["model"]) == {"base", "mfcc"} and set(table["dataset"]) == {"quick-harmonic"}
    assert {"knn_r2", "ridge_r2", "isomap_spearman"} <= set(table["metric"])
    scores = table.set_index(["model", "metric", "parameter"])["value"]
    for model in ("base", "mfcc"):
        # Spectral embeddings of harmonic tones: neighbours share f1 (measured
        # 0.93 and 0.94), a linear read-out finds alpha (measured 1.00).
        assert 0.85 < scores[model, "knn_r2", "f1"] <= 1
        assert 0.95 < scores[model, "ridge_r2", "alpha"] <= 1
    # The in-memory network (randomly initialized, so no fixed value): its
    # leave-one-out 10-NN R^2, recomputed with scikit-learn from its embeddings.
    result = namespace["result"]
    embeddings, params = result.embeddings, result.params
    truth = np.column_stack([np.log(params["f1"]), params["alpha"], params["r"]])
    neighbors = NearestNeighbors(n_neighbors=11).fit(embeddings).kneighbors(embeddings, return_distance=False)
    prediction = truth[neighbors[:, 1:]].mean(axis=1)  # column 0 is the sound itself (no duplicates here)
    assert (neighbors[:, 0] == np.arange(len(embeddings))).all()
    knn = result.metrics.query("metric == 'knn_r2'").set_index("parameter")["value"]
    np.testing.assert_allclose(knn[["f1", "alpha", "r"]], r2_score(truth, prediction, multioutput="raw_values"))
    summary = result.regression_summary.set_index("parameter")
    assert (summary["median_abs_log_ratio_ci_low"] < summary["median_abs_log_ratio"]).all()
    assert (summary["median_abs_log_ratio"] < summary["median_abs_log_ratio_ci_high"]).all()
