"""Additive synthesis: the spectrum has the partials of Eq. 1, nothing else."""

import numpy as np
import pytest

from gear.synthesizers import additive as synth
from gear.synthesizers.additive import additive_tones, harmonic_amplitudes


def reference_tone(f1, alpha, r, t, n_harmonics):
    """Eq. 1 written term by term, the obviously-correct slow way."""
    return sum((1 + (-1) ** p * r) / p**alpha * np.cos(2 * np.pi * p * f1 * t) for p in range(1, n_harmonics + 1))


@pytest.mark.parametrize("f1", [3, 10, 17])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("r", [0.0, 0.3, 1.0])
def test_spectrum_has_expected_partials(f1, alpha, r):
    # Integer cycles per frame and no window: each partial falls on one
    # FFT bin, with magnitude amplitude * n / 2.
    n_samples, n_harmonics = 256, 6
    t = np.arange(n_samples) / n_samples
    tone = additive_tones([f1], [alpha], [r], t, [n_harmonics])[0]
    spectrum = np.abs(np.fft.rfft(tone)) / (n_samples / 2)
    expected = np.zeros_like(spectrum)
    p = np.arange(1, n_harmonics + 1)
    expected[p * f1] = np.abs((1 + (-1.0) ** p * r) / p**alpha)
    np.testing.assert_allclose(spectrum, expected, atol=1e-10)


def test_r_one_removes_odd_harmonics():
    amplitudes = harmonic_amplitudes(np.array([1.0]), np.array([1.0]), np.array([8]))[0]
    np.testing.assert_allclose(amplitudes[0::2], 0)  # p = 1, 3, 5, 7
    np.testing.assert_allclose(amplitudes[1::2], 2 / np.arange(2, 9, 2))


def test_amplitudes_stop_at_each_sounds_harmonic_count():
    amplitudes = harmonic_amplitudes(np.zeros(3), np.zeros(3), np.array([1, 4, 2]))
    assert amplitudes.shape == (3, 4)
    np.testing.assert_array_equal(amplitudes != 0, [[1, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0]])


@pytest.mark.parametrize("shared_fundamentals", [True, False])
def test_matches_term_by_term_reference(rng, shared_fundamentals):
    # Both code paths: few distinct f1 (one table per f1) and all distinct.
    n_sounds, n_samples = 64, 300
    t = np.arange(n_samples) / 8000
    f1 = rng.choice([110.0, 220.0], n_sounds) if shared_fundamentals else rng.uniform(100, 400, n_sounds)
    alpha, r = rng.uniform(0, 2, n_sounds), rng.uniform(0, 1, n_sounds)
    n_harmonics = rng.integers(1, 9, n_sounds)
    window = np.hanning(n_samples)
    audio = additive_tones(f1, alpha, r, t, n_harmonics, window=window)
    expected = np.stack(
        [reference_tone(*args, t, n) * window for *args, n in zip(f1, alpha, r, n_harmonics, strict=True)]
    )
    np.testing.assert_allclose(audio, expected, atol=1e-12)


@pytest.mark.parametrize("shared_fundamentals", [True, False])
def test_float32_output_is_the_float64_result_rounded_once(rng, shared_fundamentals):
    n_sounds, n_samples = 200, 256
    t = np.arange(n_samples) / n_samples
    f1 = rng.choice([5.0, 7.0, 9.0], n_sounds) if shared_fundamentals else rng.uniform(3, 12, n_sounds)
    args = (f1, rng.uniform(1, 3, n_sounds), rng.uniform(1, 2, n_sounds), t, rng.integers(0, 12, n_sounds))
    audio32 = additive_tones(*args, window=np.hanning(n_samples), dtype=np.float32)
    assert audio32.dtype == np.float32
    np.testing.assert_array_equal(audio32, additive_tones(*args, window=np.hanning(n_samples)).astype(np.float32))


@pytest.mark.parametrize("shared_fundamentals", [True, False])
def test_blocking_does_not_change_the_result(rng, monkeypatch, shared_fundamentals):
    # Blocks of 7 sounds and tables of a few hundred elements: many blocks
    # per fundamental and fundamentals split across blocks.
    n_sounds, n_samples = 100, 50
    t = np.arange(n_samples) / n_samples
    f1 = rng.choice([2.0, 3.0], n_sounds) if shared_fundamentals else rng.uniform(1, 4, n_sounds)
    args = (f1, rng.uniform(0, 2, n_sounds), rng.uniform(0, 1, n_sounds), t, rng.integers(0, 6, n_sounds))
    expected = additive_tones(*args)
    monkeypatch.setattr(synth, "_BLOCK_SIZE", 7)
    monkeypatch.setattr(synth, "_BUFFER_ELEMENTS", 5 * n_samples)
    monkeypatch.setattr(synth, "_TABLE_ELEMENTS", 3 * 6 * n_samples)
    np.testing.assert_allclose(additive_tones(*args), expected, rtol=0, atol=1e-12)


def test_no_sounds_and_no_harmonics():
    t = np.arange(16) / 16
    assert additive_tones([], [], [], t, []).shape == (0, 16)
    np.testing.assert_array_equal(additive_tones([1.0] * 9, [1.0] * 9, [0.0] * 9, t, [0] * 9), 0)


def test_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="equal length"):
        additive_tones([1.0, 2.0], [1.0], [0.0], np.arange(4), [1, 1])


def partials_off_harmonics(tone, f1, sample_rate, margin_bins=10):
    """Largest spectral magnitude farther than ``margin_bins`` from every multiple of ``f1``,
    relative to the spectrum's peak (a Hann-windowed tone leaks only a few bins)."""
    spectrum = np.abs(np.fft.rfft(tone))
    frequencies = np.fft.rfftfreq(len(tone), 1 / sample_rate)
    bin_width = frequencies[1]
    distance = np.abs(frequencies - f1 * np.round(frequencies / f1))
    return spectrum[distance > margin_bins * bin_width].max() / spectrum.max()


@pytest.mark.parametrize("f1", [110.0, 220.0, 440.0, 1230.0])
def test_harmonic_synthesizer_keeps_every_harmonic_below_nyquist_and_nothing_above(f1):
    """The ``harmonic`` synthesizer at 8 kHz. With these f1, 8000 Hz is not a multiple of f1, so a
    partial above Nyquist would alias between the harmonics (e.g. 10 x 440 Hz to 3600 Hz), where
    it would be seen; the detector is checked on such a tone first."""
    from gear.synthesizers import harmonic

    sample_rate, duration = 8000, 0.5
    assert sample_rate % f1 != 0
    t = np.arange(int(sample_rate * duration)) / sample_rate
    n_below = int(np.ceil(sample_rate / 2 / f1)) - 1
    aliased = additive_tones([f1], [0.0], [0.0], t, [n_below + 3], window=np.hanning(len(t)))[0]
    assert partials_off_harmonics(aliased, f1, sample_rate) > 0.5

    params = {"f1": np.array([f1]), "alpha": np.array([0.0]), "r": np.array([0.0])}  # flat spectrum
    tone = harmonic.synthesize(params, sample_rate, duration)[0].astype(np.float64)
    assert partials_off_harmonics(tone, f1, sample_rate) < 0.01
    # Every harmonic below Nyquist is there, at the same magnitude (alpha = 0, r = 0).
    spectrum = np.abs(np.fft.rfft(tone))
    bins = np.round(np.arange(1, n_below + 1) * f1 * duration).astype(int)
    np.testing.assert_allclose(spectrum[bins] / spectrum[bins].max(), 1, rtol=0.02)
