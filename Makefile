# Two commands do all set-up on a fresh machine (Python 3.11, pip):
#     make run    create .venv, install GEAR, regenerate every result
#     make test   create .venv, install GEAR, run the test suite (pytest)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# More than the machine has is fine: the workflow caps --cores at its CPUs
# and shares them among the embedding jobs (docs/quickstart.md, Quick start).
CORES ?= 8

.PHONY: env run test lint docs report mutation clean

env: $(VENV)/.installed

REQUIREMENTS := requirements.txt requirements-models-torch.txt requirements-models-tf.txt requirements-docs.txt
NODEPS := requirements-nodeps.txt requirements-models-torch-nodeps.txt
# hearvalidator declares Python < 3.9, hence --ignore-requires-python.
NODEPS_ANY_PYTHON := requirements-models-tf-nodeps.txt

$(VENV)/.installed: $(REQUIREMENTS) $(NODEPS) $(NODEPS_ANY_PYTHON) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(addprefix -r ,$(REQUIREMENTS))
	$(BIN)/python -m pip install --quiet --no-deps $(addprefix -r ,$(NODEPS))
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python $(addprefix -r ,$(NODEPS_ANY_PYTHON))
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

run: env
	$(BIN)/snakemake --cores $(CORES)

test: env
	$(BIN)/python -m pytest

lint: env
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/

# The documentation site, from docs/ (Markdown pages) and the docstrings;
# a warning fails the build (tests/test_docs.py builds it the same way).
docs: env
	$(BIN)/python -m sphinx -W -b html docs docs/_build/html

# A zip report: the interactive views share one plotly.js (see docs/quickstart.md).
report: env
	$(BIN)/snakemake --report report.zip

# Mutation testing of the numerical core (pyproject.toml [tool.mutmut]): a
# maintained tool, not a CI step; minutes per module on 2 cores. Of
# gear/metrics.py only the tie test (tied_with_best and its R^2). Narrow it
# with mutant-name patterns, e.g. make mutation MUTANTS='gear.scales* gear.designs*'.
# Survivors are listed at the end; `$(BIN)/mutmut show NAME` prints one.
MUTANTS ?= gear.scales* gear.designs* gear.analysis.bootstrap* gear.regression* gear.manifold* \
	gear.metrics.x_tied_with_best* gear.metrics.x__paired* gear.metrics.x__pooled_r2*
mutation: env
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/mutmut run $(foreach pattern,$(MUTANTS),'$(pattern)')
	$(BIN)/mutmut results

clean:
	rm -rf results logs report.html report.zip .snakemake docs/_build docs/generated mutants
