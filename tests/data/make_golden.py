# Golden checksums of the built-in datasets, run once with the code of commit
# 941d8ad (git checkout 941d8ad -- gear/) to make tests/data/golden_datasets.json:
# params.csv and every WAV file of each dataset, in the old config form.
import hashlib, json, sys, tempfile
from pathlib import Path
from gear.datasets import make_dataset
from gear.io import save_table, write_audio

SPECS = {
    "gear2023": {"kind": "gear2023"},
    "harmonic": {"kind": "harmonic", "f1": {"min": 65.41, "max": 1046.5, "num": 10, "scale": "log"},
                 "alpha": {"min": 0.0, "max": 2.0, "num": 16}, "r": {"min": 0.0, "max": 1.0, "num": 16},
                 "sample_rate": 16000, "duration": 0.5, "seed": 0},
    "harmonic_random_f1": {"kind": "harmonic", "f1": {"min": 65.41, "max": 1046.5, "num": 10, "scale": "log"},
                 "alpha": {"min": 0.0, "max": 2.0, "num": 16}, "r": {"min": 0.0, "max": 1.0, "num": 16},
                 "sample_rate": 16000, "duration": 0.5, "seed": 3, "f1_sampling": "random"},
    "tiny": {"kind": "harmonic", "f1": {"min": 110, "max": 440, "num": 3, "scale": "log"},
             "alpha": {"min": 0.0, "max": 2.0, "num": 4}, "r": {"min": 0.0, "max": 1.0, "num": 3},
             "sample_rate": 16000, "duration": 0.3},
}
out = {}
for name, spec in SPECS.items():
    d = make_dataset(spec)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        save_table(tmp / "params.csv", d.params)
        write_audio(tmp / "audio", d.params["sound_id"], d.audio, d.sample_rate)
        h = hashlib.sha256()
        for wav in sorted((tmp / "audio").glob("*.wav")):
            h.update(wav.read_bytes())
        out[name] = {"params_sha256": hashlib.sha256((tmp / "params.csv").read_bytes()).hexdigest(),
                     "audio_sha256": h.hexdigest(), "n_sounds": len(d.params)}
print(json.dumps(out, indent=2))
