"""Snakemake glue: every view in one folder with plotly.js once (see gear.views.write_view_bundle)."""

from gear.logs import log_to_file
from gear.views import write_view_bundle

log_to_file(snakemake.log[0])
write_view_bundle(snakemake.input, snakemake.output.views, labels=snakemake.params.labels)
