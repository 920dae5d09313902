"""Plain-file formats: one JSON file per snapshot (v1, v2), NDJSON per namespace, the local cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..model import SessionSnapshot
from ..render import V1Renderer
from ..text import namespace_safe


def pretty(doc: dict[str, Any]) -> str:
    """How Session Baton writes files: indent=2, UTF-8 kept as is."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def compact(doc: dict[str, Any]) -> str:
    """How the server stores `data` and the API answers."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class SnapshotDirWriter:
    """`<dir>/<namespace-safe>/<seq:05d>-<session_id>.json` (v1) or `<seq:05d>-r<revision:05d>.json` (v2)."""

    def __init__(self, root: Path, namespace: str, version: str) -> None:
        self.dir = root / namespace_safe(namespace)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.version = version
        self.renderer = V1Renderer(pretty=True)
        self.count = 0

    def add(self, snap: SessionSnapshot) -> None:
        if self.version == "v1":
            name, body = f"{snap.seq:05d}-{snap.session_id}.json", self.renderer.text(snap.v1)
        else:
            assert snap.v2 is not None
            name, body = f"{snap.seq:05d}-r{snap.revision:05d}.json", pretty(snap.v2)
        with open(self.dir / name, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(body)
        self.count += 1

    def close(self) -> int:
        return self.count


class NdjsonWriter:
    """`<dir>/<namespace-safe>.ndjson`: one compact v1 baton per line, in session order."""

    def __init__(self, root: Path, namespace: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.fh = open(root / f"{namespace_safe(namespace)}.ndjson", "w", encoding="utf-8", newline="\n")
        self.renderer = V1Renderer(pretty=False)

    def add(self, snap: SessionSnapshot) -> None:
        self.fh.write(self.renderer.text(snap.v1) + "\n")

    def close(self) -> int:
        self.fh.close()
        return 1


def write_cache(root: Path, finals: list[SessionSnapshot]) -> int:
    """`~/.claude/loop/batons/{namespace-safe}.json` = baton + `_sync_status`, as the client leaves it."""
    root.mkdir(parents=True, exist_ok=True)
    for snap in finals:
        doc = {**snap.v1, "_sync_status": "synced"}
        (root / f"{namespace_safe(snap.namespace)}.json").write_text(pretty(doc), encoding="utf-8")
    return len(finals)
