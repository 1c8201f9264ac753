rule view:
    input:
        coordinates=rules.isomap.output.coordinates,
        params=rules.synthesize.output.params,
        parameters=rules.synthesize.output.parameters,
    output:
        # Self-contained (plotly.js inline); the report takes view_bundle's copies.
        html="results/views/{dataset}/{model}.html",
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


# The report's views: one folder with plotly.js once, however many models
# (4.8 MB per self-contained view otherwise). Needs a zip report.
rule view_bundle:
    input:
        views,
    output:
        views=report(
            directory("results/report/views"),
            htmlindex="index.html",
            caption="../report/view.rst",
            category="Interactive 3-D views",
            labels={"figure": "interactive 3-D views"},
        ),
    log:
        "logs/views/bundle.log",
    # A second of bookkeeping: on a cluster, run it where Snakemake runs, not through the queue.
    localrule: True
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=1000,
    params:
        labels=LABELS,
    script:
        "../../scripts/view_bundle.py"
