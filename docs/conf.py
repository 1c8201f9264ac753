"""Sphinx configuration of GEAR's documentation (``make docs``; built with ``-W`` in the tests)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

project = "GEAR"
author = "GEAR contributors"
copyright = "2026, GEAR contributors"

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "generated/*.md"]
templates_path = ["_templates"]

# Markdown pages: GitHub-style anchors for ## to #### headings, so that the
# README's links (page.md#section) work here too; tables, $math$, ::: fences.
myst_heading_anchors = 4
myst_enable_extensions = ["dollarmath", "colon_fence"]

# The API reference: one page per module, from the numpydoc docstrings.
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_mock_imports = ["tensorflow", "tf_keras", "ai_edge_litert", "onnxruntime"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

html_theme = "pydata_sphinx_theme"
html_title = "GEAR"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
