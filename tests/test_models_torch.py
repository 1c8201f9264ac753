"""Tests of GEAR's PyTorch (and weight-free) HEAR wrappers.

Weight-free references (mfcc, cqt, scattering) and the wrappers whose
weights ship in a package (resemblyzer, pesto) run for real. Models whose
weights come from a hub (wav2vec2, hubert, gura, openl3, byols) are
tested for their offline failure message and run randomly initialised
(reduced depth for the transformers), which exercises the same code;
where a test machine has their weights, a smoke test runs them too (the
only skip allowed in CI: hub weights absent). Each wrapper is skipped,
with the reason, when its packages (requirements-models-torch.txt and
requirements-models-torch-nodeps.txt) are not installed; in CI (``CI``
set) that is a failure. Short sounds and small batches keep the file fast.
"""

import importlib
import importlib.util
import sys
import types

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import skip_or_fail
from gear import hear
from gear.errors import ModelError
from gear.models import _torch_utils

BATCH_TOL = {"rtol": 1e-4, "atol": 1e-4}

#: model id -> (module, loads real weights without a path?)
WRAPPERS = {
    "mfcc": ("gear.models.mfcc", True),
    "cqt": ("gear.models.cqt", True),
    "scattering": ("gear.models.scattering", True),
    "resemblyzer": ("gear.models.resemblyzer", True),
    "pesto": ("gear.models.pesto", True),
    "wav2vec2": ("gear.models.wav2vec2", False),
    "hubert": ("gear.models.hubert", False),
    "gura": ("gear.models.gura", False),
    "openl3": ("gear.models.openl3", False),
    "byols": ("gear.models.byols", False),
}
HUB_MODELS = [name for name, (_, shipped) in WRAPPERS.items() if not shipped]
#: Packages each wrapper needs beyond requirements.txt.
PACKAGES = {
    "mfcc": (),
    "cqt": (),
    "scattering": ("kymatio",),
    "resemblyzer": ("resemblyzer",),
    "pesto": ("pesto", "omegaconf"),
    "wav2vec2": ("transformers",),
    "hubert": ("transformers",),
    "gura": ("transformers", "torchcrepe"),
    "openl3": ("torchopenl3", "julius", "six"),
    "byols": (),
}
#: Published scene embedding sizes and sample rates.
PUBLISHED = {
    "mfcc": (16000, 40),
    "cqt": (16000, 84),
    "scattering": (16000, 233),
    "resemblyzer": (16000, 256),
    "pesto": (16000, 384),
    "wav2vec2": (16000, 1024),
    "hubert": (16000, 1024),
    "gura": (16000, 3072),
    "openl3": (48000, 6144),
    "byols": (16000, 2048),
}


def _sine(frequency, n_samples, sample_rate=16000, amplitude=0.5):
    t = np.arange(n_samples) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _harmonic(f1, n_samples, sample_rate=16000, n_partials=8):
    t = np.arange(n_samples) / sample_rate
    x = sum(np.sin(2 * np.pi * k * f1 * t) / k for k in range(1, n_partials + 1) if k * f1 < sample_rate / 2)
    return (0.9 * x / np.abs(x).max()).astype(np.float32)


def _test_audio(sample_rate, seconds=0.15, n_sounds=3):
    """A tone, a harmonic sound and noise: short, different, deterministic."""
    n = int(seconds * sample_rate)
    rng = np.random.default_rng(7)
    sounds = [
        _sine(220.0, n, sample_rate),
        _harmonic(330.0, n, sample_rate),
        (0.3 * rng.standard_normal(n)).astype(np.float32),
    ]
    return torch.from_numpy(np.stack(sounds[:n_sounds]))


_MODELS = {}


def _require(name):
    """Skip the test (fail in CI), saying what to install, if the wrapper's packages are missing."""
    missing = [package for package in PACKAGES[name] if importlib.util.find_spec(package) is None]
    if missing:
        skip_or_fail(
            f"gear.models.{name} needs {', '.join(missing)}: pip install -r requirements-models-torch.txt "
            "and --no-deps -r requirements-models-torch-nodeps.txt"
        )


