"""The paper's seven models from one command, their weights fetched from a server on 127.0.0.1.

The server (tests/fetch_server.py) stands in for GitHub, Google Cloud
Storage and the Hugging Face hub; it holds checkpoints with seeded random
weights in the published formats (tests/checkpoints.py). GEAR is pointed at
it by ``GEAR_DOWNLOAD_BASE_URL`` and ``HF_ENDPOINT``, with a scratch cache
(``GEAR_CACHE_DIR``).
"""

import hashlib
import json
import os
import shutil
import socket
import time

import numpy as np
import pytest
import yaml

from checkpoints import hub_repositories, write_byols_pth, write_openl3_pth_tar, write_yamnet_h5
from conftest import TEST_CONFIG, snakemake, skip_or_fail
from fetch_server import FileServer
from gear.models import remote

pytestmark = pytest.mark.workflow

#: The paper's seven models and their scene embedding sizes.
PAPER_MODELS = {
    "base": ("gear.models.base", "envs/torch.yaml", 4096),
    "openl3": ("gear.models.openl3", "envs/torch.yaml", 6144),
    "byols": ("gear.models.byols", "envs/torch.yaml", 2048),
    "crepe": ("gear.models.crepe", "envs/torch.yaml", 2048),
    "wav2vec2": ("gear.models.wav2vec2", "envs/torch.yaml", 1024),
    "gura": ("gear.models.gura", "envs/torch.yaml", 3072),
    "yamnet": ("gear.models.yamnet", "envs/tf.yaml", 1024),
}
FETCHED = ["openl3", "byols", "wav2vec2", "gura", "yamnet"]
EMBEDDINGS = "results/embeddings/costs.csv"


def _mirror_path(url):
    return url.split("://", 1)[1]


def _write_config(directory, **settings):
    """The tiny configuration with the paper's seven models, in ``directory``."""
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["models"] = {
        name: {"module": module, "env": env, "batch_size": 8}
        for name, (module, env, _) in PAPER_MODELS.items()
    }
    config.update({"fetch": "auto", **settings})  # the tiny config says never: tests run offline
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return directory / "config.yaml"


def _environment(cache, base_url):
    env = {key: value for key, value in os.environ.items()
           if key not in ("HF_HUB_OFFLINE", "GEAR_FETCH", "GEAR_LOCK_FILE", "GEAR_RANDOM_INIT")}  # fmt: skip
    env.update(GEAR_CACHE_DIR=str(cache), GEAR_DOWNLOAD_BASE_URL=base_url, HF_ENDPOINT=base_url)
    return env


def _run(directory, env, *targets):
    start = time.perf_counter()
    result = snakemake("--cores", "2", "--configfile", str(directory / "config.yaml"),
                       "--directory", str(directory), *targets, env=env, timeout=1800)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    for package in ("tensorflow", "tf_keras", "transformers", "torchopenl3"):
        try:
            __import__(package)
        except ImportError:
            skip_or_fail(f"{package} is not installed: the paper's seven models need it")
    scratch = tmp_path_factory.mktemp("checkpoints")
    with FileServer() as running:
        for write, url in ((write_openl3_pth_tar, remote.OPENL3_URL), (write_byols_pth, remote.BYOLS_URL),
                           (write_yamnet_h5, remote.YAMNET_URL)):  # fmt: skip
            path = scratch / url.rsplit("/", 1)[1]
            write(path)
            running.files[_mirror_path(url)] = path.read_bytes()
        for repo_id, files in hub_repositories().items():
            running.add_repo(repo_id, {**files, "tf_model.h5": b"not fetched"})
        yield running


@pytest.fixture(scope="module")
def runs(server, tmp_path_factory):
    """Two runs in two directories sharing one cache; the second has the first's lock file.

    Up to the embeddings of every model (``costs.csv`` gathers them): what
    follows does not depend on where the weights came from, and
    tests/test_workflow.py runs it.
    """
    cache = tmp_path_factory.mktemp("cache")
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    env = _environment(cache, server.url)
    _write_config(first)
    seconds = [_run(first, env, EMBEDDINGS)]
    served = [(len(server.requests), server.bytes_sent)]
    _write_config(second)
    shutil.copy(first / "gear.lock", second / "gear.lock")  # committed beside config.yaml
    seconds.append(_run(second, env, EMBEDDINGS))
    served.append((len(server.requests), server.bytes_sent))
    print(f"\nfirst run: {seconds[0]:.1f} s, {served[0][0]} requests, {served[0][1]} bytes; "
          f"second run: {seconds[1]:.1f} s, {served[1][0] - served[0][0]} requests, "
          f"{served[1][1] - served[0][1]} bytes")  # fmt: skip
    return first, second, served


