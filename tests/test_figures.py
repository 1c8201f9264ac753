"""Tests of gear.figures: selections, axes properties and file output."""

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import LogNorm

from gear.errors import ConfigError, DataError
from gear.parameters import Parameter
from gear.figures import (
    ISOMAP_CMAP,
    clipped_fractions,
    cube_limits,
    plot_isomap_grid,
    plot_regression_ratios,
    plot_scorecard,
    plot_sound_grid,
    ratio_ticks,
    save_figure,
    select_grid_sounds,
    short_reason,
)


PARAMETERS = [Parameter("f1", unit="Hz", scale="log", label="$f_1$"), Parameter("alpha", label=r"$\alpha$"),
              Parameter("r", label="$r$")]  # fmt: skip
GRID = ("alpha", "r")


def _grid_params(f1=(100.0, 200.0, 800.0), n_alpha=7, n_r=6, seed=0):
    """Full factorial table in shuffled row order."""
    rows = list(itertools.product(f1, np.linspace(0.0, 2.0, n_alpha), np.linspace(0.0, 0.9, n_r)))
    params = pd.DataFrame(rows, columns=["f1", "alpha", "r"])
    params = params.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    params.insert(0, "sound_id", np.arange(len(params)))
    return params


def _texts(fig):
    """Every text string drawn in the figure or any of its axes."""
    found = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        found += [t.get_text() for t in ax.texts]
        found.append(ax.get_title())
    return found


# -- select_grid_sounds ------------------------------------------------------


def test_select_grid_sounds_orders_r_across_columns_alpha_down_rows():
    params = _grid_params()
    index = select_grid_sounds(params, GRID, n_rows=5, n_cols=5)
    assert index.shape == (5, 5)
    assert (index >= 0).all()
    alpha = params["alpha"].to_numpy()[index]
    r = params["r"].to_numpy()[index]
    # Each column shares one r, each row one alpha, both strictly increasing.
    assert (r == r[0]).all() and (np.diff(r[0]) > 0).all()
    assert (alpha == alpha[:, :1]).all() and (np.diff(alpha[:, 0]) > 0).all()
    # Ends of the value ranges are included.
    assert r[0, 0] == params["r"].min() and r[0, -1] == params["r"].max()
    assert alpha[0, 0] == params["alpha"].min() and alpha[-1, 0] == params["alpha"].max()
    # First sound in row order with that pair.
    for (i, j), k in np.ndenumerate(index):
        match = np.flatnonzero((params["alpha"] == alpha[i, j]) & (params["r"] == r[i, j]))
        assert k == match[0]


def test_select_grid_sounds_small_and_incomplete_grids():
    params = pd.DataFrame({"f1": [1.0, 1.0, 1.0], "alpha": [0.0, 0.0, 1.0], "r": [0.1, 0.5, 0.1]})
    index = select_grid_sounds(params, GRID, n_rows=5, n_cols=5)
    # Only two distinct values each: a 2 x 2 grid, one missing pair.
    np.testing.assert_array_equal(index, [[0, 1], [2, -1]])


def test_select_grid_sounds_rejects_bad_input():
    with pytest.raises(DataError, match="alpha"):
        select_grid_sounds(pd.DataFrame({"r": [0.1]}), GRID)
    with pytest.raises(DataError, match="NaN"):
        select_grid_sounds(pd.DataFrame({"alpha": [np.nan], "r": [0.1]}), GRID)
    with pytest.raises(ConfigError):
        select_grid_sounds(_grid_params(), GRID, n_rows=0)


# -- plot_sound_grid -------------------------------------------------------


