"""Every built-in wrapper in gear/models/ passes the HEAR 2021 validator.

What runs is the validator's own command line, ``hear-validator MODULE -d
cpu`` (hearvalidator 2021.0.6, ``hearvalidator.validate.main``), once per
wrapper, with ``GEAR_RANDOM_INIT=1`` in the environment. To reproduce one by
hand::

    GEAR_RANDOM_INIT=1 .venv/bin/hear-validator gear.models.openl3 -d cpu

The validator imports the module, calls ``load_model()`` without
arguments (twice for TensorFlow models: once more inside ``tf.device``),
checks that the model is a ``torch.nn.Module`` or ``tf.Module`` with a
``sample_rate`` among 16000, 22050, 32000, 44100, 48000 and int
``scene_embedding_size`` / ``timestamp_embedding_size``, then runs
``get_timestamp_embeddings`` on 2 sounds of uniform noise of 1.07, 1.98 and
4.0 s (3-D float32 embeddings, timestamps of shape (n_sounds, n_frames),
hops regular within 1 ms, last timestamp not after the sound's end; a hop
above 50 ms or a first timestamp after one hop only warns) and
``get_scene_embeddings`` on 4 sounds of 2.74 s (2-D float32, (4,
scene_embedding_size)). It needs no network.

Weights: wrappers whose weights ship in a wheel (crepe, resemblyzer,
pesto, musicnn, birdnet, basic_pitch) or that have none (base, mfcc, cqt,
scattering) load their real networks. Those whose weights come from a hub
or a URL (openl3, byols, wav2vec2, hubert, gura, yamnet) build the same
architecture with seeded random weights under ``GEAR_RANDOM_INIT=1``;
wav2vec2, hubert and gura then keep 2 transformer layers (their reduced
random-init default: widths, and so every output shape, are the published
ones). The validator checks the API, not the weights.

How it is run, so that the whole file takes a few minutes on 2 cores:

- Importing the validator (TensorFlow and torch) takes about 9 s of CPU,
  a quarter of all the work if paid 16 times. Each of :data:`PARALLEL`
  worker processes imports ``hearvalidator.validate`` once (it starts no
  thread) and then ``fork()`` s one fresh child per wrapper, which runs
  ``hearvalidator.validate.main()`` exactly as the console script does,
  with its output in its own log. Wrappers therefore never share a
  process: each is imported into a clean copy of the worker.
- Two workers with one thread each (``OMP_NUM_THREADS=1``; GEAR's
  TensorFlow, TFLite and ONNX wrappers follow torch's thread count) use
  the 2 cores of CI better than one after the other, and the longest
  validations start first (:data:`EXPECTED_SECONDS`).
- glibc is told to keep freed memory (``MALLOC_MMAP_THRESHOLD_``,
  ``MALLOC_TRIM_THRESHOLD_``) rather than return it to the system and
  fault it in again on the next batch: that was a third of openl3's time.
- A validation that outlives its time limit (:func:`time_limit`, several
  times what it takes here, for loaded machines) gets a Python traceback
  dump (``faulthandler``, into its log) and is then killed; the test
  fails with the end of the log.

Only one failure is not the wrapper's fault: a third-party package that
this environment lacks (``ModuleNotFoundError``), or hearvalidator or
TensorFlow themselves missing. Outside CI that skips, naming the package;
in CI (``CI`` set, as ``.ci/run`` runs), where ``make env`` installs every
requirements file, it fails with the same message.
"""

