"""Validation of ``config.yaml`` against GEAR's JSON schema.

The schema (``workflow/schemas/config.schema.yaml``) rejects unknown keys
and fills in defaults; :func:`validate_config` turns the first violation
into a one-line :class:`~gear.errors.ConfigError` that names the key.
"""

from pathlib import Path

import jsonschema
import yaml

from gear.datasets import dataset_size
from gear.errors import ConfigError

__all__ = [
    "SCHEMA_PATH",
    "load_schema",
    "validator_with_defaults",
    "validate_config",
    "check_neighbors",
    "sorted_keys",
    "load_config",
    "load_yaml_strict",
]

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


def load_schema(path=SCHEMA_PATH):
    """Read the configuration schema."""
    with open(path) as file:
        return yaml.safe_load(file)


def validator_with_defaults(validator_class):
    """A jsonschema validator class that fills in each property's ``default`` as it validates.

    jsonschema's documented recipe: defaults are set while validating
    ``properties``, so only the branch that applies (if/then/else) sets
    them.

    Parameters
    ----------
    validator_class : type
        E.g. :class:`jsonschema.Draft202012Validator`.

    Returns
    -------
    type
        The extended validator class.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if isinstance(subschema, dict) and "default" in subschema:
                    instance.setdefault(name, _copy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _copy(value):
    return yaml.safe_load(yaml.safe_dump(value))


def _location(path):
    parts = [str(part) for part in path]
    return ".".join(parts) if parts else "(top level)"


def validate_config(config, root="."):
    """Validate a configuration, fill its defaults, and check its ranges.

    Parameters
    ----------
    config : dict
        Parsed ``config.yaml``; modified in place (defaults filled in).
    root : str or Path
        Directory that relative paths (``env``) are resolved against.

    Returns
    -------
    config : dict

    Raises
    ------
    ConfigError
        One line naming the offending key and what is wrong with it.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"config: expected a mapping at the top level, got {type(config).__name__}")
    schema = load_schema()
    _check_earlier_format(config, schema)
    validator = validator_with_defaults(jsonschema.Draft202012Validator)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        where = list(error.absolute_path)
        is_device = where == ["device"] or where[::2] == ["models", "device"]
        if is_device and error.validator in ("pattern", "type"):
            raise ConfigError(
                f"config: {_location(where)}: {error.instance!r} is not one of auto, cpu, cuda, cuda:N"
            )
        raise ConfigError(f"config: {_location(error.absolute_path)}: {error.message}")
    sizes = {dataset_id: dataset_size(spec, dataset_id) for dataset_id, spec in config["datasets"].items()}
    check_neighbors(config, sizes)
    isomap = config["isomap"]
    if isomap["n_landmarks"] <= isomap["n_components"]:
        raise ConfigError(
            f"config: isomap.n_landmarks: {isomap['n_landmarks']} landmarks cannot place points in "
            f"{isomap['n_components']} dimensions (need more than n_components)"
        )
    for model_id, spec in config["models"].items():
        if not (Path(root) / spec["env"]).is_file():
            raise ConfigError(f"config: models.{model_id}.env: no such environment file {spec['env']!r}")
    return config


def _check_earlier_format(config, schema):
    """Refuse a dataset written in the earlier format, saying how to write it now.

    The earlier format named the synthesizer with ``kind:`` and put the
    parameter ranges at the top level of the dataset (``f1: {min: ...}``);
    the schema would only call these keys unexpected.
    """
    datasets = config.get("datasets")
    if not isinstance(datasets, dict):
        return
    known = set(schema["$defs"]["dataset"]["properties"])
    for dataset_id, spec in datasets.items():
        if not isinstance(spec, dict):
            continue
        unknown = [key for key in spec if key not in known and key != "kind"]
        ranges = [key for key in unknown if isinstance(spec[key], dict)]
        if "kind" not in spec and not ranges:
            continue
        found = [f"kind: {spec['kind']}"] if "kind" in spec else []
        if ranges:
            found.append(f"{', '.join(ranges)} at the top level")
        fixes = []
        if "kind" in spec:
            fixes.append(f"write synthesizer: {spec['kind']}" if "synthesizer" not in spec else "drop kind:")
        if ranges:
            first = {ranges[0]: spec[ranges[0]]}
            example = yaml.safe_dump(first, default_flow_style=True, sort_keys=False, width=1000).strip()
            fixes.append(f"put {', '.join(ranges)} under parameters: (e.g. parameters: {example})")
        raise ConfigError(
            f"config: datasets.{dataset_id}: the earlier format ({'; '.join(found)}) is no longer read: "
            f"{' and '.join(fixes)}"
        )


def check_neighbors(config, sizes):
    """Refuse K >= N, known from the config alone, before any job runs.

    With K = N the regression would return the global mean for every sound.

    Parameters
    ----------
    config : dict
        With ``isomap.n_neighbors`` and ``regression.n_neighbors``.
    sizes : dict {str: int}
        Dataset id -> number of sounds.

    Raises
    ------
    ConfigError
        Naming the section, K and the dataset that is too small.
    """
    for section, what in (("isomap", "neighbours of the Isomap graph"), ("regression", "neighbours of the regression")):
        k = config[section]["n_neighbors"]
        for dataset_id, n_sounds in sizes.items():
            if k >= n_sounds:
                raise ConfigError(
                    f"config: {section}.n_neighbors: {k} {what} need more sounds than dataset "
                    f"{dataset_id!r} has ({n_sounds} sounds)"
                )


def sorted_keys(value):
    """A copy of a nested configuration with every mapping's keys sorted.

    Parameters
    ----------
    value : dict, list or scalar

    Returns
    -------
    value : same type
        Equal to ``value``; mappings rebuilt in key order, so that its text
        form does not depend on the order of keys in the file.
    """
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def _duplicate_keys(node, where=()):
    """First duplicated key of a composed YAML document: (dotted key, first line, second line)."""
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    return ".".join([*where, key_node.value]), seen[key_node.value], line
                seen[key_node.value] = line
            found = _duplicate_keys(value_node, (*where, str(getattr(key_node, "value", "?"))))
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _duplicate_keys(item, (*where, str(index)))
            if found:
                return found
    return None


def load_yaml_strict(path):
    """Read a YAML file as ``yaml.safe_load`` does, but refuse duplicate keys.

    PyYAML (and so Snakemake's ``configfile``) keeps the last of two equal
    keys of a mapping without a word: a second ``base:`` under ``models:``
    would silently replace the first.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    data : object
        The parsed document.

    Raises
    ------
    ConfigError
        One line: the file, the duplicated key (dotted) and both lines; or
        why the file cannot be read.
    """
    try:
        with open(path) as file:
            text = file.read()
        duplicate = _duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader))
        if duplicate is None:
            return yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"config: cannot read {path} ({' '.join(str(error).split())})") from error
    key, first, second = duplicate
    raise ConfigError(f"config: {path}: duplicate key {key!r} at lines {first} and {second}")


def load_config(path, root=None):
    """Read and validate a YAML configuration file.

    Parameters
    ----------
    path : str or Path
    root : str or Path or None
        Directory for relative paths; defaults to the project root.

    Returns
    -------
    config : dict
    """
    config = load_yaml_strict(path)
    return validate_config(config, root=SCHEMA_PATH.parents[2] if root is None else root)
