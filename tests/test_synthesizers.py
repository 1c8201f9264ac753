"""Synthesizers as plug-ins: the contract, scales, designs, and one-line errors."""

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import qmc

from gear.datasets import make_dataset, resolve_dataset
from gear.designs import MAX_GRID_SOUNDS, Range, design_table
from gear.errors import ConfigError, SynthesizerError
from gear.scales import SCALES, from_scale, spaced_values, to_scale
from gear.synthesizers import load_synthesizer

FAKES = Path(__file__).parent / "fake_synthesizers"


@pytest.fixture(autouse=True)
def fake_synthesizers(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKES))
    yield
    sys.modules.pop("broken_synths", None)


# -- scales ---------------------------------------------------------------


def test_scales_match_their_published_formulas():
    hz = np.array([100.0, 440.0, 1000.0, 4000.0])
    np.testing.assert_allclose(to_scale(hz, "semitones"), [69 + 12 * np.log2(f / 440) for f in hz])
    # HTK mel: 1000 Hz is 1000 mel (to within the formula's rounding).
    assert abs(to_scale(1000.0, "mel") - 1000.0) < 0.1
    # ERB-rate (Glasberg and Moore 1990): 1000 Hz is about 15.6 Cams.
    assert abs(to_scale(1000.0, "erb") - 15.62) < 0.01
    np.testing.assert_allclose(to_scale(hz, "log"), np.log(hz))


@pytest.mark.parametrize("scale", SCALES)
def test_scales_round_trip_and_space_evenly(scale):
    values = spaced_values(110.0, 3520.0, 7, scale)
    assert values[0] == 110.0 and values[-1] == 3520.0
    np.testing.assert_allclose(from_scale(to_scale(values, scale), scale), values, rtol=1e-12)
    steps = np.diff(to_scale(values, scale))
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)


def test_semitone_spacing_is_musical():
    # A2 to A5 in 37 values: every semitone of three octaves.
    values = spaced_values(110.0, 880.0, 37, "semitones")
    np.testing.assert_allclose(values[::12], [110, 220, 440, 880])
    np.testing.assert_allclose(values[1] / values[0], 2 ** (1 / 12))


# -- designs --------------------------------------------------------------


def ranges():
    return [Range("a", 0.0, 1.0, 3), Range("b", 10.0, 1000.0, 2, "log"), Range("c", -1.0, 1.0, 4)]


def test_grid_is_full_factorial_first_parameter_outermost():
    table = design_table(ranges(), "grid")
    assert len(table["a"]) == 24
    combos = set(zip(table["a"], table["b"], table["c"]))
    assert len(combos) == 24
    np.testing.assert_array_equal(table["a"][:8], 0.0)  # a varies slowest


def test_grid_too_large_suggests_quasi_random():
    huge = [Range(name, 0.0, 1.0, 101) for name in "abc"]
    assert 101**3 > MAX_GRID_SOUNDS
    with pytest.raises(ConfigError, match="1,030,301 sounds .* use design: sobol or lhs"):
        design_table(huge, "grid")


@pytest.mark.parametrize("design", ["random", "sobol", "lhs"])
def test_quasi_random_designs_are_seeded_within_range_and_on_scale(design):
    first = design_table(ranges(), design, n_sounds=256, seed=1)
    again = design_table(ranges(), design, n_sounds=256, seed=1)
    other = design_table(ranges(), design, n_sounds=256, seed=2)
    for name in "abc":
        np.testing.assert_array_equal(first[name], again[name])
        assert not np.array_equal(first[name], other[name])
    assert first["b"].min() >= 10 and first["b"].max() <= 1000
    # On its log scale, b fills each decade about equally.
    decade = np.log10(first["b"])
    assert 0.4 < np.mean(decade < 2) < 0.6


def test_lhs_puts_one_point_in_each_stratum():
    table = design_table([Range("a", 0.0, 1.0), Range("b", 0.0, 1.0)], "lhs", n_sounds=50, seed=0)
    for name in "ab":
        np.testing.assert_array_equal(np.sort(np.floor(table[name] * 50)), np.arange(50))


def test_sobol_is_more_uniform_than_random():
    grid = [Range(name, 0.0, 1.0) for name in "abcd"]
    sobol = design_table(grid, "sobol", n_sounds=512, seed=0)
    random = design_table(grid, "random", n_sounds=512, seed=0)
    stack = lambda table: np.column_stack([table[name] for name in "abcd"])  # noqa: E731
    assert qmc.discrepancy(stack(sobol)) < qmc.discrepancy(stack(random)) / 2


