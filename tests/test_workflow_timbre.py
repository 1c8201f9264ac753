"""The human timbre stage fetched from a server on 127.0.0.1, and what it says when the data cannot be had.

The server (tests/fetch_server.py) serves the byte-identical mirror of
timbremetrics (shared/data) in GitHub's raw-file layout; GEAR is pointed at
it by ``GEAR_DOWNLOAD_BASE_URL``, with a scratch cache (``GEAR_CACHE_DIR``).
"""

import json
import os
import socket
import time
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import TEST_CONFIG, snakemake
from fetch_server import FileServer
from gear.pipeline import fetch_timbre
from gear.timbre import TIMBRE_DATASETS, timbre_remotes

STUDIES = ["Grey1977", "Iverson1993_Onset"]


def serve_mirror(server, mirror):
    """Every timbremetrics file the manifest names, at its URL's mirror path."""
    for path, remote in timbre_remotes().items():
        server.files[unquote(remote.url.split("://", 1)[1])] = (mirror / path).read_bytes()


@pytest.fixture
def server(timbre_mirror):
    with FileServer() as running:
        serve_mirror(running, timbre_mirror)
        yield running


@pytest.fixture
def scratch_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GEAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GEAR_LOCK_FILE", raising=False)
    return tmp_path / "cache"


def test_fetched_once_verified_then_read_from_the_cache(server, scratch_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("GEAR_DOWNLOAD_BASE_URL", server.url)
    fetch_timbre(tmp_path / "first.json")
    record = json.loads((tmp_path / "first.json").read_text())
    assert record["available"], record["reason"]
    assert server.count("/raw.githubusercontent.com/") == len(timbre_remotes()) == 355
    for name in TIMBRE_DATASETS:
        assert (scratch_cache / "files" / record["root"].split("/files/", 1)[1] / "timbremetrics" / "true_dissim"
                / f"{name}_dissimilarity_matrix.txt").is_file()  # fmt: skip
    fetch_timbre(tmp_path / "second.json")
    assert server.count("/raw.githubusercontent.com/") == 355  # nothing downloaded again
    assert json.loads((tmp_path / "second.json").read_text()) == record


def test_a_corrupted_file_is_refused_with_both_digests(server, scratch_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("GEAR_DOWNLOAD_BASE_URL", server.url)
    corrupted = next(key for key in server.files if key.endswith("Grey1977_dissimilarity_matrix.txt"))
    server.files[corrupted] = server.files[corrupted].replace(b"1", b"2", 1)
    fetch_timbre(tmp_path / "record.json")
    record = json.loads((tmp_path / "record.json").read_text())
    assert not record["available"]
    assert "Grey1977_dissimilarity_matrix.txt" in record["reason"] and "SHA-256 mismatch: expected" in record["reason"]
    assert not list(scratch_cache.rglob("Grey1977_dissimilarity_matrix.txt"))  # nothing readable left


def test_offline_and_off_say_why_within_seconds(scratch_cache, monkeypatch, tmp_path):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("GEAR_DOWNLOAD_BASE_URL", f"http://127.0.0.1:{port}")
    start = time.perf_counter()
    fetch_timbre(tmp_path / "offline.json")
    assert time.perf_counter() - start < 30
    reason = json.loads((tmp_path / "offline.json").read_text())["reason"]
    assert reason.startswith("human timbre data unavailable: http://127.0.0.1:") and "refused" in reason
    fetch_timbre(tmp_path / "never.json", mode="never")
    assert "fetching is off (fetch: never)" in json.loads((tmp_path / "never.json").read_text())["reason"]


@pytest.mark.workflow
def test_workflow_says_why_offline_then_scores_every_model_once_online(server, tmp_path):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["models"] = {"base": config["models"]["base"], "mfcc": {"module": "gear.models.mfcc", "env": "envs/torch.yaml"}}
    config["timbre"] = {"datasets": STUDIES}
    config["fetch"] = "auto"  # the tiny config says never: tests run offline
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        offline_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    results = tmp_path / "results"
    for base_url in (offline_url, server.url):
        env = {key: value for key, value in os.environ.items() if key not in ("GEAR_FETCH", "GEAR_LOCK_FILE")}
        env.update(GEAR_CACHE_DIR=str(tmp_path / "cache"), GEAR_DOWNLOAD_BASE_URL=base_url)
        result = snakemake("--cores", "2", "--configfile", str(tmp_path / "config.yaml"), "--directory",
                           str(tmp_path), env=env, timeout=1200)  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        scores = pd.read_csv(results / "timbre" / "scores.csv")
        if base_url == offline_url:
            # Offline: the run completes, and every model says why in one line.
            assert scores["model"].tolist() == ["base", "mfcc"]
            assert scores["unavailable"].str.startswith(f"human timbre data unavailable: {offline_url}/").all()
            assert scores["unavailable"].str.contains("refused").all()
            assert (results / "figures" / "tiny" / "scorecard.png").is_file()
    # Online again: the failed record was dropped, the data fetched, every model scored.
    assert scores["unavailable"].isna().all()
    pooled = scores[scores["dataset"] == "pooled"]
    assert set(pooled["model"]) == {"base", "mfcc"} and set(pooled["distance"]) == {"l2", "cosine"}
    assert set(scores["dataset"]) == {*STUDIES, "pooled"}
    assert np.isfinite(pooled[["value", "ci_low", "ci_high"]].to_numpy(dtype=float)).all()
    for _, group in pooled.groupby(["distance", "metric"]):
        assert group["tied_with_best"].any()  # the best, at least
    anchors = pd.read_csv(results / "timbre" / "mfcc.csv")
    assert len(anchors) == 2 * (16 + 16)
    for name in ("alignment", "datasets", "synthetic_vs_human"):
        assert (results / "figures" / "timbre" / f"{name}.png").stat().st_size > 10_000
        assert (results / "figures" / "timbre" / f"{name}.pdf").is_file()
    # The data's digests are pinned in the code: the lock file beside the config does not repeat them.
    assert not (tmp_path / "gear.lock").exists()


def test_the_tiny_run_offline_says_why_for_every_model(local_run):
    results, config = local_run
    scores = pd.read_csv(results / "timbre" / "scores.csv")
    assert scores["model"].tolist() == list(config["models"])
    assert scores["unavailable"].str.startswith("human timbre data unavailable: https://raw.githubusercontent.com/").all()
    assert scores["unavailable"].str.endswith("fetching is off (fetch: never)").all()
    assert (results / "figures" / "timbre" / "alignment.png").is_file()
