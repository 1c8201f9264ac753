"""The conda environment files under envs/ agree with the requirements files.

No conda is needed (none can be installed on the test machines): the files
are read as YAML and checked against what conda and pip would do with them.
``conda env create`` writes the ``pip:`` list to a requirements file and
runs ``pip install -r`` on it, so each entry must be something pip accepts
in a requirements file (``--no-deps`` is not). Packages that need it, and
GEAR itself, are installed by the environment's post-deploy script
(``envs/NAME.post-deploy.sh``), which Snakemake runs in the new
environment, from the ``*nodeps*.txt`` files and ``$GEAR_ROOT`` (exported
by the workflow: Snakemake copies the environment file away from the
repository, so a relative ``-e ..`` would not find it).

Checked here:

- every ``envs/*.yaml`` parses and has ``name``, ``channels``, ``dependencies``;
- every pin in ``requirements*.txt`` is the same wherever a package appears;
- every pip entry is a pinned requirement (``NAME==VERSION``) or an index
  option, and every pin of a package the requirements files pin, pip or
  conda, has their version;
- ``envs/torch-cuda.yaml`` is ``envs/torch.yaml`` with PyTorch's CUDA index
  (the one ``requirements-models-torch-cuda.txt`` names) for its CPU index,
  its post-deploy script refuses a torch that is no CUDA build, and the
  SLURM profile's GPU example, uncommented, is a valid profile that points
  the PyTorch models with weights at it;
- GEAR is installed in every environment by its post-deploy script, with
  every dependency it declares in ``pyproject.toml`` pinned (pip would
  otherwise take the latest);
- every model of ``config.yaml`` and ``tests/config/*.yaml`` names an
  environment file that exists;
- what each step imports is in the environment its rule names: for every
  rule of ``workflow/rules/*.smk``, the third-party packages its script
  imports at module level (following ``gear`` modules), and for the models,
  every package their wrapper module and GEAR's helpers import or read
  data from (including imports inside functions), if the requirements
  files pin it.
"""

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENVS = sorted((ROOT / "envs").glob("*.yaml"))
CONFIGS = [ROOT / "config.yaml", *sorted((ROOT / "tests" / "config").glob("*.yaml"))]
#: ``NAME==VERSION`` (extras and markers are not used in this project).
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)$")
#: A conda match spec ``name``, ``name=1.2``, ``name==1.2``, ``name 1.2``.
CONDA_SPEC = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==?|\s)?\s*([^\s=<>!~*]*)")
#: A ``pip install --no-deps`` command of a post-deploy script.
NODEPS_COMMAND = re.compile(r"^\s*pip install --no-deps\b(.*)$", re.MULTILINE)
#: pip options allowed in a ``pip:`` list.
PIP_OPTION = re.compile(r"^--(extra-)?index-url\s+https://\S+$")


def normalize(name):
    """PEP 503 name: case, ``-``, ``_`` and ``.`` do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path):
    """The non-empty lines of a requirements file, comments removed."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def read_requirements(path):
    """``{normalized name: version}`` of a requirements file (index options left out)."""
    pins = {}
    for line in requirement_lines(path):
        if PIP_OPTION.match(line):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: not a pinned requirement: {line!r}"
        pins[normalize(match.group(1))] = match.group(2)
    return pins


REQUIREMENTS = {path.name: read_requirements(path) for path in sorted(ROOT.glob("requirements*.txt"))}


def pinned():
    """``{normalized name: version}`` over all requirements files."""
    pins = {}
    for requirements in REQUIREMENTS.values():
        pins.update(requirements)
    return pins


def load_env(path):
    env = yaml.safe_load(path.read_text())
    assert isinstance(env, dict), f"{path.name}: not a mapping"
    return env


def env_specs(path):
    """Conda specs (strings) and the pip list of an environment file."""
    conda, pip = [], []
    for entry in load_env(path)["dependencies"]:
        if isinstance(entry, dict):
            assert set(entry) == {"pip"}, f"{path.name}: unexpected dependency mapping {entry}"
            pip.extend(str(item) for item in entry["pip"])
        else:
            conda.append(str(entry))
    return conda, pip


