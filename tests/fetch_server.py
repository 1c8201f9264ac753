"""A web server on 127.0.0.1 standing in for the web: plain files (a mirror) and the Hugging Face hub.

Plain files are served at ``/<host>/<path>``, the layout of
``GEAR_DOWNLOAD_BASE_URL`` (gear.fetch). Hub repositories are served with
the endpoints and headers huggingface_hub 2.4 uses (``HF_ENDPOINT``):
``/api/models/<repo>[/revision/<rev>]`` (``sha``, ``siblings``),
``/api/models/<repo>/tree/<rev>`` (files with sizes and LFS digests) and
``/<repo>/resolve/<rev>/<file>`` (``X-Repo-Commit``, ``ETag``,
``Content-Length``). Every request is counted.
"""

import hashlib
import http.server
import json
import re
import threading
import time
from urllib.parse import unquote, urlsplit


class FileServer:
    """Start with ``with FileServer() as server``; ``server.url`` is its base URL.

    Attributes
    ----------
    files : dict
        Mirror path (``host/path``) -> bytes.
    repos : dict
        Repository id -> {"commit": 40 hex digits, "files": {name: bytes}}.
    requests : list of (method, path)
    bytes_sent : int
        Bytes of the bodies sent.
    truncate : set of str
        Paths (as requested) answered with the full Content-Length but only half the bytes.
    delay : float
        Seconds between the headers and the body of every file.
    """

    def __init__(self):
        self.files = {}
        self.repos = {}
        self.requests = []
        self.truncate = set()
        self.delay = 0.0
        self.bytes_sent = 0
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                server._answer(self, body=False)

            def do_GET(self):
                server._answer(self, body=True)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def add_repo(self, repo_id, files, commit=None):
        """Serve ``files`` (name -> bytes) as hub repository ``repo_id`` at ``commit``."""
        commit = commit or hashlib.sha1(repo_id.encode() + b"".join(sorted(files.values()))).hexdigest()
        self.repos[repo_id] = {"commit": commit, "files": dict(files)}
        return commit

    def count(self, pattern=""):
        """Requests whose path contains ``pattern``."""
        return sum(pattern in path for _, path in self.requests)

    # --- answers -----------------------------------------------------------

    def _answer(self, handler, body):
        path = unquote(urlsplit(handler.path).path)
        with self._lock:
            self.requests.append((handler.command, handler.path))
        content, headers = self._route(path)
        if content is None:
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(content)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if not body:
            return
        time.sleep(self.delay)
        if path in self.truncate:
            content = content[: len(content) // 2]
            with self._lock:
                self.bytes_sent += len(content)
            handler.wfile.write(content)
            handler.wfile.flush()
            handler.close_connection = True
            return
        with self._lock:
            self.bytes_sent += len(content)
        handler.wfile.write(content)

    def _route(self, path):
        match = re.fullmatch(r"/api/models/(.+?)(?:/revision/([^/]+))?", path)
        if match and match[1] in self.repos and "/tree/" not in path:
            repo = self.repos[match[1]]
            info = {
                "id": match[1],
                "modelId": match[1],
                "sha": repo["commit"],
                "siblings": [{"rfilename": name} for name in sorted(repo["files"])],
                "private": False,
            }
            return json.dumps(info).encode(), {"Content-Type": "application/json"}
        match = re.fullmatch(r"/api/models/(.+)/tree/([^/]+)(/.*)?", path)
        if match and match[1] in self.repos:
            entries = [
                {
                    "type": "file",
                    "path": name,
                    "size": len(data),
                    "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
                    "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134},
                }
                for name, data in sorted(self.repos[match[1]]["files"].items())
            ]
            return json.dumps(entries).encode(), {"Content-Type": "application/json"}
        match = re.fullmatch(r"/(.+)/resolve/([^/]+)/(.+)", path)
        if match and match[1] in self.repos:
            repo = self.repos[match[1]]
            data = repo["files"].get(match[3])
            if data is None or match[2] not in (repo["commit"], "main"):
                return None, {}
            return data, {
                "X-Repo-Commit": repo["commit"],
                "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                "Content-Type": "application/octet-stream",
            }
        data = self.files.get(path.lstrip("/"))
        return data, {"Content-Type": "application/octet-stream"}
