"""Snakemake glue: each model's synthetic-factor headline against its human alignment (see gear.pipeline)."""

from gear.logs import log_to_file
from gear.pipeline import draw_synthetic_vs_human

log_to_file(snakemake.log[0])
metrics = {key.removeprefix("metrics_"): path for key, path in snakemake.input.items() if key.startswith("metrics_")}
draw_synthetic_vs_human(metrics, snakemake.input.timbre, [snakemake.output.figure, *snakemake.output.extra],
                        labels=snakemake.params.labels)  # fmt: skip
