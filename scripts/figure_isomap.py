"""Snakemake glue: Figure 3, Isomap scatter plots (see gear.pipeline.draw_isomap)."""

from gear.logs import log_to_file
from gear.pipeline import draw_isomap

log_to_file(snakemake.log[0])
models = snakemake.params.models
draw_isomap(
    {model: snakemake.input[model] for model in models},
    {model: snakemake.input[f"summary_{model}"] for model in models},
    snakemake.input.params,
    [snakemake.output.png, *snakemake.output.extra],
    labels=snakemake.params.labels,
    point_size=snakemake.params.point_size,
)