def test_the_first_run_fetches_and_embeds_all_seven_models(server, runs):
    first, _, _ = runs
    for name, (_, _, dim) in PAPER_MODELS.items():
        status = json.loads((first / f"results/models/{name}.json").read_text())
        assert status["available"], status
        embeddings = np.load(first / f"results/embeddings/tiny/{name}.npy")
        assert embeddings.shape == (36, dim) and np.isfinite(embeddings).all()
    record = json.loads((first / "results/models/gura.fetched.json").read_text())
    assert record["reason"] is None
    # Every file was fetched once, and the lock records what the server sent.
    lock = json.loads((first / "gear.lock").read_text())
    for url in (remote.OPENL3_URL, remote.BYOLS_URL, remote.YAMNET_URL):
        data = server.files[_mirror_path(url)]
        assert lock["files"][url] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        assert server.count(_mirror_path(url)) == 1
    for repo_id, repo in server.repos.items():
        entry = lock["hub"][f"hf://{repo_id}"]
        assert entry["commit"] == repo["commit"]
        fetched = ("config.json", "model.safetensors")
        assert entry["files"] == {name: hashlib.sha256(repo["files"][name]).hexdigest() for name in fetched}
        assert server.count(f"/{repo_id}/resolve/{repo['commit']}/model.safetensors") <= 2  # HEAD, GET
    assert server.count("tf_model.h5") == 0


def test_a_second_run_in_a_new_directory_downloads_nothing(runs):
    first, second, served = runs
    assert served[1] == served[0]
    assert (second / "gear.lock").read_text() == (first / "gear.lock").read_text()
    for name in PAPER_MODELS:
        np.testing.assert_array_equal(
            np.load(second / f"results/embeddings/tiny/{name}.npy"),
            np.load(first / f"results/embeddings/tiny/{name}.npy"),
        )


def _fetch_and_check(directory, env):
    """Only the fetch and check_model jobs of the fetched models; returns the statuses and the time."""
    seconds = _run(directory, env, *(f"results/models/{name}.json" for name in FETCHED))
    return {
        name: json.loads((directory / f"results/models/{name}.json").read_text()) for name in FETCHED
    }, seconds


def test_an_unreachable_server_makes_the_models_unavailable_with_the_reason(server, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    _write_config(tmp_path / "run")
    statuses, seconds = _fetch_and_check(tmp_path / "run", _environment(tmp_path / "cache", closed))
    for name, status in statuses.items():
        assert not status["available"]
        reason = status["reason"]
        assert "\n" not in reason and "weights not fetched" in reason and closed in reason, reason
        assert reason.endswith("connection refused"), reason
    assert "torchopenl3_mel256_music_6144.pth.tar" in statuses["openl3"]["reason"]
    assert "facebook/hubert-xlarge-ll60k" in statuses["gura"]["reason"]
    assert seconds < 300  # five fetch jobs, five check_model jobs, on two shared cores
    # Nothing was recorded: the lock file holds only what was received.
    assert not (tmp_path / "run" / "gear.lock").exists()
    # The network is back: the next run fetches again, and the models are available.
    statuses, _ = _fetch_and_check(tmp_path / "run", _environment(tmp_path / "cache", server.url))
    assert all(status["available"] for status in statuses.values()), statuses


def test_fetch_never_asks_nothing_of_the_server(server, tmp_path):
    before = len(server.requests)
    _write_config(tmp_path / "run", fetch="never")
    statuses, _ = _fetch_and_check(tmp_path / "run", _environment(tmp_path / "cache", server.url))
    for status in statuses.values():
        assert not status["available"] and "fetching is off" in status["reason"], status
    assert len(server.requests) == before
