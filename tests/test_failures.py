"""A model that fails breaks only its own jobs; other results stay complete and correct."""

import json
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
    # Hangs in get_scene_embeddings: stopped by its time limit.
    config["models"]["sleepy"] = {"module": "sleeping_model", "env": "envs/torch.yaml", "batch_size": 4, "timeout": 3}
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


def _describe(ids):
    # As error messages list sounds: the first ten, then how many.
    return f"{', '.join(ids[:10])}{', ...' if len(ids) > 10 else ''} ({len(ids)} sounds)"


def test_each_failed_jobs_reason_reaches_the_console(broken_run):
    workdir, result = broken_run
    ids = list(pd.read_csv(workdir / "results/datasets/tiny/params.csv", dtype={"sound_id": str})["sound_id"])
    nan = f"embed (dataset=tiny, model=nan): model 'nan': non-finite embedding values for sounds {_describe(ids[::3])}"
    sleepy = (
        "embed (dataset=tiny, model=sleepy): model 'sleepy': get_scene_embeddings did not return within the "
        f"time limit of 3 s on sounds {_describe(ids[:4])}; nothing was written (raise models.sleepy.timeout "
        "or embedding_timeout if it is only slow)"
    )
    console = (result.stdout + result.stderr).splitlines()
    # Once when the job fails, once in the summary at the end of the run.
    for reason in (nan, sleepy):
        assert f"GEAR: {reason}" in console
        assert f"GEAR: failed: {reason}" in console
    crash = [line for line in console if line.startswith("GEAR: failed: embed (dataset=tiny, model=crash): ")]
    assert crash == [
        "GEAR: failed: embed (dataset=tiny, model=crash): model 'crash': get_scene_embeddings failed on sounds "
        f"{_describe(ids[:64])}: RuntimeError: simulated out-of-memory in the model"
    ]


def test_hung_model_is_stopped_by_its_time_limit(broken_run):
    workdir, _ = broken_run
    log = (workdir / "logs/embed/tiny/sleepy.log").read_text()
    assert "did not return within the time limit of 3 s" in log
    assert "sleeping_model.py" in log  # the stack where it hung
    assert not (workdir / "results/embeddings/tiny/sleepy.npy").exists()
    assert not (workdir / "results/embeddings/tiny/sleepy.json").exists()


def test_broken_models_leave_no_partial_output(broken_run):
    workdir, _ = broken_run
    for model in ("nan", "crash", "sleepy"):
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


def unavailable_config(workdir, strict):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    del config["models"]["crepe"]
    config["strict"] = strict
    config["models"]["missing"] = {"module": "no_such_hear_module", "env": "envs/torch.yaml"}
    config["models"]["noweights"] = {
        "module": "gear.models.base",
        "weights": str(workdir / "not_downloaded.pt"),
        "env": "envs/torch.yaml",
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def unavailable_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("unavailable")
    path = unavailable_config(workdir, strict=False)
    result = snakemake("--cores", "2", "--configfile", str(path), "--directory", str(workdir))
    return workdir, result


def test_unloadable_models_are_reported_and_the_rest_runs(unavailable_run):
    workdir, result = unavailable_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = workdir / "results"
    status = json.loads((results / "models/missing.json").read_text())
    assert status["available"] is False
    assert "cannot import HEAR module 'no_such_hear_module'" in status["reason"]
    status = json.loads((results / "models/noweights.json").read_text())
    assert status["available"] is False and "not_downloaded.pt' does not exist" in status["reason"]
    summary = pd.read_csv(results / "regression/tiny/summary.csv")
    reasons = summary.set_index("model")["unavailable"]
    assert reasons.index.tolist().count("base") == 3 and reasons["base"].isna().all()
    assert "does not exist" in reasons["noweights"]
    assert not (results / "embeddings/tiny/missing.npy").exists()
    # The metrics table: one row per unavailable model with its reason, apart from the scores.
    metrics = pd.read_csv(results / "metrics/tiny.csv")
    reasons = metrics.loc[metrics["unavailable"].notna()].set_index("model")
    assert sorted(reasons.index) == ["missing", "noweights"]
    assert "cannot import HEAR module" in reasons.loc["missing", "unavailable"]
    assert reasons[["parameter", "metric", "value"]].isna().all().all()
    assert set(metrics.loc[metrics["unavailable"].isna(), "model"]) == {"base"}
    for name in ("figure3_isomap", "figure4_regression"):
        assert (results / f"figures/tiny/{name}.png").stat().st_size > 10_000
    costs = pd.read_csv(results / "embeddings/costs.csv")
    assert costs["model"].tolist() == ["base"]


def test_strict_mode_turns_unavailability_into_failure(tmp_path):
    path = unavailable_config(tmp_path, strict=True)
    result = snakemake(
        "--cores", "1", "--configfile", str(path), "--directory", str(tmp_path), "results/models/missing.json"
    )  # fmt: skip
    assert result.returncode != 0
    log = (tmp_path / "logs/models/missing.log").read_text()
    assert "cannot import HEAR module 'no_such_hear_module'" in log
    assert not (tmp_path / "results/models/missing.json").exists()
