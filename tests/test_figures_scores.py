"""Tests of the figures of scores with intervals: scorecards, sweep profiles, Figure 4's medians."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from gear.errors import ConfigError, DataError
from gear.figures import (
    NO_SWEEPS,
    plot_regression_ratios,
    plot_scorecard,
    plot_scorecards,
    plot_sweep_profiles,
    save_figure,
)
from gear.parameters import Parameter


def _cell_texts(ax):
    """Texts of a heat map's cells, keyed by (row, column) position."""
    return {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}


def _tied_frames(ax):
    """gid -> frame patch of the cells marked as tied."""
    return {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith("tied:")}


def _scorecard_tables():
    scores = pd.DataFrame({"f1": [0.9, 0.99, np.nan], "r": [-0.2, 0.6, 0.55]}, index=["a", "b", "c"])
    low = pd.DataFrame({"f1": [0.85, 0.97, np.nan], "r": [-0.31, np.nan, 0.41]}, index=scores.index)
    high = pd.DataFrame({"f1": [0.93, 1.0, np.nan], "r": [-0.1, np.nan, 0.62]}, index=scores.index)
    # b is best on both; c is tied with it on r; NaN (no test) is no tie.
    tied = pd.DataFrame(
        {"f1": [False, True, np.nan], "r": [False, True, True]}, index=scores.index, dtype=object
    )
    return scores, low, high, tied


# -- plot_scorecard with intervals and ties -----------------------------------


def test_scorecard_cells_show_value_rank_and_interval():
    scores, low, high, tied = _scorecard_tables()
    # Tables in another order are aligned on labels, not positions.
    fig = plot_scorecard(scores, "probe", low=low[::-1], high=high, tied=tied[["r", "f1"]])
    (ax,) = [ax for ax in fig.axes if ax.get_label() == "scorecard:0"]
    cells = {key: t.get_text() for key, t in _cell_texts(ax).items()}
    assert cells == {
        (0, 0): "0.90 (2)\n[0.85, 0.93]",
        (1, 0): "0.99 (1)\n[0.97, 1.00]",
        (2, 0): "n/a",
        (0, 1): "-0.20 (3)\n[-0.31, -0.10]",
        (1, 1): "0.60 (1)\nno interval",  # an interval not resampled is not made up
        (2, 1): "0.55 (2)\n[0.41, 0.62]",
    }
    # Exactly the tied cells are framed and bold, the best included.
    frames = _tied_frames(ax)
    assert set(frames) == {"tied:b:f1", "tied:b:r", "tied:c:r"}
    x, y = frames["tied:c:r"].get_xy()
    assert (x + frames["tied:c:r"].get_width() / 2, y + frames["tied:c:r"].get_height() / 2) == pytest.approx(
        (1, 2)
    )
    bold = {key for key, t in _cell_texts(ax).items() if t.get_fontweight() == "bold"}
    assert bold == {(1, 0), (1, 1), (2, 1)}
    # The footnote says how ties are decided.
    footnote = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert "paired bootstrap, 95 %" in footnote and "tied with the best" in footnote


def test_scorecard_without_intervals_keeps_its_cells_and_has_no_footnote():
    scores, *_ = _scorecard_tables()
    fig = plot_scorecard(scores)
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "0.90 (2)",
        "-0.20 (3)",
        "0.99 (1)",
        "0.60 (1)",
        "n/a",
        "0.55 (2)",
    ]
    assert not _tied_frames(fig.axes[0]) and not fig.texts
    # Ties alone: marked, footnote without an interval.
    tied = pd.DataFrame(False, index=scores.index, columns=scores.columns)
    tied.loc["a", "f1"] = True
    fig = plot_scorecard(scores, tied=tied, level=0.9)
    assert set(_tied_frames(fig.axes[0])) == {"tied:a:f1"}
    footnote = fig.texts[0].get_text().replace("\n", " ")
    assert "90 %" in footnote and "interval" not in footnote


