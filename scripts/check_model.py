"""Snakemake glue: can this model be loaded? (see gear.pipeline.check_model)."""

from gear.logs import log_to_file
from gear.pipeline import check_model

log_to_file(snakemake.log[0])
model = snakemake.params.model
check_model(
    snakemake.output.status,
    model_id=snakemake.wildcards.model,
    module_name=model["module"],
    weights=model["weights"],
    strict=snakemake.params.strict,
    fetched=snakemake.input.get("fetched"),
)
