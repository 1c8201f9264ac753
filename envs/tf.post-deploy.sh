#!/usr/bin/env bash
# Run by Snakemake inside the new environment, after `snakemake --sdm conda`
# creates it from tf.yaml (GEAR_ROOT, the repository, is exported by the
# workflow). Packages whose declared dependencies must not be installed
# (musicnn pins numpy < 1.17; tf-keras, basic-pitch and musicnn name the
# full `tensorflow`), then GEAR.
set -euo pipefail
pip install --no-deps --ignore-requires-python -r "$GEAR_ROOT/requirements-models-tf-nodeps.txt"
pip install --no-deps -e "$GEAR_ROOT"
