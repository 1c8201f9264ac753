"""Snakemake glue: extraction time and memory table (see gear.pipeline)."""

from gear.logs import log_to_file
from gear.pipeline import collect_embedding_costs

log_to_file(snakemake.log[0])
collect_embedding_costs(
    {tuple(key.split("__")): path for key, path in snakemake.input.items()},
    snakemake.output.table,
)
