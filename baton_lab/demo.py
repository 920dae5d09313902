"""The bundled demo history (package data in `baton_lab/data/demo/`, made by `baton_lab.simulate`): imported into a
fresh store.

v1 batons carry no namespace, so each `v1/<namespace>/` folder is imported with its folder name;
v2 batons name theirs in `_meta`, and the transcripts' baton calls carry it in their request bodies.

A demo store nobody asked to keep is temporary: `temporary_store()` removes it on exit, `lab()` when the
Lab is garbage-collected or the process ends, and reports on it do not point at it (`Lab.temporary`).
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import BatonLabError
from .lab import Lab


def demo_dir() -> Path:
    """The demo data, wherever baton_lab is installed (a clone, an editable install or a wheel)."""
    root = resources.files("baton_lab") / "data" / "demo"
    if not isinstance(root, Path) or not root.is_dir():
        raise BatonLabError(f"the demo data is not at {root}",
                            hint="reinstall baton-lab: the demo data ships inside the package (baton_lab/data/demo)")
    return root


def run(db: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Import every demo format the store reads into `db` (default: a new temporary store, which the caller
    owns: prefer `temporary_store()` or `lab()`, which clean up)."""
    root = demo_dir()
    if db is None:
        db = Path(tempfile.mkdtemp(prefix="baton-lab-demo-")) / "demo.duckdb"
    lab = Lab(db)
    imports: list[str] = []
    for folder in sorted((root / "v1").iterdir()) if (root / "v1").is_dir() else []:
        if folder.is_dir():
            summary = lab.import_(folder, namespace=folder.name)
            imports.append(f"{folder.relative_to(root)} → namespace {folder.name}: {summary.lines()[1].strip()}")
    # v2 batons and the Claude Code transcripts name their namespace themselves.
    for folder in ("v2", "transcripts"):
        if (root / folder).is_dir():
            summary = lab.import_(root / folder)
            imports.append(f"{folder} → {', '.join(sorted(summary.namespaces))}: {summary.lines()[1].strip()}")
    return {"db": str(lab.path), "imports": imports, "info": lab.info()}


@contextmanager
def temporary_store() -> Iterator[tuple[Lab, dict[str, Any]]]:
    """The demo imported into a temporary store, removed (with its folder) on exit: `(lab, run()'s result)`."""
    with tempfile.TemporaryDirectory(prefix="baton-lab-demo-") as folder:
        result = run(Path(folder) / "demo.duckdb")
        lab = Lab(result["db"], read_only=True)
        lab.temporary = True
        yield lab, result


def lab() -> Lab:
    """The demo in a fresh temporary store for a notebook; the store and its folder are removed when the Lab
    is garbage-collected or the process (the kernel) ends."""
    folder = tempfile.mkdtemp(prefix="baton-lab-demo-")
    try:
        demo = Lab(run(Path(folder) / "demo.duckdb")["db"])
    except BaseException:
        _remove(folder)
        raise
    demo.temporary = True
    weakref.finalize(demo, _remove, folder)
    return demo


def _remove(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