import importlib.util
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "gear" / "models"
#: Validations run at once, each single-threaded.
PARALLEL = 2
#: CPU seconds each validation took here (2026-11; one thread each, so
#: about its wall-clock time on an idle machine; 2 to 3 times more on a
#: loaded one), to start the longest first and to scale time limits.
#: Modules not listed take less than :data:`DEFAULT_SECONDS`.
EXPECTED_SECONDS = {
    "gear.models.openl3": 110,  # ~340 windows of 1 s through the full network (50 ms hop)
    "gear.models.musicnn": 51,
    "gear.models.gura": 46,  # CREPE "full" at a 50 ms hop, and 2 + 2 transformer layers
    "gear.models.crepe": 32,
    "gear.models.birdnet": 14,
    "gear.models.hubert": 9,
    "gear.models.wav2vec2": 9,
}
DEFAULT_SECONDS = 6


def time_limit(module_name):
    """Seconds a validation may take before it counts as hung: 8 times the
    expected time, at least 5 minutes."""
    return max(300.0, 8.0 * EXPECTED_SECONDS.get(module_name, DEFAULT_SECONDS))


def _wrapper_modules():
    """Every HEAR wrapper of gear/models/: a public module defining load_model (not gear.models.remote)."""
    return sorted(
        f"gear.models.{path.stem}"
        for path in MODELS_DIR.glob("*.py")
        if not path.stem.startswith("_") and re.search(r"^def load_model\(", path.read_text(), re.MULTILINE)
    )


