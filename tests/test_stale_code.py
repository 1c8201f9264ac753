"""A result never outlives the code that made it: a user's plug-ins edited between two runs.

As a user works: a synthesizer module (with a helper module it imports) and
a HEAR model module in a directory on ``PYTHONPATH``, a config naming them,
a run; then each file edited, and the next run must redo exactly the jobs
that the file makes (and say so in a dry run first), record the new code in
``provenance.json``, and leave the other jobs' outputs alone.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile
import yaml

from conftest import ROOT

pytestmark = pytest.mark.workflow

SYNTH = '''
"""Two-factor tones: a waveform from the helper module."""
import numpy as np

from tone_shapes import wave

PARAMETERS = [
    {"name": "pitch", "unit": "Hz", "min": 100.0, "max": 1000.0, "scale": "log"},
    {"name": "level", "min": 0.1, "max": 1.0},
]


def synthesize(params, sample_rate, duration, **options):
    t = np.arange(round(duration * sample_rate)) / sample_rate
    return (params["level"][:, None] * wave(2 * np.pi * params["pitch"][:, None] * t)).astype(np.float32)
'''
HELPER = '''
import numpy as np


def wave(phase):
    return np.sin(phase)
'''
MODEL = '''
"""Four summary statistics of each sound, times SCALE."""
import torch

SCALE = 1.0


class Model(torch.nn.Module):
    sample_rate = 16000
    scene_embedding_size = 4
    timestamp_embedding_size = 4


def load_model(model_file_path=""):
    return Model()


def get_scene_embeddings(audio, model):
    features = [audio.abs().mean(dim=1), audio.std(dim=1), audio.abs().amax(dim=1), (audio**2).mean(dim=1)]
    return SCALE * torch.stack(features, dim=1)


def get_timestamp_embeddings(audio, model):
    return get_scene_embeddings(audio, model)[:, None, :], torch.zeros(audio.shape[0], 1)
'''
CONFIG = {
    "datasets": {
        "tones": {
            "synthesizer": "two_tone",
            "parameters": {"pitch": {"min": 110.0, "max": 880.0, "num": 4}, "level": {"min": 0.2, "max": 1.0, "num": 3}},
            "sample_rate": 16000,
            "duration": 0.2,
        }
    },
    "models": {
        "mine": {"module": "tiny_model", "env": "envs/torch.yaml"},
        "base": {"module": "gear.models.base", "env": "envs/torch.yaml"},
    },
    "isomap": {"n_neighbors": 4},
    "regression": {"n_neighbors": 3},
}
TARGETS = [
    "results/models/mine.json", "results/models/base.json", "results/embeddings/tones/mine.npy",
    "results/embeddings/tones/base.npy", "results/provenance.json",
]  # fmt: skip


def write(path, text):
    path.write_text(textwrap.dedent(text).lstrip())


class Project:
    """A user's directory: plug-ins, a config and the workflow's results."""

    def __init__(self, root):
        self.root = root
        self.plugins = root / "plugins"
        self.plugins.mkdir()
        write(self.plugins / "two_tone.py", SYNTH)
        write(self.plugins / "tone_shapes.py", HELPER)
        write(self.plugins / "tiny_model.py", MODEL)
        self.config = root / "my config.yaml"
        self.config.write_text(yaml.safe_dump(CONFIG, sort_keys=False))

    def snakemake(self, *args):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(self.plugins), os.environ.get("PYTHONPATH", "")])}
        return subprocess.run(
            [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
             "--configfile", str(self.config), "--directory", str(self.root), *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip

    def run(self):
        result = self.snakemake("--cores", "2", *TARGETS)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def planned(self):
        """Jobs a dry run plans, per rule (empty when there is nothing to do)."""
        result = self.snakemake("--cores", "2", "-n", *TARGETS)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        lines = result.stdout.splitlines()
        if "Job stats:" not in lines:
            assert "Nothing to be done" in result.stdout + result.stderr
            return {}
        counts = {}
        for line in lines[lines.index("Job stats:") + 3 :]:
            parts = line.split()
            if len(parts) != 2 or parts[0] == "total":
                break
            counts[parts[0]] = int(parts[1])
        return counts

    def file_times(self):
        return {
            str(path.relative_to(self.root)): path.stat().st_mtime_ns
            for path in sorted((self.root / "results").rglob("*"))
            if path.is_file()
        }

    def provenance(self):
        return json.loads((self.root / "results/provenance.json").read_text())


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("user"))
    project.run()
    return project


def test_a_second_run_does_nothing(project):
    assert project.planned() == {}


def test_provenance_records_each_plug_in_and_its_helper(project):
    code = project.provenance()["code"]
    sources = code["datasets"]["tones"]["sources"]
    # The files' own hashes: the synthesizer and the helper it imports.
    assert sources["two_tone"] == sha256(project.plugins / "two_tone.py")
    assert sources["tone_shapes"] == sha256(project.plugins / "tone_shapes.py")
    assert "tiny_model" not in sources
    assert code["models"]["mine"]["sources"]["tiny_model"] == sha256(project.plugins / "tiny_model.py")
    assert "two_tone" not in code["models"]["mine"]["sources"]
    # Built-in models: GEAR's version and their source.
    assert code["models"]["base"]["gear"] and "gear.models.base" in code["models"]["base"]["sources"]
    # numpy is installed: its files are not hashed.
    assert not any(name.startswith("numpy") for name in sources)
    description = json.loads((project.root / "results/datasets/tones/parameters.json").read_text())
    assert description["code"] == code["datasets"]["tones"]


def test_an_edited_helper_of_the_synthesizer_reruns_the_dataset_and_its_embeddings(project):
    audio = project.root / "results/datasets/tones/audio"
    first_sound = sorted(audio.glob("*.wav"))[0]
    old_sound = soundfile.read(first_sound)[0]
    write(project.plugins / "tone_shapes.py", HELPER.replace("np.sin(phase)", "np.sign(np.sin(phase))"))
    assert project.planned() == {"synthesize": 1, "embed": 2, "provenance": 1}
    before = project.file_times()
    project.run()
    after = project.file_times()
    new_sound = soundfile.read(first_sound)[0]
    # A square wave now: (nearly) every sample at the peak, as no sine's.
    at_peak = [np.mean(np.isclose(np.abs(sound), np.abs(sound).max(), rtol=1e-3)) for sound in (old_sound, new_sound)]
    assert at_peak[0] < 0.1 and at_peak[1] > 0.99
    for path in ("results/embeddings/tones/mine.npy", "results/embeddings/tones/base.npy"):
        assert after[path] > before[path]
    for path in before:
        if path.startswith("results/models/"):
            assert after[path] == before[path], path
    sources = project.provenance()["code"]["datasets"]["tones"]["sources"]
    assert sources["tone_shapes"] == sha256(project.plugins / "tone_shapes.py")
    assert project.planned() == {}


def test_an_edited_model_reruns_its_embedding_only(project):
    embeddings = project.root / "results/embeddings/tones/mine.npy"
    old = np.load(embeddings)
    write(project.plugins / "tiny_model.py", MODEL.replace("SCALE = 1.0", "SCALE = 1000.0"))
    assert project.planned() == {"model_spec": 1, "check_model": 1, "embed": 1, "provenance": 1}
    before = project.file_times()
    project.run()
    after = project.file_times()
    np.testing.assert_allclose(np.load(embeddings), 1000 * old, rtol=1e-5)
    assert after["results/embeddings/tones/base.npy"] == before["results/embeddings/tones/base.npy"]
    assert after["results/datasets/tones/params.csv"] == before["results/datasets/tones/params.csv"]
    # One spec file per model: the one of the model's current code.
    specs = sorted(path.name.split(".")[0] for path in (project.root / "results/models").glob("*.spec.json"))
    assert specs == ["base", "mine"]
    model_code = project.provenance()["code"]["models"]["mine"]["sources"]
    assert model_code["tiny_model"] == sha256(project.plugins / "tiny_model.py")
    stats = json.loads((project.root / "results/embeddings/tones/mine.json").read_text())
    assert stats["code"]["sources"]["tiny_model"] == model_code["tiny_model"]


def test_undoing_an_edit_reruns_again(project):
    embeddings = project.root / "results/embeddings/tones/mine.npy"
    scaled = np.load(embeddings)
    write(project.plugins / "tiny_model.py", MODEL)
    assert project.planned() == {"model_spec": 1, "check_model": 1, "embed": 1, "provenance": 1}
    project.run()
    np.testing.assert_allclose(np.load(embeddings), scaled / 1000, rtol=1e-5)


def test_unlock_and_dry_runs_write_nothing(project):
    # A pending edit: a run would write a new spec file; --unlock and -n must not.
    write(project.plugins / "tiny_model.py", MODEL.replace("SCALE = 1.0", "SCALE = 2.0"))
    before = project.file_times()
    unlocked = project.snakemake("--unlock")
    assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
    assert project.planned()["embed"] == 1
    linted = project.snakemake("--lint")
    assert project.file_times() == before, linted.stdout[-2000:]


def test_the_recovery_hint_repeats_the_users_options(project):
    # As after an interrupt: an output exists but Snakemake still marks it incomplete.
    output = "results/embeddings/tones/base.json"
    marker = project.root / ".snakemake/incomplete" / base64.urlsafe_b64encode(output.encode()).decode()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("")
    try:
        result = project.snakemake("--cores", "2", *TARGETS)
    finally:
        marker.unlink()
    assert result.returncode != 0
    options = f"--snakefile {ROOT / 'Snakefile'} --configfile '{project.config}' --directory {project.root}"
    expected = f"run snakemake --unlock {options}, then snakemake --cores 2 --rerun-incomplete {options}"
    assert expected in result.stdout + result.stderr


def test_the_earlier_config_format_gets_the_new_spelling(tmp_path):
    project = Project(tmp_path)
    earlier = {
        "datasets": {"harmonic": {"kind": "harmonic", "f1": {"min": 65.41, "max": 1046.5, "num": 10},
                                  "alpha": {"min": 0.0, "max": 2.0, "num": 16}, "r": {"min": 0.0, "max": 1.0}}},
        "models": CONFIG["models"],
    }  # fmt: skip
    project.config.write_text(yaml.safe_dump(earlier, sort_keys=False))
    result = project.snakemake("-n")
    assert result.returncode != 0
    assert (
        "config: datasets.harmonic: the earlier format (kind: harmonic; f1, alpha, r at the top level) is no "
        "longer read: write synthesizer: harmonic and put f1, alpha, r under parameters: "
        "(e.g. parameters: {f1: {min: 65.41, max: 1046.5, num: 10}})"
    ) in result.stdout + result.stderr
