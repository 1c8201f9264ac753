"""Datasets: gear2023 replicates the published code; harmonic is physical; configs resolve."""

import numpy as np
import pytest

import json
import os
import subprocess
import sys
from pathlib import Path

from gear.datasets import dataset_size, gear2023, make_dataset, resolve_dataset, sound_ids
from gear.errors import ConfigError


def published_generate_x(t, f1, alpha, r, T=1024):
    """The published code's per-sound synthesis, transcribed loop for loop."""
    N = int(T / (2 * f1)) - 1
    a = np.array([(1 + np.power(-1, n) * r) / (np.power(n, alpha)) for n in range(1, N + 1)])[:, np.newaxis]
    cosines = np.array([np.cos(2 * np.pi * n * f1 * t) for n in range(1, N + 1)])
    window = np.hanning(T)[np.newaxis, :]
    return np.sum(a * cosines * window, axis=0)


def published_dataset(n_alpha=50, n_r=50, T=1024):
    """The published dataset: nested alpha/r loops, global legacy RNG, MaxAbsScaler.

    The published code has ``n_alpha = n_r = 50``; other sizes follow its
    recipe. Also the loop reference of ``benchmarks/run.py``.

    Returns
    -------
    theta : np.ndarray [shape=(n_alpha * n_r, 3)]
        ``f1, alpha, r`` per sound.
    X : np.ndarray [shape=(n_alpha * n_r, T)], float64
    """
    state = np.random.get_state()
    np.random.seed(0)
    try:
        theta, X = [], []
        for alpha in np.arange(1, 3, (3 - 1) / n_alpha):
            for r in np.arange(1, 2, (2 - 1) / n_r):
                f1 = np.random.choice(range(12, 24), 1)[0]
                theta.append([f1, alpha, r])
                X.append(published_generate_x(np.arange(T) / T, f1, alpha, r, T))
    finally:
        np.random.set_state(state)
    X = np.array(X)
    X = X / np.where(np.abs(X).max(axis=0) == 0, 1, np.abs(X).max(axis=0))  # MaxAbsScaler per column
    return np.array(theta), X


@pytest.fixture(scope="module")
def published():
    return published_dataset()


@pytest.fixture(scope="module")
def ours():
    return gear2023()


def test_gear2023_parameters_match_published(ours, published):
    theta, _ = published
    assert ours.audio.shape == (2500, 1024)
    assert list(ours.params.columns) == ["sound_id", "f1", "alpha", "r"]
    np.testing.assert_array_equal(ours.params[["f1", "alpha", "r"]].to_numpy(), theta)
    assert set(ours.params["f1"]) == set(range(12, 24))


def test_gear2023_audio_matches_published_to_float_precision(ours, published):
    _, X = published
    np.testing.assert_allclose(ours.audio, X.astype(np.float32), rtol=0, atol=1e-6)
    assert ours.audio.dtype == np.float32
    assert ours.resample_to_model_rate is False


def test_gear2023_other_grid_sizes_follow_the_published_recipe():
    # Larger grids (benchmarks) draw f1 with one vectorized call: the same
    # stream as the published per-sound draws, beyond the first 2,500.
    theta, X = published_dataset(n_alpha=60, n_r=70)
    ours = gear2023(n_alpha=60, n_r=70)
    np.testing.assert_array_equal(ours.params[["f1", "alpha", "r"]].to_numpy(), theta)
    np.testing.assert_allclose(ours.audio, X, rtol=0, atol=1e-6)


def test_gear2023_scaling_matches_max_abs_scaler(ours):
    # Same recipe, unscaled, through scikit-learn's MaxAbsScaler.
    from sklearn.preprocessing import MaxAbsScaler

    from gear.synthesizers.additive import additive_tones

    params = ours.params
    f1 = params["f1"].to_numpy()
    t = np.arange(1024) / 1024
    raw = additive_tones(f1, params["alpha"], params["r"], t, (1024 / (2 * f1)).astype(int) - 1, np.hanning(1024))
    np.testing.assert_allclose(ours.audio, MaxAbsScaler().fit_transform(raw), rtol=0, atol=1e-6)


