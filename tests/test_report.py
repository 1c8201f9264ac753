"""The zip report: plotly.js once for every interactive view, offline, opens in headless Chromium."""

import re
import zipfile

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from conftest import TEST_CONFIG, skip_or_fail, snakemake
from gear.errors import DataError
from gear.views import PLOTLY_FILE, isomap_view, share_plotlyjs
from test_readme_numbers import documentation
from test_views import CHROMIUM, headless

# The start of plotly.js: present in a file that embeds the library.
PLOTLY_HEAD = get_plotlyjs()[:2000]


@pytest.fixture(scope="module")
def report(local_run, tmp_path_factory):
    """``snakemake --report report.zip`` of the tiny run, unpacked."""
    results, _ = local_run
    path = results.parent / "report.zip"
    result = snakemake("--report", str(path), "--configfile", str(TEST_CONFIG), "--directory", str(results.parent))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    unpacked = tmp_path_factory.mktemp("report")
    with zipfile.ZipFile(path) as archive:
        archive.extractall(unpacked)
    (root,) = unpacked.iterdir()
    return path, root


def test_plotly_is_shipped_once(report):
    path, root = report
    files = [p for p in root.rglob("*") if p.is_file()]
    with_plotly = [p for p in files if PLOTLY_HEAD in p.read_text(errors="ignore")]
    assert [p.name for p in with_plotly] == [PLOTLY_FILE]
    views = [p for p in files if p.suffix == ".html" and p.parent.name == "tiny"]
    assert sorted(p.stem for p in views) == ["base", "crepe"]
    for view in views:
        html = view.read_text()
        assert f'src="../{PLOTLY_FILE}"' in html and "Plotly.newPlot" in html
        assert (view.parent.parent / PLOTLY_FILE).is_file()
    # Two views, two figures in two formats, tables: well under one copy of plotly.js per view.
    assert path.stat().st_size < 4e6


def test_the_readme_gives_the_tiny_reports_size(report):
    path, _ = report
    text = " ".join(documentation().split())
    stated = re.search(r"The tiny test run's report \(2 models, 2 views\) is ([\d.]+) MB", text)
    assert stated, "the README no longer states the tiny report's size"
    assert abs(path.stat().st_size / 1e6 / float(stated.group(1)) - 1) < 0.1, path.stat().st_size


def test_views_share_plotly_without_changing_anything_else(rng):
    n = 50
    params = pd.DataFrame({"sound_id": [f"{i:05d}" for i in range(n)], "f1": rng.uniform(50, 500, n)})
    html = isomap_view(rng.standard_normal((n, 3)), params, ["f1"], title="t")
    shared = share_plotlyjs(html, "../plotly.min.js")
    assert len(html) - len(shared) > 4_000_000
    assert shared.replace('<script charset="utf-8" src="../plotly.min.js"></script>', "") == html.replace(
        f"<script>{get_plotlyjs()}</script>", ""
    )
    with pytest.raises(DataError, match="not embedded once"):
        share_plotlyjs(shared, "../plotly.min.js")


def test_report_and_views_open_offline_in_headless_chromium(report, tmp_path):
    if CHROMIUM is None:  # .ci/run installs it
        skip_or_fail("chromium is not installed (apt-get install chromium)")
    _, root = report
    dom = headless("--dump-dom", (root / "report.html").as_uri(), tmp_path=tmp_path).stdout.decode()
    # The report's script ran to its end (it hides the loading screen) and drew its menu.
    assert 'id="loading-screen" style="display: none;"' in dom
    assert ">Interactive 3-D views<" in dom and ">Figure 3: Isomap<" in dom
    (index,) = root.rglob("index.html")  # report/data/raw/<id>/index.html
    dom = headless("--dump-dom", index.as_uri(), tmp_path=tmp_path).stdout.decode()
    assert 'href="tiny/base.html"' in dom and 'href="tiny/crepe.html"' in dom
    # A view built its WebGL scene with the shared plotly.js, read from disk.
    dom = headless("--dump-dom", (index.parent / "tiny" / "crepe.html").as_uri(), tmp_path=tmp_path).stdout.decode()
    assert '<div class="gl-container">' in dom and dom.count('class="updatemenu-button"') == 3

