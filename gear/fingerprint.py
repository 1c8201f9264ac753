"""Fingerprints of the code that makes a result, so that a result never outlives its code.

A synthesizer or a HEAR model is a module. Its fingerprint holds:

- for every *local* module it uses (a file outside site-packages and the
  standard library: the module itself, and the modules it imports,
  followed through their own imports), the SHA-256 of the file;
- for a module that comes from an installed distribution, the
  distribution's name and version (its files are not read);
- GEAR's version.

Finding the files reads their import statements; nothing is imported
(a dotted name whose parent package is not imported yet is looked up in the
parent's directory), so the check that runs on every ``snakemake`` command
stays cheap. Imports made through strings (``importlib.import_module``),
data files read at run time and installed packages changed in place keep
their fingerprint.

:func:`current_modules` is for a long-lived process (a notebook): it
(re)imports the local modules of a fingerprint whose files changed since
this process imported them, so that the code that runs is the code that
was hashed.
"""

import hashlib
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import re
import site
import sys
import sysconfig
from functools import lru_cache

from gear.errors import GearError

__all__ = ["code_fingerprint", "code_fingerprints", "fingerprint_digest", "current_modules"]

#: The prefix of GEAR's own modules: covered by their source, never reloaded.
_GEAR = "gear"


@lru_cache(maxsize=1)
def _installed_roots():
    # The standard library and every site-packages directory.
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    roots.add(site.getusersitepackages())
    return tuple(sorted({os.path.join(os.path.realpath(root), "") for root in roots if root}))


def _is_installed(path):
    real = os.path.realpath(path)
    return real.startswith(_installed_roots())


def _find_spec(name):
    """The module's spec without importing it (None if it cannot be found)."""
    parent = name.rpartition(".")[0]
    try:
        if not parent or parent in sys.modules or name in sys.modules:
            return importlib.util.find_spec(name)
        parent_spec = _find_spec(parent)
        if parent_spec is None or parent_spec.submodule_search_locations is None:
            return None
        return importlib.machinery.PathFinder.find_spec(name, list(parent_spec.submodule_search_locations))
    except (ImportError, ValueError, AttributeError):
        return None


@lru_cache(maxsize=1)
def _distributions():
    return importlib.metadata.packages_distributions()


def _distribution(name):
    """(distribution, version) that installed the top-level package of ``name``, or None."""
    top = name.partition(".")[0]
    for distribution in _distributions().get(top, ()):
        try:
            return distribution, importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _read(path):
    # Always read: an edit within one clock tick keeps the file's time and size.
    with open(path, "rb") as file:
        data = file.read()
    return hashlib.sha256(data).hexdigest(), data


