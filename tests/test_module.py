"""Another workflow imports GEAR's rules with Snakemake's module directive, its own config and a prefix."""

import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import ROOT, TEST_CONFIG

OUTER_SNAKEFILE = """\
configfile: "config.yaml"


module gear:
    snakefile:
        "{snakefile}"
    config:
        config
    prefix:
        "gear_out"


use rule * from gear as gear_*


rule all:
    default_target: True
    input:
        rules.gear_all.input,
"""


@pytest.fixture(scope="module")
def outer_run(tmp_path_factory):
    """The README's module snippet, with the tiny config's dataset and the base model only."""
    workdir = tmp_path_factory.mktemp("outer")
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["models"] = {"base": config["models"]["base"]}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "Snakefile").write_text(OUTER_SNAKEFILE.format(snakefile=ROOT / "Snakefile"))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2"], cwd=workdir, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return workdir, result


def test_gear_runs_as_a_module_under_its_prefix(outer_run):
    workdir, result = outer_run
    out = workdir / "gear_out"
    for path in (
        "results/metrics/tiny/base.csv",
        "results/metrics/tiny.csv",
        "results/regression/tiny/summary.csv",
        "results/figures/tiny/figure3_isomap.png",
        "results/views/tiny/base.html",
        "results/provenance.json",
    ):
        assert (out / path).is_file(), path
    # Every output and log went under the prefix: nothing beside it but the outer workflow's files.
    assert sorted(p.name for p in workdir.iterdir() if not p.name.startswith(".")) == [
        "Snakefile", "config.yaml", "gear_out"
    ]  # fmt: skip
    # The rules were imported under the outer workflow's names.
    assert "gear_embed" in result.stdout + result.stderr


def test_the_modules_config_is_the_importers(outer_run):
    """GEAR's own config.yaml (15 models) is not merged in: only the outer config's model ran."""
    workdir, _ = outer_run
    assert sorted(p.name for p in (workdir / "gear_out/results/models").glob("*.json")
                  if not p.name.endswith(".spec.json")) == ["base.json"]  # fmt: skip
    metrics = pd.read_csv(workdir / "gear_out/results/metrics/tiny.csv")
    assert set(metrics["model"]) == {"base"} and set(metrics["dataset"]) == {"tiny"}


def test_the_module_gives_the_standalone_workflows_numbers(outer_run, local_run):
    workdir, _ = outer_run
    results, _ = local_run
    for path in ("metrics/tiny/base.csv", "regression/tiny/base.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(workdir / "gear_out/results" / path), pd.read_csv(results / path), check_exact=True
        )
