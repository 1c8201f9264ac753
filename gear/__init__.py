"""GEAR: Generative Evaluation of Audio Representations.

The package holds the logic of the workflow, stage by stage:
:mod:`gear.synth` and :mod:`gear.datasets` (sounds), :mod:`gear.hear`
and :mod:`gear.models` (embeddings), :mod:`gear.manifold` (Isomap),
:mod:`gear.regression` (K-NN parameter regression) and
:mod:`gear.figures`. Snakemake scripts under ``scripts/`` only glue
these together.
"""

from gear.errors import ConfigError, DataError, GearError, ModelError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "GearError", "ModelError", "__version__"]
