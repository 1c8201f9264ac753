"""gear.fetch against a real web server on 127.0.0.1 (tests/fetch_server.py): plain files and the hub."""

import hashlib
import json
import socket
import subprocess
import sys
import time

import pytest

from fetch_server import FileServer
from gear import fetch
from gear.errors import FetchError

URL = "https://example.org/models/weights.bin"
CONTENT = bytes(range(256)) * 4000  # 1 MB
REPO = "facebook/tiny-model"


@pytest.fixture
def server(tmp_path, monkeypatch):
    """The server, with GEAR's cache, mirror and hub pointed at it; no other setting leaks in."""
    with FileServer() as running:
        running.files["example.org/models/weights.bin"] = CONTENT
        monkeypatch.setenv("GEAR_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("GEAR_DOWNLOAD_BASE_URL", running.url)
        monkeypatch.setenv("HF_ENDPOINT", running.url)
        for name in ("HF_HUB_OFFLINE", "GEAR_FETCH", "GEAR_LOCK_FILE"):
            monkeypatch.delenv(name, raising=False)
        yield running


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _cached_files(tmp_path):
    """Every regular file under the cache, except GEAR's own bookkeeping (locks, digest memos)."""
    root = tmp_path / "cache"
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).parts[0] not in ("locks", "digests")
    )


def test_a_file_is_fetched_verified_and_locked_once(server, tmp_path):
    lock = tmp_path / "gear.lock"
    path = fetch.fetch(fetch.RemoteFile(URL), lock=lock)
    assert path.read_bytes() == CONTENT
    assert path == tmp_path / "cache/files/example.org/models/weights.bin"
    # The lock file is keyed by the original URL, not the mirror's.
    assert json.loads(lock.read_text())["files"] == {URL: {"sha256": _sha256(CONTENT), "bytes": len(CONTENT)}}
    assert server.requests == [("GET", "/example.org/models/weights.bin")]
    # Again, and from another project (another lock file): the cache answers.
    assert fetch.fetch(fetch.RemoteFile(URL), lock=lock) == path
    assert fetch.fetch(fetch.RemoteFile(URL), lock=tmp_path / "other.lock") == path
    assert len(server.requests) == 1


def test_a_digest_pinned_in_code_refuses_another_file(server, tmp_path):
    wrong = "0" * 64
    with pytest.raises(FetchError) as error:
        fetch.fetch(fetch.RemoteFile(URL, sha256=wrong))
    message = str(error.value)
    assert "\n" not in message and URL in message
    assert f"expected {wrong}, received {_sha256(CONTENT)}" in message
    assert _cached_files(tmp_path) == []
    # The right digest is accepted.
    assert fetch.fetch(fetch.RemoteFile(URL, sha256=_sha256(CONTENT))).read_bytes() == CONTENT


def test_a_changed_file_on_the_server_is_refused_by_the_lock(server, tmp_path):
    lock = tmp_path / "gear.lock"
    fetch.fetch(fetch.RemoteFile(URL), lock=lock)
    # Another machine (an empty cache), and the server now serves other bytes.
    server.files["example.org/models/weights.bin"] = CONTENT[:-1] + b"!"
    (tmp_path / "cache").rename(tmp_path / "old-cache")
    with pytest.raises(
        FetchError, match=f"expected {_sha256(CONTENT)}, received {_sha256(CONTENT[:-1] + b'!')}"
    ):
        fetch.fetch(fetch.RemoteFile(URL), lock=lock)
    assert _cached_files(tmp_path) == []
    # A corrupted copy in the cache is fetched again, not used.
    server.files["example.org/models/weights.bin"] = CONTENT
    path = fetch.fetch(fetch.RemoteFile(URL), lock=lock)
    path.write_bytes(b"corrupted")
    assert fetch.fetch(fetch.RemoteFile(URL), lock=lock).read_bytes() == CONTENT


