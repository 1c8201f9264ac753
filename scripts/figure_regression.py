"""Snakemake glue: Figure 4, K-NN regression ratios (see gear.pipeline.draw_regression)."""

from gear.logs import log_to_file
from gear.pipeline import draw_regression

log_to_file(snakemake.log[0])
draw_regression(
    {model: snakemake.input[model] for model in snakemake.params.models},
    [snakemake.output.png, *snakemake.output.extra],
    labels=snakemake.params.labels,
)
