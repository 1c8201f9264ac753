"""GEAR: Generative Evaluation of Audio Representations.

The package holds the logic of the workflow, stage by stage:
:mod:`gear.synthesizers` and :mod:`gear.datasets` (sounds), :mod:`gear.hear`
and :mod:`gear.models` (embeddings), :mod:`gear.manifold` (Isomap),
:mod:`gear.regression` (K-NN parameter regression),
:mod:`gear.analysis` with :mod:`gear.metrics` on top (scores) and
:mod:`gear.figures`. Snakemake scripts under ``scripts/`` only glue
these together.

From Python, :func:`gear.evaluate` scores one model on one dataset in one
call (see :mod:`gear.api`). The API is imported on first use, so that
``import gear`` stays light (no torch, scikit-learn or matplotlib).
"""

from gear.errors import ConfigError, DataError, GearError, ModelError

__version__ = "0.1.0"

# Public names of gear.api, imported on first access (PEP 562).
_API = ("PRESETS", "Evaluation", "evaluate", "load_dataset", "sounds", "cache_directory")

__all__ = ["ConfigError", "DataError", "GearError", "ModelError", "__version__", *_API]


def __getattr__(name):
    if name in _API:
        from gear import api

        return getattr(api, name)
    raise AttributeError(f"module 'gear' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
