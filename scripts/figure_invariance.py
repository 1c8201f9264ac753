"""Snakemake glue: invariance heat maps of one dataset (see gear.pipeline.draw_invariance)."""

from gear.logs import log_to_file
from gear.pipeline import draw_invariance

log_to_file(snakemake.log[0])
draw_invariance(
    snakemake.input.table,
    snakemake.input.parameters,
    snakemake.output.png,
    labels=snakemake.params.labels,
)