def test_sweeps_hold_other_parameters_at_their_anchor():
    table = design_table(ranges(), "sweeps", n_anchors=2, n_steps=5, seed=0)
    assert len(table["a"]) == 2 * 3 * 5
    for start in range(0, 30, 5):
        block = {name: values[start : start + 5] for name, values in table.items()}
        swept = [name for name, values in block.items() if np.ptp(values) > 0]
        assert len(swept) == 1
        values = block[swept[0]]
        assert values[0] == min(r.min for r in ranges() if r.name == swept[0])
        assert np.all(np.diff(values) > 0)


def test_draw_random_is_grid_only():
    with pytest.raises(ConfigError, match="grid design only"):
        design_table([Range("a", 0.0, 1.0, 3, draw="random")], "sobol", n_sounds=4)


# -- the contract and its errors ------------------------------------------


def four_factor_spec(**extra):
    return {
        "synthesizer": "four_factor_synth",
        "parameters": {
            "pitch": {"min": 100.0, "max": 1000.0, "num": 3},
            "spread": {"min": 1.5, "max": 4.0, "num": 2},
            "balance": {"min": -30.0, "max": 0.0, "num": 2},
            "ring": {"min": 0.05, "max": 0.5, "num": 2},
        },
        "sample_rate": 8000,
        "duration": 0.2,
        **extra,
    }


def test_external_synthesizer_renders_with_its_declared_scales():
    dataset = make_dataset(four_factor_spec())
    assert list(dataset.params.columns) == ["sound_id", "pitch", "spread", "balance", "ring"]
    assert dataset.audio.shape == (24, 1600) and dataset.audio.dtype == np.float32
    np.testing.assert_allclose(np.abs(dataset.audio).max(axis=1), 0.5, rtol=1e-6)
    pitches = np.unique(dataset.params["pitch"])
    np.testing.assert_allclose(np.diff(to_scale(pitches, "mel")), np.diff(to_scale(pitches, "mel"))[0])
    description = dataset.description
    assert description.synthesizer == "four_factor_synth" and description.figure_grid == ["balance", "ring"]
    assert [(p.name, p.unit, p.scale) for p in description.parameters] == [
        ("pitch", "Hz", "mel"), ("spread", "", "log"), ("balance", "dB", "linear"), ("ring", "s", "log"),
    ]  # fmt: skip
    # balance can be negative: not a ratio scale; the others are.
    assert [p.ratio_scale for p in description.parameters] == [True, True, False, True]


def test_options_override_the_declared_defaults():
    dataset = make_dataset(four_factor_spec(options={"peak": 0.25}))
    np.testing.assert_allclose(np.abs(dataset.audio).max(axis=1), 0.25, rtol=1e-6)


def set_mode(mode):
    import broken_synths

    broken_synths.MODE["value"] = mode


