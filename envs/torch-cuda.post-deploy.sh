#!/usr/bin/env bash
# Run by Snakemake inside the new environment, after `snakemake --sdm conda`
# creates it from torch-cuda.yaml (GEAR_ROOT, the repository, is exported by
# the workflow). As torch.post-deploy.sh: the packages whose declared
# dependencies must not be installed, then GEAR; then a check that pip took
# the CUDA build of torch, not a CPU wheel (torch.version.cuda is set by the
# build, with or without a GPU on the node that creates the environment).
set -euo pipefail
pip install --no-deps -r "$GEAR_ROOT/requirements-nodeps.txt" -r "$GEAR_ROOT/requirements-models-torch-nodeps.txt"
pip install --no-deps -e "$GEAR_ROOT"
python -c 'import sys, torch; sys.exit(None if torch.version.cuda else f"envs/torch-cuda.yaml: torch {torch.__version__} is not a CUDA build")'
