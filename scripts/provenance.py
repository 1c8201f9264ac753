"""Snakemake glue: record the config, datasets, code fingerprints and package versions (see gear.pipeline)."""

from gear.logs import log_to_file
from gear.pipeline import record_provenance

log_to_file(snakemake.log[0])
record_provenance(
    snakemake.output.record,
    snakemake.params.config,
    dict(snakemake.input.items()),
    root=snakemake.scriptdir + "/..",
    code=snakemake.params.code,
)