def env_packages(path):
    """``{normalized name: version}`` of what the file installs: conda specs,
    pip pins, and the ``--no-deps`` files its post-creation command names."""
    conda, pip = env_specs(path)
    packages = {}
    for spec in conda:
        match = CONDA_SPEC.match(spec)
        packages[normalize(match.group(1))] = match.group(2) or None
    for item in pip:
        match = PIN.match(item)
        if match:
            packages[normalize(match.group(1))] = match.group(2)
    for name in nodeps_files(path):
        packages.update(REQUIREMENTS[name])
    return packages


def post_deploy_script(path):
    """``envs/NAME.post-deploy.sh`` of ``envs/NAME.yaml`` (Snakemake's naming)."""
    return path.with_name(path.stem + ".post-deploy.sh")


def nodeps_files(path):
    """Requirements files that the post-deploy script installs with ``--no-deps``."""
    script = post_deploy_script(path)
    names = []
    for arguments in NODEPS_COMMAND.findall(script.read_text() if script.is_file() else ""):
        names.extend(re.findall(r'-r\s+"?\$GEAR_ROOT/([^"\s]+)"?', arguments))
    return names


def model_envs():
    """``(config file, model id, module, env)`` of every configured model."""
    rows = []
    for config in CONFIGS:
        for model_id, spec in (yaml.safe_load(config.read_text()).get("models") or {}).items():
            rows.append((config.relative_to(ROOT).as_posix(), model_id, spec.get("module"), spec.get("env")))
    return rows


def test_there_are_environment_files():
    names = {path.name for path in ENVS}
    assert {"gear.yaml", "torch.yaml", "torch-cuda.yaml", "tf.yaml"} <= names


@pytest.mark.parametrize("path", ENVS, ids=lambda path: path.name)
def test_environment_file_is_well_formed(path):
    env = load_env(path)
    assert isinstance(env.get("name"), str) and env["name"], f"{path.name}: no name"
    assert isinstance(env.get("channels"), list) and env["channels"], f"{path.name}: no channels"
    assert isinstance(env.get("dependencies"), list) and env["dependencies"], f"{path.name}: no dependencies"
    conda, pip = env_specs(path)
    assert any(spec.startswith("python") for spec in conda), f"{path.name}: no python"
    if pip:
        assert "pip" in conda, f"{path.name}: a pip section needs `pip` among the conda dependencies"


def test_requirements_files_agree():
    """A package pinned in two requirements files has one version."""
    seen = {}
    for name, requirements in REQUIREMENTS.items():
        for package, version in requirements.items():
            seen.setdefault(package, {})[name] = version
    conflicts = {package: files for package, files in seen.items() if len(set(files.values())) > 1}
    assert not conflicts, f"different pins of the same package: {conflicts}"


@pytest.mark.parametrize("path", ENVS, ids=lambda path: path.name)
def test_pins_match_requirements(path):
    conda, pip = env_specs(path)
    pins = pinned()
    mismatches = []
    for item in pip:
        if PIP_OPTION.match(item):
            continue
        match = PIN.match(item)
        assert match, (
            f"{path.name}: pip entry {item!r} is not NAME==VERSION; pip rejects options such as "
            f"--no-deps in a requirements file (install those in {post_deploy_script(path).name})"
        )
        name, version = normalize(match.group(1)), match.group(2)
        if name in pins and pins[name] != version:
            mismatches.append(f"pip {item} (requirements: {pins[name]})")
    for spec in conda:
        match = CONDA_SPEC.match(spec)
        name, version = normalize(match.group(1)), match.group(2)
        if name in pins and version and pins[name] != version:
            mismatches.append(f"conda {spec} (requirements: {pins[name]})")
    assert not mismatches, f"{path.name}: " + "; ".join(mismatches)
    for name in nodeps_files(path):
        assert name in REQUIREMENTS, f"{path.name}: its post-deploy script names {name}, which does not exist"
        assert "nodeps" in name, f"{path.name}: {name} is not a --no-deps requirements file"


