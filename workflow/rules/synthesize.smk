rule synthesize:
    output:
        params="results/datasets/{dataset}/params.csv",
        parameters="results/datasets/{dataset}/parameters.json",
        audio=directory("results/datasets/{dataset}/audio"),
    log:
        "logs/synthesize/{dataset}.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=4000,
    params:
        spec=dataset_spec,
    script:
        "../../scripts/synthesize.py"
