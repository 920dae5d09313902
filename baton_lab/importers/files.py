"""Small helpers for reading files as sources: hashing, natural order, modification time, the head of the bytes."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

# Whole-file formats recognise themselves from this many bytes at the start of a file.
HEAD_BYTES = 64 * 1024


def natural_key(path: Path | str) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", str(path))]


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def head(path: Path, size: int = HEAD_BYTES) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)
