"""Cost of the equivariance and invariance scores, against a plain ridge fit, in one run.

Usage::

    python benchmarks/equivariance.py                        # 2,500 and 100,000 sounds
    python benchmarks/equivariance.py --sizes 2500 20000 --memory-sizes 2500 10000
    python benchmarks/equivariance.py --tiny                 # seconds: a smoke run

For each size, a factorial grid of three factors with about that many
sounds (``k x k x k``) and a synthetic embedding of dimension 128 (random
Fourier features of the factors plus noise 0.01, as in
``benchmarks/run.py``) are built; then, each timed on its own:

- ``pairs``: :func:`one_factor_pairs` for every factor;
- ``equivariance_r2``, ``displacement_cosine``, ``invariance_r2``: the
  three scores for every factor (as the changing factor or the nuisance), on
  the probe features;
- ``table``: :func:`equivariance_table`, everything (PCA included);
- reference: ``sklearn.linear_model.Ridge(alpha=1.0)`` fitted on the same
  embedding to the same three factors (the median of 5 fits).

The printed ratio is ours / reference: how many plain ridge fits the
scores cost. Memory: the tracemalloc peak of :func:`equivariance_table`
(allocations during the call only; the inputs are built before) at two
sizes, and the ratio of peaks against the ratio of sizes (linear memory:
about equal or smaller). BLAS runs on one thread unless ``--threads`` says
otherwise, for ours and the reference alike.
"""

import argparse
import math
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.linear_model import Ridge  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from gear.analysis.equivariance import (  # noqa: E402
    displacement_consistency,
    equivariance_r2,
    equivariance_table,
    invariance_r2,
    one_factor_pairs,
    probe_features,
)

NAMES = ["x", "y", "z"]


def grid_inputs(n_sounds, dim=128, seed=0, noise=0.01):
    """A shuffled ``k^3`` grid with ``k = round(n_sounds ** (1/3))``, and a smooth embedding of it.

    Returns
    -------
    values : np.ndarray [shape=(k**3, 3)]
    embedding : np.ndarray [shape=(k**3, dim)], float32
    """
    k = max(3, round(n_sounds ** (1 / 3)))
    axes = np.meshgrid(*[np.linspace(0.0, 1.0, k)] * 3, indexing="ij")
    rng = np.random.default_rng(seed)
    values = np.stack([axis.ravel() for axis in axes], axis=1)[rng.permutation(k**3)]
    frequencies = rng.normal(0.0, 3.0, (3, dim))
    phases = rng.uniform(0, 2 * np.pi, dim)
    embedding = np.cos(values @ frequencies + phases) + noise * rng.normal(size=(len(values), dim))
    return values, embedding.astype(np.float32)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def time_size(n_sounds, n_resamples):
    values, embedding = grid_inputs(n_sounds)
    n = len(values)
    # The median of 5: a fit takes milliseconds, so one could catch a hiccup of the machine.
    reference = float(np.median([timed(Ridge(alpha=1.0).fit, embedding, values) for _ in range(5)]))
    features = probe_features(embedding)
    factors = range(values.shape[1])
    times = {
        "pairs": timed(lambda: [one_factor_pairs(values, j) for j in factors]),
        "equivariance_r2": timed(
            lambda: [equivariance_r2(features, values, j, n_resamples=n_resamples) for j in factors]
        ),
        "displacement_cosine": timed(
            lambda: [displacement_consistency(embedding, values, j) for j in factors]
        ),
        "invariance_r2": timed(
            lambda: [invariance_r2(features, values, j, n_resamples=n_resamples) for j in factors]
        ),
        "table": timed(equivariance_table, embedding, values, NAMES, n_resamples=n_resamples),
    }
    for step, seconds in times.items():
        print(f"{n:>8,d}  {step:<20s} {seconds:9.3f} s   ratio ours/ridge {seconds / reference:8.1f}")
    print(f"{n:>8,d}  {'reference: Ridge fit':<20s} {reference:9.3f} s")
    return n


def peak_bytes(n_sounds, n_resamples):
    values, embedding = grid_inputs(n_sounds)
    tracemalloc.start()
    equivariance_table(embedding, values, NAMES, n_resamples=n_resamples)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return len(values), peak, embedding.nbytes


def run(sizes, memory_sizes, n_resamples):
    """Time every size, then compare the memory peaks of two sizes; 0 if all went well."""
    print(f"{'sounds':>8s}  {'step':<20s} {'time':>11s}")
    for size in sizes:
        time_size(size, n_resamples)
    (n_small, small, input_small), (n_large, large, input_large) = [
        peak_bytes(size, n_resamples) for size in memory_sizes
    ]
    print(
        f"tracemalloc peak of equivariance_table: {small / 2**20:.1f} MB at {n_small:,} sounds "
        f"(embedding {input_small / 2**20:.1f} MB), {large / 2**20:.1f} MB at {n_large:,} "
        f"(embedding {input_large / 2**20:.1f} MB)"
    )
    growth = large / small
    print(f"peak ratio {growth:.2f} for a size ratio {n_large / n_small:.2f} (linear: at most about equal)")
    return 0 if math.isfinite(growth) else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_500, 100_000], help="sounds to time")
    parser.add_argument("--memory-sizes", type=int, nargs=2, default=[2_500, 20_000], help="two sizes")
    parser.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--tiny", action="store_true", help="300 and 600 sounds, 100 resamples")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS threads (1: stable ratios on a shared machine)"
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.sizes, args.memory_sizes, args.n_resamples = [300], [300, 600], 100
    with threadpool_limits(args.threads):
        return run(args.sizes, args.memory_sizes, args.n_resamples)


if __name__ == "__main__":
    sys.exit(main())
