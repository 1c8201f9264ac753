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
from gear.fingerprint import code_fingerprints, fingerprint_digest
from gear.pipeline import EMBEDDING_MODULES, SYNTHESIS_MODULES

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
_SYNTHESIZERS = {
    dataset_id: load_synthesizer(spec["synthesizer"])
    for dataset_id, spec in config["datasets"].items()
}
RESAMPLES = {
    dataset_id: synthesizer.resample_to_model_rate
    for dataset_id, synthesizer in _SYNTHESIZERS.items()
}
MODELS = list(config["models"])
# The code that makes each dataset and each model's embeddings (files read
# and hashed, nothing imported): a change reruns exactly their jobs.
DATASET_CODE = code_fingerprints(
    {
        dataset_id: [synthesizer.module.__name__, *SYNTHESIS_MODULES]
        for dataset_id, synthesizer in _SYNTHESIZERS.items()
    }
)
MODEL_CODE = code_fingerprints(
    {
        model_id: [spec["module"], *EMBEDDING_MODULES]
        for model_id, spec in config["models"].items()
    }
)
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


def dataset_code(wildcards):
    """The fingerprint of the code that synthesizes the dataset."""
    return DATASET_CODE[wildcards.dataset]


def model_code(wildcards):
    """The fingerprint of the model's code (its module, local imports, GEAR's embedding code)."""
    return MODEL_CODE[wildcards.model]


def code_fingerprints(wildcards):
    """Every dataset's and model's code fingerprint, for provenance.json."""
    return {"datasets": DATASET_CODE, "models": MODEL_CODE}


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


def weights_file_stat(path):
    """Size and modification time of a weights file, None if there is none."""
    if not path or not os.path.isfile(path):
        return None
    found = os.stat(path)
    return {"bytes": found.st_size, "mtime_ns": found.st_mtime_ns}


MODEL_SPECS = {
    model_id: {
        **{key: spec.get(key) for key in EMBEDDING_KEYS},
        "weights_file": weights_file_stat(spec.get("weights")),
        "code": MODEL_CODE[model_id],
    }
    for model_id, spec in config["models"].items()
}


def model_spec_record(wildcards):
    """What the model's embeddings depend on: embedding_params, weights file, code."""
    return MODEL_SPECS[wildcards.model]


def model_spec_file(wildcards):
    """The model's spec file, named by the digest of model_spec_record."""
    digest = fingerprint_digest(MODEL_SPECS[wildcards.model])
    return f"results/models/{wildcards.model}.{digest}.spec.json"


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


# Options under which Snakemake runs no job: parse-time clean-ups (a failed
# fetch record removed so that the run tries again) must then touch nothing.
NO_JOB_OPTIONS = (
    "dryrun",
    "lint",
    "unlock",
    "cleanup_metadata",
    "cleanup_shadow",
    "summary",
    "detailed_summary",
    "list_rules",
    "list_target_rules",
    "list_changes",
    "list_input_changes",
    "list_params_changes",
    "list_untracked",
    "list_conda_envs",
    "dag",
    "d3dag",
    "rulegraph",
    "filegraph",
    "touch",
    "delete_all_output",
    "delete_temp_output",
    "archive",
    "containerize",
    "export_cwl",
    "print_compilation",
    "generate_unit_tests",
    "conda_cleanup_envs",
    "container_cleanup_images",
)


def runs_jobs(cli):
    """Whether this Snakemake command runs jobs (not a dry run, a report, a listing, --unlock ...)."""
    if cli is None or any(getattr(cli, name, None) for name in NO_JOB_OPTIONS):
        return False
    return not (
        getattr(cli, "report", None) and not getattr(cli, "report_after_run", False)
    )


# Remote inputs (fetch.smk): the lock file beside the configuration file,
# and the models whose weights are fetched (remote files, no weights: given).
from gear.fetch import LOCK_ENV, LOCK_FILENAME
from gear.models.remote import remotes_of

_configfile = workflow.configfiles[0] if workflow.configfiles else "config.yaml"
# A lock file named by the user ($GEAR_LOCK_FILE) wins.
os.environ.setdefault(
    LOCK_ENV, os.path.join(os.path.dirname(os.path.abspath(_configfile)), LOCK_FILENAME)
)
FETCHED_MODELS = [
    model
    for model, spec in config["models"].items()
    if remotes_of(spec["module"]) and not spec.get("weights")
]


def fetch_module(wildcards):
    """The model's module name."""
    return config["models"][wildcards.model]["module"]


def fetched_record(wildcards):
    """The fetch record of a model with remote files, as named input ``fetched``."""
    if wildcards.model in FETCHED_MODELS:
        return {"fetched": f"results/models/{wildcards.model}.fetched.json"}
    return {}


def stale_fetch_record(path, key="weights"):
    """Whether a fetch record says the fetch failed, or names (under ``key``) a path gone from the cache."""
    try:
        with open(path) as file:
            record = json.load(file)
    except (OSError, ValueError):
        return False
    return bool(record.get("reason")) or not os.path.exists(record.get(key) or "")


def timbre_scores(wildcards):
    """The human timbre alignment table, as named input ``timbre``, if the stage is enabled."""
    if config["timbre"]["enabled"]:
        return {"timbre": "results/timbre/scores.csv"}
    return {}


def dataset_metrics(wildcards):
    """Every dataset's metrics table, keyed metrics_{dataset}."""
    return {
        f"metrics_{dataset}": f"results/metrics/{dataset}.csv" for dataset in DATASETS
    }


# The human timbre stage (timbre.smk).
def timbre_outputs():
    """The stage's final outputs, if it is enabled."""
    if not config["timbre"]["enabled"]:
        return []
    return [
        "results/timbre/scores.csv",
        *expand(
            "results/figures/timbre/{name}.{ext}",
            name=["alignment", "datasets", "synthetic_vs_human"],
            ext=["png", *EXTRA_FORMATS],
        ),
    ]


def timbre_per_model(pattern, key="{model}"):
    """Input function: a key per model -> its file of the timbre stage."""

    def inputs(wildcards):
        return {
            key.format(model=model): pattern.format(model=model) for model in MODELS
        }

    return inputs
