# Configuration checks, the lists that expand() uses, and input functions.
# The logic lives in the gear package; this file only wires it in.

import json
import os
import sys

from snakemake.sourcecache import LocalSourceFile

from gear.processes import available_cores, capped_cores, threads_per_job
from gear.config import SCHEMA_PATH, load_yaml_strict, sorted_keys, validate_config
from gear.synthesizers import load_synthesizer
from gear.errors import ConfigError

# GEAR's repository (envs/, scripts/), also when another workflow imports
# this one as a module, where workflow.basedir is the importer's directory.
# Rules fetched from a remote repository use the installed gear's checkout.
_here = workflow.current_basedir
GEAR_ROOT = (
    os.path.normpath(os.path.join(_here.get_path_or_uri(secret_free=False), "..", ".."))
    if isinstance(_here, LocalSourceFile)
    else str(SCHEMA_PATH.parents[2])
)

try:
    # PyYAML (Snakemake's configfile) keeps the last of two equal keys.
    for _configfile in workflow.configfiles:
        load_yaml_strict(_configfile)
    validate_config(config, root=GEAR_ROOT)
except ConfigError as error:
    raise WorkflowError(str(error)) from None
# Snakemake compares params by their text: with keys in a fixed order,
# reordering config.yaml (or merging configs) reruns nothing.
# Datasets and models keep their order: it is the order of the figures.
_canonical = sorted_keys(config)
for _section in ("datasets", "models"):
    _canonical[_section] = {
        key: sorted_keys(spec) for key, spec in config[_section].items()
    }
config.clear()
config.update(_canonical)

# The repository, for the envs/*.post-deploy.sh scripts (pip install -e).
os.environ.setdefault("GEAR_ROOT", GEAR_ROOT)

# GEAR's jobs use every thread Snakemake gives them: run locally, never more
# threads at once than this machine (its CPU affinity) has, whatever --cores
# says. A cluster executor schedules on its nodes, not here.
if workflow.is_main_process and workflow.local_exec:
    _cores = capped_cores(workflow._cores, available_cores())
    if _cores != workflow._cores:
        print(
            f"GEAR: --cores {workflow._cores} is more than the {_cores} "
            f"CPU{'s' if _cores > 1 else ''} available here: at most {_cores} "
            f"thread{'s run' if _cores > 1 else ' runs'} at once",
            file=sys.stderr,
        )
        workflow.global_resources["_cores"] = _cores

DATASETS = list(config["datasets"])
RESAMPLES = {
    dataset_id: load_synthesizer(spec["synthesizer"]).resample_to_model_rate
    for dataset_id, spec in config["datasets"].items()
}
MODELS = list(config["models"])
EXTRA_FORMATS = config["figures"]["extra_formats"]
LABELS = {
    model_id: spec.get("label", model_id) for model_id, spec in config["models"].items()
}


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(MODELS),


def model_env(wildcards):
    """Conda environment file of the model's family."""
    return workflow.source_path(f"../../{config['models'][wildcards.model]['env']}")


def model_label(wildcards):
    """The model's name in figures."""
    return LABELS[wildcards.model]


def model_spec(wildcards):
    """The model's configuration entry."""
    return config["models"][wildcards.model]


def dataset_spec(wildcards):
    """The dataset's configuration entry."""
    return config["datasets"][wildcards.dataset]


def resamples(wildcards):
    """Whether sounds are resampled to each model's rate (not gear2023's, as published)."""
    return RESAMPLES[wildcards.dataset]


def dataset_descriptions(wildcards):
    """Every dataset's parameters.json, keyed by dataset id."""
    return {
        dataset: f"results/datasets/{dataset}/parameters.json" for dataset in DATASETS
    }


def extra_figures(name):
    """A figure's files in the extra formats, under results/figures/{dataset}/."""
    return expand(f"results/figures/{{{{dataset}}}}/{name}.{{ext}}", ext=EXTRA_FORMATS)


