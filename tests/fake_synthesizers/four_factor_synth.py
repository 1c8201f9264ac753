"""A decaying two-partial tone with four factors of arbitrary names (the README's example).

The fundamental ``pitch`` (Hz) and a partial at ``spread`` times it, the
second one ``balance`` dB below the first, under an exponential decay of
time constant ``ring`` seconds.
"""

import numpy as np

PARAMETERS = [
    {"name": "pitch", "unit": "Hz", "min": 20.0, "max": "nyquist", "scale": "mel", "label": "pitch"},
    {"name": "spread", "min": 1.0, "max": 8.0, "scale": "log", "description": "partial ratio"},
    {"name": "balance", "unit": "dB", "min": -60.0, "max": 0.0, "description": "level of the upper partial"},
    {"name": "ring", "unit": "s", "min": 0.01, "max": 10.0, "scale": "log", "description": "decay time"},
]

OPTIONS = {"peak": 0.5}

FIGURE_GRID = ("balance", "ring")


def synthesize(params, sample_rate, duration, peak=0.5):
    t = np.arange(int(round(duration * sample_rate))) / sample_rate
    pitch = params["pitch"][:, None]
    upper = np.minimum(pitch * params["spread"][:, None], 0.49 * sample_rate)
    gain = 10 ** (params["balance"][:, None] / 20)
    tone = np.sin(2 * np.pi * pitch * t) + gain * np.sin(2 * np.pi * upper * t)
    tone *= np.exp(-t / params["ring"][:, None])
    tone *= peak / np.abs(tone).max(axis=1, keepdims=True)
    return tone.astype(np.float32)
