"""Snakemake glue: one model's alignment with human dissimilarity ratings (see gear.pipeline.align_timbre)."""

import torch

from gear.logs import log_to_file
from gear.pipeline import align_timbre

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
model = snakemake.params.model
# As for the embeddings, the device is read from the configuration: the scores do not depend on it.
device = snakemake.config["models"][snakemake.wildcards.model].get("device", snakemake.config["device"])
align_timbre(
    snakemake.input.data,
    snakemake.input.status,
    snakemake.output.anchors,
    snakemake.output.stats,
    model_id=snakemake.wildcards.model,
    module_name=model["module"],
    weights=model["weights"],
    fetched=snakemake.input.get("fetched"),
    datasets=snakemake.params.datasets,
    distances=snakemake.params.distances,
    device=device,
)