def test_plot_sound_grid_draws_selected_waveforms():
    params = _grid_params(n_alpha=5, n_r=5)
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((len(params), 256))
    fig = plot_sound_grid(audio, params, PARAMETERS, GRID, sample_rate=1000.0)
    index = select_grid_sounds(params, GRID)
    axes = {ax.get_label(): ax for ax in fig.axes}
    assert len(fig.axes) == 2 * index.size
    for (i, j), k in np.ndenumerate(index):
        wave = axes[f"waveform[{i},{j}]"].lines[0]
        np.testing.assert_array_equal(wave.get_ydata(), audio[k])
        spectrum = axes[f"spectrum[{i},{j}]"].lines[0]
        np.testing.assert_allclose(spectrum.get_ydata(), np.abs(np.fft.rfft(audio[k])))
        assert f"{params['f1'].iloc[k]:.4g}" in axes[f"waveform[{i},{j}]"].get_title()
    # Seconds and Hz when a sample rate is given.
    assert axes["waveform[0,0]"].get_xlim()[1] == pytest.approx(255 / 1000.0)
    assert axes["spectrum[0,0]"].lines[0].get_xdata()[-1] == pytest.approx(500.0)
    labels = " ".join(fig_text.get_text() for fig_text in fig.texts)
    for value in np.unique(params["r"]):
        assert f"{value:.3g}" in labels


def test_plot_sound_grid_units_without_sample_rate():
    params = _grid_params(n_alpha=2, n_r=2)
    audio = np.ones((len(params), 64))
    fig = plot_sound_grid(audio, params, PARAMETERS, GRID, n_rows=2, n_cols=2)
    axes = {ax.get_label(): ax for ax in fig.axes}
    np.testing.assert_array_equal(axes["waveform[0,0]"].lines[0].get_xdata(), np.arange(64))
    np.testing.assert_array_equal(axes["spectrum[0,0]"].lines[0].get_xdata(), np.arange(33))


def test_plot_sound_grid_checks_lengths():
    params = _grid_params(n_alpha=2, n_r=2)
    with pytest.raises(DataError, match="sounds"):
        plot_sound_grid(np.zeros((len(params) + 1, 8)), params, PARAMETERS, GRID)


# -- plot_isomap_grid --------------------------------------------------------


def _coordinates(params, models, seed=0):
    rng = np.random.default_rng(seed)
    # Unequal spreads per dimension, so equal limits are not a given.
    scale = np.array([10.0, 1.0, 0.1])
    return {m: rng.standard_normal((len(params), 3)) * scale + 5.0 for m in models}


def test_plot_isomap_grid_axes_cmap_and_equal_limits():
    params = _grid_params()
    coords = _coordinates(params, ["a", "b"])
    fig = plot_isomap_grid(coords, params, PARAMETERS)
    axes3d = [ax for ax in fig.axes if ax.name == "3d"]
    assert len(axes3d) == 2 * 3
    assert [ax.get_label() for ax in axes3d] == [
        f"isomap:{m}:{p}" for m in ("a", "b") for p in ("f1", "alpha", "r")
    ]
    for ax in axes3d:
        (scatter,) = ax.collections
        assert scatter.get_cmap().name == ISOMAP_CMAP
        spans = [np.ptp(lim) for lim in (ax.get_xlim(), ax.get_ylim(), ax.get_zlim())]
        assert spans == pytest.approx([spans[0]] * 3)
        # Every point is inside the cube.
        model = ax.get_label().split(":")[1]
        for d, lim in enumerate((ax.get_xlim(), ax.get_ylim(), ax.get_zlim())):
            assert lim[0] <= coords[model][:, d].min() and coords[model][:, d].max() <= lim[1]
    # f1 spans a factor 8: log colours; alpha: linear.
    by_label = {ax.get_label(): ax for ax in axes3d}
    assert isinstance(by_label["isomap:a:f1"].collections[0].norm, LogNorm)
    assert not isinstance(by_label["isomap:a:alpha"].collections[0].norm, LogNorm)
    # One colorbar per column.
    assert sum(ax.get_label().startswith("colorbar:") for ax in fig.axes) == 3


