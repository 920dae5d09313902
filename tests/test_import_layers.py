"""The import path has no import cycles: every module imports on its own in a fresh interpreter, and the lower
layers (importers, normalize, and vega, the renderer figure workers import) never import the store, capture,
the CLI, the metrics, the report or the charts."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "baton_lab"
LAYERED = ["importers", "normalize", "vega"]
UPPER = ("baton_lab.store.ingest", "baton_lab.capture", "baton_lab.cli", "baton_lab.lab", "baton_lab.metrics",
         "baton_lab.report", "baton_lab.charts")


def _modules(sub: str) -> list[str]:
    return sorted(".".join(("baton_lab", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
                  for p in (PACKAGE / sub).rglob("*.py"))


def _imports(module: str) -> set[str]:
    """Absolute names of the baton_lab modules `module` imports (relative imports resolved)."""
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("baton_lab")}


@pytest.mark.parametrize("sub", LAYERED)
def test_lower_layers_never_import_upper_ones(sub: str) -> None:
    offending = {m: sorted(i for i in _imports(m) if i.startswith(UPPER)) for m in _modules(sub)}
    assert {m: i for m, i in offending.items() if i} == {}


def test_each_import_module_imports_alone() -> None:
    modules = [*_modules("importers"), *_modules("normalize"), "baton_lab.store.ingest", "baton_lab.store.events",
               "baton_lab.capture"]
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    for k in [k for k in sys.modules if k.startswith('baton_lab')]:\n" \
             "        del sys.modules[k]\n    importlib.import_module(m)\n"
    done = subprocess.run([sys.executable, "-c", script, *modules], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
