"""Messages for users coming back: a config in the earlier format, and the recipe after an interrupt."""

import copy

import pytest

from gear.config import validate_config
from gear.errors import ConfigError
from gear.logs import recovery_hint, workflow_arguments

MODELS = {"base": {"module": "gear.models.base", "env": "envs/torch.yaml"}}
EARLIER = {
    "kind": "harmonic",
    "f1": {"min": 65.41, "max": 1046.5, "num": 10, "scale": "log"},
    "alpha": {"min": 0.0, "max": 2.0, "num": 16},
    "r": {"min": 0.0, "max": 1.0, "num": 16},
}


def error_of(dataset):
    with pytest.raises(ConfigError) as raised:
        validate_config({"datasets": {"harmonic": copy.deepcopy(dataset)}, "models": copy.deepcopy(MODELS)})
    return str(raised.value)


def test_the_earlier_format_is_answered_with_the_current_spelling():
    assert error_of(EARLIER) == (
        "config: datasets.harmonic: the earlier format (kind: harmonic; f1, alpha, r at the top level) is no "
        "longer read: write synthesizer: harmonic and put f1, alpha, r under parameters: "
        "(e.g. parameters: {f1: {min: 65.41, max: 1046.5, num: 10, scale: log}})"
    )


def test_kind_alone_and_ranges_alone_are_each_answered():
    assert error_of({"kind": "gear2023"}) == (
        "config: datasets.harmonic: the earlier format (kind: gear2023) is no longer read: write synthesizer: gear2023"
    )
    ranges_only = {"synthesizer": "harmonic", "alpha": {"min": 0.0, "max": 2.0, "num": 4}}
    assert error_of(ranges_only) == (
        "config: datasets.harmonic: the earlier format (alpha at the top level) is no longer read: put "
        "alpha under parameters: (e.g. parameters: {alpha: {min: 0.0, max: 2.0, num: 4}})"
    )


def test_the_written_form_passes():
    now = {"synthesizer": "harmonic", "parameters": {key: value for key, value in EARLIER.items() if key != "kind"}}
    validate_config({"datasets": {"harmonic": now}, "models": copy.deepcopy(MODELS)})


def test_a_plain_typo_keeps_the_schemas_message():
    assert "'sample_rat' was unexpected" in error_of({"synthesizer": "harmonic", "sample_rat": 16000})


@pytest.mark.parametrize(
    "argv, kept",
    [
        ([], []),
        (["--cores", "2", "-n"], []),
        (["--configfile", "my.yaml", "--cores", "4"], ["--configfile", "my.yaml"]),
        (["-c", "1", "--configfile", "a.yaml", "b.yaml", "-C", "x=1", "y=2", "-d", "run"],
         ["--configfile", "a.yaml", "b.yaml", "-C", "x=1", "y=2", "-d", "run"]),
        (["--configfile=my.yaml", "--snakefile", "S", "--profile", "p", "--replace-workflow-config", "-R", "embed"],
         ["--configfile=my.yaml", "--snakefile", "S", "--profile", "p", "--replace-workflow-config"]),
    ],
)  # fmt: skip
def test_workflow_arguments_keep_what_chooses_the_workflow_and_its_config(argv, kept):
    assert workflow_arguments(argv) == kept


def test_the_recovery_hint_repeats_the_options_quoted():
    hint = recovery_hint(["--cores", "2", "--configfile", "my config.yaml", "--config", "strict=true"])
    assert hint == (
        "run snakemake --unlock --configfile 'my config.yaml' --config strict=true, then snakemake --cores 2 "
        "--rerun-incomplete --configfile 'my config.yaml' --config strict=true"
    )
    assert recovery_hint([]) == "run snakemake --unlock, then snakemake --cores 8 --rerun-incomplete"
    assert "each with the --configfile/--config/--directory options" in recovery_hint(None)