def _import_or_fail(module_name):
    """Import a reference package of requirements-nodeps.txt; skip without it (fail in CI)."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        skip_or_fail(
            f"{module_name} cannot be imported ({error}): pip install --no-deps -r requirements-nodeps.txt"
        )


def _model(name):
    """Each wrapper's model, loaded once (random-init for hub models)."""
    _require(name)
    if name not in _MODELS:
        module = importlib.import_module(WRAPPERS[name][0])
        _MODELS[name] = module.load_model() if WRAPPERS[name][1] else module.load_model(random_init=True)
    return importlib.import_module(WRAPPERS[name][0]), _MODELS[name]


# --- every wrapper ------------------------------------------------------------


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_scene_embeddings_contract(name):
    """Shape, dtype, finiteness, determinism and batch = one at a time."""
    module, model = _model(name)
    rate, dim = PUBLISHED[name]
    assert model.sample_rate == rate and isinstance(model.sample_rate, int)
    assert model.scene_embedding_size == dim and isinstance(model.scene_embedding_size, int)
    assert isinstance(model.timestamp_embedding_size, int)
    audio = _test_audio(rate)
    first = module.get_scene_embeddings(audio, model)
    assert isinstance(first, torch.Tensor)
    assert first.shape == (3, dim) and first.dtype == torch.float32
    assert torch.isfinite(first).all()
    assert torch.equal(module.get_scene_embeddings(audio, model), first)
    single = torch.cat([module.get_scene_embeddings(audio[i : i + 1], model) for i in range(3)])
    torch.testing.assert_close(single, first, **BATCH_TOL)
    # The three sounds are different; so must be their embeddings.
    assert not torch.allclose(first[0], first[1]) and not torch.allclose(first[1], first[2])


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_timestamp_embeddings_contract(name):
    module, model = _model(name)
    audio = _test_audio(model.sample_rate, seconds=0.1, n_sounds=2)
    embeddings, timestamps = module.get_timestamp_embeddings(audio, model)
    assert embeddings.ndim == 3 and embeddings.shape[0] == 2
    assert embeddings.shape[2] == model.timestamp_embedding_size
    assert embeddings.dtype == torch.float32 and torch.isfinite(embeddings).all()
    assert timestamps.shape == embeddings.shape[:2] and timestamps.dtype == torch.float32
    assert (torch.diff(timestamps, dim=1) > 0).all()


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_short_and_silent_sounds(name):
    """The 1,024-sample sounds of gear2023, a 100-sample sound and silence are embedded."""
    module, model = _model(name)
    n = 1024 * model.sample_rate // 16000
    audio = torch.zeros(2, n)
    audio[1] = torch.from_numpy(_sine(440.0, n, model.sample_rate))
    embeddings = module.get_scene_embeddings(audio, model)
    assert embeddings.shape == (2, model.scene_embedding_size) and torch.isfinite(embeddings).all()
    tiny = module.get_scene_embeddings(audio[1:, :100], model)
    assert tiny.shape == (1, model.scene_embedding_size) and torch.isfinite(tiny).all()


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_through_gear_hear(name, monkeypatch):
    """GEAR's loader accepts every wrapper; embed_scenes batches it."""
    monkeypatch.setenv(_torch_utils.RANDOM_INIT_ENV, "1")
    _require(name)
    module = hear.load_hear_module(WRAPPERS[name][0])
    if name in ("wav2vec2", "hubert", "gura", "openl3", "byols"):
        model = _model(name)[1]  # already loaded; GEAR_RANDOM_INIT=1 would build the same
    else:
        model = hear.load_model(module, model_id=name)
    audio = _test_audio(model.sample_rate, seconds=0.1).numpy()
    embeddings = hear.embed_scenes(module, model, audio, batch_size=2, model_id=name, progress=False)
    assert embeddings.shape == (3, PUBLISHED[name][1]) and embeddings.dtype == np.float32