def test_plot_isomap_grid_linear_f1_when_narrow():
    params = _grid_params(f1=(100.0, 300.0))
    fig = plot_isomap_grid(_coordinates(params, ["a"]), params, PARAMETERS)
    ax = next(ax for ax in fig.axes if ax.get_label() == "isomap:a:f1")
    assert not isinstance(ax.collections[0].norm, LogNorm)


def test_plot_isomap_grid_unavailable_text_panel():
    params = _grid_params()
    fig = plot_isomap_grid(_coordinates(params, ["a"]), params, PARAMETERS, unavailable={"b": "weights not found"})
    assert sum(ax.name == "3d" for ax in fig.axes) == 3
    panel = next(ax for ax in fig.axes if ax.get_label() == "unavailable:b")
    assert any("unavailable: weights not found" in t.get_text() for t in panel.texts)


def test_plot_isomap_grid_wrong_shape_names_model():
    params = _grid_params()
    coords = _coordinates(params, ["good"])
    coords["broken-model"] = np.zeros((len(params), 2))
    with pytest.raises(DataError, match="broken-model"):
        plot_isomap_grid(coords, params, PARAMETERS)
    coords["broken-model"] = np.zeros((len(params) - 1, 3))
    with pytest.raises(DataError, match="broken-model"):
        plot_isomap_grid(coords, params, PARAMETERS)


def test_cube_limits_equal_spans_ignoring_nan():
    points = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, 0.0], [np.nan, 100.0, 0.0]])
    limits = cube_limits(points, margin=0.0)
    np.testing.assert_allclose(limits, [[0, 4], [-1.5, 2.5], [-2, 2]])


# -- plot_regression_ratios ------------------------------------------------


def _hand_made_ratios():
    # m1/f1: 8 values, 2 below 1/3 (one of them 0), 1 above 3, 1 NaN.
    m1_f1 = [0.0, 0.2, 0.5, 1.0, 1.1, 2.0, 3.0, 5.0, np.nan]
    # m2/f1: all inside; "r" is undefined (NaN) for every sound of m2.
    m2_f1 = [0.9, 1.0, 1.1, 1 / 3]
    rows = [("m1", "f1", v) for v in m1_f1] + [("m2", "f1", v) for v in m2_f1]
    rows += [("m1", "r", v) for v in [0.5, 4.0]] + [("m2", "r", np.nan)] * 3
    return pd.DataFrame(rows, columns=["model", "parameter", "ratio"])


def test_clipped_fractions_hand_made():
    counts = clipped_fractions(_hand_made_ratios()).set_index(["model", "parameter"])
    m1 = counts.loc[("m1", "f1")]
    assert (m1["n"], m1["n_nan"], m1["n_below"], m1["n_above"]) == (9, 1, 2, 1)
    assert m1["fraction_clipped"] == pytest.approx(3 / 8)
    assert counts.loc[("m2", "f1"), "fraction_clipped"] == 0.0  # 1/3 is on the border
    assert counts.loc[("m1", "r"), "fraction_clipped"] == pytest.approx(0.5)
    assert np.isnan(counts.loc[("m2", "r"), "fraction_clipped"])


