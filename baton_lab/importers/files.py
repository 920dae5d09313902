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


def prefix_lines(path: Path, size: int, sha256: str) -> int | None:
    """The number of lines in the first `size` bytes of `path` when those bytes hash to `sha256` and end a line
    (`\n`, no `\r` anywhere, so line numbers match a full read); else None."""
    digest = hashlib.sha256()
    lines = 0
    last = b""
    with path.open("rb") as handle:
        left = size
        while left > 0:
            chunk = handle.read(min(1 << 20, left))
            if not chunk or b"\r" in chunk:
                return None
            digest.update(chunk)
            lines += chunk.count(b"\n")
            left -= len(chunk)
            last = chunk
    if size == 0 or not last.endswith(b"\n") or digest.hexdigest() != sha256:
        return None
    return lines


def mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def head(path: Path, size: int = HEAD_BYTES) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)
