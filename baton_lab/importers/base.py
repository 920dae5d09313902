"""What importers produce: records read from sources, and baton documents unwrapped from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Literal


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

    @property
    def where(self) -> str:
        return self.source.uri if self.location is None else f"{self.source.uri}#{self.location}"


@dataclass(slots=True)
class BatonDoc:
    """A baton unwrapped from its container, with what the container says about it."""

    baton: dict[str, Any]
    schema_version: Literal["1", "2.0"] | str
    namespace: str | None = None
    session_id: str | None = None
    parent_session: str | None = None
    written_at_raw: str | None = None
    revision: int | None = None
    writer: str | None = None
    sync_status: str | None = None
    # A server-side time (API envelope, SQLite row) is an observation, not a claim.
    observed_at_raw: str | None = None
    observed_kind: str | None = None


@dataclass(slots=True)
class ProposalDoc:
    """A v2 `_patch_proposal`: recorded with its ops, never applied as state."""

    proposal: dict[str, Any]
    namespace: str | None = None


@dataclass(slots=True)
class EmptyRead:
    """An API read that returned no baton (the namespace has none yet): valid, but nothing to store."""

    namespace: str | None = None


Unwrapped = BatonDoc | ProposalDoc | EmptyRead


class NotThisFormat(ValueError):
    """Raised by `unwrap` when a forced format does not fit the document."""


@dataclass(frozen=True)
class DocumentFormat:
    """An importer for one JSON document shape. `detect` is cheap; `unwrap` extracts the baton."""

    name: str
    version: str
    detection: str
    description: str
    detect: Callable[[Any, Record], bool]
    unwrap: Callable[[Any, Record], Unwrapped]
