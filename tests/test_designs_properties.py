"""Designs checked for what they promise: independent factors, one point per LHS stratum,
sweeps anchored at each anchor's own values, sizes as announced, one-line errors."""

import math
import warnings

import numpy as np
import pytest
from scipy.stats import spearmanr

from gear.designs import DESIGNS, Range, design_size, design_table
from gear.errors import ConfigError


def three_ranges():
    # Different scales, so that a factor copied from another would still be in range.
    return [Range("a", 0.0, 1.0, 3), Range("b", 10.0, 1000.0, 2, "log"), Range("c", -1.0, 1.0, 4)]


def unit_position(values, low, high, scale):
    """Where values sit in [low, high] on their scale, from 0 to 1 (linear and log only)."""
    if scale == "log":
        return (np.log(values) - math.log(low)) / (math.log(high) - math.log(low))
    return (values - low) / (high - low)


@pytest.mark.parametrize("design", ["random", "sobol", "lhs"])
def test_factors_of_space_filling_designs_are_independent(design):
    table = design_table(three_ranges(), design, n_sounds=500, seed=3)
    columns = np.column_stack([table[name] for name in "abc"])
    rho = spearmanr(columns).statistic
    off_diagonal = rho[~np.eye(3, dtype=bool)]
    # Under independence each rho has sd 1 / sqrt(499) = 0.045.
    assert np.all(np.abs(off_diagonal) < 0.15), rho


@pytest.mark.parametrize("design", ["random", "sobol", "lhs"])
@pytest.mark.parametrize("n_sounds", [1, 7, 64])
def test_space_filling_designs_fill_each_range_on_its_scale(design, n_sounds):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Sobol size that is not a power of 2 warns nowhere
        table = design_table(three_ranges(), design, n_sounds=n_sounds, seed=0)
    assert list(table) == ["a", "b", "c"]
    for r in three_ranges():
        values = table[r.name]
        assert values.shape == (n_sounds,) and values.dtype == np.float64
        unit = unit_position(values, r.min, r.max, r.scale)
        assert np.all((unit >= 0) & (unit <= 1)), (r.name, values)
    if n_sounds == 64:
        # Uniform on the scale: b (log) has as many values below 100 as above.
        assert 0.3 < np.mean(table["b"] < 100.0) < 0.7


@pytest.mark.parametrize("n_sounds", [10, 37])
def test_lhs_hits_every_stratum_of_every_factor_once_on_its_scale(n_sounds):
    ranges = three_ranges()
    table = design_table(ranges, "lhs", n_sounds=n_sounds, seed=5)
    for r in ranges:
        strata = np.floor(unit_position(table[r.name], r.min, r.max, r.scale) * n_sounds).astype(int)
        np.testing.assert_array_equal(np.sort(strata), np.arange(n_sounds), err_msg=r.name)


def test_random_design_is_seeded_and_the_default_seed_is_0():
    ranges = three_ranges()
    default = design_table(ranges, "random", n_sounds=20)
    for name in "abc":
        np.testing.assert_array_equal(
            default[name], design_table(ranges, "random", n_sounds=20, seed=0)[name]
        )
        assert not np.array_equal(default[name], design_table(ranges, "random", n_sounds=20, seed=1)[name])


def sweep_blocks(table, ranges, n_anchors, n_steps):
    """The table cut into (anchor, swept factor) blocks of n_steps rows, in design order."""
    blocks = {}
    row = 0
    for anchor in range(n_anchors):
        for k in range(len(ranges)):
            blocks[anchor, k] = {r.name: table[r.name][row : row + n_steps] for r in ranges}
            row += n_steps
    assert row == len(table[ranges[0].name])
    return blocks


def test_sweeps_are_anchored_at_each_anchors_own_values():
    ranges = three_ranges()
    n_anchors, n_steps = 40, 5
    table = design_table(ranges, "sweeps", n_anchors=n_anchors, n_steps=n_steps, seed=0)
    assert len(table["a"]) == design_size(ranges, "sweeps", n_anchors=n_anchors, n_steps=n_steps)
    blocks = sweep_blocks(table, ranges, n_anchors, n_steps)
    anchors = np.full((n_anchors, len(ranges)), np.nan)
    for (anchor, k), block in blocks.items():
        swept = ranges[k]
        # The swept factor runs over its whole range, evenly on its scale.
        expected = (np.geomspace if swept.scale == "log" else np.linspace)(swept.min, swept.max, n_steps)
        np.testing.assert_allclose(block[swept.name], expected, rtol=1e-12)
        for j, other in enumerate(ranges):
            if j == k:
                continue
            held = block[other.name]
            assert np.all(held == held[0]), (anchor, k, other.name)  # constant along the sweep
            if np.isnan(anchors[anchor, j]):
                anchors[anchor, j] = held[0]
            # ... and the same in every sweep from this anchor.
            assert held[0] == anchors[anchor, j], (anchor, k, other.name)
    # Every anchor holds each factor inside its range, ...
    units = np.column_stack(
        [unit_position(anchors[:, j], r.min, r.max, r.scale) for j, r in enumerate(ranges)]
    )
    assert np.all((units > 0) & (units < 1))
    # ... anchors differ, and each factor has its own anchor value, drawn
    # independently of the others (not one number mapped to every range).
    assert len(np.unique(anchors, axis=0)) == n_anchors
    assert not np.any(np.isclose(units[:, 0], units[:, 1]) & np.isclose(units[:, 1], units[:, 2]))
    rho = spearmanr(units).statistic
    assert np.all(np.abs(rho[~np.eye(3, dtype=bool)]) < 0.5), rho


