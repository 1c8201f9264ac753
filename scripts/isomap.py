"""Snakemake glue: Isomap of one embedding set (see gear.pipeline.reduce_isomap)."""

from threadpoolctl import threadpool_limits

from gear.logs import log_to_file
from gear.pipeline import reduce_isomap

log_to_file(snakemake.log[0])
with threadpool_limits(snakemake.threads):
    reduce_isomap(
        snakemake.input.embeddings,
        snakemake.output.coordinates,
        snakemake.output.summary,
        distance=snakemake.params.distance,
        **snakemake.params.isomap,
    )