@pytest.mark.parametrize("path", ENVS, ids=lambda path: path.name)
def test_gear_is_installed(path):
    script = post_deploy_script(path)
    assert script.is_file(), f"{path.name}: no {script.name} to install GEAR in the new environment"
    text = script.read_text()
    assert text.startswith("#!") and "set -euo pipefail" in text, f"{script.name}: must stop at the first error"
    assert re.search(r'^\s*pip install --no-deps -e "\$GEAR_ROOT"\s*$', text, re.MULTILINE), (
        f"{script.name}: GEAR itself is not installed (expected `pip install --no-deps -e \"$GEAR_ROOT\"`)"
    )
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0, f"{script.name}: {syntax.stderr}"
    # The workflow exports the repository's path for the script.
    assert 'os.environ.setdefault("GEAR_ROOT", GEAR_ROOT)' in (ROOT / "workflow/rules/common.smk").read_text()
    _, pip = env_specs(path)
    assert not [item for item in pip if item.startswith(("-e", "--editable"))], (
        f"{path.name}: a relative editable install breaks once Snakemake copies the file; "
        f"install GEAR in {script.name}"
    )
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    packages = env_packages(path)
    unpinned = [name for name in declared if normalize(name) not in packages]
    assert not unpinned, (
        f"{path.name}: GEAR's dependencies {unpinned} are not pinned, pip would take the latest"
    )


@pytest.mark.parametrize("row", model_envs(), ids=lambda row: f"{row[0]}:{row[1]}")
def test_model_names_an_existing_environment(row):
    config, model_id, _, env = row
    assert env, f"{config}: model {model_id!r} names no env"
    assert (ROOT / env).is_file(), f"{config}: model {model_id!r}: env {env!r} does not exist"
    assert (ROOT / env).resolve().parent == ROOT / "envs", (
        f"{config}: model {model_id!r}: {env!r} is not under envs/"
    )


def test_cuda_environment_is_the_torch_environment_with_the_cuda_build_of_torch():
    torch_conda, torch_pip = env_specs(ROOT / "envs" / "torch.yaml")
    cuda_conda, cuda_pip = env_specs(ROOT / "envs" / "torch-cuda.yaml")
    assert cuda_conda == torch_conda
    assert [item for item in cuda_pip if PIN.match(item)] == [item for item in torch_pip if PIN.match(item)]
    cuda_requirements = requirement_lines(ROOT / "requirements-models-torch-cuda.txt")
    cuda_index = [line for line in cuda_requirements if PIP_OPTION.match(line)]
    assert cuda_index == ["--extra-index-url https://download.pytorch.org/whl/cu128"]
    assert [item for item in cuda_pip if PIP_OPTION.match(item)] == cuda_index
    cpu_index = "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert [item for item in torch_pip if PIP_OPTION.match(item)] == [cpu_index]
    # The CUDA requirements file pins torch alone, at the CPU build's version.
    cuda_pins = REQUIREMENTS["requirements-models-torch-cuda.txt"]
    assert cuda_pins == {"torch": REQUIREMENTS["requirements.txt"]["torch"]}
    assert nodeps_files(ROOT / "envs" / "torch-cuda.yaml") == nodeps_files(ROOT / "envs" / "torch.yaml")