# --- weight-free references ---------------------------------------------------


def test_mfcc_is_librosa_mfcc_mean_and_std():
    import librosa

    module, model = _model("mfcc")
    audio = _test_audio(16000)
    embeddings = module.get_scene_embeddings(audio, model).numpy()
    for i in range(3):
        reference = librosa.feature.mfcc(
            y=audio[i].numpy(), sr=16000, n_mfcc=20, n_mels=40, n_fft=512, hop_length=160
        )
        expected = np.concatenate([reference.mean(axis=1), reference.std(axis=1)])
        np.testing.assert_allclose(embeddings[i], expected, rtol=1e-4, atol=1e-3)


def test_cqt_peaks_at_the_tone():
    module, model = _model("cqt")
    embeddings = module.get_scene_embeddings(torch.from_numpy(_sine(440.0, 8000)[None]), model)
    # Bin k is C1 + k semitones; A4 = 440 Hz is 45 semitones above C1.
    assert int(embeddings[0].argmax()) == 45


def test_scattering_first_order_peaks_at_the_tone():
    module, model = _model("scattering")
    scattering, keep = model.transform(8000)
    meta = scattering.meta()
    first_order = np.asarray(meta["order"])[keep] == 1
    centre = np.asarray(meta["xi"])[keep][first_order, 0] * 16000
    embeddings = module.get_scene_embeddings(torch.from_numpy(_sine(1000.0, 8000)[None]), model)[0]
    peak = centre[int(np.argmax(embeddings.numpy()[first_order]))]
    assert 900 < peak < 1100


# --- weights shipped in packages --------------------------------------------


def test_pesto_pitch_distribution_peaks_at_f0():
    module, model = _model("pesto")
    frequencies = [110.0, 261.63, 440.0, 880.0]
    audio = torch.from_numpy(np.stack([_sine(f, 8000) for f in frequencies]))
    embeddings = module.get_scene_embeddings(audio, model)
    torch.testing.assert_close(embeddings.sum(dim=1), torch.ones(4), rtol=0, atol=1e-4)
    midi = embeddings.argmax(dim=1).double() / 3
    expected = 69 + 12 * np.log2(np.array(frequencies) / 440.0)
    np.testing.assert_allclose(midi.numpy(), expected, atol=0.5)
    # A harmonic sound's distribution peaks at its fundamental too.
    harmonic = module.get_scene_embeddings(torch.from_numpy(_harmonic(196.0, 8000)[None]), model)
    assert abs(float(harmonic.argmax()) / 3 - (69 + 12 * np.log2(196.0 / 440.0))) < 0.5


def test_resemblyzer_embeddings_are_real():
    module, model = _model("resemblyzer")
    audio = _test_audio(16000, seconds=1.0)
    embeddings = module.get_scene_embeddings(audio, model)
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(3), rtol=0, atol=1e-5)
    assert (embeddings >= 0).all()
    cosine = embeddings @ embeddings.T
    assert cosine[0, 2] < 0.9 and cosine[1, 2] < 0.9
    state = torch.load(module.packaged_weights(), map_location="cpu", weights_only=True)["model_state"]
    assert torch.equal(model.linear.weight, state["linear.weight"])


