"""Code fingerprints (gear.fingerprint) and the API's dataset cache keyed on them.

Modules are written as a user would: files in a temporary directory on
``sys.path``, edited between two calls. Expected digests are SHA-256 of the
files' bytes, computed here with hashlib.
"""

import hashlib
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gear
from gear import fingerprint
from gear.api import load_dataset
from gear.errors import GearError
from gear.fingerprint import code_fingerprint, current_modules


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """A directory on sys.path; modules imported from it are forgotten afterwards."""
    directory = tmp_path / "plugins"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    before = set(sys.modules)
    yield directory
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_a_module_and_the_local_modules_it_imports_are_hashed_without_importing(plugins):
    write(plugins / "synth_a.py", "import numpy as np\nimport helper_a\n\ndef synthesize(): pass\n")
    write(plugins / "helper_a.py", "from pkg_a import shapes\nimport json\n")
    write(plugins / "pkg_a/__init__.py", "")
    write(plugins / "pkg_a/shapes.py", "from . import sizes\nfrom .tables import TABLE\n")
    write(plugins / "pkg_a/sizes.py", "")
    write(plugins / "pkg_a/tables.py", "TABLE = 1\n")
    write(plugins / "unused_a.py", "")
    found = code_fingerprint("synth_a")
    expected = {
        "synth_a": plugins / "synth_a.py",
        "helper_a": plugins / "helper_a.py",
        "pkg_a.shapes": plugins / "pkg_a/shapes.py",
        "pkg_a.sizes": plugins / "pkg_a/sizes.py",
        "pkg_a.tables": plugins / "pkg_a/tables.py",
    }
    assert found["sources"] == {name: sha256(path) for name, path in sorted(expected.items())}
    assert found["distributions"] == {} and found["unresolved"] == [] and found["gear"] == gear.__version__
    assert not {"synth_a", "helper_a", "pkg_a"} & set(sys.modules)


def test_every_spelling_of_an_import_is_followed(plugins):
    write(plugins / "synth_c.py", """
        import os; import part_one as one, part_two
        from part_three import (  # a comment
            f,
            g as h,
        )
        from pkg_d import (  # a comment first
            inner,
        )
        from pkg_c \\
            import inner
        def late():
            import part_four.deep
        if True: pass
    """)
    for name in ("part_one", "part_two", "part_three", "pkg_c/__init__", "pkg_c/inner", "pkg_d/__init__",
                 "pkg_d/inner", "part_four/__init__", "part_four/deep"):  # fmt: skip
        write(plugins / f"{name}.py", "")
    sources = code_fingerprint("synth_c")["sources"]
    assert sorted(sources) == [
        "part_four.deep", "part_one", "part_three", "part_two", "pkg_c.inner", "pkg_d.inner", "synth_c"
    ]  # fmt: skip


def test_an_edited_helper_changes_the_fingerprint(plugins):
    write(plugins / "synth_b.py", "from helper_b import wave\n")
    write(plugins / "helper_b.py", "import numpy as np\nwave = np.sin\n")
    first = code_fingerprint("synth_b")
    write(plugins / "helper_b.py", "import numpy as np\nwave = np.cos\n")  # same size
    second = code_fingerprint("synth_b")
    assert first["sources"]["synth_b"] == second["sources"]["synth_b"]
    assert second["sources"]["helper_b"] == sha256(plugins / "helper_b.py") != first["sources"]["helper_b"]


def test_an_installed_module_is_its_distributions_version():
    found = code_fingerprint(["numpy.fft", "json"])
    assert found["distributions"] == {"numpy": importlib.metadata.version("numpy")}
    assert found["sources"] == {}  # neither numpy's files nor the standard library's


def test_a_module_that_cannot_be_found_is_named():
    assert code_fingerprint("no_such_module_here")["unresolved"] == ["no_such_module_here"]


def test_gears_own_synthesis_code_is_followed_through_its_imports():
    sources = code_fingerprint(["gear.synthesizers.harmonic", "gear.datasets"])["sources"]
    for name in ("gear.synthesizers.harmonic", "gear.datasets", "gear.designs", "gear.scales"):
        path = importlib.util.find_spec(name).origin
        assert sources[name] == hashlib.sha256(open(path, "rb").read()).hexdigest()
    # A stage that does not synthesize (figures) is not part of it.
    assert "gear.figures" not in sources