def test_random_draw_in_a_grid_picks_grid_values_independently_of_the_axes():
    ranges = [Range("a", 0.0, 1.0, 20), Range("f", 100.0, 800.0, 4, "log", draw="random")]
    table = design_table(ranges, "grid", seed=1)
    assert len(table["a"]) == design_size(ranges) == 20
    np.testing.assert_array_equal(table["a"], np.linspace(0.0, 1.0, 20))
    octaves = np.log2(table["f"] / 100.0)  # the 4 grid values are 100, 200, 400, 800 Hz
    np.testing.assert_allclose(octaves, np.round(octaves), atol=1e-9)
    assert set(np.round(octaves)) == {0.0, 1.0, 2.0, 3.0}
    again = design_table(ranges, "grid", seed=1)
    np.testing.assert_array_equal(table["f"], again["f"])
    assert not np.array_equal(table["f"], design_table(ranges, "grid", seed=2)["f"])
    assert list(table) == ["a", "f"]


@pytest.mark.parametrize("design", DESIGNS)
def test_design_size_is_the_size_of_the_table(design):
    ranges = three_ranges()
    settings = {"n_sounds": 13, "n_anchors": 3, "n_steps": 4}
    table = design_table(ranges, design, **settings)
    expected = {"grid": 3 * 2 * 4, "sweeps": 3 * 3 * 4}.get(design, 13)
    assert design_size(ranges, design, **settings) == expected
    assert {len(values) for values in table.values()} == {expected}


def test_design_errors_name_the_problem():
    ranges = three_ranges()
    cases = [
        (
            dict(design="latin"),
            "design: unknown design 'latin' (expected one of grid, random, sobol, lhs, sweeps)",
        ),
        (dict(design="sweeps", n_anchors=2), "design sweeps: needs n_anchors and n_steps"),
        (dict(design="sweeps", n_steps=2), "design sweeps: needs n_anchors and n_steps"),
        (dict(design="lhs"), "design lhs: needs n_sounds"),
        (dict(design="random", n_sounds=0), "design random: needs n_sounds"),
    ]
    for settings, message in cases:
        with pytest.raises(ConfigError) as error:
            design_table(ranges, **settings)
        assert str(error.value) == message
    drawn = [Range("a", 0.0, 1.0, 3), Range("f", 1.0, 2.0, 3, draw="random")]
    with pytest.raises(ConfigError) as error:
        design_table(drawn, "sweeps", n_anchors=2, n_steps=2)
    assert str(error.value) == "f: 'draw: random' applies to the grid design only (design is sweeps)"


def test_range_from_unit_maps_ends_and_middle_on_the_scale():
    log_range = Range("f", 100.0, 400.0, scale="log")
    np.testing.assert_allclose(log_range.from_unit([0.0, 0.5, 1.0]), [100.0, 200.0, 400.0], rtol=1e-12)
    linear = Range("x", -1.0, 3.0)
    np.testing.assert_allclose(linear.from_unit([0.0, 0.25, 1.0]), [-1.0, 0.0, 3.0], rtol=1e-12)


def test_the_default_design_is_the_grid():
    ranges = three_ranges()
    default, grid = design_table(ranges), design_table(ranges, "grid")
    for name in "abc":
        np.testing.assert_array_equal(default[name], grid[name])


def test_random_design_is_not_stratified():
    # 50 independent uniform draws hit each of 50 strata once with
    # probability 50! / 50**50 (about 3e-21): that would be a Latin hypercube.
    table = design_table([Range("a", 0.0, 1.0)], "random", n_sounds=50, seed=0)
    strata = np.floor(table["a"] * 50).astype(int)
    assert len(np.unique(strata)) < 50


def test_sobol_points_form_a_net_in_the_first_two_factors():
    # Scrambled Sobol points, 2**6 of them: the first two dimensions are a
    # (0, 6, 2)-net, so every 8 x 8 box holds exactly one point (a Latin
    # hypercube only guarantees one per row and per column of 64).
    ranges = [Range("a", 0.0, 1.0), Range("b", 0.0, 1.0)]
    table = design_table(ranges, "sobol", n_sounds=64, seed=4)
    boxes = np.floor(table["a"] * 8).astype(int) * 8 + np.floor(table["b"] * 8).astype(int)
    np.testing.assert_array_equal(np.sort(boxes), np.arange(64))
    lhs = design_table(ranges, "lhs", n_sounds=64, seed=4)
    lhs_boxes = np.floor(lhs["a"] * 8).astype(int) * 8 + np.floor(lhs["b"] * 8).astype(int)
    assert len(np.unique(lhs_boxes)) < 64


def test_grid_limit_is_inclusive_and_its_error_gives_the_shape():
    from gear.designs import MAX_GRID_SOUNDS

    at_limit = [Range("a", 0.0, 1.0, 1000), Range("b", 0.0, 1.0, MAX_GRID_SOUNDS // 1000)]
    assert len(design_table(at_limit, "grid")["a"]) == MAX_GRID_SOUNDS
    over = [Range("a", 0.0, 1.0, 1001), Range("b", 0.0, 1.0, 1000)]
    with pytest.raises(ConfigError) as error:
        design_table(over, "grid")
    assert str(error.value) == (
        "design grid: 1001 x 1000 = 1,001,000 sounds is more than 1,000,000; "
        "use design: sobol or lhs with n_sounds for many factors"
    )
