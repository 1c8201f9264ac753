"""The analysis of one embedding, in one-way layers.

From the bottom up, each layer importing only the layers below it:

1. :mod:`gear.analysis.features`: parameters on their analysis scales,
   seeded subsamples, PCA, distances, duplicate rows.
2. :mod:`gear.analysis.bootstrap`: intervals and paired tests.
3. :mod:`gear.analysis.probes` (ridge, K-NN, MLP), :mod:`gear.analysis.sweeps`,
   :mod:`gear.analysis.disentanglement` (DCI, MIG, variance explained),
   :mod:`gear.analysis.geometry` (Isomap alignment, intrinsic dimension,
   trustworthiness, persistent homology).

:mod:`gear.metrics` assembles them into the tidy table on top; no module
here imports it.
"""
