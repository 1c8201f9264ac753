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
