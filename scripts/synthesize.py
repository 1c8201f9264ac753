"""Snakemake glue: synthesize one dataset (see gear.pipeline.synthesize)."""

from gear.logs import log_to_file
from gear.pipeline import synthesize

log_to_file(snakemake.log[0])
synthesize(
    snakemake.params.spec,
    snakemake.output.params,
    snakemake.output.parameters,
    snakemake.output.audio,
    dataset_id=snakemake.wildcards.dataset,
    code=snakemake.params.code,
)