def test_gear2023_scaling_is_per_time_sample(ours):
    # MaxAbsScaler: every time sample (column) peaks at 1 across sounds,
    # except the window's zero end points.
    column_peaks = np.abs(ours.audio).max(axis=0)
    np.testing.assert_allclose(column_peaks[1:-1], 1, atol=1e-6)
    assert column_peaks[0] == column_peaks[-1] == 0


def test_gear2023_does_not_touch_global_rng():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    gear2023()
    assert np.random.random() == expected


def grid(low, high, num, scale="log"):
    return {"min": low, "max": high, "num": num, "scale": scale}


def harmonic(f1, alpha, r, **settings):
    parameters = {"f1": f1, "alpha": alpha, "r": r}
    return make_dataset({"synthesizer": "harmonic", "parameters": parameters, **settings})


def test_harmonic_grid_and_physical_frequencies():
    dataset = harmonic(grid(100, 400, 3), grid(0, 2, 4, "linear"), grid(0, 1, 5, "linear"), sample_rate=8000,
                       duration=0.5)  # fmt: skip
    params = dataset.params
    assert dataset.audio.shape == (3 * 4 * 5, 4000)
    np.testing.assert_allclose(sorted(set(params["f1"])), [100, 200, 400])
    np.testing.assert_allclose(np.abs(dataset.audio).max(axis=1), 0.9, rtol=1e-6)
    # The strongest partial of a flat spectrum (alpha = 0, r = 0) is at f1
    # or one of its harmonics, and nothing sits above Nyquist by design.
    row = params.index[(params["f1"] == 400) & (params["alpha"] == 0) & (params["r"] == 0)][0]
    spectrum = np.abs(np.fft.rfft(dataset.audio[row]))
    frequencies = np.fft.rfftfreq(4000, 1 / 8000)
    peaks = frequencies[spectrum > 0.5 * spectrum.max()]
    np.testing.assert_allclose(peaks / 400, np.round(peaks / 400), atol=0.01)
    assert peaks.max() < 4000
    # The description that travels with the data names the parameters.
    description = dataset.description
    assert description.names == ["f1", "alpha", "r"]
    assert [p.scale for p in description.parameters] == ["log", "linear", "linear"]
    assert description.parameters[0].unit == "Hz" and description.design == "grid"


def test_harmonic_random_f1_is_seeded():
    args = (grid(100, 800, 4), grid(0, 2, 5, "linear"), grid(0, 1, 5, "linear"))
    first = harmonic({**args[0], "draw": "random"}, *args[1:], seed=3, duration=0.1)
    again = harmonic({**args[0], "draw": "random"}, *args[1:], seed=3, duration=0.1)
    other = harmonic({**args[0], "draw": "random"}, *args[1:], seed=4, duration=0.1)
    assert len(first.params) == 25
    np.testing.assert_array_equal(first.audio, again.audio)
    assert not np.array_equal(first.params["f1"], other.params["f1"])
    # One f1 per (alpha, r) pair, each drawn from the grid's values.
    assert not first.params.duplicated(["alpha", "r"]).any()
    assert set(first.params["f1"]) <= set(np.geomspace(100, 800, 4))


# Checksums of params.csv and of every WAV file, made by the code of commit
# 941d8ad (before synthesizers became plug-ins) with tests/data/make_golden.py
# on a CPU without AVX-512: the plug-in synthesizers must reproduce the same
# bytes, on every processor.
GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_datasets.json").read_text())
CHECKSUMS_SCRIPT = Path(__file__).parent / "data" / "dataset_checksums.py"

