rule view:
    input:
        coordinates=rules.isomap.output.coordinates,
        params=rules.synthesize.output.params,
        parameters=rules.synthesize.output.parameters,
    output:
        html=report(
            "results/views/{dataset}/{model}.html",
            caption="../report/view.rst",
            category="Interactive 3-D views",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{model}"},
        ),
    log:
        "logs/views/{dataset}/{model}.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=1000,
    params:
        label=model_label,
    script:
        "../../scripts/view.py"
