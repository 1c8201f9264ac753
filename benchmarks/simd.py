"""How far each stage's output moves between the CPU code paths numpy and OpenBLAS choose.

Usage::

    python benchmarks/simd.py [--out DIR] [--models base mfcc]

A dataset (``harmonic``, 480 sounds) is synthesized once per setting, in a
fresh process per setting: numpy's SIMD dispatch as the CPU allows, numpy
limited to AVX2 (``NPY_DISABLE_CPU_FEATURES``), OpenBLAS's Haswell kernels
(``OPENBLAS_CORETYPE``), and both. Each process embeds the sounds with each
model, then runs Isomap, the K-NN regression and every metric, twice: on its
own embeddings, and on the reference setting's embeddings (so that each
stage's own dependence shows apart from its inputs'). The parent prints,
per stage, the largest absolute difference from the reference setting.
Not a speed benchmark: the settings' times are not compared.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SPEC = {
    "synthesizer": "harmonic",
    "duration": 0.25,
    "parameters": {
        "f1": {"min": 65.41, "max": 1046.5, "num": 10, "scale": "log"},
        "alpha": {"min": 0.0, "max": 2.0, "num": 8},
        "r": {"min": 0.0, "max": 1.0, "num": 6},
    },
}
SETTINGS = {
    "reference": {},
    "numpy AVX2": {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
    "OpenBLAS Haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "both": {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell"},
}


def child(out, models, reference_dir):
    """Run every stage in this process's setting; save arrays to ``out``."""
    from gear import hear
    from gear.datasets import make_dataset
    from gear.manifold import isomap
    from gear.metrics import compute_metrics
    from gear.regression import knn_regression

    dataset = make_dataset(SPEC)
    parameters = dataset.description.parameters
    saved = {"audio": dataset.audio}
    for model_name in models:
        module = hear.load_hear_module(f"gear.models.{model_name}")
        model = hear.load_model(module)
        audio = hear.resample_audio(dataset.audio, dataset.sample_rate, model.sample_rate)
        own = hear.embed_scenes(module, model, audio, batch_size=64, progress=False)
        saved[f"{model_name}/embedding"] = own
        inputs = {"own": own}
        if reference_dir:
            inputs["fixed"] = np.load(Path(reference_dir) / f"{model_name}_embedding.npy")
        for source, embedding in inputs.items():
            coordinates = isomap(embedding, n_neighbors=10).coordinates
            table = knn_regression(embedding, dataset.params, parameters, n_neighbors=10)
            metrics = compute_metrics(embedding, coordinates, dataset.params, parameters=parameters, n_resamples=200)
            values = metrics["value"].to_numpy(dtype=float)
            labels = metrics[["parameter", "metric"]].astype(str).agg(" ".join, axis=1).tolist()
            (Path(out) / f"{model_name}_metric_names.json").write_text(json.dumps(labels))
            saved[f"{model_name}/{source}/isomap"] = np.abs(coordinates)  # sign of an eigenvector is arbitrary
            saved[f"{model_name}/{source}/regression"] = table.select_dtypes("number").to_numpy(dtype=float)
            saved[f"{model_name}/{source}/metrics"] = values
        np.save(Path(out) / f"{model_name}_embedding.npy", own)
    np.savez(Path(out) / "stages.npz", **saved)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["base", "mfcc"])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gear-simd-"))
    results = {}
    for name, variables in SETTINGS.items():
        out = root / name.replace(" ", "_")
        out.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")}
        env.update(variables)
        reference_dir = "" if name == "reference" else str(root / "reference")
        code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import simd; "
        code += f"simd.child({str(out)!r}, {args.models!r}, {reference_dir!r})"
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        results[name] = dict(np.load(out / "stages.npz"))
    reference = results["reference"]
    print(f"{'setting':18s} {'output':26s} {'max |diff|':>11s} {'of max |value|':>15s}  where (metrics)")
    for name, arrays in results.items():
        if name == "reference":
            continue
        for key, value in arrays.items():
            base = reference[key.replace("/fixed/", "/own/")]
            gaps = np.abs(value - base)
            diff = float(np.nanmax(gaps)) if value.size else 0.0
            where = ""
            if key.endswith("metrics") and diff > 0:
                names = json.loads((root / "reference" / f"{key.split('/')[0]}_metric_names.json").read_text())
                where = names[int(np.nanargmax(gaps))]
            print(f"{name:18s} {key:26s} {diff:11.2e} {float(np.nanmax(np.abs(base))):15.3g}  {where}")
    print(json.dumps({"load": os.getloadavg()}))


if __name__ == "__main__":
    main()
