"""Snakemake glue: record the config and package versions (see gear.provenance)."""

from gear.logs import log_to_file
from gear.pipeline import save_json
from gear.provenance import provenance

log_to_file(snakemake.log[0])
save_json(snakemake.output.record, provenance(snakemake.params.config, snakemake.scriptdir + "/.."))
