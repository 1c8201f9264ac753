"""Snakemake glue: fetch one model's remote files (see gear.pipeline.fetch_model_files)."""

from gear.logs import log_to_file
from gear.pipeline import fetch_model_files

log_to_file(snakemake.log[0])
# The mode is read from the configuration, not passed as a param: turning
# fetching off and on again must not rerun the embeddings. The lock file
# is $GEAR_LOCK_FILE, set by workflow/rules/fetch.smk.
fetch_model_files(
    snakemake.output.record,
    model_id=snakemake.wildcards.model,
    module_name=snakemake.params.module,
    mode=snakemake.config["fetch"],
)
