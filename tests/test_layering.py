"""Import arrows only point down: a lower layer of vdbench never imports a higher one.

Layers, top to bottom: ``cli`` and ``api`` (the Python API, which never imports the CLI);
``engine``, ``reporting``, ``demo``; ``protocols``; ``model`` and
``metrics`` (side by side, never importing each other); ``util``. Checked statically with ``ast``
on every module under vdbench/, so function-level (lazy) imports, ``TYPE_CHECKING`` imports and
``importlib.import_module("vdbench....")`` with a literal name count as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "vdbench"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# Layer -> the other vdbench layers it may import. Layers not listed here may import anything
# below them; "" is the package root (vdbench/__init__.py), which a lower layer must not import.
ALLOWED: dict[str, frozenset[str]] = {
    "util": frozenset(),
    "model": frozenset({"util"}),
    "metrics": frozenset({"util"}),
    "protocols": frozenset({"metrics", "util"}),
    "engine": frozenset({"engine", "reporting", "protocols", "model", "metrics", "util"}),
    "reporting": frozenset({"engine", "reporting", "protocols", "model", "metrics", "util"}),
    "api": frozenset({"engine", "reporting", "protocols", "model", "metrics", "util"}),
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """``vdbench.model.samplers`` -> ``model``; the package root itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _resolve_relative(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every vdbench import in ``source``, at any depth."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = (_resolve_relative(node, module, is_package) if node.level
                      else node.module or "")
            # `from vdbench import model` imports the subpackage vdbench.model.
            found += [(node.lineno, f"{target}.{alias.name}" if target == PACKAGE else target)
                      for alias in node.names]
        elif (isinstance(node, ast.Call) and _is_import_module(node.func) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return [(line, name) for line, name in found
            if name == PACKAGE or name.startswith(PACKAGE + ".")]


def _is_import_module(func: ast.expr) -> bool:
    return ((isinstance(func, ast.Attribute) and func.attr == "import_module")
            or (isinstance(func, ast.Name) and func.id == "import_module"))


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """'module:line imports target' for each import the layer of ``module`` may not make."""
    layer = layer_of(module)
    if layer not in ALLOWED:
        return []
    allowed = ALLOWED[layer] | {layer}
    return [f"{module}:{line} imports {target}"
            for line, target in imported_modules(source, module, is_package)
            if layer_of(target) not in allowed]


def all_violations(root: Path = ROOT) -> list[str]:
    out: list[str] = []
    for path in sorted(root.rglob("*.py")):
        out += violations(path.read_text(encoding="utf-8"), module_name(path, root),
                          path.name == "__init__.py")
    return out


def test_no_lower_layer_imports_a_higher_one():
    assert all_violations() == []


def test_every_layer_is_known():
    # A new top-level folder must be placed in the layering on purpose, not fall through.
    layers = {layer_of(module_name(p)) for p in ROOT.rglob("*.py")}
    known = set(ALLOWED) | {"", "cli", "demo", "__main__"}
    assert layers <= known, f"unplaced layers: {sorted(layers - known)}"


# The checker itself: it must catch each kind of forbidden import.
@pytest.mark.parametrize("module, source, expected", [
    ("vdbench.model.samplers", "import vdbench.metrics.frechet\n", "vdbench.metrics.frechet"),
    ("vdbench.metrics.fid", "from vdbench.model import unet3d\n", "vdbench.model"),
    ("vdbench.metrics.fid", "def f():\n    from vdbench.engine.runner import run\n",
     "vdbench.engine.runner"),
    ("vdbench.protocols.base", "from vdbench import cli\n", "vdbench.cli"),
    ("vdbench.protocols.base", "from ..reporting import tables\n", "vdbench.reporting"),
    ("vdbench.protocols.datasets.bair", "from ...model.schedule import alpha_sigma\n",
     "vdbench.model.schedule"),
    ("vdbench.util.atomic", "from vdbench.metrics.errors import InputError\n",
     "vdbench.metrics.errors"),
    ("vdbench.model.generate", "import importlib\nimportlib.import_module('vdbench.demo')\n",
     "vdbench.demo"),
    ("vdbench.model.generate", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    import vdbench.protocols.base\n", "vdbench.protocols.base"),
    ("vdbench.engine.runner", "def f():\n    import vdbench.cli.run\n", "vdbench.cli.run"),
    ("vdbench.model.generate", "import vdbench\n", "vdbench"),
])
def test_checker_catches_a_violation(module, source, expected):
    found = violations(source, module)
    assert len(found) == 1 and found[0].endswith(f"imports {expected}"), found


def test_checker_allows_downward_and_sibling_imports():
    assert violations("from vdbench.metrics.errors import InputError\n"
                      "from .base import Protocol\nimport vdbench.util.atomic\n",
                      "vdbench.protocols.registry") == []
    assert violations("from . import schedule\n", "vdbench.model", is_package=True) == []
    assert violations("import vdbench.engine.runner\n", "vdbench.cli.run") == []


def test_checker_scans_a_tree(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "metrics").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "metrics" / "__init__.py").write_text("")
    (pkg / "metrics" / "bad.py").write_text(
        "import torch\n\n\ndef g():\n    from vdbench.model.samplers import ancestral\n")
    assert all_violations(pkg) == ["vdbench.metrics.bad:5 imports vdbench.model.samplers"]
