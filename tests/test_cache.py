"""Between-workflow caching (snakemake --cache): another directory and config reuse the synthesis and embeddings."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import yaml

from conftest import ROOT, TEST_CONFIG


def tiny_base_config(dataset_id):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["models"] = {"base": config["models"]["base"]}
    config["datasets"] = {dataset_id: config["datasets"]["tiny"]}
    return config


def run_with_cache(workdir, config, cache, dataset_id):
    """Run up to the dataset's metrics (which read the embeddings' Isomap): what caching feeds."""
    workdir.mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "SNAKEMAKE_OUTPUT_CACHE": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2", "--cache",
         "--configfile", "config.yaml", "--replace-workflow-config", "--directory", str(workdir),
         f"results/metrics/{dataset_id}/base.csv"],
        cwd=workdir, capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip


def test_a_second_checkout_computes_no_embedding(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    first = run_with_cache(tmp_path / "first", tiny_base_config("tiny"), cache, "tiny")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    stored = sorted(path.name for path in cache.iterdir())
    # One entry per named output: synthesis (params, parameters, audio) and embedding (embeddings, stats).
    assert sorted(name.split("_", 1)[1] for name in stored) == [
        "audio", "embeddings.npy", "parameters.json", "params.csv", "stats.json"
    ]  # fmt: skip

    # Another directory, another name for the same dataset.
    second = run_with_cache(tmp_path / "second", tiny_base_config("same_sounds"), cache, "same_sounds")
    log = second.stdout + second.stderr
    assert second.returncode == 0, log[-6000:]
    # Neither the synthesis nor the embedding job ran: Snakemake created their
    # log files, empty, and nothing wrote to them (the first run's say what ran)...
    for first_log, second_log, line in (
        ("embed/tiny/base.log", "embed/same_sounds/base.log", "gear.hear: model base: embedding 36 sounds"),
        ("synthesize/tiny.log", "synthesize/same_sounds.log", "gear.pipeline: synthesized 36 sounds"),
    ):
        assert line in (tmp_path / "first/logs" / first_log).read_text()
        second_path = tmp_path / "second/logs" / second_log
        assert not second_path.exists() or second_path.stat().st_size == 0, second_path.read_text()
    # ...their outputs are links into the cache, and Snakemake says so.
    embeddings = tmp_path / "second/results/embeddings/same_sounds/base.npy"
    assert embeddings.is_symlink() and embeddings.resolve().parent == cache.resolve()
    assert "from cache" in log
    assert sorted(path.name for path in cache.iterdir()) == stored
    # What follows the embedding ran, on the same numbers.
    np.testing.assert_array_equal(np.load(embeddings), np.load(tmp_path / "first/results/embeddings/tiny/base.npy"))
    first_metrics = pd.read_csv(tmp_path / "first/results/metrics/tiny/base.csv").drop(columns="dataset")
    second_metrics = pd.read_csv(tmp_path / "second/results/metrics/same_sounds/base.csv").drop(columns="dataset")
    pd.testing.assert_frame_equal(first_metrics, second_metrics)
    assert (tmp_path / "second/logs/isomap/same_sounds/base.log").is_file()
