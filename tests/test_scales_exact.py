"""Correctly rounded scales: what makes a dataset's values the same bytes on every CPU.

The reference is Python's ``decimal`` module (ln, log10 and exp correctly
rounded at 50 digits, then one correctly rounded conversion to float64), an
implementation independent of both numpy and mpmath.
"""

from decimal import Decimal, localcontext

import numpy as np
import pytest

from gear.designs import Range
from gear.scales import from_scale, spaced_values, to_scale


def decimal_reference(function, values):
    with localcontext() as context:
        context.prec = 50
        return np.array([float(function(Decimal(float(value)))) for value in values])


@pytest.fixture
def frequencies(rng):
    return np.concatenate([rng.uniform(20.0, 20000.0, 500), [65.41, 1046.5, 440.0, 1.0]])


def test_exact_logarithms_and_exponentials_are_correctly_rounded(frequencies):
    np.testing.assert_array_equal(to_scale(frequencies, "log", exact=True), decimal_reference(Decimal.ln, frequencies))
    exponents = np.log(frequencies)
    np.testing.assert_array_equal(from_scale(exponents, "log", exact=True), decimal_reference(Decimal.exp, exponents))
    # mel: the same float64 operations around a correctly rounded log10.
    inner = 1.0 + frequencies / 700.0
    np.testing.assert_array_equal(to_scale(frequencies, "mel", exact=True), 2595.0 * decimal_reference(Decimal.log10, inner))
    # semitones: 2 ** x as exp(x ln 2), correctly rounded as a whole.
    steps = (to_scale(frequencies, "semitones") - 69.0) / 12.0
    expected = 440.0 * decimal_reference(lambda x: (x * Decimal(2).ln()).exp(), steps)
    np.testing.assert_array_equal(from_scale(to_scale(frequencies, "semitones"), "semitones", exact=True), expected)


@pytest.mark.parametrize("scale", ["log", "mel", "erb", "semitones"])
def test_exact_scales_agree_with_numpy_to_a_few_ulps(frequencies, scale):
    exact = to_scale(frequencies, scale, exact=True)
    np.testing.assert_allclose(exact, to_scale(frequencies, scale), rtol=4 * np.finfo(float).eps, atol=0)
    np.testing.assert_allclose(from_scale(exact, scale, exact=True), from_scale(exact, scale), rtol=4 * np.finfo(float).eps)


def test_exact_functions_keep_numpys_answers_outside_the_domain():
    with np.errstate(divide="ignore", invalid="ignore"):
        numpy_values = to_scale([-1.0, 0.0, np.nan, np.inf], "log")
    np.testing.assert_array_equal(to_scale([-1.0, 0.0, np.nan, np.inf], "log", exact=True), numpy_values)


def test_log_spacing_is_numpys_geomspace_recipe_correctly_rounded():
    # numpy.geomspace: 10 ** linspace(log10(low), log10(high)), ends set to low and high.
    low, high, num = 65.41, 1046.5, 10
    logs = decimal_reference(Decimal.log10, [low, high])
    expected = decimal_reference(lambda x: Decimal(10) ** x, np.linspace(logs[0], logs[1], num))
    expected[0], expected[-1] = low, high
    np.testing.assert_array_equal(spaced_values(low, high, num, "log"), expected)
    np.testing.assert_allclose(spaced_values(low, high, num, "log"), np.geomspace(low, high, num), rtol=1e-15)


def test_design_draws_are_correctly_rounded(rng):
    unit = rng.random(200)
    f1 = Range("f1", 50.0, 5000.0, scale="log")
    low, high = decimal_reference(Decimal.ln, [50.0, 5000.0])
    np.testing.assert_array_equal(f1.from_unit(unit), decimal_reference(Decimal.exp, low + unit * (high - low)))
