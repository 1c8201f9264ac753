"""Snakemake glue: Figure 4, K-NN regression ratios (see gear.pipeline.draw_regression)."""

from gear.logs import log_to_file
from gear.pipeline import draw_regression, read_availability

log_to_file(snakemake.log[0])
models = snakemake.params.models
available, unavailable = read_availability({m: snakemake.input[f"status_{m}"] for m in models})
draw_regression(
    {m: snakemake.input[m] for m in available},
    snakemake.input.parameters,
    [snakemake.output.png, *snakemake.output.extra],
    labels=snakemake.params.labels,
    unavailable=unavailable,
    n_resamples=snakemake.params.n_resamples,
)
