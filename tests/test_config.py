"""Configuration: the default config is valid; typos and bad values fail in one line."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gear.config import load_config, sorted_keys, validate_config
from gear.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config():
    with open(ROOT / "config.yaml") as file:
        return yaml.safe_load(file)


def test_default_config_is_valid_and_gets_defaults():
    config = load_config(ROOT / "config.yaml")
    assert config["isomap"] == {
        "n_neighbors": 100,
        "n_components": 3,
        "disconnected": "join",
        "method": "auto",
        "n_landmarks": 1000,
        "neighbors": "auto",
    }
    assert config["regression"] == {"n_neighbors": 40, "leave_one_out": False}
    assert config["models"]["crepe"]["batch_size"] == 64
    assert config["datasets"]["gear2023"] == {"synthesizer": "gear2023"}
    assert config["datasets"]["harmonic"]["parameters"]["f1"]["scale"] == "log"


def test_the_config_check_does_not_import_scipy_stats():
    """Every Snakemake command runs the config check: scipy.stats alone took 2 s of it to import."""
    code = "import sys, gear.config; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_test_config_is_valid():
    load_config(ROOT / "tests" / "config" / "config.yaml")


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.yaml")), ids=lambda path: path.name)
def test_example_configs_are_valid(path):
    load_config(path, root=ROOT)


def set_key(path, value):
    def change(config):
        *parents, last = path
        node = config
        for key in parents:
            node = node[key]
        node[last] = value

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (set_key(["modles"], {}), r"\(top level\): .*'modles' was unexpected"),
        (set_key(["isomap", "n_neighbours"], 10), r"isomap: .*'n_neighbours' was unexpected"),
        (set_key(["models", "base", "modul"], "x"), r"models.base: .*'modul' was unexpected"),
        (set_key(["datasets", "gear2023", "duration"], 2), r"datasets.gear2023: synthesizer 'gear2023' .* takes no duration"),
        (set_key(["isomap", "n_neighbors"], "ten"), r"isomap.n_neighbors: 'ten' is not of type 'integer'"),
        (set_key(["isomap", "method"], "landmarks"), r"isomap.method: 'landmarks' is not one of"),
        (set_key(["isomap", "n_landmarks"], 3), r"isomap.n_landmarks: 3 is less than the minimum"),
        (set_key(["regression", "n_neighbors"], 0), r"regression.n_neighbors: 0 is less than the minimum"),
        (set_key(["datasets", "harmonic", "parameters", "f1", "num"], 0),
         r"datasets.harmonic.parameters.f1.num: 0 is less than"),
        (set_key(["datasets", "harmonic", "parameters", "alpha", "min"], 5),
         r"datasets.harmonic.parameters.alpha: range \[5, 2.0\] is empty or inverted for num=16"),
        (set_key(["datasets", "harmonic", "parameters", "f1", "max"], 9000),
         r"datasets.harmonic.parameters.f1.max: 9000 Hz is not below Nyquist \(8000.0 Hz\)"),
        (set_key(["datasets", "harmonic", "synthesizer"], "harmonik"),
         r"datasets.harmonic.synthesizer: cannot import synthesizer 'harmonik'"),
        (set_key(["datasets", "harmonic", "f1_sampling"], "random"), r"datasets.harmonic: .*'f1_sampling' was unexpected"),
        (set_key(["datasets", "bad id"], {"synthesizer": "gear2023"}), r"datasets: 'bad id' does not match"),
        (set_key(["isomap", "n_neighbors"], 2500), r"isomap.n_neighbors: 2500 neighbours of the Isomap graph need "
         r"more sounds than dataset 'gear2023' has \(2500 sounds\)"),
        (set_key(["regression", "n_neighbors"], 3000), r"regression.n_neighbors: 3000 neighbours of the regression "
         r"need more sounds than dataset 'gear2023' has \(2500 sounds\)"),
        (set_key(["models", "base", "env"], "envs/missing.yaml"), r"models.base.env: no such environment file"),
        (set_key(["models", "base", "module"], "not a module"), r"models.base.module: 'not a module' does not"),
        (set_key(["datasets"], {}), r"datasets: \{\} should be non-empty"),
    ],
)
def test_bad_values_give_one_line_errors_naming_the_key(config, change, message):
    config = copy.deepcopy(config)
    change(config)
    with pytest.raises(ConfigError, match=message) as error:
        validate_config(config, root=ROOT)
    assert "\n" not in str(error.value)


def test_fewer_landmarks_than_dimensions_is_rejected(config):
    config["isomap"] = {"n_components": 8, "n_landmarks": 6}
    with pytest.raises(ConfigError, match=r"isomap.n_landmarks: 6 landmarks cannot place points in 8"):
        validate_config(config, root=ROOT)


def test_sorted_keys_is_equal_and_independent_of_key_order():
    one = {"b": {"y": 1, "x": [{"q": 2, "p": 3}]}, "a": 0}
    two = {"a": 0, "b": {"x": [{"p": 3, "q": 2}], "y": 1}}
    assert sorted_keys(one) == one
    assert repr(sorted_keys(one)) == repr(sorted_keys(two)) != repr(one)


def test_unreadable_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("datasets: [unclosed")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(path)
