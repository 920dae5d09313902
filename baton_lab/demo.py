"""The bundled demo history (`data/demo/`, made by `baton_lab.simulate`): imported into a fresh store.

v1 batons carry no namespace, so each `v1/<namespace>/` folder is imported with its folder name;
v2 batons name theirs in `_meta`, and the transcripts' baton calls carry it in their request bodies.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import BatonLabError
from .lab import Lab

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"


def demo_dir() -> Path:
    if not DEMO_DIR.is_dir():
        raise BatonLabError(f"the demo data is not at {DEMO_DIR}",
                            hint="run from a clone of the baton_lab repository (the demo data ships in data/demo/)")
    return DEMO_DIR


def run(db: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Import every demo format the store reads into `db` (default: a new temporary store)."""
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
