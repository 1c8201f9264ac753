# Human timbre alignment (docs/timbre.md): the listening-test data fetched
# once into GEAR's cache (a local rule: compute nodes are often offline),
# every model scored per anchor sound, then one table and figures across
# models. Where the data cannot be had (offline, fetch: never), the record
# says why, every model's table is empty with that reason, and a failed
# record is removed at the next parse with every model's record of the stage
# and the table (Snakemake reruns nothing for a missing input whose
# consumer's output exists), so the next run tries again.
_timbre_record = "results/timbre/data.json"
if (
    config["timbre"]["enabled"]
    and config["fetch"] != "never"
    and runs_jobs(_cli)
    and stale_fetch_record(_timbre_record, key="root")
):
    _stage = expand("results/timbre/{model}.json", model=MODELS)
    for _path in [_timbre_record, *_stage, "results/timbre/scores.csv"]:
        if os.path.exists(_path):
            os.remove(_path)


rule fetch_timbre:
    output:
        record=_timbre_record,
    log:
        "logs/timbre/fetch.log",
    localrule: True
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=500,
    script:
        "../../scripts/fetch_timbre.py"


rule align_timbre:
    input:
        unpack(fetched_record),
        data=rules.fetch_timbre.output.record,
        status=rules.check_model.output.status,
        spec=model_spec_file,
    output:
        anchors="results/timbre/{model}.csv",
        stats="results/timbre/{model}.json",
    log:
        "logs/timbre/{model}.log",
    conda:
        model_env
    threads: embedding_threads
    resources:
        mem_mb=8000,
    params:
        model=embedding_params,
        datasets=config["timbre"]["datasets"],
        distances=config["timbre"]["distances"],
    script:
        "../../scripts/align_timbre.py"


rule timbre_table:
    input:
        unpack(timbre_per_model("results/timbre/{model}.csv")),
        unpack(timbre_per_model("results/timbre/{model}.json", "stats_{model}")),
    output:
        table=report(
            "results/timbre/scores.csv",
            caption="../report/timbre_scores.rst",
            category="Human timbre alignment",
            labels={"table": "alignment scores"},
        ),
        alignment=report(
            "results/figures/timbre/alignment.png",
            caption="../report/timbre_alignment.rst",
            category="Human timbre alignment",
            labels={"figure": "pooled scores"},
        ),
        datasets=report(
            "results/figures/timbre/datasets.png",
            caption="../report/timbre_datasets.rst",
            category="Human timbre alignment",
            labels={"figure": "per study"},
        ),
        extra=expand(
            "results/figures/timbre/{name}.{ext}",
            name=["alignment", "datasets"],
            ext=EXTRA_FORMATS,
        ),
    log:
        "logs/timbre/table.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=1000,
    params:
        labels=LABELS,
        n_resamples=config["bootstrap"]["n_resamples"],
    script:
        "../../scripts/timbre_table.py"


rule synthetic_vs_human:
    input:
        unpack(dataset_metrics),
        timbre=rules.timbre_table.output.table,
    output:
        figure=report(
            "results/figures/timbre/synthetic_vs_human.png",
            caption="../report/synthetic_vs_human.rst",
            category="Human timbre alignment",
            labels={"figure": "synthetic factors against human alignment"},
        ),
        extra=expand(
            "results/figures/timbre/synthetic_vs_human.{ext}", ext=EXTRA_FORMATS
        ),
    log:
        "logs/timbre/synthetic_vs_human.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=1000,
    params:
        labels=LABELS,
    script:
        "../../scripts/synthetic_vs_human.py"
