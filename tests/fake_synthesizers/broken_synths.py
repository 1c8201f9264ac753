"""Synthesizers that break the contract, one way each (see test_synthesizers.py)."""

import numpy as np

PARAMETERS = [{"name": "level", "min": 0.0, "max": 1.0}]
MODE = {"value": "ok"}


def synthesize(params, sample_rate, duration):
    n = len(params["level"])
    samples = int(round(duration * sample_rate))
    mode = MODE["value"]
    if mode == "shape":
        return np.zeros((n, samples + 1), dtype=np.float32)
    if mode == "raise":
        raise RuntimeError("out of oscillators")
    audio = np.tile(np.sin(np.arange(samples) / 3.0), (n, 1)).astype(np.float32) * params["level"][:, None]
    if mode == "nan":
        audio[1, 5] = np.nan
    return audio