def test_cuda_environment_refuses_a_cpu_build_of_torch(tmp_path):
    script = (ROOT / "envs" / "torch-cuda.post-deploy.sh").read_text()
    checks = [line for line in script.splitlines() if "torch.version.cuda" in line and line[:1] != "#"]
    assert len(checks) == 1 and checks[0].startswith("python -c "), "no check that torch is a CUDA build"
    # Run the check (the script's last command) against a stand-in torch of each build.
    command = checks[0][len("python -c ") :].strip("'")
    for version_cuda, version, code in (("None", "2.13.0+cpu", 1), ('"12.8"', "2.13.0+cu128", 0)):
        fake = tmp_path / version / "torch"
        fake.mkdir(parents=True)
        (fake / "__init__.py").write_text(
            f"__version__ = {version!r}\nclass version:\n    cuda = {version_cuda}\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", command],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(fake.parent)},
        )
        assert result.returncode == code, result.stderr
        if code:
            assert result.stderr.strip() == f"envs/torch-cuda.yaml: torch {version} is not a CUDA build"


def uncommented_gpu_profile():
    """The SLURM profile with its GPU example enabled.

    Commented-out settings start with ``#`` and no space (``#gpu: 1``), and
    their continuation lines, right below, with ``#`` and two or more
    spaces; prose comments start with ``# ``.
    """
    lines, code = [], False
    for line in (ROOT / "profiles" / "slurm" / "config.yaml").read_text().splitlines():
        stripped = line.lstrip()
        code = bool(re.match(r"#\S", stripped)) or (code and stripped.startswith("#  "))
        lines.append(line.replace("#", "", 1) if code else line)
    return yaml.safe_load("\n".join(lines))


def test_slurm_profile_gpu_example_points_the_pytorch_models_at_the_cuda_environment():
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    from gear.config import validate_config

    plain = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert "gpu" not in plain["set-resources"]["embed"], "the GPU example must stay commented out by default"
    profile = uncommented_gpu_profile()
    assert profile["set-resources"]["embed"]["gpu"] == 1
    assert profile["software-deployment-method"] == "conda"
    # Snakemake's own reading of --config, merged into config.yaml as Snakemake does.
    override = parse_config(profile["config"])
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    with_weights = {"base", "crepe", "resemblyzer", "pesto", "openl3", "byols", "wav2vec2", "gura"}
    cuda = {"env": "envs/torch-cuda.yaml"}
    assert {model for model, spec in override["models"].items() if spec == cuda} == with_weights
    assert with_weights <= set(config["models"])
    update_config(config, override)
    validate_config(config, root=ROOT)
    envs = {model: spec["env"] for model, spec in config["models"].items()}
    assert {model for model, env in envs.items() if env == "envs/torch-cuda.yaml"} == with_weights
    # The weight-free PyTorch-family models stay in the CPU environment.
    assert {envs[model] for model in ("mfcc", "cqt", "scattering")} == {"envs/torch.yaml"}


# What each step imports, statically (nothing is imported here).

STDLIB = set(sys.stdlib_module_names)
#: Calls whose first argument names a package: GEAR's ``_tf_utils.package_file``
#: (data files of a wheel) and ``importlib.import_module``.
DATA_OR_IMPORT_CALLS = ("package_file", "import_module")


def _distribution_names():
    """``{top-level import name: [distribution names]}`` of this environment,
    with the import names of the pinned packages that are not installed here."""
    names = {module: list(dists) for module, dists in importlib.metadata.packages_distributions().items()}
    for package in pinned():
        names.setdefault(package.replace("-", "_"), [package])
    return names


DISTRIBUTIONS = _distribution_names()


def _module_path(module):
    """File of a ``gear`` module, or None."""
    parts = module.split(".")
    if parts[0] != "gear":
        return None
    base = ROOT.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(path, module_level_only):
    """Absolute module names imported by a file, and first arguments of
    ``package_file("pkg", ...)`` / ``import_module("pkg")`` calls."""
    tree = ast.parse(path.read_text())
    if module_level_only:
        # Statements at module level; optional imports (try/except ImportError) are left out.
        nodes = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    else:
        nodes = list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in DATA_OR_IMPORT_CALLS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def needed_packages(path, module_level_only):
    """Normalized distribution names that a file needs, following ``gear`` modules."""
    needed, seen, todo = set(), set(), [(path, module_level_only)]
    while todo:
        current, top_level = todo.pop()
        if (current, top_level) in seen:
            continue
        seen.add((current, top_level))
        for module in _imports(current, top_level):
            top = module.split(".")[0]
            if top == "gear":
                parts = module.split(".")
                for index in range(1, len(parts) + 1):
                    found = _module_path(".".join(parts[:index]))
                    if found:
                        # A parent package's __init__ runs its module level only
                        # (gear/__init__.py imports gear.api on first use).
                        todo.append((found, module_level_only or index < len(parts)))
            elif top not in STDLIB:
                needed.update(normalize(name) for name in DISTRIBUTIONS.get(top, [top]))
    return needed