SYNTH = """
import numpy as np

from shape_helper import wave

PARAMETERS = [{"name": "pitch", "unit": "Hz", "min": 100.0, "max": 1000.0, "scale": "log"}]


def synthesize(params, sample_rate, duration):
    t = np.arange(round(duration * sample_rate)) / sample_rate
    return WAVE(wave(2 * np.pi * params["pitch"][:, None] * t)).astype(np.float32)


WAVE = np.asarray
"""
HELPER = "import numpy as np\n\n\ndef wave(phase):\n    return np.sin(phase)\n"
SPEC = {
    "synthesizer": "notebook_synth",
    "parameters": {"pitch": {"min": 200.0, "max": 400.0, "num": 3}},
    "sample_rate": 8000,
    "duration": 0.05,
}


def reference(formula):
    """The three sounds, made here from the formula (peak-free: no normalization in the synthesizer)."""
    pitch = np.geomspace(200.0, 400.0, 3)[:, None]
    t = np.arange(400) / 8000
    return formula(2 * np.pi * pitch * t).astype(np.float32)


@pytest.fixture
def notebook(plugins):
    write(plugins / "notebook_synth.py", SYNTH)
    write(plugins / "shape_helper.py", HELPER)
    return plugins


def test_a_synthesizer_edited_in_a_running_process_gives_the_new_sounds(notebook, tmp_path):
    cache = tmp_path / "cache"
    first = load_dataset(SPEC, cache_dir=cache)
    np.testing.assert_allclose(first.audio, reference(np.sin), atol=1e-4)
    write(notebook / "notebook_synth.py", SYNTH.replace("WAVE = np.asarray", "WAVE = np.sign"))
    second = load_dataset(SPEC, cache_dir=cache)
    np.testing.assert_allclose(second.audio, reference(lambda x: np.sign(np.sin(x))), atol=1e-4)
    assert len(list(cache.iterdir())) == 2
    # A fresh process with the edited code reads the second entry: the new sounds.
    script = (
        f"import sys; sys.path.insert(0, {str(notebook)!r}); import numpy as np; from gear.api import load_dataset; "
        f"np.save(sys.argv[1], load_dataset({SPEC!r}, cache_dir={str(cache)!r}).audio)"
    )
    out = tmp_path / "fresh.npy"
    result = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(out), second.audio)
    assert len(list(cache.iterdir())) == 2


def test_an_edited_helper_is_a_new_cache_entry_with_the_new_sounds(notebook, tmp_path):
    cache = tmp_path / "cache"
    load_dataset(SPEC, cache_dir=cache)
    write(notebook / "shape_helper.py", HELPER.replace("np.sin(phase)", "np.cos(phase)"))
    edited = load_dataset(SPEC, cache_dir=cache)
    np.testing.assert_allclose(edited.audio, reference(np.cos), atol=1e-4)
    assert edited.description.code["sources"]["shape_helper"] == sha256(notebook / "shape_helper.py")
    entries = sorted(cache.iterdir())
    assert len(entries) == 2
    recorded = [json.loads((entry / "parameters.json").read_text())["code"]["sources"] for entry in entries]
    assert sorted(sources["shape_helper"] for sources in recorded) == sorted(
        [hashlib.sha256(HELPER.encode()).hexdigest(), sha256(notebook / "shape_helper.py")]
    )


def test_a_module_imported_before_its_edit_is_imported_again(notebook):
    import notebook_synth

    write(notebook / "notebook_synth.py", SYNTH.replace("WAVE = np.asarray", "WAVE = np.sign"))
    assert notebook_synth.WAVE is np.asarray
    found = current_modules("notebook_synth")
    assert notebook_synth.WAVE is np.sign
    assert found["sources"]["notebook_synth"] == sha256(notebook / "notebook_synth.py")


def test_gears_own_module_changed_after_import_is_refused(monkeypatch):
    current_modules("gear.scales")
    monkeypatch.setitem(fingerprint._IMPORTED, "gear.scales", "0" * 64)  # as if the file had changed since
    with pytest.raises(GearError, match=r"scales\.py changed since this Python process imported gear\.scales"):
        current_modules("gear.scales")
