# Remote inputs: each model's weights that live at a URL or on the Hugging
# Face hub (gear.models.remote) are fetched by one job, before the jobs that
# load the model, into GEAR's cache (gear.fetch), and checked against the
# lock file gear.lock beside the configuration file. A local rule: on a
# cluster, the machine running Snakemake fetches (compute nodes are often
# offline), once per model. A model whose fetch fails is recorded with the
# reason and reported unavailable by check_model; the failed record is
# removed at the next parse, with the model's status (Snakemake reruns
# nothing for a missing input whose consumer's output exists), so the next
# run tries again. The lock file and the models with remote files: common.smk.
_cli = command_line_options()
if config["fetch"] != "never" and runs_jobs(_cli):
    for _model in FETCHED_MODELS:
        _record = f"results/models/{_model}.fetched.json"
        if stale_fetch_record(_record):
            os.remove(_record)
            if os.path.exists(f"results/models/{_model}.json"):
                os.remove(f"results/models/{_model}.json")


rule fetch:
    input:
        spec=model_spec_file,
    output:
        record="results/models/{model}.fetched.json",
    log:
        "logs/fetch/{model}.log",
    localrule: True
    conda:
        model_env
    resources:
        mem_mb=500,
    params:
        module=fetch_module,
    script:
        "../../scripts/fetch.py"
