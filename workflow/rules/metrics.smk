rule metrics:
    input:
        embeddings=rules.embed.output.embeddings,
        coordinates=rules.isomap.output.coordinates,
        params=rules.synthesize.output.params,
        parameters=rules.synthesize.output.parameters,
    output:
        table="results/metrics/{dataset}/{model}.csv",
        details="results/metrics/{dataset}/{model}.details.npz",
        sweeps="results/metrics/{dataset}/{model}.sweeps.csv",
    log:
        "logs/metrics/{dataset}/{model}.log",
    conda:
        "../../envs/gear.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    params:
        distance=config["distance"],
        n_resamples=config["bootstrap"]["n_resamples"],
        equivariance=config["metrics"]["equivariance"],
    script:
        "../../scripts/metrics.py"


rule metrics_table:
    input:
        unpack(per_available_model("results/metrics/{dataset}/{model}.csv")),
        unpack(
            per_available_model(
                "results/metrics/{dataset}/{model}.details.npz", "details_{model}"
            )
        ),
        unpack(
            per_available_model(
                "results/metrics/{dataset}/{model}.sweeps.csv", "sweeps_{model}"
            )
        ),
        unpack(model_statuses),
        unpack(timbre_scores),
        parameters=rules.synthesize.output.parameters,
    output:
        table=report(
            "results/metrics/{dataset}.csv",
            caption="../report/metrics.rst",
            category="Disentanglement metrics",
            labels={"dataset": "{dataset}", "table": "metrics"},
        ),
        scorecard=report(
            "results/figures/{dataset}/scorecard.png",
            caption="../report/scorecard.rst",
            category="Disentanglement metrics",
            labels={"dataset": "{dataset}", "figure": "scorecard"},
        ),
        sweeps=report(
            "results/figures/{dataset}/sweeps.png",
            caption="../report/sweeps.rst",
            category="Disentanglement metrics",
            labels={"dataset": "{dataset}", "figure": "sweeps"},
        ),
    log:
        "logs/metrics/{dataset}/table.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=1000,
    params:
        models=MODELS,
        labels=LABELS,
        n_resamples=config["bootstrap"]["n_resamples"],
    script:
        "../../scripts/metrics_table.py"


rule figure_invariance:
    input:
        table=rules.metrics_table.output.table,
        parameters=rules.synthesize.output.parameters,
    output:
        png=report(
            "results/figures/{dataset}/invariance.png",
            caption="../report/invariance.rst",
            category="Disentanglement metrics",
            labels={"dataset": "{dataset}", "figure": "invariance"},
        ),
    log:
        "logs/figures/{dataset}/invariance.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=1000,
    params:
        labels=LABELS,
    script:
        "../../scripts/figure_invariance.py"