def test_scorecard_rejects_inconsistent_tables():
    scores, low, high, tied = _scorecard_tables()
    with pytest.raises(DataError, match="low and high"):
        plot_scorecard(scores, low=low)
    with pytest.raises(DataError, match=r"high lacks model\(s\) \['c'\]"):
        plot_scorecard(scores, low=low, high=high.drop(index="c"))
    with pytest.raises(DataError, match=r"tied lacks .*column\(s\) \['r'\]"):
        plot_scorecard(scores, tied=tied[["f1"]])


# -- plot_scorecards -----------------------------------------------------------


def _panel(title, shift, vmin=0.0, vmax=1.0):
    scores, low, high, tied = _scorecard_tables()
    return {"title": title, "scores": scores + shift, "low": low + shift, "high": high + shift, "tied": tied,
            "vmin": vmin, "vmax": vmax}  # fmt: skip


def test_scorecards_one_heat_map_per_headline_score(tmp_path):
    panels = [_panel("monotonicity", -0.5, vmin=-1.0), _panel("K-NN R²", 0.0), _panel("MLP R²", 0.01)]
    fig = plot_scorecards(panels, "headline scores")
    axes = {ax.get_label(): ax for ax in fig.axes}
    assert {f"scorecard:{i}" for i in range(3)} | {f"colorbar:scorecard:{i}" for i in range(3)} == set(axes)
    for i, panel in enumerate(panels):
        ax = axes[f"scorecard:{i}"]
        assert ax.get_title() == panel["title"]
        # Each panel has its own colour range, shown by its own colorbar.
        assert ax.images[0].get_clim() == (panel["vmin"], panel["vmax"])
        assert axes[f"colorbar:scorecard:{i}"].get_xlim() == pytest.approx((panel["vmin"], panel["vmax"]))
        assert set(_tied_frames(ax)) == {"tied:b:f1", "tied:b:r", "tied:c:r"}
    assert _cell_texts(axes["scorecard:0"])[(0, 0)].get_text() == "0.40 (2)\n[0.35, 0.43]"
    assert _cell_texts(axes["scorecard:2"])[(1, 1)].get_text() == "0.61 (1)\nno interval"
    # Side by side on a shared model axis: only the first panel names the models.
    assert axes["scorecard:0"].get_position().x1 < axes["scorecard:1"].get_position().x0
    assert [t.get_text() for t in axes["scorecard:0"].get_yticklabels()] == ["a", "b", "c"]
    assert {t.get_text() for t in axes["scorecard:1"].get_yticklabels()} <= {""}
    assert fig.get_suptitle() == "headline scores"
    assert sum("paired bootstrap" in t.get_text() for t in fig.texts) == 1
    save_figure(fig, tmp_path / "scorecards.png")


def test_scorecards_stack_when_wide_and_name_models_of_each_panel():
    wide = pd.DataFrame(np.linspace(0, 1, 14)[None].repeat(2, axis=0), index=["a", "b"],
                        columns=[f"p{i}" for i in range(14)])  # fmt: skip
    other = wide.rename(index={"a": "z"})
    fig = plot_scorecards([{"scores": wide}, {"scores": other, "vmax": 2.0}])
    top, bottom = (next(ax for ax in fig.axes if ax.get_label() == f"scorecard:{i}") for i in (0, 1))
    assert top.get_position().y0 > bottom.get_position().y1
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["z", "b"]
    assert bottom.images[0].get_clim() == (0.0, 2.0)
    assert not fig.texts  # no interval, no tie: nothing to explain
    # Explicitly side by side: two panels, different models, each names its own.
    fig = plot_scorecards([{"scores": wide}, {"scores": other}], arrangement="row")
    left, right = (next(ax for ax in fig.axes if ax.get_label() == f"scorecard:{i}") for i in (0, 1))
    assert left.get_position().x1 < right.get_position().x0
    assert [t.get_text() for t in right.get_yticklabels()] == ["z", "b"]


