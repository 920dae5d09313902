"""The format contract: what every document format declares, and what its reader yields.

A format is one module exposing `FORMAT = Format(...)`. It declares how it is recognised (a `detect` on a parsed
JSON document, or a `sniff` on the head of a file's bytes for formats whose unit is the whole file, such as a
Beads export), a reader that turns one record into an `Observation` (one snapshot: its metadata, the items of
each canonical table with their locations, and the parts it could not read), and the rules the history
derivation needs: which tables it fills, its status words, which of them are terminal, what an item's absence
from the next version means, and what it can express (`capabilities`, which gate the metrics).

Where the bytes come from (files, NDJSON lines, git versions, transcripts, captures) is not the format's
business: containers produce `Record`s, the pipeline (`store.ingest`) joins records to formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from ..normalize.columns import Col
from ._shape import int_or_none, text_or_none
from .base import Record

# What an item's absence from the next version means, per tier:
#   by_status   - archived after a terminal status, else a silent drop (Session Baton's own rule)
#   archived    - the format removes only finished items
#   silent_drop - the format never removes finished items
#   ambiguous   - the format cannot express deletion or may be partial (Beads exports, lessons rewrites)
#   by_status_ambiguous - archived after a terminal status, else ambiguous (prose handoffs: an open item that
#                 vanishes may have been done or dropped)
#   partial     - each document holds part of the state (one ADR per file): absence from the next says nothing,
#                 so no disappearance or reappearance is derived
Absence = Literal["by_status", "archived", "silent_drop", "ambiguous", "by_status_ambiguous", "partial"]
ABSENCE_RULES: tuple[str, ...] = ("by_status", "archived", "silent_drop", "ambiguous", "by_status_ambiguous", "partial")

# What a format can express; metrics name the capabilities they need (`metrics.registry`, `requires=`).
CAPABILITIES: dict[str, str] = {
    "open_loops": "an impact tier: actions with expected outcomes",
    "follow_ups": "deferred work items",
    "patterns": "recurring failure modes or lessons",
    "decisions": "a decision tier",
    "item_status": "items carry a status word (follow-ups, loops, patterns, decisions)",
    "defer_counts": "follow-ups count their deferrals (defer_count / postponed_count)",
    "occurrence_counts": "patterns count their occurrences",
    "source_tiers": "items say whether a human confirmed them (source_tier)",
    "lineage": "each snapshot names the session it continues (parent_session)",
    "verify_specs": "open loops carry a structured verify spec",
    "revisions": "snapshots carry a compare-and-swap revision counter",
    "infra_state": "re-verified infrastructure entries",
    "priorities": "follow-ups carry a priority",
    "attribution": "items say who created or closed them",
}


@dataclass(frozen=True, slots=True)
class Rules:
    """What a format's items mean over time."""

    tiers: dict[str, str]                                   # canonical table -> what fills it
    absence: dict[str, Absence]                             # tier (events.tier) -> absence rule
    capabilities: frozenset[str]
    statuses: dict[str, tuple[str, ...]] = field(default_factory=dict)   # tier -> status words (open-ended if absent)
    terminal: dict[str, tuple[str, ...]] = field(default_factory=dict)   # tier -> statuses after which removal = archive

    @property
    def provides(self) -> frozenset[str]:
        """The declared capabilities plus the canonical item tables the format fills."""
        return self.capabilities | {table for table in self.tiers if table in CAPABILITIES}

    def absence_of(self, tier: str) -> str:
        return self.absence.get(tier, "by_status")


@dataclass(slots=True)
class Section:
    """The items one document holds for one canonical table, and how their columns are read."""

    table: str
    spec: str                 # name of the column spec (several formats may share a table)
    columns: list[Col]
    entries: Any              # a list of item objects; anything else is an item finding at `path`
    path: str                 # where the entries live: "$.open_loops", or "" when `locations` names each item
    locations: list[str] | None = None   # per-item location (e.g. "line 12") when not `path[index]`


@dataclass(slots=True)
class Unreadable:
    """A part of a document that could not be read (a torn line, a conflict marker, a section of the wrong
    type): an item finding. `location` is a JSON path (`$.open_loops`) or a place in the file (`line 12`)."""

    location: str
    reason: str
    fragment: str | None


