#!/usr/bin/env bash
# Run by Snakemake inside the new environment, after `snakemake --sdm conda`
# creates it from gear.yaml. GEAR_ROOT (the repository) is exported by the
# workflow: Snakemake copies the environment file elsewhere, so a relative
# path such as `-e ..` in it would not point at the repository.
set -euo pipefail
pip install --no-deps -e "$GEAR_ROOT"
