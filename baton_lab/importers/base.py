"""Where bytes come from: a source (file, git version, transcript, capture) and the records read from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A file (or other byte source) that records are read from."""

    uri: str
    sha256: str
    size_bytes: int | None
    container: str  # json-file, ndjson, git-history, claude-code-transcript, codex-rollout, capture-http, ...
    # Version of the container's reading rules (recorded in `sources.format_version` when the container names the source).
    container_version: str = "1"
    # What makes the source itself, when the bytes alone do not: a git version is `git:<commit>:<path>`, so each
    # commit is imported once even when its file equals another commit's.
    identity: str | None = None


@dataclass(slots=True)
class Record:
    """One candidate document read from a source, parsed or with the reason it could not be."""

    source: SourceInfo
    location: str | None  # None for a whole file, "line 3" for NDJSON
    text: str
    doc: Any = None
    error: str | None = None
    observed_at: datetime | None = None
    observed_kind: str | None = None
    # Where the state was seen, beyond the file: commit sha, transcript session/cwd/branch, hook session id.
    provenance: dict[str, Any] = field(default_factory=dict)
    # Set when a whole-file format recognised the bytes (the record's `text` is the file; `doc` stays None).
    format: str | None = None

    @property
    def where(self) -> str:
        return self.source.uri if self.location is None else f"{self.source.uri}#{self.location}"


@dataclass(slots=True)
class SourceReader:
    """A source whose identity (hash) is known before its records are parsed, so unchanged sources can be skipped."""

    info: SourceInfo
    records: Callable[[], Iterator[Record]]
    # For a source that only grows (an NDJSON history): given the size and SHA-256 of an earlier version already
    # imported, how many lines that version had and the records after it — or None when the source does not start
    # with those bytes.
    tail: Callable[[int, str], tuple[int, Iterator[Record]] | None] | None = None
