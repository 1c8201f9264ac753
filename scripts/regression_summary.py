"""Snakemake glue: regression summary of one dataset (see gear.pipeline)."""

from gear.logs import log_to_file
from gear.pipeline import read_availability, summarize_regressions

log_to_file(snakemake.log[0])
models = snakemake.params.models
available, unavailable = read_availability({m: snakemake.input[f"status_{m}"] for m in models})
summarize_regressions(
    {m: snakemake.input[m] for m in available},
    snakemake.input.parameters,
    snakemake.output.summary,
    unavailable,
    n_resamples=snakemake.params.n_resamples,
)
