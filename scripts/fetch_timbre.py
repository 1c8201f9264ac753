"""Snakemake glue: fetch the human timbre data once (see gear.pipeline.fetch_timbre)."""

from gear.logs import log_to_file
from gear.pipeline import fetch_timbre

log_to_file(snakemake.log[0])
# The mode is read from the configuration, not passed as a param: turning
# fetching off and on again must not rerun the stage. The lock file is
# $GEAR_LOCK_FILE (workflow/rules/common.smk); the data's digests are pinned.
fetch_timbre(snakemake.output.record, mode=snakemake.config["fetch"])
