rule provenance:
    output:
        record="results/provenance.json",
    log:
        "logs/provenance.log",
    conda:
        "../../envs/gear.yaml"
    params:
        config=config,
    resources:
        mem_mb=500,
    script:
        "../../scripts/provenance.py"