def test_an_interrupted_download_leaves_nothing(server, tmp_path):
    server.truncate.add("/example.org/models/weights.bin")
    with pytest.raises(FetchError, match=f"{server.url}/example.org/models/weights.bin: download failed: "
                       "the connection broke before the end of the file"):  # fmt: skip
        fetch.fetch(fetch.RemoteFile(URL))
    assert _cached_files(tmp_path) == []


def test_an_unreachable_server_fails_at_once_with_the_url(server, monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("GEAR_DOWNLOAD_BASE_URL", closed)
    monkeypatch.setenv("HF_ENDPOINT", closed)
    start = time.perf_counter()
    with pytest.raises(
        FetchError, match=rf"^{closed}/example.org/models/weights.bin: download failed: connection refused$"
    ):
        fetch.fetch(fetch.RemoteFile(URL))
    with pytest.raises(FetchError, match=rf"^{closed}/{REPO} \(revision main\): download failed: .*refused"):
        fetch.fetch(fetch.HubRepo(REPO))
    assert time.perf_counter() - start < 5


def test_a_server_that_never_answers_is_given_up_within_the_timeout(server, monkeypatch):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("GEAR_DOWNLOAD_BASE_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setattr(fetch, "READ_TIMEOUT", 1.0)
        start = time.perf_counter()
        with pytest.raises(FetchError, match="no answer within the time limit"):
            fetch.fetch(fetch.RemoteFile(URL))
        assert time.perf_counter() - start < 5


def test_fetching_off_reads_the_cache_only(server, tmp_path, monkeypatch):
    with pytest.raises(FetchError, match=rf"^{URL}: not in the cache .* fetching is off"):
        fetch.fetch(fetch.RemoteFile(URL), mode="never")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FetchError, match="fetching is off"):
        fetch.fetch(fetch.RemoteFile(URL))
    with pytest.raises(FetchError, match=rf"{REPO} \(revision main\): not in the cache"):
        fetch.fetch(fetch.HubRepo(REPO))
    assert server.requests == []
    monkeypatch.delenv("HF_HUB_OFFLINE")
    path = fetch.fetch(fetch.RemoteFile(URL))
    assert fetch.fetch(fetch.RemoteFile(URL), mode="never") == path
    with pytest.raises(FetchError, match="'sometimes' is not one of auto, never"):
        fetch.fetch(fetch.RemoteFile(URL), mode="sometimes")


def _repo_files(weights_name="model.safetensors"):
    return {
        "config.json": b'{"hidden_size": 4}',
        weights_name: b"w" * 50_000,
        "tf_model.h5": b"t" * 50_000,  # another format of the same weights: never fetched
        "README.md": b"# tiny",
    }


@pytest.mark.parametrize("weights_name", ["model.safetensors", "pytorch_model.bin"])
def test_a_hub_repository_is_fetched_at_a_recorded_commit(server, tmp_path, weights_name):
    commit = server.add_repo(REPO, _repo_files(weights_name))
    lock = tmp_path / "gear.lock"
    folder = fetch.fetch(fetch.HubRepo(REPO), lock=lock)
    assert folder.name == commit
    assert sorted(path.name for path in folder.iterdir()) == ["config.json", weights_name]
    assert (folder / weights_name).read_bytes() == _repo_files(weights_name)[weights_name]
    recorded = json.loads(lock.read_text())["hub"][f"hf://{REPO}"]
    assert recorded["commit"] == commit and recorded["revision"] == "main"
    assert recorded["files"] == {
        name: _sha256(_repo_files(weights_name)[name]) for name in ("config.json", weights_name)
    }
    assert server.count("/tf_model.h5") == 0 and server.count("/README.md") == 0
    # The branch moves on the hub: the lock keeps the recorded commit, and nothing is requested.
    server.add_repo(REPO, {**_repo_files(weights_name), "config.json": b"{}"})
    before = len(server.requests)
    assert fetch.fetch(fetch.HubRepo(REPO), lock=lock) == folder
    assert len(server.requests) == before


def test_a_hub_file_with_another_digest_is_refused_and_removed(server, tmp_path):
    server.add_repo(REPO, _repo_files())
    wrong = "f" * 64
    with pytest.raises(FetchError) as error:
        fetch.fetch(fetch.HubRepo(REPO, sha256=(("model.safetensors", wrong),)))
    message = str(error.value)
    assert f"{server.url}/{REPO}/resolve/" in message and "model.safetensors" in message
    assert f"expected {wrong}, received {_sha256(_repo_files()['model.safetensors'])}" in message
    weights = [name for name in _cached_files(tmp_path) if name.endswith("model.safetensors")]
    assert weights == []
    blobs = (tmp_path / "cache/huggingface/models--facebook--tiny-model/blobs").iterdir()
    assert _sha256(_repo_files()["model.safetensors"]) not in [blob.name for blob in blobs]


def test_several_remotes_are_one_folder_of_named_links(server, tmp_path):
    server.add_repo(REPO, _repo_files())
    remotes = [fetch.HubRepo(REPO, name="tiny"), fetch.RemoteFile(URL, name="weights")]
    bundle = fetch.fetch_all(remotes)
    assert sorted(path.name for path in bundle.iterdir()) == ["tiny", "weights"]
    assert (bundle / "weights").read_bytes() == CONTENT
    assert (bundle / "tiny" / "config.json").is_file()
    assert fetch.fetch_all(remotes) == bundle
    assert fetch.fetch_all(remotes[1:]) == tmp_path / "cache/files/example.org/models/weights.bin"


_FETCH_IN_A_PROCESS = """
import sys
from gear import fetch
path = fetch.fetch(fetch.RemoteFile(sys.argv[1]), lock=sys.argv[2])
print(path)
"""


def test_two_processes_fetching_one_file_download_it_once(server, tmp_path):
    server.delay = 1.0  # both start before the first has finished
    lock = tmp_path / "gear.lock"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _FETCH_IN_A_PROCESS, URL, str(lock)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    paths = {out.strip() for out, _ in outputs}
    assert paths == {str(tmp_path / "cache/files/example.org/models/weights.bin")}
    assert (tmp_path / "cache/files/example.org/models/weights.bin").read_bytes() == CONTENT
    assert server.count("/weights.bin") == 1
    assert json.loads(lock.read_text())["files"][URL]["sha256"] == _sha256(CONTENT)


def test_a_failed_fetch_makes_the_model_unavailable_with_its_reason(server, tmp_path, monkeypatch):
    """gear.pipeline: the fetch job's record, then check_model's status (what the workflow chains)."""
    from gear import pipeline

    monkeypatch.setenv("GEAR_DOWNLOAD_BASE_URL", f"{server.url}/nothing-here")
    record = tmp_path / "openl3.fetched.json"
    pipeline.fetch_model_files(record, model_id="openl3", module_name="gear.models.openl3")
    reason = json.loads(record.read_text())["reason"]
    assert reason == f"{server.url}/nothing-here/github.com/torchopenl3/torchopenl3-models/raw/master/" \
                     "torchopenl3_mel256_music_6144.pth.tar: download failed: HTTP 404"  # fmt: skip
    status = tmp_path / "openl3.json"
    pipeline.check_model(status, model_id="openl3", module_name="gear.models.openl3", fetched=record)
    recorded = json.loads(status.read_text())
    assert (
        not recorded["available"] and recorded["reason"] == f"model 'openl3': weights not fetched: {reason}"
    )
    # weights: given by hand wins over the record (here: a file that is not a checkpoint).
    (tmp_path / "mine.pth").write_bytes(b"not a checkpoint")
    pipeline.check_model(status, model_id="openl3", module_name="gear.models.openl3",
                         weights=str(tmp_path / "mine.pth"), fetched=record)  # fmt: skip
    assert "mine.pth" in json.loads(status.read_text())["reason"]