# Every built-in synthesizer, every design and every scale, small.
SIMD_SPECS = {
    **{name: entry["spec"] for name, entry in GOLDEN["datasets"].items()},
    "fm_sobol": {"synthesizer": "fm", "design": "sobol", "n_sounds": 64, "duration": 0.2},
    "chirp_random": {"synthesizer": "chirp", "design": "random", "n_sounds": 32, "duration": 0.2},
    "drum_lhs": {"synthesizer": "drum", "design": "lhs", "n_sounds": 32, "duration": 0.2},
    "harmonic_sweeps_erb": {"synthesizer": "harmonic", "design": "sweeps", "n_anchors": 3, "n_steps": 5,
                            "duration": 0.1, "parameters": {"f1": {"min": 80, "max": 2000, "scale": "erb"}}},
    "harmonic_random_mel": {"synthesizer": "harmonic", "design": "random", "n_sounds": 32, "duration": 0.1,
                            "parameters": {"f1": {"min": 80, "max": 2000, "scale": "mel"}}},
    "harmonic_semitones": {"synthesizer": "harmonic", "duration": 0.1, "parameters": {
        "f1": {"min": 55, "max": 1760, "num": 7, "scale": "semitones"}, "alpha": {"min": 0, "max": 2, "num": 2},
        "r": {"min": 0, "max": 1, "num": 2}}},
}  # fmt: skip


def simd_levels():
    """``NPY_DISABLE_CPU_FEATURES`` values from none to all of the dispatchable features this CPU has.

    Each level disables the highest remaining feature too (AVX512_ICL, then
    X86_V4, then X86_V3 on an AVX-512 machine): every code path numpy can
    choose here, down to the build's baseline.
    """
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    found = [name for name in __cpu_dispatch__ if __cpu_features__[name]]
    return [found[k:] for k in range(len(found), -1, -1)]


def checksums_at(disabled):
    env = {key: value for key, value in os.environ.items() if key != "NPY_DISABLE_CPU_FEATURES"}
    if disabled:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disabled)
    done = subprocess.run([sys.executable, str(CHECKSUMS_SCRIPT), json.dumps(SIMD_SPECS)], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_builtin_datasets_are_the_same_bytes_at_every_simd_level():
    levels = simd_levels()
    results = [checksums_at(disabled) for disabled in levels]
    for disabled, result in zip(levels, results, strict=True):
        # The level really ran: what was disabled is off, nothing else is.
        assert not any(result["cpu_features"][name] for name in disabled), (disabled, result["cpu_features"])
        assert all(result["cpu_features"][name] for name in levels[0] if name not in disabled)
        for name, golden in GOLDEN["datasets"].items():
            assert result["datasets"][name] == {key: golden[key] for key in result["datasets"][name]}, (
                f"{name} differs from the golden checksums with NPY_DISABLE_CPU_FEATURES={' '.join(disabled)!r}"
            )
        assert result["datasets"] == results[0]["datasets"], f"bytes differ with {disabled} disabled"


def test_gear2023_takes_no_options():
    with pytest.raises(ConfigError, match="replicates a published dataset and takes no duration"):
        make_dataset({"synthesizer": "gear2023", "duration": 2})


def test_sound_ids_sort_like_integers():
    ids = sound_ids(123456)
    assert ids[:2] == ["000000", "000001"] and sorted(ids) == ids


def test_dataset_size_without_synthesis():
    spec = {"synthesizer": "harmonic", "parameters": {"f1": grid(100, 400, 3), "alpha": grid(0, 2, 4, "linear"),
            "r": grid(0, 1, 5, "linear")}}  # fmt: skip
    assert dataset_size(spec) == 60
    assert dataset_size({"synthesizer": "gear2023"}) == 2500
    assert dataset_size({**spec, "parameters": {**spec["parameters"], "r": {**grid(0, 1, 5, "linear"), "draw": "random"}}}) == 12
    assert resolve_dataset(spec).n_sounds == 60
