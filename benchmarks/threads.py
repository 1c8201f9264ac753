"""Two embedding jobs on two cores: one after the other with 2 threads each, or at once with 1 thread each?

Usage::

    python benchmarks/threads.py [--n 256] [--models crepe pesto ...]

For each model, the same ``n`` ``gear2023`` sounds are embedded (GEAR's
``embed_scenes``, the batch size of ``config.yaml``) by two fresh processes:

- ``serial``: one process with 2 threads, then another one (what
  ``snakemake --cores 2`` does with the embedding rule's ``threads: 2``);
- ``parallel``: both processes at once with 1 thread each (``--set-threads
  embed=1``).

Only the embedding call is timed (model loading and a warm-up batch are
not). ``ratio`` is serial / parallel wall time: above 1, two one-thread jobs
at once are faster. Run it on a quiet machine, and read the load printed.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("crepe", "scattering", "resemblyzer", "pesto", "musicnn", "birdnet", "basic_pitch")


def child(model_name, n, threads):
    """Embed ``n`` sounds with ``threads`` threads; print the seconds as JSON."""
    import torch

    torch.set_num_threads(threads)
    from gear import hear
    from gear.config import load_config
    from gear.datasets import gear2023

    module = hear.load_hear_module(f"gear.models.{model_name}")
    model = hear.load_model(module)
    batch_size = load_config(ROOT / "config.yaml", root=ROOT)["models"][model_name].get("batch_size", 64)
    audio = gear2023().audio[:: 2500 // n][:n]
    hear.embed_scenes(module, model, audio[:batch_size], batch_size=batch_size, progress=False)  # warm-up
    # Ready: wait for the parent's go, so that the timed calls of a pair overlap.
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    hear.embed_scenes(module, model, audio, batch_size=batch_size, progress=False)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def _start(model_name, n, threads):
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, __file__, "--child", model_name, str(n), str(threads)]
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )


def _run(processes):
    """Wait until every process is ready, start their timed calls together, return their seconds."""
    for process in processes:
        if process.stdout.readline().strip() != "ready":
            process.wait()
            raise RuntimeError(f"child failed with status {process.returncode}")
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    return [_seconds(process) for process in processes]


def _seconds(process):
    out, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"child failed with status {process.returncode}")
    return json.loads(out.strip().splitlines()[-1])["seconds"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="sounds per job")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        model_name, n, threads = args.child
        child(model_name, int(n), int(threads))
        return
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    print(f"{'model':<12} {'serial 2x2 threads (s)':>22} {'parallel 2x1 thread (s)':>24} {'ratio':>6}")
    for model_name in args.models:
        serial = sum(_run([_start(model_name, args.n, 2)])[0] for _ in range(2))
        parallel = max(_run([_start(model_name, args.n, 1) for _ in range(2)]))
        print(f"{model_name:<12} {serial:>22.2f} {parallel:>24.2f} {serial / parallel:>6.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
