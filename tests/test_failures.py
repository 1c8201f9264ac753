"""A model that fails breaks only its own jobs; other results stay complete and correct."""

import os

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, TEST_CONFIG, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    """The tiny config plus two misbehaving models, run with --keep-going."""
    workdir = tmp_path_factory.mktemp("broken")
    config = yaml.safe_load(TEST_CONFIG.read_text())
    del config["models"]["crepe"]
    config["models"]["nan"] = {"module": "nan_model", "env": "envs/torch.yaml"}
    config["models"]["crash"] = {"module": "crashing_model", "env": "envs/torch.yaml"}
    config["models"]["missing"] = {"module": "no_such_hear_module", "env": "envs/torch.yaml"}
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env_path = str(ROOT / "tests" / "fake_models")
    os.environ["PYTHONPATH"] = env_path + os.pathsep + os.environ.get("PYTHONPATH", "")
    try:
        result = snakemake(
            "--cores", "2", "--keep-going", "--configfile", str(path), "--directory", str(workdir)
        )  # fmt: skip
    finally:
        os.environ["PYTHONPATH"] = os.environ["PYTHONPATH"].removeprefix(env_path + os.pathsep)
    return workdir, result


def test_run_fails_and_names_each_broken_model(broken_run):
    workdir, result = broken_run
    assert result.returncode != 0
    nan_log = (workdir / "logs/embed/tiny/nan.log").read_text()
    assert "model 'nan': non-finite embedding values for sounds 00000, 00003, 00006" in nan_log
    crash_log = (workdir / "logs/embed/tiny/crash.log").read_text()
    assert "model 'crash': get_scene_embeddings failed" in crash_log
    assert "simulated out-of-memory" in crash_log
    missing_log = (workdir / "logs/embed/tiny/missing.log").read_text()
    assert "cannot import HEAR module 'no_such_hear_module'" in missing_log


def test_broken_models_leave_no_partial_output(broken_run):
    workdir, _ = broken_run
    for model in ("nan", "crash", "missing"):
        assert not (workdir / f"results/embeddings/tiny/{model}.npy").exists()
        assert not (workdir / f"results/isomap/tiny/{model}.npy").exists()
    leftovers = [p.name for p in (workdir / "results/embeddings/tiny").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_working_model_outputs_are_complete_and_correct(broken_run, local_run):
    workdir, _ = broken_run
    local_results, _ = local_run
    results = workdir / "results"
    np.testing.assert_array_equal(
        np.load(results / "embeddings/tiny/base.npy"), np.load(local_results / "embeddings/tiny/base.npy")
    )
    np.testing.assert_allclose(
        np.abs(np.load(results / "isomap/tiny/base.npy")),
        np.abs(np.load(local_results / "isomap/tiny/base.npy")),
        atol=1e-9,
    )
    pd.testing.assert_frame_equal(
        pd.read_csv(results / "regression/tiny/base.csv"), pd.read_csv(local_results / "regression/tiny/base.csv")
    )
