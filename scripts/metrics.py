"""Snakemake glue: disentanglement metrics of one model (see gear.pipeline.measure)."""

from threadpoolctl import threadpool_limits

from gear.logs import log_to_file
from gear.pipeline import measure

log_to_file(snakemake.log[0])
with threadpool_limits(snakemake.threads):
    measure(
        snakemake.input.embeddings,
        snakemake.input.coordinates,
        snakemake.input.params,
        snakemake.input.parameters,
        snakemake.output.table,
        snakemake.output.details,
        snakemake.output.sweeps,
        dataset=snakemake.wildcards.dataset,
        model_id=snakemake.wildcards.model,
        distance=snakemake.params.distance,
        n_resamples=snakemake.params.n_resamples,
        equivariance=snakemake.params.equivariance,
    )
