"""Numbers and facts the README (or the docs pages made from it) states, computed from the code."""

import ast
import re

import numpy as np

from conftest import ROOT
from gear.synthesizers import gear2023


def documentation():
    """The README and every Markdown page under docs/, as one text."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(page.read_text() for page in pages if page.is_file())


def test_gear2023_harmonic_counts_are_the_synthesizers(monkeypatch):
    stated = re.search(
        r"`int\(T / \(2 f1\)\) - 1`, from (\d+) \(f1 = (\d+)\) to (\d+) \(f1 = (\d+)\)", documentation()
    )
    assert stated, "the harmonics row of the gear2023 table is gone"
    fewest, f1_high, most, f1_low = map(int, stated.groups())
    # The f1 range stated is the published design's.
    f1 = gear2023.published_design()["f1"]
    assert (f1.min(), f1.max()) == (f1_low, f1_high)
    # The counts the synthesizer renders with.
    rendered = []
    real = gear2023.additive_tones

    def spy(f1, alpha, r, t, n_harmonics, **options):
        rendered.extend(np.asarray(n_harmonics).tolist())
        return real(f1, alpha, r, t, n_harmonics, **options)

    monkeypatch.setattr(gear2023, "additive_tones", spy)
    gear2023.synthesize({"f1": np.array([f1_high, f1_low], float), "alpha": np.ones(2), "r": np.zeros(2)})
    assert rendered == [fewest, most]
    # ... which are the sound's harmonics: with flat amplitudes and no window,
    # bins k f1 (cycles per frame) up to the count carry energy, the next none.
    for f1_value, count in ((f1_high, fewest), (f1_low, most)):
        t = np.arange(gear2023.N_SAMPLES) / gear2023.N_SAMPLES
        tone = real(np.array([f1_value]), np.zeros(1), np.zeros(1), t, np.array([count]))[0]
        spectrum = np.abs(np.fft.rfft(tone))
        assert spectrum[count * f1_value] > 100 and spectrum[(count + 1) * f1_value] < 1e-6
        # The published formula, int(1024 / (2 f1)) - 1, written out here.
        assert count == int(1024 / (2 * f1_value)) - 1


def test_scripts_are_glue_around_what_the_readme_names():
    # "Each Snakemake script ... is glue around one function of gear.pipeline
    # (view_bundle.py: gear.views.write_view_bundle)".
    text = " ".join(documentation().split())
    assert (
        "glue around one function of `gear.pipeline` (`view_bundle.py`: `gear.views.write_view_bundle`)"
        in text
    )
    for script in sorted((ROOT / "scripts").glob("*.py")):
        imports = {
            (node.module, alias.name)
            for node in ast.walk(ast.parse(script.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gear")
            for alias in node.names
        }
        imports.discard(("gear.logs", "log_to_file"))
        if script.name == "view_bundle.py":
            assert imports == {("gear.views", "write_view_bundle")}
        else:
            assert imports and {module for module, _ in imports} == {"gear.pipeline"}, (script.name, imports)


def test_outputs_the_readme_calls_git_ignored_are():
    ignored = (ROOT / ".gitignore").read_text().split()
    for output in ("results/", "logs/", "report.html", "report.zip", ".snakemake/"):
        assert output in ignored