def per_model(pattern, key="{model}"):
    """Input function: a mapping key (from the model id) -> path, per dataset."""

    def inputs(wildcards):
        return {
            key.format(model=model): pattern.format(
                dataset=wildcards.dataset, model=model
            )
            for model in MODELS
        }

    return inputs


def model_is_available(model):
    """Whether the model loaded (read from the check_model checkpoint)."""
    with open(checkpoints.check_model.get(model=model).output.status) as file:
        return json.load(file)["available"]


def per_available_model(pattern, key="{model}"):
    """Like per_model, for the models that could be loaded only."""

    def inputs(wildcards):
        return {
            key.format(model=model): pattern.format(
                dataset=wildcards.dataset, model=model
            )
            for model in MODELS
            if model_is_available(model)
        }

    return inputs


def model_statuses(wildcards):
    """Every model's availability record, keyed status_{model}."""
    return {f"status_{model}": f"results/models/{model}.json" for model in MODELS}


def embedding_stats(wildcards):
    """Extraction statistics of every (dataset, available model)."""
    return {
        f"{dataset}__{model}": f"results/embeddings/{dataset}/{model}.json"
        for dataset in DATASETS
        for model in MODELS
        if model_is_available(model)
    }


def views(wildcards):
    """Interactive views of every (dataset, available model)."""
    return [
        f"results/views/{dataset}/{model}.html"
        for dataset in DATASETS
        for model in MODELS
        if model_is_available(model)
    ]


def all_outputs():
    """Every final output of the configured datasets and models."""
    return [
        "results/provenance.json",
        "results/embeddings/costs.csv",
        *expand("results/regression/{dataset}/summary.csv", dataset=DATASETS),
        *expand("results/metrics/{dataset}.csv", dataset=DATASETS),
        *expand(
            "results/figures/{dataset}/{name}.{ext}",
            dataset=DATASETS,
            name=["figure2_sounds", "figure3_isomap", "figure4_regression"],
            ext=["png", *EXTRA_FORMATS],
        ),
        *(
            expand("results/figures/{dataset}/invariance.png", dataset=DATASETS)
            if config["metrics"]["equivariance"]
            else []
        ),
    ]


# The embedding rules (embed.smk): what a model's embeddings depend on, and
# Snakemake's options for the checks made at parse time.
EMBEDDING_KEYS = ("module", "weights", "batch_size", "env")


def embedding_params(wildcards):
    """The entries of the model's configuration that its embeddings depend on."""
    spec = config["models"][wildcards.model]
    return {key: spec.get(key) for key in EMBEDDING_KEYS}


def embedding_threads(wildcards):
    """Threads of one embedding job: the run's cores shared by all its embedding jobs.

    On 2 cores and 20 embedding jobs, 1 thread each, two jobs at once. On a
    cluster (or without --cores), 2: the profile's set-threads decides.
    """
    if not workflow.local_exec or workflow._cores is None:
        return 2
    return threads_per_job(workflow._cores, len(DATASETS) * len(MODELS))


def model_spec_file(wildcards):
    """The file recording embedding_params (and the weights file's size and time)."""
    return f"results/models/{wildcards.model}.spec.json"


def weights_file_stat(path):
    """Size and modification time of a weights file, None if there is none."""
    if not path or not os.path.isfile(path):
        return None
    found = os.stat(path)
    return {"bytes": found.st_size, "mtime_ns": found.st_mtime_ns}


def command_line_options():
    """Snakemake's command-line options (profiles included); None if unknown.

    The parse-time checks of embed.smk need them before Snakemake passes
    them to the workflow (workflow.dag_settings is still None then). None
    in a job's own Snakemake process (cluster, subprocess), which checks
    nothing.
    """
    import sys

    if workflow.remote_exec or workflow.subprocess_exec:
        return None
    try:
        from snakemake.cli import parse_args

        return parse_args(sys.argv[1:])[1]
    except (Exception, SystemExit):  # not run from Snakemake's command line
        return None