def test_resemblyzer_matches_voice_encoder(monkeypatch):
    """Same numbers as Resemblyzer's own embed_utterance after volume normalisation."""
    # resemblyzer.audio imports webrtcvad (used only by the VAD trimming,
    # which GEAR skips); a stand-in lets Resemblyzer be imported without it.
    monkeypatch.setitem(sys.modules, "webrtcvad", types.ModuleType("webrtcvad"))
    before = set(sys.modules)
    try:
        _require("resemblyzer")
        resemblyzer = importlib.import_module("resemblyzer")
        encoder = resemblyzer.VoiceEncoder(device="cpu", verbose=False)
        module, model = _model("resemblyzer")
        rng = np.random.default_rng(3)
        audio = np.stack([_harmonic(150.0, 30000), 0.1 * rng.standard_normal(30000).astype(np.float32)])
        got = module.get_scene_embeddings(torch.from_numpy(audio), model).numpy()
        for i in range(2):
            wav = resemblyzer.normalize_volume(audio[i], -30, increase_only=True)
            np.testing.assert_allclose(got[i], encoder.embed_utterance(wav), rtol=1e-4, atol=1e-5)
    finally:
        # Do not leave a Resemblyzer bound to the stand-in behind.
        for name in set(sys.modules) - before:
            if name == "resemblyzer" or name.startswith("resemblyzer."):
                del sys.modules[name]


# --- weights from a hub ---------------------------------------------------------


@pytest.fixture
def empty_caches(tmp_path, monkeypatch):
    """An empty GEAR cache, and fetching off (nothing is downloaded)."""
    monkeypatch.setenv("GEAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(_torch_utils.RANDOM_INIT_ENV, raising=False)
    monkeypatch.setenv("GEAR_FETCH", "never")


@pytest.mark.parametrize(
    "name, names",
    [
        ("wav2vec2", ["facebook/wav2vec2-large-960h-lv60-self", "weights:", "config.yaml", "random_init"]),
        ("hubert", ["facebook/hubert-large-ll60k", "weights:", "config.yaml"]),
        ("gura", ["facebook/hubert-xlarge-ll60k", "facebook/wav2vec2-large-960h-lv60-self", "weights:"]),
        ("openl3", ["torchopenl3_mel256_music_6144.pth.tar", "https://github.com/torchopenl3", "weights:"]),
        ("byols", ["serab-byols", "cvt_s1-d1-e64_s2-d1-e256_s3-d1-e512", "weights:"]),
    ],
)
def test_missing_weights_say_what_to_download(name, names, empty_caches):
    _require(name)
    module = importlib.import_module(WRAPPERS[name][0])
    with pytest.raises(ModelError) as error:
        module.load_model()
    message = str(error.value)
    for text in [*names, "fetching is off"]:
        assert text in message, (text, message)
    # Through GEAR's loader, the model is reported unavailable with that reason.
    with pytest.raises(ModelError, match="loading failed.*pretrained weights not found"):
        hear.load_model(module, model_id=name)


def _random_network(name, module):
    """A fresh random-init network of ``name`` (one transformer layer), its parameters by name."""
    kwargs = {"num_hidden_layers": 1} if name in ("wav2vec2", "hubert", "gura") else {}
    model = module.load_model(random_init=True, **kwargs)
    assert model.random_init is True
    return {key: value.clone() for key, value in model.state_dict().items()}


@pytest.mark.parametrize("name", HUB_MODELS)
def test_random_init_is_explicit_and_seeded(name, monkeypatch, caplog):
    """The environment variable asks for it loudly; the same seed gives the same network, another
    seed another network, and the caller's random state is left alone."""
    module, model = _model(name)
    assert model.random_init is True
    monkeypatch.setenv(_torch_utils.RANDOM_INIT_ENV, "1")
    state = torch.random.get_rng_state()
    with caplog.at_level("WARNING"):
        again = module.load_model(
            **({"num_hidden_layers": 1} if name in ("wav2vec2", "hubert", "gura") else {})
        )
    assert again.random_init is True
    assert "RANDOMLY INITIALISED" in caplog.text
    assert torch.equal(torch.random.get_rng_state(), state)
    monkeypatch.delenv(_torch_utils.RANDOM_INIT_ENV)

    first = {key: value.clone() for key, value in again.state_dict().items()}
    second = _random_network(name, module)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), f"{name}: {key} differs between two seed-0 builds"
    # Another seed: every randomly initialised tensor changes (constant ones,
    # such as layer-norm scales, biases and CREPE's real weights, do not).
    seeded = _torch_utils.seeded
    monkeypatch.setattr(_torch_utils, "seeded", lambda seed=0: seeded(seed + 1))
    other = _random_network(name, module)
    random_keys = [key for key, value in first.items() if value.is_floating_point() and value.numel() > 1
                   and value.std() > 0]  # fmt: skip
    changed = [key for key in random_keys if not torch.equal(first[key], other[key])]
    assert changed, f"{name}: the seed changes nothing"
    largest = max(random_keys, key=lambda key: first[key].numel())
    assert largest in changed, f"{name}: {largest} does not depend on the seed"


