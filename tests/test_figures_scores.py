"""Tests of the figures of scores with intervals: scorecards, sweep profiles, Figure 4's medians."""

import numpy as np
import pandas as pd
import pytest

from gear.errors import ConfigError, DataError
from gear.figures import plot_scorecard, plot_scorecards, save_figure
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
