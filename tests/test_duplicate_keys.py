"""Duplicate keys in config.yaml are an error naming the key and both lines."""

import pytest

from conftest import TEST_CONFIG, snakemake
from gear.config import load_config, load_yaml_strict
from gear.errors import ConfigError

MODELS_TWICE = """\
models:
  base:
    module: gear.models.base
    env: envs/torch.yaml
  base:
    module: gear.models.crepe
    env: envs/torch.yaml
"""

ISOMAP_TWICE = """\
isomap:
  n_neighbors: 8
regression:
  n_neighbors: 5
isomap:
  method: exact
"""


def test_duplicate_model_is_named_with_both_lines(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(MODELS_TWICE)
    with pytest.raises(ConfigError) as error:
        load_yaml_strict(path)
    assert str(error.value) == f"config: {path}: duplicate key 'models.base' at lines 2 and 5"


def test_duplicate_section_is_named_with_both_lines(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(ISOMAP_TWICE)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"config: {path}: duplicate key 'isomap' at lines 1 and 5"


def test_duplicates_inside_lists_and_equal_keys_elsewhere(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("a:\n  - {x: 1, y: 2}\n  - {x: 1, x: 3}\nb: {x: 1}\n")
    with pytest.raises(ConfigError) as error:
        load_yaml_strict(path)
    assert str(error.value) == f"config: {path}: duplicate key 'a.1.x' at lines 3 and 3"
    path.write_text("a: {x: 1}\nb: {x: 1}\n")
    assert load_yaml_strict(path) == {"a": {"x": 1}, "b": {"x": 1}}


def test_unreadable_yaml_is_one_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("models: [unclosed\n")
    with pytest.raises(ConfigError) as error:
        load_yaml_strict(path)
    assert str(error.value).startswith(f"config: cannot read {path} (while parsing a flow sequence")
    assert "\n" not in str(error.value)


@pytest.mark.workflow
def test_workflow_refuses_a_config_file_with_a_duplicate(tmp_path):
    # Snakemake reads the file with PyYAML, which keeps the last "base".
    text = TEST_CONFIG.read_text()
    assert text.count("\nmodels:\n  base:\n") == 1
    twice = text.replace(
        "\nmodels:\n  base:\n",
        "\nmodels:\n  base:\n    module: gear.models.mfcc\n    env: envs/torch.yaml\n  base:\n",
    )
    path = tmp_path / "config.yaml"
    path.write_text(twice)
    first = twice.splitlines().index("  base:") + 1
    result = snakemake("-n", "--configfile", str(path), "--directory", str(tmp_path))
    assert result.returncode != 0
    assert f"config: {path}: duplicate key 'models.base' at lines {first} and {first + 3}" in (
        result.stdout + result.stderr
    ).splitlines()