def test_scorecards_reject_bad_panels():
    with pytest.raises(DataError, match="no panels"):
        plot_scorecards([])
    with pytest.raises(ConfigError, match="unknown key"):
        plot_scorecards([{"scores": _scorecard_tables()[0], "vmn": 0.0}])
    with pytest.raises(DataError, match=r"panel 1 \('MLP'\): scorecard: low and high"):
        plot_scorecards(
            [
                _panel("K-NN", 0.0),
                {"title": "MLP", "scores": _scorecard_tables()[0], "low": _scorecard_tables()[1]},
            ]
        )
    with pytest.raises(ConfigError, match="arrangement"):
        plot_scorecards([_panel("K-NN", 0.0)], arrangement="grid")


# -- plot_sweep_profiles ---------------------------------------------------------

SWEEP_PARAMETERS = [
    Parameter("f1", unit="Hz", scale="log", label="$f_1$"),
    Parameter("alpha", label=r"$\alpha$"),
    Parameter("decay", unit="s", label="decay time"),
]


def _profiles():
    """m1 grows linearly along f1 (5 steps) and alpha (3 steps); m2 folds f1 back; no sweep of decay."""
    rows = []
    for step, (linear, folded) in enumerate(zip([0, 0.25, 0.5, 0.75, 1.0], [0, 0.7, 1.0, 0.6, 0.1])):
        rows.append(("m1", "f1", step, linear, linear - 0.05, linear + 0.05, 12))
        rows.append(("m2", "f1", step, folded, folded - 0.1, folded + 0.2, 12))
    for step, value in enumerate([0.0, 0.4, 1.0]):
        rows.append(("m1", "alpha", step, value, value, value, 8))
        rows.append(("m2", "alpha", step, value / 2, 0.0, value, 9))
    table = pd.DataFrame(rows, columns=["model", "parameter", "step", "median", "q1", "q3", "n_sweeps"])
    return table.sample(frac=1.0, random_state=0)  # any row order


def test_sweep_profiles_one_panel_per_parameter_with_median_band_and_diagonal(tmp_path):
    fig = plot_sweep_profiles(_profiles(), SWEEP_PARAMETERS, labels={"m1": "m1", "m2": "model two"})
    axes = {ax.get_label(): ax for ax in fig.axes if ax.get_label().startswith("sweeps:")}
    assert list(axes) == ["sweeps:f1", "sweeps:alpha", "sweeps:decay"]
    f1 = axes["sweeps:f1"]
    assert f1.get_title().splitlines() == ["$f_1$ (Hz)", "12 sweeps of 5 steps"]
    assert f1.get_xlabel() == "sweep step ($f_1$ increasing)"
    assert f1.get_ylabel() == "distance from start (normalised)"
    lines = {line.get_gid(): line for line in f1.lines}
    # Medians in step order, whatever the row order of the table.
    np.testing.assert_allclose(lines["sweep:m1:f1"].get_xdata(), np.arange(5))
    np.testing.assert_allclose(lines["sweep:m2:f1"].get_ydata(), [0, 0.7, 1.0, 0.6, 0.1])
    assert lines["sweep:m2:f1"].get_label() == "model two" and lines["sweep:m1:f1"].get_label() == "m1"
    # The diagonal runs from (0, 0) to (n - 1, 1): m1 follows it exactly.
    np.testing.assert_allclose(np.column_stack(lines["linear"].get_data()), [[0, 0], [4, 1]])
    np.testing.assert_allclose(lines["sweep:m1:f1"].get_ydata(), np.arange(5) / 4)
    np.testing.assert_allclose(np.column_stack(axes["sweeps:alpha"].lines[0].get_data()), [[0, 0], [2, 1]])
    # Interquartile bands span q1 to q3 of each model.
    bands = {band.get_gid(): band for band in f1.collections}
    band = bands["iqr:m2:f1"].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(-0.1) and band.max() == pytest.approx(1.2)
    # The same colour for a model in every panel, different between models.
    by_panel = {p: {l.get_gid(): l.get_color() for l in axes[f"sweeps:{p}"].lines} for p in ("f1", "alpha")}
    assert by_panel["f1"]["sweep:m1:f1"] == by_panel["alpha"]["sweep:m1:alpha"]
    assert by_panel["f1"]["sweep:m1:f1"] != by_panel["f1"]["sweep:m2:f1"]
    assert np.allclose(bands["iqr:m2:f1"].get_facecolor()[0][:3], to_rgb(by_panel["f1"]["sweep:m2:f1"]))
    # Different sweep counts are given as a range.
    assert axes["sweeps:alpha"].get_title().splitlines()[1] == "8-9 sweeps of 3 steps"
    # A parameter without sweeps says so and draws nothing.
    decay = axes["sweeps:decay"]
    assert [t.get_text() for t in decay.texts] == [NO_SWEEPS] and not decay.lines
    assert NO_SWEEPS == "no one-parameter sweeps in this design"
    (legend,) = fig.legends
    # Models in the order of the labels, then the diagonal and the band explained.
    assert [t.get_text() for t in legend.get_texts()] == [
        "m1",
        "model two",
        "interquartile range over sweeps",
        "linear, monotonic",
    ]
    # Without labels: ids, in order of first appearance.
    fig = plot_sweep_profiles(_profiles(), SWEEP_PARAMETERS[:1])
    first = list(pd.unique(_profiles()["model"]))
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == first
    save_figure(fig, tmp_path / "sweeps.png")


