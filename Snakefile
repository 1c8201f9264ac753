# GEAR: Generative Evaluation of Audio Representations.
# Synthesize sounds, embed them with HEAR models, reduce with Isomap, score
# with the K-NN regression, and redraw the paper's figures:
#     snakemake --cores 8


from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/synthesize.smk"
include: "workflow/rules/fetch.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/isomap.smk"
include: "workflow/rules/regress.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/views.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/timbre.smk"
include: "workflow/rules/provenance.smk"


# Snakemake reports a failed script job as "message: None": repeat each
# failed job's one-line reason (from its log) at the end of the run.
onerror:
    import sys
    from gear.logs import failed_job_reasons

    for _line in failed_job_reasons(log):
        print(f"GEAR: failed: {_line}", file=sys.stderr)


rule all:
    default_target: True
    input:
        all_outputs(),
        timbre_outputs(),
        views,
        rules.view_bundle.output.views,
