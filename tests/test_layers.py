"""The analysis is one-way: each layer of gear.analysis imports only the layers below it.

Checked twice: statically (every ``import`` statement in the file, at the
top or inside a function) and at run time (importing the module alone in a
fresh interpreter and listing which ``gear`` modules it loaded).
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ANALYSIS = ROOT / "gear" / "analysis"

#: Layer of each analysis module, bottom first. A module not listed here
#: (a new one) counts as the top analysis layer: it may import every listed one.
LAYERS = {"features": 0, "bootstrap": 1, "probes": 2, "sweeps": 2, "disentanglement": 2, "geometry": 2,
          "equivariance": 2, "alignment": 2}  # fmt: skip
TOP = max(LAYERS.values()) + 1

#: What every analysis module may import from gear besides lower analysis layers.
FOUNDATIONS = {"gear", "gear.errors", "gear.parameters", "gear.scales", "gear.analysis"}

MODULES = sorted(path.stem for path in ANALYSIS.glob("*.py") if path.stem != "__init__")


def allowed(module):
    layer = LAYERS.get(module, TOP)
    below = {f"gear.analysis.{name}" for name, level in LAYERS.items() if level < layer}
    return FOUNDATIONS | below


def gear_imports(path):
    """``(module, line, inside_function)`` of every import of a gear module in a file."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, inside):
        for child in ast.iter_child_nodes(node):
            nested = inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names if alias.name.startswith("gear")]
                found.extend((name, child.lineno, inside) for name in names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("gear"):
                # ``from gear import x`` imports the module gear.x when x is one.
                for alias in child.names:
                    candidate = f"{child.module}.{alias.name}"
                    exists = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists()
                    found.append((candidate if exists else child.module, child.lineno, inside))
            visit(child, nested)

    visit(tree, False)
    return found


def test_every_analysis_module_is_in_a_layer_or_new():
    assert set(LAYERS) <= set(MODULES), "a listed layer has no module: update LAYERS"


@pytest.mark.parametrize("module", MODULES)
def test_analysis_module_imports_only_lower_layers(module):
    permitted = allowed(module)
    imports = gear_imports(ANALYSIS / f"{module}.py")
    upward = [(name, line) for name, line, _ in imports if name not in permitted]
    assert not upward, f"gear.analysis.{module} imports a higher layer: {upward}"


@pytest.mark.parametrize("module", MODULES)
def test_analysis_module_alone_loads_no_higher_layer(module):
    code = (
        "import json, sys; import gear.analysis.%s; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('gear'))))" % module
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    higher = set(json.loads(loaded)) - allowed(module) - {f"gear.analysis.{module}"}
    assert not higher, f"importing gear.analysis.{module} alone loaded {sorted(higher)}"


def test_nothing_in_the_analysis_imports_metrics_back():
    for module in MODULES:
        names = [name for name, _, _ in gear_imports(ANALYSIS / f"{module}.py")]
        assert "gear.metrics" not in names, f"gear.analysis.{module} imports gear.metrics"


@pytest.mark.parametrize("path", sorted(ANALYSIS.glob("*.py")) + [ROOT / "gear" / "metrics.py"], ids=str)
def test_no_gear_import_hides_inside_a_function(path):
    # An import inside a function is how a loop between two modules gets dodged.
    hidden = [(name, line) for name, line, inside in gear_imports(path) if inside]
    assert not hidden, f"{path.name} imports gear modules inside functions: {hidden}"
