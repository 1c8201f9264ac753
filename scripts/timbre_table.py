"""Snakemake glue: alignment scores across models and their figures (see gear.pipeline.summarize_timbre)."""

from gear.logs import log_to_file
from gear.pipeline import draw_timbre, summarize_timbre

log_to_file(snakemake.log[0])
labels = snakemake.params.labels
summarize_timbre(
    {m: snakemake.input[m] for m in labels},
    {m: snakemake.input[f"stats_{m}"] for m in labels},
    snakemake.output.table,
    n_resamples=snakemake.params.n_resamples,
)
figures = [snakemake.output.alignment, snakemake.output.datasets, *snakemake.output.extra]
draw_timbre(snakemake.output.table, figures, labels=labels)