def test_plot_regression_ratios_axes_and_annotations():
    fig = plot_regression_ratios(
        _hand_made_ratios(), parameters=("f1", "r"), unavailable={"m3": "no weights"}
    )
    fig.draw_without_rendering()
    axes = {ax.get_label(): ax for ax in fig.axes}
    assert set(axes) == {"ratio:f1", "ratio:r"}
    for ax in axes.values():
        assert ax.get_xscale() == "log"
        assert ax.get_xlim() == pytest.approx((1 / 3, 3))
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1/3", "1/2", "1", "2", "3"]
        assert list(ax.get_yticks()) == [0, 1, 2]
        # Every defined ratio is drawn, clipped to the limits.
        points = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
        assert points.min() >= 1 / 3 - 1e-12 and points.max() <= 3 + 1e-12
    # Models on a shared axis, labelled on the first panel, first on top.
    labels = [t.get_text() for t in axes["ratio:f1"].get_yticklabels()]
    assert labels == ["m1", "m2", "m3"]
    assert axes["ratio:f1"].get_ylim()[0] > axes["ratio:f1"].get_ylim()[1]
    assert len(axes["ratio:f1"].collections) == 2
    assert sum(len(c.get_offsets()) for c in axes["ratio:f1"].collections) == 8 + 4

    notes = {
        p: [t.get_text() for t in axes[f"ratio:{p}"].child_axes[0].get_yticklabels()] for p in ("f1", "r")
    }
    assert notes["f1"] == ["38% clipped, 1 undefined", "0% clipped", "unavailable"]
    assert notes["r"] == ["50% clipped", "all 3 undefined", "unavailable"]
    assert any(t.get_text() == "unavailable" for t in axes["ratio:f1"].texts)


def test_plot_regression_ratios_missing_parameter_and_bad_limits():
    fig = plot_regression_ratios(_hand_made_ratios(), parameters=("alpha",))
    fig.draw_without_rendering()
    (ax,) = fig.axes
    notes = [t.get_text() for t in ax.child_axes[0].get_yticklabels()]
    assert notes == ["no data", "no data"]
    with pytest.raises(ConfigError):
        plot_regression_ratios(_hand_made_ratios(), ("f1", "r"), ylim=(2, 3))


def test_ratio_ticks_labels():
    ticks, labels = ratio_ticks((1 / 3, 3))
    np.testing.assert_allclose(ticks, [1 / 3, 1 / 2, 1, 2, 3])
    assert labels == ["1/3", "1/2", "1", "2", "3"]


# -- save_figure -----------------------------------------------------------


def test_save_figure_writes_png_and_pdf_atomically(tmp_path):
    params = _grid_params(n_alpha=2, n_r=2)
    fig = plot_sound_grid(np.ones((len(params), 32)), params, PARAMETERS, GRID, n_rows=2, n_cols=2)
    png, pdf = tmp_path / "a" / "fig.png", tmp_path / "b" / "c" / "fig.pdf"
    save_figure(fig, [png, str(pdf)])
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["fig.pdf", "fig.png"]
    # Overwriting works and a single path is accepted.
    save_figure(fig, png)
    assert png.stat().st_size > 0


def test_save_figure_rejects_unknown_suffix_before_writing(tmp_path):
    params = _grid_params(n_alpha=2, n_r=2)
    fig = plot_sound_grid(np.ones((len(params), 32)), params, PARAMETERS, GRID, n_rows=2, n_cols=2)
    with pytest.raises(ConfigError, match="suffix"):
        save_figure(fig, [tmp_path / "ok.png", tmp_path / "bad.jpeg"])
    assert list(tmp_path.iterdir()) == []


def test_scorecard_ranks_models_per_parameter():
    scores = pd.DataFrame({"f1": [0.9, 0.99, np.nan], "r": [-0.2, 0.6, 0.4]}, index=["a", "b", "c"])
    figure = plot_scorecard(scores, "probe")
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts == ["0.90 (2)", "-0.20 (3)", "0.99 (1)", "0.60 (1)", "n/a", "0.40 (2)"]
    with pytest.raises(DataError, match="no scores"):
        plot_scorecard(pd.DataFrame())


def test_short_reason_keeps_the_gist_on_one_line():
    reason = (
        "model 'openl3': loading failed: ModelError: openl3: pretrained weights not found on this machine "
        "(nothing is downloaded at run time). Download https://example.org/weights.pth.tar, then give its "
        "path as `weights:` of model 'openl3' in config.yaml."
    )
    gist = short_reason(reason)
    assert gist == "pretrained weights not found on this machine (nothing is downloaded at run time)."
    assert short_reason("cannot import HEAR module 'x'") == "cannot import HEAR module 'x'"
    yamnet = "model 'yamnet': loading failed: ModelError: YAMNet needs its weights, which GEAR cannot download"
    assert short_reason(yamnet) == "YAMNet needs its weights, which GEAR cannot download"
    long = short_reason("word " * 100, width=60)
    assert len(long) <= 60 and long.endswith("...") and "\n" not in long


