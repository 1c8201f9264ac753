"""Snakemake glue: embed one dataset with one model (see gear.pipeline.embed)."""

import torch

from gear.logs import log_to_file
from gear.pipeline import embed

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
model = snakemake.params.model
# The time limit is read from the configuration, not passed as a param:
# changing it must not rerun the embedding.
timeout = snakemake.config["models"][snakemake.wildcards.model].get(
    "timeout", snakemake.config["embedding_timeout"]
)
# So is the device: the embeddings do not depend on it beyond float rounding.
device = snakemake.config["models"][snakemake.wildcards.model].get("device", snakemake.config["device"])
embed(
    snakemake.input.params,
    snakemake.input.audio,
    snakemake.output.embeddings,
    snakemake.output.stats,
    model_id=snakemake.wildcards.model,
    module_name=model["module"],
    weights=model["weights"],
    batch_size=model["batch_size"],
    resample=snakemake.params.resample,
    timeout=timeout,
    device=device,
    fetched=snakemake.input.get("fetched"),
    code=snakemake.params.code,
)
