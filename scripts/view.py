"""Snakemake glue: interactive 3-D view of one Isomap (see gear.pipeline.write_view)."""

from gear.logs import log_to_file
from gear.pipeline import write_view

log_to_file(snakemake.log[0])
dataset = snakemake.wildcards.dataset
write_view(
    snakemake.input.coordinates,
    snakemake.input.params,
    snakemake.input.parameters,
    snakemake.output.html,
    title=f"{snakemake.params.label} on {dataset}: Isomap of the scene embeddings",
)
