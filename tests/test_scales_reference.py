"""Scales against their published formulas, written out here independently of gear.scales.

Each scale is checked at several frequencies (one point cannot tell HTK's mel
from Fant's: both give 1000 mel at 1000 Hz), and the spacing of
``spaced_values`` is checked with these formulas, never with ``to_scale``.
"""

import math

import numpy as np
import pytest

from gear.errors import ConfigError
from gear.scales import SCALES, check_domain, from_scale, spaced_values, to_scale


def htk_mel(hz):
    """HTK mel (Young et al., The HTK Book): 2595 log10(1 + f / 700)."""
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def htk_mel_inverse(mel):
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def erb_rate(hz):
    """ERB-rate in Cams (Glasberg and Moore 1990, eq. 4): 21.4 log10(4.37 f/kHz + 1)."""
    return 21.4 * math.log10(4.37 * hz / 1000.0 + 1.0)


def erb_rate_inverse(cams):
    return (10.0 ** (cams / 21.4) - 1.0) * 1000.0 / 4.37


def midi(hz):
    """MIDI note number: A4 = 440 Hz is 69, 12 per octave."""
    return 69.0 + 12.0 * math.log2(hz / 440.0)


def midi_inverse(note):
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


REFERENCES = {
    "linear": (lambda x: x, lambda x: x),
    "log": (math.log, math.exp),
    "mel": (htk_mel, htk_mel_inverse),
    "erb": (erb_rate, erb_rate_inverse),
    "semitones": (midi, midi_inverse),
}
HZ = [20.0, 100.0, 440.0, 700.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0]


@pytest.mark.parametrize("scale", SCALES)
def test_forward_and_inverse_match_the_formula_at_many_frequencies(scale):
    forward, inverse = REFERENCES[scale]
    np.testing.assert_allclose(to_scale(np.array(HZ), scale), [forward(f) for f in HZ], rtol=1e-12)
    scaled = [forward(f) for f in HZ]
    np.testing.assert_allclose(from_scale(np.array(scaled), scale), [inverse(s) for s in scaled], rtol=1e-12)
    np.testing.assert_allclose(from_scale(np.array(scaled), scale), HZ, rtol=1e-12)


@pytest.mark.parametrize(
    "scale, hz, expected, tolerance",
    [
        # HTK mel is 1000 at 1000 Hz (by construction), 2595 log10(2) at 700 Hz;
        # Fant's 1000 log2(1 + f/1000) would give 2321.9 at 4000 Hz, not 2146.1.
        ("mel", 1000.0, 1000.0, 0.05),
        ("mel", 700.0, 781.17, 0.01),
        ("mel", 4000.0, 2146.06, 0.01),
        ("mel", 8000.0, 2840.02, 0.01),
        # ERB-rate: about 15.6 Cams at 1 kHz, 27.1 at 4 kHz, 3.37 at 100 Hz.
        ("erb", 1000.0, 15.62, 0.01),
        ("erb", 4000.0, 27.11, 0.01),
        ("erb", 100.0, 3.370, 0.001),
        # MIDI: middle C is 60, A4 is 69, A0 (27.5 Hz) is 21.
        ("semitones", 261.6256, 60.0, 1e-4),
        ("semitones", 440.0, 69.0, 0.0),
        ("semitones", 27.5, 21.0, 1e-12),
    ],
)
def test_published_table_values(scale, hz, expected, tolerance):
    assert abs(float(to_scale(hz, scale)) - expected) <= tolerance


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("low, high, num", [(50.0, 12000.0, 9), (110.0, 880.0, 37), (300.0, 301.0, 2)])
def test_spaced_values_are_even_steps_of_the_published_formula(scale, low, high, num):
    forward, inverse = REFERENCES[scale]
    values = spaced_values(low, high, num, scale)
    assert values.shape == (num,) and values.dtype == np.float64
    assert values[0] == low and values[-1] == high  # exactly, not to an ulp
    step = (forward(high) - forward(low)) / (num - 1)
    expected = [inverse(forward(low) + k * step) for k in range(num)]
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    np.testing.assert_allclose(np.diff([forward(v) for v in values]), step, rtol=1e-9)


@pytest.mark.parametrize("scale", SCALES)
def test_one_spaced_value_is_the_low_end(scale):
    np.testing.assert_array_equal(spaced_values(100.0, 1000.0, 1, scale), [100.0])


def test_mel_spacing_is_denser_in_hz_at_low_frequencies():
    # Equal mel steps: Hz steps grow with frequency (above ~700 Hz nearly geometrically).
    values = spaced_values(100.0, 8000.0, 20, "mel")
    assert np.all(np.diff(np.diff(values)) > 0)


@pytest.mark.parametrize(
    "scale, low, ok",
    [
        ("linear", -1e9, True),
        ("log", 0.0, False),
        ("log", 1e-9, True),
        ("mel", 0.0, True),
        ("mel", -1e-9, False),
        ("erb", 0.0, True),
        ("erb", -1e-9, False),
        ("semitones", 0.0, False),
        ("semitones", 1e-9, True),
    ],
)
def test_domains(scale, low, ok):
    if ok:
        check_domain(low, scale, "p")
    else:
        with pytest.raises(ConfigError):
            check_domain(low, scale, "p")


def test_domain_and_name_errors_say_what_is_wrong():
    with pytest.raises(ConfigError) as error:
        check_domain(0.0, "log", "datasets.fm.carrier")
    assert str(error.value) == "datasets.fm.carrier: a log scale needs min > 0, got 0"
    with pytest.raises(ConfigError) as error:
        check_domain(-2.5, "mel", "datasets.x.f")
    assert str(error.value) == "datasets.x.f: a mel scale needs min >= 0, got -2.5"
    for call in (lambda: to_scale(1.0, "bark"), lambda: from_scale(1.0, "bark"),
                 lambda: spaced_values(1.0, 2.0, 3, "bark"), lambda: check_domain(1.0, "bark", "p")):  # fmt: skip
        with pytest.raises(ConfigError) as error:
            call()
        assert (
            str(error.value)
            == "scale: unknown scale 'bark' (expected one of linear, log, mel, erb, semitones)"
        )


@pytest.mark.parametrize("scale", SCALES)
def test_linear_transforms_return_copies(scale):
    values = np.array([100.0, 200.0])
    for transform in (to_scale, from_scale):
        out = transform(values, scale)
        out[0] = -1.0
        assert values[0] == 100.0


@pytest.mark.parametrize("scale", SCALES)
def test_integer_input_gives_float64(scale):
    for transform in (to_scale, from_scale):
        out = transform(np.array([100, 200]), scale)
        assert out.dtype == np.float64, (transform.__name__, scale)


def test_the_default_scale_is_linear():
    np.testing.assert_array_equal(spaced_values(0.0, 1.0, 5), [0.0, 0.25, 0.5, 0.75, 1.0])
