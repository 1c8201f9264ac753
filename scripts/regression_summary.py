"""Snakemake glue: regression summary of one dataset (see gear.pipeline)."""

from gear.logs import log_to_file
from gear.pipeline import summarize_regressions

log_to_file(snakemake.log[0])
summarize_regressions(dict(snakemake.input.items()), snakemake.output.summary)