def broken_spec(num=3, low=0.1):
    return {"synthesizer": "broken_synths", "parameters": {"level": {"min": low, "max": 1.0, "num": num}},
            "duration": 0.01}  # fmt: skip


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            {"synthesizer": "no_such_synth"},
            "config: datasets.d.synthesizer: cannot import synthesizer 'no_such_synth' (built-in: gear2023, "
            "harmonic, fm, chirp, drum): ModuleNotFoundError: No module named 'no_such_synth'",
        ),
        (
            {"synthesizer": "not_a_synth"},
            "config: datasets.d.synthesizer: module 'not_a_synth' is not a GEAR synthesizer: missing PARAMETERS "
            "(see gear.synthesizers for the contract)",
        ),
        (
            four_factor_spec(parameters={**four_factor_spec()["parameters"], "pich": {"min": 1, "max": 2, "num": 2}}),
            "config: datasets.d.parameters.pich: synthesizer 'four_factor_synth' has no parameter 'pich' "
            "(it has pitch, spread, balance, ring)",
        ),
        (
            four_factor_spec(parameters={k: v for k, v in four_factor_spec()["parameters"].items() if k != "ring"}),
            "config: datasets.d.parameters: synthesizer 'four_factor_synth' needs a range for 'ring' "
            "(it declares no default)",
        ),
        (
            four_factor_spec(parameters={**four_factor_spec()["parameters"], "ring": {"min": 0.05, "max": 20, "num": 2}}),
            "config: datasets.d.parameters.ring.max: 20 s is above what synthesizer 'four_factor_synth' allows "
            "(at most 10 s)",
        ),
        (
            four_factor_spec(parameters={**four_factor_spec()["parameters"], "pitch": {"min": 100, "max": 4000, "num": 2}}),
            "config: datasets.d.parameters.pitch.max: 4000 Hz is not below Nyquist (4000.0 Hz)",
        ),
        (
            {"synthesizer": "harmonic", "parameters": {name: {"min": low, "max": 2 * low, "num": 101}
                                                        for name, low in (("f1", 100.0), ("alpha", 0.2), ("r", 0.2))}},
            "config: datasets.d: a grid of 101 x 101 x 101 = 1,030,301 sounds is more than 1,000,000; "
            "use design: sobol or lhs with n_sounds for many factors",
        ),
        (
            four_factor_spec(design="sobol"),
            "config: datasets.d.parameters.pitch.num: used by the grid design only (design is sobol)",
        ),
        (
            {**broken_spec(), "design": "lhs"},
            "config: datasets.d.parameters.level.num: used by the grid design only (design is lhs)",
        ),
        (
            {"synthesizer": "broken_synths", "parameters": {"level": {"min": 0.1, "max": 1.0}}, "design": "lhs"},
            "config: datasets.d: the lhs design needs n_sounds",
        ),
        (
            four_factor_spec(options={"gain": 2}),
            "config: datasets.d.options.gain: synthesizer 'four_factor_synth' has no option 'gain' (its options: peak)",
        ),
    ],
)
def test_bad_dataset_entries_are_one_line_errors(spec, message):
    with pytest.raises(ConfigError) as error:
        resolve_dataset(spec, "d")
    assert str(error.value) == message


@pytest.mark.parametrize(
    "mode, spec, message",
    [
        ("shape", broken_spec(),
         "synthesizer 'broken_synths': synthesize returned shape (3, 161), expected (3, 160) "
         "(n_sounds, round(duration * sample_rate))"),
        ("nan", broken_spec(),
         "synthesizer 'broken_synths': NaN or infinite samples in 1 sound(s), first 00001 (level = 0.55)"),
        ("ok", broken_spec(low=0.0),
         "synthesizer 'broken_synths': 1 silent sound(s), first 00000 (level = 0)"),
        ("raise", broken_spec(),
         "synthesizer 'broken_synths': synthesize failed: RuntimeError: out of oscillators"),
    ],
)  # fmt: skip
def test_bad_renders_name_the_synthesizer_and_the_sound(mode, spec, message):
    set_mode(mode)
    with pytest.raises(SynthesizerError) as error:
        make_dataset(spec)
    assert str(error.value) == message and "\n" not in message


def test_contract_violations_in_parameter_declarations(monkeypatch):
    import broken_synths

    for declared, message in [
        ([{"name": "x", "scale": "bark"}], "synthesizer 'broken_synths': parameter 'x': unknown scale 'bark'"),
        ([{"name": "x"}, {"name": "x"}], "synthesizer 'broken_synths': parameter(s) declared twice: x"),
        ([{"name": "x", "colour": "red"}], "synthesizer 'broken_synths': parameter 'x': unknown field(s) colour"),
        ([], "synthesizer 'broken_synths': PARAMETERS is empty"),
    ]:
        monkeypatch.setattr(broken_synths, "PARAMETERS", declared)
        with pytest.raises(SynthesizerError) as error:
            load_synthesizer("broken_synths")
        assert str(error.value).startswith(message)


def test_builtins_load_and_declare_units():
    harmonic = load_synthesizer("harmonic")
    assert harmonic.names == ["f1", "alpha", "r"] and harmonic.parameter("f1").unit == "Hz"
    assert load_synthesizer("gear2023").resample_to_model_rate is False


@pytest.mark.parametrize("design", ["grid", "sobol"])
def test_default_ranges_serve_every_design(design):
    settings = {"n_sounds": 16} if design == "sobol" else {}
    resolved = resolve_dataset({"synthesizer": "harmonic", "design": design, **settings})
    f1 = resolved.ranges[0]
    assert (f1.min, f1.max, f1.scale) == (65.41, 1046.5, "log")
    assert resolved.n_sounds == (10 * 16 * 16 if design == "grid" else 16)