# An import statement at the start of a line.
# A line of a string that reads like one counts too: one more file hashed.
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(?P<base>\.*[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#]*)"
    r"|import[ \t]+(?P<modules>[^\n#]*))",
    re.MULTILINE,
)


def _names(text):
    # "a.b as c, d" -> ["a.b", "d"]; parentheses, comments and line continuations dropped.
    text = re.sub(r"#[^\n]*", "", text).strip().strip("()").replace("\\", " ")
    words = (part.split() for part in text.split(","))
    return [word[0] for word in words if word and word[0].replace(".", "").isidentifier()]


@lru_cache(maxsize=4096)
def _imports(digest, source, name, is_package):
    """Module names a source file imports, each with the names it takes from it.

    A regular expression rather than :mod:`ast`: parsing every file would
    triple the cost of the check that runs on every ``snakemake`` command.
    """
    package = name if is_package else name.rpartition(".")[0]
    found = []
    # One statement per line: continuation lines joined, ";" made a line break.
    for match in _IMPORT.finditer(source.replace("\\\n", " ").replace(";", "\n")):
        if match["modules"] is not None:
            found.extend((module, ()) for module in _names(match["modules"]))
            continue
        base = match["base"]
        level = len(base) - len(base.lstrip("."))
        base = base[level:]
        if level:
            parts = package.split(".") if package else []
            if level - 1 > len(parts):
                continue
            parts = parts[: len(parts) - (level - 1)]
            base = ".".join([*parts, *([base] if base else [])])
        if base:
            found.append((base, tuple(n for n in _names(match["names"]) if n != "*")))
    return tuple(found)


def _module_info(name, memo):
    """What a module is: missing, part of Python, installed, or local (file, SHA-256, modules it uses)."""
    if name in memo:
        return memo[name]
    spec = _find_spec(name)
    origin = spec.origin if spec is not None and spec.has_location else None
    if spec is None:
        info = ("missing",)
    elif not origin or not os.path.isfile(origin):
        info = ("python",)  # built-in, frozen or namespace package
    elif _is_installed(origin):
        info = ("installed",)
    else:
        digest, data = _read(origin)
        children = []
        if origin.endswith(".py"):
            is_package = spec.submodule_search_locations is not None
            for module, names in _imports(digest, data.decode("utf-8", errors="replace"), name, is_package):
                target = _find_spec(module)
                is_local_package = (
                    target is not None
                    and target.submodule_search_locations is not None
                    and not (target.origin and _is_installed(target.origin))
                )
                # "from package import submodule" uses the submodule's file.
                submodules = []
                if is_local_package:
                    submodules = [f"{module}.{n}" for n in names if _find_spec(f"{module}.{n}") is not None]
                if not submodules or len(submodules) < len(names):
                    children.append(module)
                children.extend(submodules)
        info = ("local", origin, digest, tuple(children))
    memo[name] = info
    return info


def _walk(roots, memo):
    """Local modules used by ``roots``, dependencies first, as (name, file, SHA-256).

    Also returns the installed distributions of roots and the roots not found.
    """
    order, seen, distributions, unresolved = [], set(), {}, []

    def visit(name, is_root):
        if name in seen:
            return
        seen.add(name)
        info = _module_info(name, memo)
        if info[0] == "missing" and is_root:
            unresolved.append(name)
        elif info[0] == "installed" and is_root:
            # A root from an installed package: its distribution's version.
            # The third-party imports of local modules are left to provenance.json.
            found = _distribution(name)
            if found:
                distributions[found[0]] = found[1]
        elif info[0] == "local":
            _, origin, digest, children = info
            for child in children:
                visit(child, False)
            order.append((name, origin, digest))

    for root in roots:
        visit(root, True)
    return order, distributions, unresolved


def code_fingerprint(modules, _memo=None):
    """What a result made by these modules depends on, as a JSON-ready mapping.

    Parameters
    ----------
    modules : str or sequence of str
        Importable module names (a synthesizer's, a HEAR model's, and the
        GEAR modules that run them).

    Returns
    -------
    fingerprint : dict
        ``modules``: the names asked for; ``gear``: GEAR's version;
        ``sources``: local module name -> SHA-256 of its file (the modules
        asked for and every local module they import, recursively);
        ``distributions``: distribution -> version, for modules asked for
        that come from an installed package; ``unresolved``: names asked
        for that cannot be found in this Python environment (e.g. a model
        installed in its conda environment only).
    """
    import gear

    names = [modules] if isinstance(modules, str) else list(modules)
    order, distributions, unresolved = _walk(names, {} if _memo is None else _memo)
    return {
        "modules": names,
        "gear": gear.__version__,
        "sources": {name: digest for name, _, digest in sorted(order)},
        "distributions": dict(sorted(distributions.items())),
        "unresolved": unresolved,
    }


def code_fingerprints(groups):
    """:func:`code_fingerprint` of several groups of modules, each shared module read once.

    Parameters
    ----------
    groups : dict
        Key -> module names.

    Returns
    -------
    fingerprints : dict
        Key -> fingerprint.
    """
    memo = {}
    return {key: code_fingerprint(modules, _memo=memo) for key, modules in groups.items()}


def fingerprint_digest(fingerprint):
    """A short hex digest (16 characters) of a fingerprint or any JSON-ready value."""
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


#: Module name -> SHA-256 of its file when this process last imported it
#: through :func:`current_modules`.
_IMPORTED = {}


def current_modules(modules):
    """Make the imported local modules match their files, and fingerprint them.

    For a long-lived process: a module imported before its file was edited
    still runs the old code. Every local module of the fingerprint that is
    not GEAR's is (re)imported here, dependencies first, the first time
    this function sees it and whenever its file (or the file of a module it
    imports) changed since; GEAR's own modules cannot be reloaded safely.

    Parameters
    ----------
    modules : str or sequence of str

    Returns
    -------
    fingerprint : dict
        As :func:`code_fingerprint`, of the files just imported.

    Raises
    ------
    GearError
        If a file of GEAR's changed since this process imported it (one
        line naming it: restart Python).
    """
    names = [modules] if isinstance(modules, str) else list(modules)
    order, _, _ = _walk(names, {})
    digests = {name: digest for name, _, digest in order}
    stale = False
    for name, path, _ in order:  # dependencies first: dependants rebind what they import
        is_gear = name == _GEAR or name.startswith(_GEAR + ".")
        module = sys.modules.get(name)
        if is_gear:
            recorded = _IMPORTED.setdefault(name, digests[name])
            if module is not None and recorded != digests[name]:
                raise GearError(
                    f"{path} changed since this Python process imported {name}: restart Python "
                    "so that GEAR runs the code it fingerprints"
                )
            continue
        stale = stale or _IMPORTED.get(name) != digests[name]
        if stale:
            if module is not None:
                importlib.reload(module)
            _IMPORTED[name] = digests[name]
    return code_fingerprint(names)