def test_wav2vec2_loads_a_saved_checkpoint(tmp_path):
    """The real loading code: a directory as save_pretrained writes it, and a wrong file."""
    _require("wav2vec2")
    from gear.models import wav2vec2

    model = wav2vec2.load_model(random_init=True, num_hidden_layers=1)
    model.model.save_pretrained(tmp_path / "w2v")
    loaded = wav2vec2.load_model(str(tmp_path / "w2v"))
    assert loaded.random_init is False
    audio = _test_audio(16000, seconds=0.1)
    torch.testing.assert_close(
        wav2vec2.get_scene_embeddings(audio, loaded), wav2vec2.get_scene_embeddings(audio, model)
    )
    # A single weights file must hold the published 24-layer network.
    torch.save(model.model.state_dict(), tmp_path / "small.bin")
    with pytest.raises(ModelError, match="not a wav2vec2 checkpoint of the expected size"):
        wav2vec2.load_model(str(tmp_path / "small.bin"))


def test_wav2vec2_loads_a_ctc_weights_file(tmp_path, monkeypatch):
    """A lone weights file of a CTC checkpoint: 'wav2vec2.' prefixes, old weight-norm names."""
    _require("wav2vec2")
    from gear.models import wav2vec2

    model = wav2vec2.load_model(random_init=True, num_hidden_layers=1)
    names = {
        ".parametrizations.weight.original0": ".weight_g",
        ".parametrizations.weight.original1": ".weight_v",
    }
    state = {}
    for key, value in model.model.state_dict().items():
        for new, old in names.items():
            key = key.replace(new, old)
        state[f"wav2vec2.{key}"] = value
    state["lm_head.weight"] = torch.zeros(32, 1024)
    torch.save(state, tmp_path / "pytorch_model.bin")
    one_layer = wav2vec2.published_config(num_hidden_layers=1)
    monkeypatch.setattr(wav2vec2, "published_config", lambda: one_layer)
    loaded = wav2vec2.load_model(str(tmp_path / "pytorch_model.bin"))
    audio = _test_audio(16000, seconds=0.1, n_sounds=1)
    torch.testing.assert_close(
        wav2vec2.get_scene_embeddings(audio, loaded), wav2vec2.get_scene_embeddings(audio, model)
    )


def test_hidden_states_as_transformers_4():
    """L + 1 states: each layer's input, then the final layer-normalised output."""
    _, model = _model("gura")
    audio = _test_audio(16000, seconds=0.1, n_sounds=1)
    with torch.no_grad():
        states = _torch_utils.HiddenStateRecorder(model.wav2vec2)(audio)
        last = model.wav2vec2(audio).last_hidden_state
    assert len(states) == model.wav2vec2.config.num_hidden_layers + 1
    assert torch.equal(states[-1], last)
    assert not torch.equal(states[0], states[1])


def _fused_as_published(network, audio):
    """GURA's ``*_fusion.forward``: the mean of ``output_hidden_states`` as transformers 4.x gave
    them: the inputs of the L layers, then the final layer-normalised output (transformers 5
    returns the last layer's output before the norm instead: it is replaced here)."""
    with torch.no_grad():
        output = network(audio, output_hidden_states=True)
    n_layers = network.config.num_hidden_layers
    assert len(output.hidden_states) == n_layers + 1
    states = [*output.hidden_states[:n_layers], output.last_hidden_state]
    return torch.stack(states).double().mean(dim=0).numpy()


