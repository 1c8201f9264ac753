"""Snakemake glue: Figure 3, Isomap scatter plots (see gear.pipeline.draw_isomap)."""

from gear.logs import log_to_file
from gear.pipeline import draw_isomap, read_availability

log_to_file(snakemake.log[0])
models = snakemake.params.models
available, unavailable = read_availability({m: snakemake.input[f"status_{m}"] for m in models})
draw_isomap(
    {m: snakemake.input[m] for m in available},
    {m: snakemake.input[f"summary_{m}"] for m in available},
    snakemake.input.params,
    snakemake.input.parameters,
    [snakemake.output.png, *snakemake.output.extra],
    labels=snakemake.params.labels,
    point_size=snakemake.params.point_size,
    unavailable=unavailable,
)
