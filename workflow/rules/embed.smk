checkpoint check_model:
    output:
        status="results/models/{model}.json",
    log:
        "logs/models/{model}.log",
    conda:
        model_env
    resources:
        mem_mb=8000,
    params:
        model=model_spec,
        strict=config["strict"],
    script:
        "../../scripts/check_model.py"


rule embed:
    input:
        params=rules.synthesize.output.params,
        audio=rules.synthesize.output.audio,
    output:
        embeddings="results/embeddings/{dataset}/{model}.npy",
        stats="results/embeddings/{dataset}/{model}.json",
    log:
        "logs/embed/{dataset}/{model}.log",
    conda:
        model_env
    threads: 2
    resources:
        mem_mb=8000,
    params:
        model=model_spec,
        resample=resamples,
    script:
        "../../scripts/embed.py"


rule embedding_costs:
    input:
        unpack(embedding_stats),
    output:
        table=report(
            "results/embeddings/costs.csv",
            caption="../report/embedding_costs.rst",
            category="Embeddings",
            labels={"table": "extraction time and memory"},
        ),
    log:
        "logs/embed/costs.log",
    conda:
        "../../envs/gear.yaml"
    resources:
        mem_mb=500,
    script:
        "../../scripts/embedding_costs.py"
