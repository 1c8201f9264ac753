"""Snakemake glue: Figure 2, a grid of sounds (see gear.pipeline.draw_sound_grid)."""

from gear.logs import log_to_file
from gear.pipeline import draw_sound_grid

log_to_file(snakemake.log[0])
draw_sound_grid(
    snakemake.input.params,
    snakemake.input.parameters,
    snakemake.input.audio,
    [snakemake.output.png, *snakemake.output.extra],
    n_rows=snakemake.params.grid_rows,
    n_cols=snakemake.params.grid_cols,
)