def _interpolate_linear(x, size):
    """``F.interpolate(mode="linear")`` along the last axis (align_corners=False), in NumPy."""
    n = x.shape[-1]
    source = np.maximum((np.arange(size) + 0.5) * n / size - 0.5, 0.0)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, n - 1)
    weight = source - low
    return x[..., low] * (1 - weight) + x[..., high] * weight


def test_gura_interleaves_its_branches():
    """The scene embedding, rebuilt from the three branches as GURA/fusion_cat_xwc.py does:
    HuBERT and wav2vec 2.0 hidden states averaged, CREPE from ``torchcrepe.embed`` at a 250 ms
    hop, HuBERT and CREPE interpolated to 1024 features, CREPE to wav2vec 2.0's frames, then
    h0, w0, c0, h1, w1, c1, ... and the mean over frames."""
    module, model = _model("gura")
    import torchcrepe

    rng = np.random.default_rng(11)
    audio = np.stack([_harmonic(196.0, 9600), 0.3 * rng.standard_normal(9600).astype(np.float32)])
    audio = torch.from_numpy(audio)
    scene = module.get_scene_embeddings(audio, model).numpy()
    hubert = _interpolate_linear(_fused_as_published(model.hubert, audio), 1024)
    wav2vec2 = _fused_as_published(model.wav2vec2, audio)
    n_sounds, n_frames, _ = wav2vec2.shape
    assert hubert.shape == wav2vec2.shape == (2, 29, 1024)
    expected = np.empty((n_sounds, 3072))
    for i in range(n_sounds):
        with torch.no_grad():
            pitch = torchcrepe.embed(
                audio[i : i + 1], 16000, hop_length=4000, model="full", device="cpu", pad=True, batch_size=512
            )
        pitch = pitch.reshape(pitch.shape[1], -1).double().numpy()  # (3 frames, 32 x 64)
        assert pitch.shape == (3, 2048)
        pitch = _interpolate_linear(_interpolate_linear(pitch, 1024).T, n_frames).T
        frames = np.empty((n_frames, 3072))
        frames[:, 0::3], frames[:, 1::3], frames[:, 2::3] = hubert[i], wav2vec2[i], pitch
        expected[i] = frames.mean(axis=0)
    assert np.abs(expected[:, 2::3]).max() > 0  # CREPE's real, packaged weights
    scale = np.abs(expected).max()
    np.testing.assert_allclose(scene, expected, rtol=1e-4, atol=1e-4 * scale)


def test_gura_loads_saved_checkpoints(tmp_path):
    _require("gura")
    from gear.models import gura

    model = gura.load_model(random_init=True, num_hidden_layers=1)
    with pytest.raises(ModelError, match="no subdirectory hubert-xlarge-ll60k/"):
        gura.load_model(str(tmp_path))
    model.hubert.save_pretrained(tmp_path / gura.HUBERT_SUBDIR)
    model.wav2vec2.save_pretrained(tmp_path / gura.WAV2VEC2_SUBDIR)
    loaded = gura.load_model(str(tmp_path))
    audio = _test_audio(16000, seconds=0.1, n_sounds=1)
    torch.testing.assert_close(
        gura.get_scene_embeddings(audio, loaded), gura.get_scene_embeddings(audio, model)
    )


def test_openl3_matches_hearbaseline_framing(monkeypatch):
    """Same windows and embeddings as hearbaseline.torchopenl3 on the same network."""
    module, model = _model("openl3")
    import torchopenl3.core

    monkeypatch.setattr(torchopenl3.core, "load_audio_embedding_model", lambda *args, **kwargs: model)
    reference_module = _import_or_fail("hearbaseline.torchopenl3")
    reference = reference_module.load_model()
    audio = _test_audio(48000, seconds=0.3, n_sounds=1)
    torch.testing.assert_close(
        module.get_scene_embeddings(audio, model), reference_module.get_scene_embeddings(audio, reference)
    )
    got, got_times = module.get_timestamp_embeddings(audio, model, hop_size=250)
    expected, expected_times = reference_module.get_timestamp_embeddings(audio, reference, hop_size=250)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got_times, expected_times.float())


