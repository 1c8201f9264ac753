rule provenance:
    input:
        unpack(dataset_descriptions),
    output:
        record="results/provenance.json",
    log:
        "logs/provenance.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=500,
    params:
        config=config,
        code=code_fingerprints,
    script:
        "../../scripts/provenance.py"
