"""Interactive views: valid self-contained HTML that really renders in a browser."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import skip_or_fail
from gear.errors import DataError
from gear.views import isomap_view

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def cloud(rng):
    n = 300
    params = pd.DataFrame(
        {
            "sound_id": [f"{i:05d}" for i in range(n)],
            "f1": rng.uniform(50, 500, n),
            "alpha": rng.uniform(0, 2, n),
            "r": rng.uniform(0, 1, n),
        }
    )
    return rng.standard_normal((n, 3)), params


def test_html_is_self_contained_with_hover_and_colour_buttons(cloud):
    coordinates, params = cloud
    html = isomap_view(coordinates, params, ["f1", "alpha", "r"], title="base on harmonic")
    assert html.lstrip().lower().startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert "<script src=" not in html and "Plotly.newPlot" in html  # plotly.js embedded, no fetch
    for name in ("f1", "alpha", "r"):
        assert f'"label":"colour: {name}"' in html
    assert "sound %{customdata[0]}" in html and "alpha = %{customdata[2]:.4g}" in html


def test_rejects_mismatched_coordinates(cloud):
    coordinates, params = cloud
    with pytest.raises(DataError, match=r"expected coordinates of shape \(300, 3\)"):
        isomap_view(coordinates[:10], params, ["f1", "alpha", "r"])


def headless(*args, tmp_path):
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-unsafe-swiftshader",  # software WebGL for plotly's 3-D scene
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            *args,
        ],
        capture_output=True,
        timeout=120,
    )


def test_renders_in_headless_chromium(cloud, tmp_path):
    if CHROMIUM is None:  # .ci/run installs it
        skip_or_fail("chromium is not installed (apt-get install chromium)")
    coordinates, params = cloud
    page = tmp_path / "view.html"
    page.write_text(isomap_view(coordinates, params, ["f1", "alpha", "r"], title="render check", point_size=6))
    dom = headless("--dump-dom", page.as_uri(), tmp_path=tmp_path).stdout.decode()
    # plotly built its WebGL scene and the colour buttons.
    assert '<div class="gl-container">' in dom and "<canvas" in dom
    assert dom.count('class="updatemenu-button"') == 3
    screenshot = tmp_path / "view.png"
    headless("--window-size=900,700", f"--screenshot={screenshot}", page.as_uri(), tmp_path=tmp_path)
    pixels = np.asarray(Image.open(screenshot).convert("RGB")).astype(int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    # Points are drawn in strong reds and blues (the colour bar adds a few).
    strong_red = (red - np.maximum(green, blue)) > 60
    strong_blue = (blue - np.maximum(red, green)) > 50
    assert strong_red.sum() > 200 and strong_blue.sum() > 200
