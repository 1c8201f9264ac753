"""Snakemake glue: K-NN regression of one model (see gear.pipeline.regress)."""

from gear.logs import log_to_file
from gear.pipeline import regress

log_to_file(snakemake.log[0])
regress(
    snakemake.input.embeddings,
    snakemake.input.params,
    snakemake.input.parameters,
    snakemake.output.table,
    distance=snakemake.params.distance,
    **snakemake.params.regression,
)
