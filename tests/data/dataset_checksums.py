"""Print the checksums of datasets, as JSON: run in a subprocess per SIMD level.

    python tests/data/dataset_checksums.py '{"name": spec, ...}'

prints ``{"cpu_features": {...}, "datasets": {name: {"params_sha256",
"audio_sha256", "n_sounds"}}}``: the checksums of ``params.csv`` and of
every WAV file in sound order, written as the workflow writes them, and the
SIMD features numpy dispatches to in this process (what
``NPY_DISABLE_CPU_FEATURES`` left enabled).
"""

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

from gear.datasets import make_dataset
from gear.io import save_table, write_audio


def checksums(spec):
    """sha256 of a dataset's ``params.csv`` and of its WAV files, in sound order."""
    dataset = make_dataset(spec)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        save_table(tmp / "params.csv", dataset.params)
        write_audio(tmp / "audio", dataset.params["sound_id"], dataset.audio, dataset.sample_rate)
        audio = hashlib.sha256()
        for wav in sorted((tmp / "audio").glob("*.wav")):
            audio.update(wav.read_bytes())
        return {
            "params_sha256": hashlib.sha256((tmp / "params.csv").read_bytes()).hexdigest(),
            "audio_sha256": audio.hexdigest(),
            "n_sounds": len(dataset.params),
        }


if __name__ == "__main__":
    specs = json.loads(sys.argv[1])
    features = {name: bool(__cpu_features__[name]) for name in __cpu_dispatch__}
    print(json.dumps({"cpu_features": features, "datasets": {name: checksums(spec) for name, spec in specs.items()}}))
