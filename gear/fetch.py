"""Remote inputs: a URL or a Hugging Face hub repository -> a verified local path.

One small layer under every model wrapper (and any reference data set):
a :class:`RemoteFile` (a URL and, where published, its SHA-256) or a
:class:`HubRepo` (a repository id and a revision) goes in, a path in a
cache shared by runs and projects comes out. Plain URLs are downloaded by
`pooch <https://www.fatiando.org/pooch>`_ (as librosa and SciPy fetch
their data), hub repositories by ``huggingface_hub``; both show a progress
bar. Nothing here opens a file for a model: wrappers ask for paths.

**Cache**: ``$GEAR_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/gear``, else
``~/.cache/gear``; plain files under ``files/<host>/<path of the URL>``,
hub repositories under ``huggingface/`` (the hub's own cache layout).

**Pinned and verified.** A digest pinned in the code, else the one the
lock file recorded (:class:`Lock`, ``gear.lock`` beside ``config.yaml``),
must match the file's SHA-256, or :class:`~gear.errors.FetchError` names
the file, the expected and the received digest. With neither, the first
download records its digest (and, for a hub repository, the commit its
revision resolved to, which later fetches then ask for), as pip's
hash-checking mode and conda-lock do. A download goes to a temporary
file, is hashed, and only then renamed to its place: an interrupted or
refused download leaves nothing where it could be read as weights. A file
lock per remote serialises two processes fetching the same file (two runs,
or jobs on a shared file system).

**Offline is a normal state.** ``mode="never"`` (``fetch: never`` in
``config.yaml``, ``GEAR_FETCH=never``, or ``HF_HUB_OFFLINE=1``) reads the
cache only; a connection is given :data:`CONNECT_TIMEOUT` seconds; every
failure is one :class:`~gear.errors.FetchError` line naming the URL and
the cause. ``requests`` (under pooch) and ``httpx`` (under
huggingface_hub) honour ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY``.

Environment variables read here:

``GEAR_CACHE_DIR``
    The cache (see above).
``GEAR_DOWNLOAD_BASE_URL``
    A mirror of the plain URLs: ``https://host/path`` is fetched from
    ``$GEAR_DOWNLOAD_BASE_URL/host/path`` (digests and lock entries stay
    keyed by the original URL, so a mirror cannot swap a file). The hub's
    own variable ``HF_ENDPOINT`` does the same for hub repositories.
``GEAR_FETCH``
    ``auto`` (default) or ``never``, for code run outside the workflow.
``GEAR_LOCK_FILE``
    The lock file used outside the workflow (default: none, only the
    digests pinned in the code are checked).
"""

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from filelock import FileLock

from gear.errors import FetchError

__all__ = [
    "RemoteFile",
    "HubRepo",
    "Lock",
    "fetch",
    "fetch_all",
    "cache_dir",
    "file_sha256",
    "fetch_mode",
    "MODES",
    "LOCK_FILENAME",
]

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "GEAR_CACHE_DIR"
BASE_URL_ENV = "GEAR_DOWNLOAD_BASE_URL"
FETCH_ENV = "GEAR_FETCH"
LOCK_ENV = "GEAR_LOCK_FILE"
LOCK_FILENAME = "gear.lock"
#: ``auto``: download what the cache lacks; ``never``: the cache only.
MODES = ("auto", "never")
#: Seconds to open a connection; and between two reads of a download.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """A file at a URL.

    Parameters
    ----------
    url : str
    sha256 : str or None
        Its SHA-256 (hex) where the source publishes it or it was checked
        once; None: recorded in the lock file on first download.
    name : str
        Short name in messages and bundles; default: the URL's last part.
    """

    url: str
    sha256: str | None = None
    name: str = ""

    @property
    def label(self):
        return self.name or self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def key(self):
        return self.url


@dataclasses.dataclass(frozen=True)
class HubRepo:
    """Files of a Hugging Face hub model repository, at one revision.

    Parameters
    ----------
    repo_id : str
        E.g. ``"facebook/wav2vec2-large-960h-lv60-self"``.
    revision : str
        A commit (pinned) or a branch; a branch is resolved on first
        download and the commit recorded in the lock file.
    files : tuple of str
        Files fetched when the repository has them (configurations).
    weights : tuple of str
        Alternatives: the first the repository has is fetched (only one:
        a repository often holds the same weights in several formats).
    sha256 : tuple of (str, str)
        Pinned (file name, digest) pairs, where known.
    name : str
        Short name; default: the repository's name.
    """

    repo_id: str
    revision: str = "main"
    files: tuple = ("config.json", "preprocessor_config.json")
    weights: tuple = ("model.safetensors", "pytorch_model.bin")
    sha256: tuple = ()
    name: str = ""

    @property
    def label(self):
        return self.name or self.repo_id.rsplit("/", 1)[-1]

    @property
    def key(self):
        return f"hf://{self.repo_id}"

    @property
    def url(self):
        return f"{_hub_endpoint()}/{self.repo_id}"


def _hub_endpoint():
    """The hub's address: ``$HF_ENDPOINT`` read now (huggingface_hub reads it once, at import)."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def cache_dir() -> Path:
    """GEAR's cache (not created here).

    ``$GEAR_CACHE_DIR``, else ``$XDG_CACHE_HOME/gear``, else ``~/.cache/gear``.
    """
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "gear"


