# What makes a model's embeddings: one small file per model, named by the
# digest of its content (model_spec_file) and written by the model_spec job,
# never at parse time. Both rules below take it as input, so a change of
# module, weights (path, size or time), batch size, environment or code (the
# module's file and the local modules it imports) is a new file that reruns
# them, even for outputs whose Snakemake metadata was never written (a job of
# an interrupted run). The label and the timeout are left out: changing them
# reruns nothing here.
from gear.errors import DataError
from gear.io import check_audio_manifest, interrupted_outputs
from gear.logs import recovery_hint, with_workflow_arguments
from gear.processes import SNAKEMAKE_PID_ENV

_cli = command_line_options()
_maintenance = _cli is not None and (_cli.unlock or _cli.cleanup_metadata)

# A sound deleted or replaced after synthesis stops the run here, naming it
# (a cheap check of sizes and times against the dataset's manifest; every
# job that reads audio also compares checksums). Skipped for a dataset being
# regenerated (--forcerun synthesize or one of its files, --forceall) and
# for --unlock.
if _cli is not None and not _maintenance and not _cli.forceall:
    _forced = {os.path.normpath(target) for target in _cli.forcerun or ()}
    for _dataset in DATASETS:
        _outputs = [
            expand(path, dataset=_dataset)[0] for path in rules.synthesize.output
        ]
        if "synthesize" in _forced or _forced & set(map(os.path.normpath, _outputs)):
            continue
        try:
            check_audio_manifest(
                expand(rules.synthesize.output.audio, dataset=_dataset)[0]
            )
        except DataError as error:
            # Its advice ends with a snakemake command: with the run's own config.
            raise WorkflowError(
                with_workflow_arguments(str(error), sys.argv[1:])
            ) from None


# Outputs of jobs that finished after their Snakemake run was interrupted
# (SIGINT to Snakemake alone: it waits for running jobs, then exits without
# recording them). Snakemake checks its incomplete marks before resolving
# the check_model checkpoint, so the jobs behind it would escape: they are
# checked here, by Snakemake's own rule (an error, or a rerun with
# --rerun-incomplete: the outputs are removed). Not while a run holds the
# lock, nor in dry runs.
_locks = ".snakemake/locks"
if (
    _cli is not None
    and not _maintenance
    and not (os.path.isdir(_locks) and os.listdir(_locks))
):
    _interrupted = interrupted_outputs()
    if _interrupted and _cli.rerun_incomplete:
        if not _cli.dryrun:
            for _path in _interrupted:
                os.remove(_path)
    elif _interrupted:
        _more = len(_interrupted) - 3
        raise WorkflowError(
            f"{', '.join(_interrupted[:3])}{f' and {_more} more' if _more > 0 else ''}: "
            "written by a job of an interrupted run, never recorded as complete; "
            + recovery_hint(sys.argv[1:])
        )

# Jobs watch this process, and write nothing once it has gone (gear.processes.watch_parent).
os.environ[SNAKEMAKE_PID_ENV] = str(os.getpid())


rule model_spec:
    output:
        spec="results/models/{model}.{digest}.spec.json",
    log:
        "logs/models/{model}.{digest}.spec.log",
    wildcard_constraints:
        digest="[0-9a-f]{16}",
    # A JSON file written in a second: never through a cluster's queue.
    localrule: True
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=500,
    params:
        record=model_spec_record,
    script:
        "../../scripts/model_spec.py"


checkpoint check_model:
    input:
        unpack(fetched_record),
        spec=model_spec_file,
    output:
        status="results/models/{model}.json",
    log:
        "logs/models/{model}.log",
    conda:
        model_env
    resources:
        mem_mb=8000,
    params:
        model=embedding_params,
        strict=config["strict"],
    script:
        "../../scripts/check_model.py"


rule embed:
    input:
        unpack(fetched_record),
        params=rules.synthesize.output.params,
        audio=rules.synthesize.output.audio,
        spec=model_spec_file,
    output:
        embeddings="results/embeddings/{dataset}/{model}.npy",
        stats="results/embeddings/{dataset}/{model}.json",
    log:
        "logs/embed/{dataset}/{model}.log",
    # Between-workflow cache (snakemake --cache): keyed by the dataset's and the model's entries.
    cache: True
    conda:
        model_env
    threads: embedding_threads
    resources:
        mem_mb=8000,
    params:
        model=embedding_params,
        resample=resamples,
        code=model_code,
    script:
        "../../scripts/embed.py"


rule embedding_costs:
    input:
        unpack(embedding_stats),
    output:
        table=report(
            "results/embeddings/costs.csv",
            caption="../report/embedding_costs.rst",
            category="Embeddings",
            labels={"table": "extraction time and memory"},
        ),
    log:
        "logs/embed/costs.log",
    # A second of bookkeeping: on a cluster, run it where Snakemake runs, not through the queue.
    localrule: True
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=500,
    script:
        "../../scripts/embedding_costs.py"
