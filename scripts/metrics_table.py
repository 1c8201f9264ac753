"""Snakemake glue: metrics table, scorecard and sweep figure of one dataset (see gear.pipeline)."""

from gear.logs import log_to_file
from gear.pipeline import gather_metrics, read_availability

log_to_file(snakemake.log[0])
models = snakemake.params.models
available, unavailable = read_availability({m: snakemake.input[f"status_{m}"] for m in models})
gather_metrics(
    {m: snakemake.input[m] for m in available},
    {m: snakemake.input[f"details_{m}"] for m in available},
    {m: snakemake.input[f"sweeps_{m}"] for m in available},
    snakemake.input.parameters,
    snakemake.output.table,
    snakemake.output.scorecard,
    snakemake.output.sweeps,
    labels=snakemake.params.labels,
    unavailable=unavailable,
    n_resamples=snakemake.params.n_resamples,
    timbre_path=snakemake.input.get("timbre"),
)