def test_sweep_profiles_wrap_into_rows_of_four():
    names = [f"p{i}" for i in range(6)]
    table = pd.DataFrame(
        [("m", name, step, step / 2, step / 2, step / 2, 3) for name in names for step in range(3)],
        columns=["model", "parameter", "step", "median", "q1", "q3", "n_sweeps"],
    )
    fig = plot_sweep_profiles(table, names)
    axes = {ax.get_label(): ax for ax in fig.axes if ax.get_label().startswith("sweeps:")}
    assert list(axes) == [f"sweeps:{name}" for name in names]
    row = [axes[f"sweeps:{name}"].get_position().y0 for name in names]
    assert row[0] == pytest.approx(row[3]) and row[4] == pytest.approx(row[5]) and row[4] < row[3] - 0.1
    # Panels of a row side by side, in order.
    x = [axes[f"sweeps:p{i}"].get_position().x0 for i in range(4)]
    assert x == sorted(x) and axes["sweeps:p4"].get_position().x0 == pytest.approx(x[0])


def test_sweep_profiles_reject_bad_tables():
    with pytest.raises(DataError, match=r"lacks column\(s\) \['n_sweeps'\]"):
        plot_sweep_profiles(_profiles().drop(columns="n_sweeps"), SWEEP_PARAMETERS)
    table = _profiles()
    with pytest.raises(DataError, match="more than once"):
        plot_sweep_profiles(pd.concat([table, table.iloc[:1]]), SWEEP_PARAMETERS)
    with pytest.raises(ConfigError, match="parameters is empty"):
        plot_sweep_profiles(table, [])


# -- Figure 4: the median and its interval -----------------------------------------


def _medians(ax):
    """Errorbar containers of the medians, by label."""
    return {c.get_label(): c for c in ax.containers if c.get_label().startswith("median:")}