def _validator_missing():
    """Why the validator cannot run here, or None."""
    missing = [name for name in ("hearvalidator", "tensorflow") if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not installed (pip install -r requirements-models-tf.txt; "
        "pip install --no-deps --ignore-requires-python -r requirements-models-tf-nodeps.txt)"
    )

#: The worker: imports the validator once, then, for each job read from
#: stdin (one JSON object a line), forks a child that runs the validator's
#: command line with its output in the job's log, waits for it (within the
#: job's time limit) and writes one JSON line with the exit code.
WORKER = r"""
import faulthandler, json, os, signal, sys, time, traceback

import hearvalidator.validate as validate

for line in sys.stdin:
    job = json.loads(line)
    os.makedirs(job["workdir"], exist_ok=True)
    log = os.path.join(job["workdir"], "hear-validator.log")
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
            os.chdir(job["workdir"])
            os.environ.update(job["env"])
            sys.argv = ["hear-validator", *job["args"]]
            validate.main()
            code = 0
        except SystemExit as error:
            code = error.code if isinstance(error.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    timed_out = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if not timed_out and time.monotonic() - start > job["timeout"]:
            timed_out = True
            os.kill(pid, signal.SIGUSR1)  # where it hangs, into the log
            time.sleep(2)
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    result = {"code": None if timed_out else os.waitstatus_to_exitcode(status), "log": log}
    result["seconds"] = time.monotonic() - start
    result["cpu"] = usage.ru_utime + usage.ru_stime
    result["max_rss_mb"] = usage.ru_maxrss / 1024
    print(json.dumps(result), flush=True)
"""


class _Pool:
    """:data:`PARALLEL` worker processes fed from one queue, longest job first."""

    def __init__(self, root, modules):
        self.root = root
        self.jobs = queue.Queue()
        self.futures = {}
        for name in sorted(modules, key=lambda name: (-EXPECTED_SECONDS.get(name, DEFAULT_SECONDS), name)):
            self.futures[name] = Future()
            self.jobs.put(name)
        env = dict(os.environ, GEAR_RANDOM_INIT="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # glibc keeps freed memory instead of returning it to the system and
        # faulting it in again: a third of openl3's CPU time was page faults.
        for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
            env.setdefault(name, str(16 << 30))
        self.workers = []
        self.threads = []
        for index in range(min(PARALLEL, len(modules))):
            stderr = open(root / f"worker{index}.err", "w+")
            worker = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                text=True,
                start_new_session=True,  # its process group holds the forked children too
            )
            self.workers.append((worker, stderr))
            thread = threading.Thread(target=self._feed, args=(worker, stderr), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _feed(self, worker, stderr):
        while True:
            try:
                name = self.jobs.get_nowait()
            except queue.Empty:
                break
            future = self.futures[name]
            if not future.set_running_or_notify_cancel():
                continue
            workdir = self.root / name
            job = {
                "args": [name, "-d", "cpu"],
                "workdir": str(workdir),
                "env": {"GEAR_CACHE_DIR": str(workdir / "cache")},
                "timeout": time_limit(name),
            }
            try:
                worker.stdin.write(json.dumps(job) + "\n")
                worker.stdin.flush()
                line = worker.stdout.readline()
            except OSError:
                line = ""
            if not line:  # the worker died: every job it would have run fails with its stderr
                stderr.seek(0)
                future.set_exception(RuntimeError(f"validator worker died:\n{stderr.read()[-3000:]}"))
                continue
            result = json.loads(line)
            result["output"] = Path(result["log"]).read_text(errors="replace")
            future.set_result(result)

    def close(self):
        for future in self.futures.values():
            future.cancel()
        for worker, stderr in self.workers:
            try:
                worker.stdin.close()
            except OSError:
                pass
        for thread in self.threads:
            thread.join(timeout=5)
        for worker, stderr in self.workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)  # the worker and its validation, by group id
                worker.wait()
            stderr.close()


@pytest.fixture(scope="module")
def validations(request, tmp_path_factory):
    """The validation of every selected wrapper, all queued when the first test starts."""
    missing = _validator_missing()
    if missing:
        skip_or_fail(missing)
    selected = {
        item.callspec.params["module_name"]
        for item in request.session.items
        if item.originalname == "test_hear_validator" and hasattr(item, "callspec")
    }
    pool = _Pool(tmp_path_factory.mktemp("hear-validator"), selected)
    try:
        yield pool.futures
    finally:
        pool.close()


def _missing_package(output):
    """The third-party package whose absence made the validation fail, or None."""
    missing = re.search(r"ModuleNotFoundError: No module named '([^']+)'", output)
    if missing and missing.group(1).split(".")[0] != "gear":
        return missing.group(1)
    return None


@pytest.mark.parametrize("module_name", _wrapper_modules())
def test_hear_validator(module_name, validations):
    result = validations[module_name].result()
    code, seconds, output = result["code"], result["seconds"], result["output"]
    print(
        f"hear-validator {module_name}: exit {code} in {seconds:.1f} s "
        f"({result['cpu']:.1f} s CPU, peak {result['max_rss_mb']:.0f} MB)"
    )
    command = f"GEAR_RANDOM_INIT=1 hear-validator {module_name} -d cpu"
    if code is None:
        pytest.fail(
            f"`{command}` did not finish in {time_limit(module_name):.0f} s "
            f"(expected about {EXPECTED_SECONDS.get(module_name, DEFAULT_SECONDS)} s); "
            f"end of its output, with the traceback where it was:\n{output[-5000:]}"
        )
    if code != 0:
        package = _missing_package(output)
        if package:
            skip_or_fail(f"{module_name} needs the package {package!r}, not installed here")
    assert code == 0 and "Looks good!" in output, (
        f"`{command}` failed after {seconds:.1f} s:\n{output[-5000:]}"
    )


def test_missing_package():
    """Only a missing third-party package is told apart (and skips outside CI)."""
    assert _missing_package("ModuleNotFoundError: No module named 'transformers'\n") == "transformers"
    assert _missing_package("ModuleNotFoundError: No module named 'tf_keras.layers'\n") == "tf_keras.layers"
    assert _missing_package("ModuleNotFoundError: No module named 'gear.nothing'\n") is None
    assert _missing_package("gear.errors.ModelError: needs weights\n") is None


def test_wrappers_are_found():
    """The parametrization sees every wrapper, and no private helper."""
    modules = _wrapper_modules()
    assert "gear.models.base" in modules and "gear.models.openl3" in modules
    assert not any(name.rsplit(".", 1)[1].startswith("_") for name in modules)
    assert "gear.models.remote" not in modules  # where the weights live: no HEAR module
