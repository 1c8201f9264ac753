rule regress:
    input:
        embeddings=rules.embed.output.embeddings,
        params=rules.synthesize.output.params,
        parameters=rules.synthesize.output.parameters,
    output:
        table="results/regression/{dataset}/{model}.csv",
    log:
        "logs/regress/{dataset}/{model}.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=2000,
    params:
        regression=config["regression"],
        distance=config["distance"],
    script:
        "../../scripts/regress.py"


rule regression_summary:
    input:
        unpack(per_available_model("results/regression/{dataset}/{model}.csv")),
        unpack(model_statuses),
        parameters=rules.synthesize.output.parameters,
    output:
        summary=report(
            "results/regression/{dataset}/summary.csv",
            caption="../report/regression_summary.rst",
            category="K-NN regression",
            labels={"dataset": "{dataset}", "table": "summary"},
        ),
    log:
        "logs/regress/{dataset}/summary.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=1000,
    params:
        models=MODELS,
        n_resamples=config["bootstrap"]["n_resamples"],
    script:
        "../../scripts/regression_summary.py"
