#!/usr/bin/env bash
# Run by Snakemake inside the new environment, after `snakemake --sdm conda`
# creates it from torch.yaml (GEAR_ROOT, the repository, is exported by the
# workflow). Packages whose declared dependencies must not be installed
# (see those files), which an environment file cannot express, then GEAR.
set -euo pipefail
pip install --no-deps -r "$GEAR_ROOT/requirements-nodeps.txt" -r "$GEAR_ROOT/requirements-models-torch-nodeps.txt"
pip install --no-deps -e "$GEAR_ROOT"