@pytest.mark.parametrize("name", ["openl3", "byols"])
def test_state_dict_round_trip(name, tmp_path):
    module, model = _model(name)
    network = model if name == "openl3" else model.encoder
    path = tmp_path / "weights.pth"
    torch.save(network.state_dict(), path)
    loaded = module.load_model(str(path))
    assert loaded.random_init is False
    audio = _test_audio(model.sample_rate, seconds=0.1, n_sounds=2)
    assert torch.equal(module.get_scene_embeddings(audio, loaded), module.get_scene_embeddings(audio, model))
    torch.save({"something": torch.zeros(3)}, tmp_path / "wrong.pth")
    with pytest.raises(ModelError):
        module.load_model(str(tmp_path / "wrong.pth"))


def test_byols_mel_filterbank_is_htk_without_norm():
    import librosa

    from gear.models import byols

    expected = librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64, fmin=60, fmax=7800, htk=True, norm=None)
    np.testing.assert_allclose(byols.mel_filterbank().numpy(), expected.T, atol=1e-5)


def _hub_weights_absent(name):
    """What of ``name``'s published weights this machine lacks (empty if it has them all)."""
    from gear.errors import FetchError
    from gear.models import remote

    try:
        remote.fetch_weights(WRAPPERS[name][0], mode="never")
    except FetchError as error:
        return [str(error)]
    return []


def test_byols_timestamp_frames_are_standardised_by_their_own_sounds_statistics(monkeypatch):
    """GEAR's choice (gear.models.byols): the 1-s frames of each sound are standardised by the mean
    and standard deviation of all that sound's frames, so that what the network sees has mean 0
    and standard deviation 1 per sound, whatever the batch; serab-byols' compute_timestamp_stats
    divides both statistics by the number of frames of the batch, which this would catch."""
    module, model = _model("byols")
    seen = []

    def network(lms):
        seen.append(lms.clone())
        return torch.zeros(lms.shape[0], 2048)

    monkeypatch.setattr(model, "forward", network)
    rng = np.random.default_rng(5)
    audio = torch.from_numpy(
        np.stack([_harmonic(220.0, 4800), 0.05 * rng.standard_normal(4800).astype(np.float32)])
    )
    module.get_timestamp_embeddings(audio, model)
    frames = torch.cat(seen).double()
    assert frames.shape[:2] == (2 * 7, 64)  # 1 + 4800 // 800 frames a sound
    for sound in frames.reshape(2, -1):
        assert abs(float(sound.mean())) < 1e-5 and abs(float(sound.std()) - 1) < 1e-5
    # The same sound alone gets the same input.
    seen.clear()
    module.get_timestamp_embeddings(audio[1:], model)
    torch.testing.assert_close(torch.cat(seen).double(), frames[7:], rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", HUB_MODELS)
def test_real_hub_weights_when_present(name, monkeypatch):
    """Runs where the machine has the weights; there, any ModelError is a failure."""
    _require(name)
    monkeypatch.delenv(_torch_utils.RANDOM_INIT_ENV, raising=False)
    absent = _hub_weights_absent(name)
    if absent:
        # The one skip CI keeps: weights from a hub cannot be installed there.
        pytest.skip(f"{name}: hub weights absent on this machine ({', '.join(absent)})")
    module = importlib.import_module(WRAPPERS[name][0])
    model = module.load_model()  # weights present: a ModelError here fails the test
    assert model.random_init is False
    audio = _test_audio(model.sample_rate, seconds=0.5)
    embeddings = module.get_scene_embeddings(audio, model)
    assert embeddings.shape == (3, PUBLISHED[name][1]) and torch.isfinite(embeddings).all()