def rule_envs():
    """``(rule, script, env file)`` for every rule with ``conda:`` and ``script:``;
    ``model_env`` stands for every env that a configured model names."""
    rows = []
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^(?=(?:rule|checkpoint) )", smk.read_text(), flags=re.MULTILINE):
            header = re.match(r"(?:rule|checkpoint) (\w+):", block)
            conda = re.search(r"^\s+conda:\s*\n?\s*(\S+)", block, flags=re.MULTILINE)
            script = re.search(r"^\s+script:\s*\n?\s*\"([^\"]+)\"", block, flags=re.MULTILINE)
            if not (header and conda and script):
                continue
            script_path = (smk.parent / script.group(1)).resolve()
            value = conda.group(1).strip("\"'")
            if value == "model_env":
                envs = sorted({env for *_, env in model_envs() if env})
                rows.extend((header.group(1), script_path, ROOT / env) for env in envs)
            else:
                rows.append((header.group(1), script_path, (smk.parent / value).resolve()))
    return rows


def test_rules_are_found():
    rules = {rule for rule, *_ in rule_envs()}
    assert {"synthesize", "embed", "check_model", "isomap"} <= rules


@pytest.mark.parametrize(
    "rule, script, env",
    rule_envs(),
    ids=lambda value: value.name if isinstance(value, Path) else str(value),
)
def test_rule_environment_has_what_its_script_imports(rule, script, env):
    assert env.is_file(), f"rule {rule}: conda env {env} does not exist"
    needed = needed_packages(script, module_level_only=True) & set(pinned())
    missing = sorted(needed - set(env_packages(env)))
    assert not missing, f"rule {rule} ({script.name}) imports {missing}, which {env.name} does not install"


@pytest.mark.parametrize("row", model_envs(), ids=lambda row: f"{row[0]}:{row[1]}")
def test_model_environment_has_what_its_wrapper_uses(row):
    config, model_id, module, env = row
    path = _module_path(module)
    if path is None or not (ROOT / env).is_file():
        pytest.skip(f"{module} is not a gear wrapper (or its env is missing: see the test above)")
    needed = needed_packages(path, module_level_only=False) & set(pinned())
    # The test-only packages are never needed by a run.
    needed -= {"hearbaseline", "hearvalidator", "pytest"}
    missing = sorted(needed - set(env_packages(ROOT / env)))
    assert not missing, (
        f"{config}: model {model_id!r} ({module}) uses {missing}, which {env} does not install"
    )


def test_import_analysis_sees_lazy_imports():
    """The model check would catch a TensorFlow wrapper put in the torch env."""
    tf_needs = needed_packages(ROOT / "gear" / "models" / "musicnn.py", module_level_only=False)
    assert {"musicnn", "librosa", "torch", "tf-keras"} <= tf_needs
    assert "tensorflow-cpu" in tf_needs or "tensorflow" in tf_needs
    # Through gear.pipeline, whose stages import their own heavy modules: the
    # synthesis script needs torch only through the model stages' imports.
    synthesize = ROOT / "scripts" / "synthesize.py"
    assert {"numpy", "pandas", "soundfile"} <= needed_packages(synthesize, module_level_only=True)
    assert "torch" not in needed_packages(synthesize, module_level_only=True)
    assert "torch" in needed_packages(synthesize, module_level_only=False)
