"""The documentation cannot rot: it builds without warnings, its code runs, the config keys are described.

- The Sphinx site (docs/: Markdown pages, API pages from the docstrings) is
  built as ``make docs`` builds it, with ``-W``: a warning fails.
- Every Python block of README.md and docs/*.md runs, or is checked
  against the file it shows: the block of "GEAR from Python" is run by
  ``tests/test_api.py::test_readme_example_runs`` (with assertions on its
  table), the synthesizer example must be ``four_factor_synth.py`` itself,
  and the outer Snakefile the one ``tests/test_module.py`` runs.
- Every key of workflow/schemas/config.schema.yaml is described in
  config/README.md, which the Snakemake workflow catalog shows.
"""

import os
import re
import subprocess
import sys
import time

import pytest
import yaml

from conftest import ROOT
from test_module import OUTER_SNAKEFILE

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SYNTHESIZER_EXAMPLE = ROOT / "tests" / "fake_synthesizers" / "four_factor_synth.py"


def python_blocks():
    """``(page, index, code)`` of every fenced Python block of the pages."""
    blocks = []
    for page in PAGES:
        for index, code in enumerate(re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)):
            blocks.append((page, index, code))
    return blocks


def kind(page, code):
    if code.startswith("configfile:"):
        return "snakefile"
    if code == SYNTHESIZER_EXAMPLE.read_text():
        return "synthesizer"
    if page.name == "python.md" and "Spectrum(torch.nn.Module)" in code:
        return "run by test_api"
    return "run here"


def test_docs_build_without_warnings(tmp_path):
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600,
    )  # fmt: skip
    print(f"docs built in {time.perf_counter() - start:.1f} s")
    assert result.returncode == 0, result.stderr[-4000:]
    html = (tmp_path / "html" / "generated" / "gear.metrics.html").read_text()
    assert "compute_metrics" in html  # the API pages come from the docstrings
    assert (tmp_path / "html" / "configuration.html").exists()


def test_every_python_block_is_accounted_for():
    kinds = [kind(page, code) for page, _, code in python_blocks()]
    assert kinds.count("synthesizer") == 1, "the synthesizer example differs from four_factor_synth.py"
    assert kinds.count("snakefile") == 1 and kinds.count("run by test_api") == 1
    assert "run here" in kinds  # the README's example


def test_snakefile_block_is_the_one_test_module_runs():
    (code,) = [code for page, _, code in python_blocks() if kind(page, code) == "snakefile"]
    shown = re.sub(r'"path/to/gear/Snakefile".*', '"{snakefile}"', code)
    shown = re.sub(r"  # .*", "", shown)
    assert shown.strip() == OUTER_SNAKEFILE.strip()


@pytest.mark.parametrize(
    "page, index, code",
    [block for block in python_blocks() if kind(block[0], block[2]) == "run here"],
    ids=lambda value: value.name if hasattr(value, "name") else str(value) if isinstance(value, int) else "",
)
def test_python_block_runs(page, index, code, tmp_path, monkeypatch):
    monkeypatch.setenv("GEAR_CACHE_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{page.name} block {index}", "exec"), {"__name__": "__docs__"})


def schema_keys(schema):
    """Every key path of the configuration, as config/README.md writes it (``datasets.<id>.seed``)."""
    defs = schema["$defs"]
    keys = []

    def walk(node, prefix):
        for name, sub in node.get("properties", {}).items():
            keys.append(f"{prefix}{name}")
            walk(sub, f"{prefix}{name}.")

    walk(schema, "")
    for name, prefix in (("dataset", "datasets.<id>."), ("model", "models.<id>."),
                         ("range", "datasets.<id>.parameters.<name>.")):  # fmt: skip
        walk(defs[name], prefix)
    return keys


def test_config_readme_describes_every_schema_key():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    described = set(re.findall(r"^\| `([^`]+)` \|", (ROOT / "config" / "README.md").read_text(), re.M))
    keys = schema_keys(schema)
    assert len(keys) > 30
    missing = [key for key in keys if key not in described]
    assert not missing, f"config/README.md does not describe {missing}"
    unknown = sorted(described - set(keys))
    assert not unknown, f"config/README.md describes keys the schema does not have: {unknown}"


def test_readme_is_a_first_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 10_000
    assert "make run" in readme and "make test" in readme
    for link in re.findall(r"\]\(((?:docs|config)/[^)#]+)", readme):
        assert (ROOT / link).exists(), link