def _ratios_and_intervals():
    rows = [("m1", "f1", v, np.nan) for v in (0.8, 0.9, 1.0, 1.2, 1.5)]
    rows += [("m2", "f1", v, np.nan) for v in (2.0, 2.5, 4.0)]
    rows += [(m, "rate", np.nan, e) for m in ("m1", "m2") for e in (-0.1, 0.0, 0.2)]
    ratios = pd.DataFrame(rows, columns=["model", "parameter", "ratio", "error"])
    intervals = pd.DataFrame(
        [
            ("m1", "f1", 1.0, 0.9, 1.2),
            ("m2", "f1", 2.5, 2.0, 4.0),  # high beyond the axis: drawn on its border
            ("m1", "rate", 0.0, -0.1, 0.05),
            ("m2", "rate", 0.02, np.nan, np.nan),  # not resampled: the marker alone
        ],
        columns=["model", "parameter", "median", "low", "high"],
    )
    return ratios, intervals


RATES = [Parameter("f1", unit="Hz", min=20.0), Parameter("rate", unit="octaves/s", min=-4.0, max=4.0)]


def test_regression_ratios_mark_each_median_with_its_interval_above_the_box():
    ratios, intervals = _ratios_and_intervals()
    fig = plot_regression_ratios(ratios, RATES, unavailable={"m3": "no weights"}, intervals=intervals)
    axes = {ax.get_label(): ax for ax in fig.axes}
    f1, rate = axes["ratio:f1"], axes["error:rate"]
    medians = _medians(f1)
    assert set(medians) == {"median:m1:f1", "median:m2:f1"}  # none for the unavailable model
    marker, _, (bar,) = medians["median:m1:f1"]
    (x,), (y,) = marker.get_data()
    assert x == pytest.approx(1.0) and marker.get_marker() == "D"
    # The bar spans the interval, on the model's row, above (y axis inverted: smaller y) its box.
    (segment,) = bar.get_segments()
    np.testing.assert_allclose(segment[:, 0], [0.9, 1.2])
    assert -0.5 < y < -0.25 and segment[0, 1] == pytest.approx(y)
    boxes = [line for line in f1.lines if line.get_color() == "tab:red"]  # the boxes' medians
    assert min(np.min(line.get_ydata()) for line in boxes) > y
    # Clipped to the axis: the high end of m2 (4) sits on the border (3).
    (segment,) = medians["median:m2:f1"][2][0].get_segments()
    np.testing.assert_allclose(segment[:, 0], [2.0, 3.0])
    assert 0.5 < medians["median:m2:f1"][0].get_ydata()[0] < 1
    # A parameter without ratio: the median of the normalized error, on the linear axis.
    rate_medians = _medians(rate)
    (segment,) = rate_medians["median:m1:rate"][2][0].get_segments()
    np.testing.assert_allclose(segment[:, 0], [-0.1, 0.05])
    assert rate_medians["median:m2:rate"][0].get_xdata()[0] == pytest.approx(0.02)
    assert not rate_medians["median:m2:rate"].has_xerr  # no interval, none made up
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["median, with its 95 % bootstrap interval"]


def test_regression_ratios_without_intervals_draw_no_median_and_check_the_table():
    ratios, intervals = _ratios_and_intervals()
    fig = plot_regression_ratios(ratios, RATES)
    assert not any(_medians(ax) for ax in fig.axes) and not fig.legends
    with pytest.raises(DataError, match=r"intervals lacks column\(s\) \['low'\]"):
        plot_regression_ratios(ratios, RATES, intervals=intervals.drop(columns="low"))
    with pytest.raises(DataError, match=r"\['m1', 'f1'\] appears more than once"):
        plot_regression_ratios(ratios, RATES, intervals=pd.concat([intervals, intervals.iloc[:1]]))


def test_sweep_profiles_of_a_design_without_sweeps_say_so_in_every_panel():
    empty = _profiles().iloc[:0]
    fig = plot_sweep_profiles(empty, SWEEP_PARAMETERS)
    panels = [ax for ax in fig.axes if ax.get_label().startswith("sweeps:")]
    assert len(panels) == 3
    assert all([t.get_text() for t in ax.texts] == [NO_SWEEPS] and not ax.lines for ax in panels)
    assert not fig.legends
