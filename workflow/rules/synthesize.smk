rule synthesize:
    output:
        params="results/datasets/{dataset}/params.csv",
        parameters="results/datasets/{dataset}/parameters.json",
        audio=directory("results/datasets/{dataset}/audio"),
    log:
        "logs/synthesize/{dataset}.log",
    # Between-workflow cache (snakemake --cache): keyed by the spec, the code, the script and the software.
    cache: True
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=4000,
    params:
        spec=dataset_spec,
        code=dataset_code,
    script:
        "../../scripts/synthesize.py"
