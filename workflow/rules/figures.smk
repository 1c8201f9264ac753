rule figure_sounds:
    input:
        params=rules.synthesize.output.params,
        parameters=rules.synthesize.output.parameters,
        audio=rules.synthesize.output.audio,
    output:
        png=report(
            "results/figures/{dataset}/figure2_sounds.png",
            caption="../report/figure2_sounds.rst",
            category="Figure 2: sounds",
            labels={"dataset": "{dataset}", "figure": "sound grid"},
        ),
        extra=extra_figures("figure2_sounds"),
    log:
        "logs/figures/{dataset}/figure2_sounds.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=2000,
    params:
        grid_rows=config["figures"]["grid_rows"],
        grid_cols=config["figures"]["grid_cols"],
    script:
        "../../scripts/figure_sounds.py"


rule figure_isomap:
    input:
        unpack(per_available_model("results/isomap/{dataset}/{model}.npy")),
        unpack(
            per_available_model(
                "results/isomap/{dataset}/{model}.json", "summary_{model}"
            )
        ),
        unpack(model_statuses),
        params=rules.synthesize.output.params,
        parameters=rules.synthesize.output.parameters,
    output:
        png=report(
            "results/figures/{dataset}/figure3_isomap.png",
            caption="../report/figure3_isomap.rst",
            category="Figure 3: Isomap",
            labels={"dataset": "{dataset}", "figure": "isomap"},
        ),
        extra=extra_figures("figure3_isomap"),
    log:
        "logs/figures/{dataset}/figure3_isomap.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=2000,
    params:
        models=MODELS,
        labels=LABELS,
        point_size=config["figures"]["point_size"],
    script:
        "../../scripts/figure_isomap.py"


rule figure_regression:
    input:
        unpack(per_available_model("results/regression/{dataset}/{model}.csv")),
        unpack(model_statuses),
        parameters=rules.synthesize.output.parameters,
    output:
        png=report(
            "results/figures/{dataset}/figure4_regression.png",
            caption="../report/figure4_regression.rst",
            category="Figure 4: K-NN regression",
            labels={"dataset": "{dataset}", "figure": "regression"},
        ),
        extra=extra_figures("figure4_regression"),
    log:
        "logs/figures/{dataset}/figure4_regression.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=2000,
    params:
        models=MODELS,
        labels=LABELS,
        n_resamples=config["bootstrap"]["n_resamples"],
    script:
        "../../scripts/figure_regression.py"