# -- any synthesizer: many parameters, scales, parameters without a ratio --


def test_plot_isomap_grid_wraps_many_parameters_into_bands():
    rng = np.random.default_rng(1)
    names = [f"factor_{i}" for i in range(6)]
    params = pd.DataFrame(rng.uniform(1, 2, (40, 6)), columns=names)
    params.insert(0, "sound_id", np.arange(40))
    fig = plot_isomap_grid(_coordinates(params, ["a", "b"]), params, names, max_columns=4)
    labels = [ax.get_label() for ax in fig.axes]
    assert [label for label in labels if label.startswith("isomap:a:")] == [f"isomap:a:{n}" for n in names]
    assert sum(label.startswith("colorbar:") for label in labels) == 6
    # Two bands: the fifth parameter's panels sit below the first band's.
    by_label = {ax.get_label(): ax for ax in fig.axes}
    assert by_label["isomap:b:factor_4"].get_position().y1 < by_label["isomap:b:factor_0"].get_position().y0
    assert by_label["isomap:a:factor_4"].get_position().x0 == pytest.approx(
        by_label["isomap:a:factor_0"].get_position().x0
    )


def test_colours_follow_a_perceptual_scale():
    params = _grid_params(f1=(100.0, 1000.0, 4000.0))
    mel = [Parameter("f1", unit="Hz", scale="mel"), Parameter("alpha"), Parameter("r")]
    fig = plot_isomap_grid(_coordinates(params, ["a"]), params, mel)
    norm = next(ax for ax in fig.axes if ax.get_label() == "isomap:a:f1").collections[0].norm
    # 1000 Hz is halfway between 0 and 2000 mel, not at a linear or log position.
    assert norm(1000.0) == pytest.approx((1000.0 - 150.49) / (2146.06 - 150.49), abs=1e-3)


def test_plot_regression_ratios_shows_the_error_of_a_parameter_without_ratio():
    rows = [("m1", "rate", np.nan, e) for e in (-0.2, 0.0, 0.1, 0.9)]
    ratios = pd.DataFrame(rows, columns=["model", "parameter", "ratio", "error"])
    rate = Parameter("rate", unit="octaves/s", min=-4.0, max=4.0)
    fig = plot_regression_ratios(ratios, [rate])
    fig.draw_without_rendering()
    (ax,) = [ax for ax in fig.axes if ax.get_label().startswith("error:")]
    assert ax.get_xscale() == "linear" and ax.get_xlim() == pytest.approx((-0.5, 0.5))
    points = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    np.testing.assert_allclose(np.sort(points), [-0.2, 0.0, 0.1, 0.5])  # 0.9 clipped to the border
    assert [t.get_text() for t in ax.child_axes[0].get_yticklabels()] == ["25% clipped"]


def test_select_grid_sounds_nearest_for_quasi_random_designs():
    rng = np.random.default_rng(2)
    params = pd.DataFrame({"a": rng.uniform(0, 1, 500), "b": rng.uniform(0, 1, 500)})
    exact = select_grid_sounds(params, ("a", "b"), 3, 3)
    assert (exact[1:-1, 1:-1] == -1).all()  # continuous values: no exact pairs
    nearest = select_grid_sounds(params, ("a", "b"), 3, 3, nearest=True)
    assert (nearest >= 0).all()
    # The centre cell holds a sound near the middle of both ranges.
    centre = params.iloc[nearest[1, 1]]
    assert abs(centre["a"] - np.median(params["a"])) < 0.1 and abs(centre["b"] - np.median(params["b"])) < 0.1