def fetch_mode(mode=None):
    """The fetch mode: ``never`` if ``mode``, ``$GEAR_FETCH`` or ``HF_HUB_OFFLINE`` says so, else ``auto``."""
    modes = [value for value in (mode, os.environ.get(FETCH_ENV)) if value]
    for value in modes:
        if value not in MODES:
            raise FetchError(f"fetch mode {value!r} is not one of {', '.join(MODES)}")
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    return "never" if offline or "never" in modes else "auto"


def _write_json_atomic(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            json.dump(data, file, indent=2, sort_keys=True)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _lock_for(key) -> FileLock:
    """An inter-process lock named after ``key``, in the cache."""
    locks = cache_dir() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(str(locks / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.lock"))


def file_sha256(path) -> str:
    """SHA-256 of a file, remembered by (real path, size, mtime) so that large files are hashed once.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    digest : str
        64 hex digits.
    """
    real = Path(path).resolve()
    stat = real.stat()
    memo = cache_dir() / "digests" / f"{hashlib.sha256(str(real).encode()).hexdigest()[:32]}.json"
    identity = {"path": str(real), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        known = json.loads(memo.read_text())
        if {key: known.get(key) for key in identity} == identity:
            return known["sha256"]
    except (OSError, ValueError, KeyError):
        pass
    digest = hashlib.sha256()
    with open(real, "rb") as file:
        while block := file.read(_CHUNK):
            digest.update(block)
    _write_json_atomic(memo, {**identity, "sha256": digest.hexdigest()})
    return digest.hexdigest()


class Lock:
    """The lock file: what the first download of each remote got.

    JSON: ``{"files": {url: {"sha256", "bytes"}}, "hub": {"hf://<repo_id>":
    {"revision", "commit", "files": {name: sha256}}}}``. Meant to be
    committed beside ``config.yaml``, so that every later run, here or
    elsewhere, fetches exactly the same bytes.

    Parameters
    ----------
    path : str or Path or None
        None: nothing is read or recorded.
    """

    def __init__(self, path):
        self.path = Path(path) if path else None

    def _read(self):
        if self.path is None or not self.path.is_file():
            return {}
        try:
            return json.loads(self.path.read_text())
        except ValueError as error:
            raise FetchError(f"{self.path}: not a GEAR lock file (invalid JSON: {error})") from None

    def get(self, section, key):
        """The recorded entry of ``key`` in ``section`` (``files`` or ``hub``), or None."""
        return self._read().get(section, {}).get(key)

    def record(self, section, key, entry):
        """Record ``entry`` unless ``key`` already has one (a read-modify-write under a file lock)."""
        if self.path is None:
            return
        with _lock_for(f"lockfile:{self.path.resolve()}"):
            content = self._read()
            if key in content.get(section, {}):
                return
            content.setdefault(section, {})[key] = entry
            _write_json_atomic(self.path, content)
        logger.info("recorded %s in %s", key, self.path)


def _default_lock():
    return Lock(os.environ.get(LOCK_ENV))


def _mirrored(url):
    """``url`` on the mirror of ``$GEAR_DOWNLOAD_BASE_URL`` (``base/host/path``), else itself."""
    base = os.environ.get(BASE_URL_ENV, "").rstrip("/")
    if not base:
        return url
    parts = urlsplit(url)
    return f"{base}/{parts.netloc}{parts.path}"


def _cause(error):
    """The cause of a failed download, in a few words."""
    text = " ".join(str(error).split())
    lowered = text.lower()
    if "nameresolution" in lowered or "name or service not known" in lowered or "name resolution" in lowered:
        return "the host name does not resolve (no network?)"
    if "timed out" in lowered or "timeout" in type(error).__name__.lower():
        return (
            f"no answer within the time limit ({CONNECT_TIMEOUT:g} s to connect, {READ_TIMEOUT:g} s per read)"
        )
    if "connection refused" in lowered:
        return "connection refused"
    if "incompleteread" in lowered or "connection broken" in lowered:
        return "the connection broke before the end of the file"
    response = getattr(error, "response", None)
    if response is not None and getattr(response, "status_code", None):
        return f"HTTP {response.status_code}"
    return f"{type(error).__name__}: {text[:200]}"


def _check_digest(label, expected, received):
    if expected and expected != received:
        raise FetchError(f"{label}: SHA-256 mismatch: expected {expected}, received {received}")


def _fetch_file(remote, mode, lock):
    parts = urlsplit(remote.url)
    # The decoded path: a file name with "#" or a space is that name in the cache.
    target = cache_dir() / "files" / parts.netloc / unquote(parts.path).lstrip("/")
    # The lock file is read once the file is ours: another process may just have recorded it.
    with _lock_for(remote.key):
        locked = lock.get("files", remote.key)
        expected = remote.sha256 or (locked or {}).get("sha256")
        if target.is_file():
            received = file_sha256(target)
            if expected in (None, received):
                _record_unpinned(lock, remote, received, target)
                return target
            logger.warning("%s: cached copy %s has another digest; fetching it again", remote.label, target)
            target.unlink()
        if mode == "never":
            raise FetchError(f"{remote.url}: not in the cache ({target}) and fetching is off (fetch: never)")
        url = _mirrored(remote.url)
        staging = target.with_name(f".{target.name}.download")
        logger.info("%s: fetching %s", remote.label, url)
        try:
            _download(url, staging)
            received = file_sha256(staging)
            _check_digest(f"{remote.url} ({url})" if url != remote.url else remote.url, expected, received)
            os.replace(staging, target)
        finally:
            staging.unlink(missing_ok=True)
    _record_unpinned(lock, remote, received, target)
    logger.info("%s: fetched %s to %s (sha256 %s)", remote.label, url, target, received)
    return target


def _record_unpinned(lock, remote, received, target):
    """Record a file's digest in the lock file, unless the code pins it (the lock would only repeat it)."""
    if not remote.sha256:
        lock.record("files", remote.key, {"sha256": received, "bytes": target.stat().st_size})


def _download(url, destination):
    """Download ``url`` to ``destination`` with pooch (a temporary file, then a rename; a progress bar)."""
    import pooch
    import requests

    # pooch's own lines would advise its known_hash argument: GEAR logs the digest itself.
    pooch.get_logger().setLevel(logging.WARNING)
    destination.parent.mkdir(parents=True, exist_ok=True)
    downloader = pooch.HTTPDownloader(progressbar=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
    try:
        pooch.retrieve(
            url, known_hash=None, fname=destination.name, path=destination.parent, downloader=downloader
        )
    except (requests.exceptions.RequestException, OSError) as error:
        raise FetchError(f"{url}: download failed: {_cause(error)}") from None


def _hub_snapshot(repo, revision, patterns, offline):
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(
            repo.repo_id,
            revision=revision,
            cache_dir=cache_dir() / "huggingface",
            allow_patterns=list(patterns),
            local_files_only=offline,
            etag_timeout=CONNECT_TIMEOUT,
            endpoint=_hub_endpoint(),
        )
    )


def _fetch_hub(repo, mode, lock):
    storage = cache_dir() / "huggingface" / f"models--{repo.repo_id.replace('/', '--')}"
    with _lock_for(repo.key):
        locked = lock.get("hub", repo.key) or {}
        expected = {**locked.get("files", {}), **dict(repo.sha256)}
        revision = locked.get("commit") or repo.revision
        folder = storage / "snapshots" / revision
        # Fast path: a locked commit whose files are all here; no request at all.
        if not (locked.get("files") and all((folder / name).is_file() for name in locked["files"])):
            folder = _hub_download(repo, revision, offline=mode == "never")
        digests = {}
        for name in sorted(path.name for path in folder.iterdir() if path.is_file()):
            if name not in (*repo.files, *repo.weights):
                continue
            digests[name] = file_sha256(folder / name)
            if expected.get(name) not in (None, digests[name]):
                # Nothing refused stays readable: drop the file and its blob.
                blob = (folder / name).resolve()
                (folder / name).unlink()
                blob.unlink(missing_ok=True)
                _check_digest(f"{repo.url}/resolve/{folder.name}/{name}", expected[name], digests[name])
        missing = sorted(set(locked.get("files", {})) - set(digests))
        if missing:
            raise FetchError(
                f"{repo.url}: commit {folder.name} lacks {', '.join(missing)} recorded in {lock.path}"
            )
    lock.record("hub", repo.key, {"revision": repo.revision, "commit": folder.name, "files": digests})
    return folder


def _hub_download(repo, revision, offline):
    """Download the configurations and the first weights file the repository has.

    Returns
    -------
    folder : Path
        The snapshot folder, named by its commit.
    """
    try:
        folder = _hub_snapshot(repo, revision, (*repo.files, repo.weights[0]), offline)
        for alternative in repo.weights[1:]:
            if any((folder / name).is_file() for name in repo.weights):
                break
            folder = _hub_snapshot(repo, folder.name, (alternative,), offline)
    except Exception as error:  # huggingface_hub's and httpx's own errors, many kinds
        if offline:
            raise FetchError(
                f"{repo.url} (revision {revision}): not in the cache "
                f"({cache_dir() / 'huggingface'}) and fetching is off (fetch: never or HF_HUB_OFFLINE)"
            ) from None
        raise FetchError(
            f"{repo.url} (revision {revision}): download failed: {_cause(_root(error))}"
        ) from None
    if not any((folder / name).is_file() for name in repo.weights):
        raise FetchError(f"{repo.url} (revision {folder.name}): has none of {', '.join(repo.weights)}")
    return folder


def _root(error):
    """The innermost exception of a chain (the network error under the hub's own)."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    return error


def fetch(remote, *, mode=None, lock=None) -> Path:
    """A verified local copy of one remote, downloaded if the cache lacks it.

    Parameters
    ----------
    remote : RemoteFile or HubRepo
    mode : {"auto", "never"} or None
        None: ``$GEAR_FETCH`` (default ``auto``). ``HF_HUB_OFFLINE=1``
        forces ``never``.
    lock : Lock, str, Path or None
        The lock file; None: ``$GEAR_LOCK_FILE``, if set.

    Returns
    -------
    path : Path
        The file (:class:`RemoteFile`) or the snapshot directory
        (:class:`HubRepo`) in the cache.

    Raises
    ------
    FetchError
        One line naming the URL and the cause: not in the cache with
        fetching off, network failure, or a digest mismatch (expected and
        received digests).
    """
    mode = fetch_mode(mode)
    lock = lock if isinstance(lock, Lock) else (Lock(lock) if lock else _default_lock())
    if isinstance(remote, HubRepo):
        return _fetch_hub(remote, mode, lock)
    return _fetch_file(remote, mode, lock)


def fetch_all(remotes, *, mode=None, lock=None) -> Path:
    """One path for a model's remotes: the remote's own if one, else a folder of links named by ``label``.

    Parameters
    ----------
    remotes : sequence of RemoteFile or HubRepo
        Non-empty.

    Returns
    -------
    path : Path
        With several remotes, ``<cache>/bundles/<digest of the paths>/``
        holding a symbolic link ``remote.label`` to each fetched path.
    """
    paths = {remote.label: fetch(remote, mode=mode, lock=lock) for remote in remotes}
    if len(paths) == 1:
        return next(iter(paths.values()))
    identity = json.dumps({label: str(path) for label, path in paths.items()}, sort_keys=True)
    bundle = cache_dir() / "bundles" / hashlib.sha256(identity.encode()).hexdigest()[:16]
    with _lock_for(f"bundle:{bundle}"):
        bundle.mkdir(parents=True, exist_ok=True)
        for label, path in paths.items():
            link = bundle / label
            if not (link.is_symlink() and Path(os.readlink(link)) == path):
                link.unlink(missing_ok=True)
                link.symlink_to(path, target_is_directory=path.is_dir())
    return bundle
