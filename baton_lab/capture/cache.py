"""Reading the local cache `~/.claude/loop/batons/{namespace}.json` (session-baton's offline copy)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from .source import CaptureFailed, Fetched

DEFAULT_DIR = Path.home() / ".claude" / "loop" / "batons"


def cache_file_name(namespace: str) -> str:
    return namespace.replace("/", "_").replace(":", "_") + ".json"


def fetch(directory: str | Path, namespace: str | None = None) -> list[Fetched]:
    root = Path(directory).expanduser()
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = [root / cache_file_name(namespace)] if namespace else sorted(root.glob("*.json"))
    else:
        raise CaptureFailed(f"no such cache directory: {root}")
    fetched = []
    for path in files:
        if not path.is_file():
            raise CaptureFailed(f"no cache file for namespace {namespace!r}: {path} does not exist")
        try:
            data = path.read_bytes()
            mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat()
        except OSError as exc:
            raise CaptureFailed(f"cannot read {path}: {exc}") from None
        fetched.append(Fetched(namespace=namespace, data=data, uri=str(path), provenance={"file_mtime": mtime}))
    return fetched
