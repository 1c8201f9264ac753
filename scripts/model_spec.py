"""Snakemake glue: write what a model's embeddings depend on (see gear.pipeline.record_model_spec)."""

from gear.logs import log_to_file
from gear.pipeline import record_model_spec

log_to_file(snakemake.log[0])
record_model_spec(snakemake.output.spec, snakemake.params.record)
