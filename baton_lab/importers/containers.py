"""Containers: how records come out of paths. A file holds one JSON document, NDJSON (one per line), a session
transcript, or one document of a whole-file format (a Beads export: the format recognises the head of the
bytes); a directory holds any of these, recursively. A file is hashed, then parsed, and an NDJSON file is
never held in memory whole."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Iterator

from .._jsonutil import decode_text, describe_decode_error
from ..errors import InputNotFound
from . import memhall_entries, memhall_sqlite, transcripts
from .base import Record, SourceInfo, SourceReader
from .contract import Format
from .files import hash_file, head, mtime, natural_key, prefix_lines
from .registry import sniff_whole_file

JSON_SUFFIXES = (".json",)
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
# Markdown files in a directory are read when a prose format claims them (a dated handoffs directory).
MARKDOWN_SUFFIXES = (".md", ".markdown")
# A single baton is kilobytes; anything past this is not one and is quarantined unread.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

# Containers that can be forced with --format (they are detected otherwise).
SOURCE_KINDS = tuple(transcripts.KINDS)


def _parse(text: str) -> tuple[object, str | None]:
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, describe_decode_error(exc, text)
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    except ValueError as exc:  # an integer literal longer than Python converts (4,300 digits)
        return None, f"invalid JSON: {str(exc).split(';')[0]}"


def _looks_like_ndjson(text: str) -> bool:
    """Several complete JSON values one per line (a pretty-printed document's first line never parses alone)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    first, _ = _parse(lines[0])
    return first is not None


def _json_file_records(path: Path, info: SourceInfo) -> Iterator[Record]:
    observed = mtime(path)
    if info.size_bytes is not None and info.size_bytes > MAX_DOCUMENT_BYTES:
        yield Record(info, None, "", error=f"file too large for one document ({info.size_bytes} bytes > {MAX_DOCUMENT_BYTES}); not read",
                     observed_at=observed, observed_kind="file_mtime")
        return
    text = decode_text(path.read_bytes())
    doc, error = _parse(text)
    if error and error.startswith("invalid JSON: extra data") and _looks_like_ndjson(text):
        yield from _ndjson_lines(text.splitlines(), info, observed)
        return
    if not text.strip():
        error = "empty file"
    yield Record(info, None, text, doc=doc, error=error, observed_at=observed, observed_kind="file_mtime")


def _whole_file_records(path: Path, info: SourceInfo, fmt: Format) -> Iterator[Record]:
    observed = mtime(path)
    if info.size_bytes is not None and info.size_bytes > MAX_DOCUMENT_BYTES:
        yield Record(info, None, "", error=f"file too large for one document ({info.size_bytes} bytes > {MAX_DOCUMENT_BYTES}); not read",
                     observed_at=observed, observed_kind="file_mtime")
        return
    yield Record(info, None, decode_text(path.read_bytes()), observed_at=observed, observed_kind="file_mtime",
                 format=fmt.name)


def _ndjson_lines(lines: Iterator[str] | list[str], info: SourceInfo, observed: datetime, start: int = 1
                  ) -> Iterator[Record]:
    for number, line in enumerate(lines, start=start):
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line.strip():
            continue
        if len(line) > MAX_DOCUMENT_BYTES:
            yield Record(info, f"line {number}", line[:2000], error=f"line too long ({len(line)} characters); not read",
                         observed_at=observed, observed_kind="file_mtime")
            continue
        doc, error = _parse(line)
        # Every line of one file shares its mtime; the line number keeps their order.
        yield Record(info, f"line {number}", line, doc=doc, error=error, observed_at=None, observed_kind=None)


def _ndjson_file_records(path: Path, info: SourceInfo, offset: int = 0, start: int = 1) -> Iterator[Record]:
    observed = mtime(path)
    with path.open("rb") as raw:
        raw.seek(offset)
        with io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=None) as handle:
            yield from _ndjson_lines((line.rstrip("\n") for line in handle), info, observed, start)


def _ndjson_tail(path: Path, info: SourceInfo, size: int, sha256: str) -> tuple[int, Iterator[Record]] | None:
    """The lines after an earlier version of this file (its first `size` bytes, hashing to `sha256`): an appended
    line costs one line, numbered as a full read numbers it."""
    lines = prefix_lines(path, size, sha256)
    return None if lines is None else (lines, _ndjson_file_records(path, info, size, lines + 1))


def _file_reader(path: Path, kind: str | None = None, whole: Format | None = None) -> SourceReader:
    sha, size = hash_file(path)
    is_ndjson = path.suffix.lower() in NDJSON_SUFFIXES
    # A .jsonl may be a session transcript rather than NDJSON batons: its first records tell.
    kind = kind or (transcripts.sniff(path) if is_ndjson and whole is None else None)
    if kind is not None:
        return transcripts.reader(path, kind, sha, size)
    first = head(path)
    if whole is None and memhall_sqlite.is_sqlite(first) and memhall_sqlite.has_entries(path):
        return memhall_sqlite.reader(path, sha, size, memhall_entries.NAME)
    # A whole-file format (a Beads export, a lessons index) decides that the file is one document.
    fmt = whole or sniff_whole_file(first, path.as_posix())
    if fmt is not None:
        info = SourceInfo(uri=str(path), sha256=sha, size_bytes=size, container=fmt.name, container_version=fmt.version)
        return SourceReader(info, lambda: _whole_file_records(path, info, fmt))
    info = SourceInfo(uri=str(path), sha256=sha, size_bytes=size, container="ndjson" if is_ndjson else "json-file")
    if is_ndjson:
        return SourceReader(info, lambda: _ndjson_file_records(path, info),
                            tail=lambda size, sha256: _ndjson_tail(path, info, size, sha256))
    return SourceReader(info, lambda: _json_file_records(path, info))


def iter_sources(paths: list[str | os.PathLike[str]], skipped: list[str] | None = None, *,
                 kind: str | None = None, whole: Format | None = None) -> Iterator[SourceReader]:
    """Yield one reader per file under `paths`, in the order given (directories in natural path order).

    Files in a directory that are not JSON/NDJSON are listed in `skipped` rather than read. `kind` forces a
    source kind (`claude-code-transcript`, `codex-rollout`) and `whole` a whole-file format for every file;
    otherwise each file is sniffed.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputNotFound(f"no such file or directory: {path}")
        if path.is_file():
            yield _file_reader(path, kind, whole)
            continue
        found: list[Path] = []
        for root, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                candidate = Path(root) / name
                if candidate.suffix.lower() in JSON_SUFFIXES + NDJSON_SUFFIXES:
                    found.append(candidate)
                elif candidate.suffix.lower() in MARKDOWN_SUFFIXES and (whole is not None or sniff_whole_file(
                        head(candidate), candidate.as_posix()) is not None):
                    found.append(candidate)
                elif skipped is not None:
                    skipped.append(str(candidate))
        for candidate in sorted(found, key=natural_key):
            yield _file_reader(candidate, kind, whole)
