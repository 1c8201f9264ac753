rule isomap:
    input:
        embeddings=rules.embed.output.embeddings,
    output:
        coordinates="results/isomap/{dataset}/{model}.npy",
        summary="results/isomap/{dataset}/{model}.json",
    log:
        "logs/isomap/{dataset}/{model}.log",
    conda:
        "../../envs/gear.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    params:
        isomap=config["isomap"],
        distance=config["distance"],
    script:
        "../../scripts/isomap.py"