@dataclass(slots=True)
class Observation:
    """One observed state: a snapshot's metadata and its items, as a format reads them from one record."""

    document: Any             # stored as `snapshots.raw` (lossless, secrets redacted)
    schema_version: str
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
    context: str | None = None
    extra: dict[str, Any] | None = None
    sections: list[Section] = field(default_factory=list)
    bridge: dict[str, Any] | None = None        # v2 session_bridge.last_session
    unreadable: list[Unreadable] = field(default_factory=list)
    # `document` as JSON text when the format has it already (a JSONL file's lines joined into an array): stored
    # as `raw` and hashed as the content, so a large state file is not serialised again.
    document_json: str | None = None
    # Where in the source this observation is, when one document holds several versions (an AMH memory.json's
    # reconstructed history: "version 3"); else the record's own location.
    location: str | None = None
    # The version's time comes from the source's own log (an audit event, a row's created_at): it places the
    # version better than when the file holding the log was read, so it wins over a commit or capture time.
    logged_time: bool = False

    def __setattr__(self, name: str, value: Any) -> None:
        # Formats take these from the document, where any JSON value can stand (a writer that is a list, a claimed
        # time that is an object): the snapshot's columns are text and an integer, so every value a format sets —
        # when it builds the observation or later — is made to fit here, once, instead of a whole snapshot batch
        # failing to build (issue 17's fuzz runs).
        if value is not None:
            if name in _TEXT_FIELDS and not isinstance(value, str):
                value = text_or_none(value)
            elif name == "revision" and (isinstance(value, bool) or not isinstance(value, int)):
                value = int_or_none(value)
        object.__setattr__(self, name, value)


_TEXT_FIELDS = ("schema_version", "namespace", "session_id", "parent_session", "written_at_raw", "writer",
                "sync_status", "observed_at_raw", "observed_kind", "context", "location")


@dataclass(slots=True)
class ProposalDoc:
    """A v2 `_patch_proposal`: recorded with its ops, never applied as state."""

    proposal: dict[str, Any]
    namespace: str | None = None


@dataclass(slots=True)
class EmptyRead:
    """An API read that returned no baton (the namespace has none yet): valid, but nothing to store."""

    namespace: str | None = None


Unwrapped = Observation | ProposalDoc | EmptyRead
# A document that holds its own history (an AMH memory.json with its audit log, a memory-hall entries page) reads
# as several observations, oldest first, one per version.
ReadResult = Unwrapped | list[Observation]


class NotThisFormat(ValueError):
    """Raised by a reader when a forced format does not fit the document."""


@dataclass(frozen=True)
class Format:
    """One document format. `unit` says what one document is: a parsed JSON value (`document`: a .json file or
    one NDJSON line, recognised by `detect`) or a whole file (`file`: recognised by `sniff` on its first bytes,
    read from the text, e.g. a Beads export is one tracker state per .jsonl file)."""

    name: str
    version: str
    description: str
    detection: str
    read: Callable[[Any, Record], ReadResult]
    rules: Rules
    unit: Literal["document", "file"] = "document"
    detect: Callable[[Any, Record], bool] | None = None
    sniff: Callable[[bytes], bool] | None = None
    # Formats that only a file's name tells apart (markdown handoffs): a sniff on the head and the file's path.
    sniff_named: Callable[[bytes, str], bool] | None = None
    file_hints: tuple[str, ...] = ()
    # Formats that wrap Session Baton documents take their rules from the wrapped schema version's major.
    rules_by_version: dict[str, Rules] = field(default_factory=dict)

    def rules_for(self, schema_version: str | None) -> Rules:
        major = (schema_version or "").split(".", 1)[0]
        return self.rules_by_version.get(major, self.rules)

    def matches_name(self, name: str) -> bool:
        return any(name == hint or name.endswith("/" + hint) for hint in self.file_hints)


__all__ = ["ABSENCE_RULES", "CAPABILITIES", "EmptyRead", "Format", "NotThisFormat", "Observation", "ProposalDoc",
           "ReadResult", "Rules", "Section", "Unreadable", "Unwrapped"]
