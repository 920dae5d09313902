"""Session-handoff markdown (formats.md §4): `SESSION_HANDOFF.md`, `HANDOFF.md`, `NEXT_SESSION.md`,
`SESSION_RESUME.md`, and directories of dated handoffs (`.claude/handoffs/*.md`, `docs/handoffs/*.md`,
`docs/wrap-ups/*.md`) where each file is one session.

One version of the file is one snapshot. Items are the list items and table rows under headings (or bold
`**Label:**` paragraphs) that the heading-to-tier mapping places (`baton_lab/data/heading_tiers.toml`, or
`--mapping FILE`): Next Steps / Pending / TODO → follow-ups, Blockers → follow-ups with status `blocked`,
Done / What shipped or a ticked `- [x]` → follow-ups with status `done`, Decisions → decisions, In-flight /
needs verification → open loops, Gotchas / Lessons / Failed Approaches → patterns. Anything else is context;
the headings nothing maps are listed in `extra.unmapped_headings` and in the import summary.

Items have no ids: the identity pass (`store.prose_identity`) recognises an item across versions by its
text. A follow-up carried over is one more deferral; one that vanishes while open may be done or dropped —
`disappeared` with disposition `ambiguous`; after `done` its removal is an archive.
"""

from __future__ import annotations

import re
from typing import Any

from .base import Record
from .contract import Format, Observation, Rules
from .prose import markdown_observation, markdown_sniff

NAME = "handoff-markdown"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
STATUSES = ("open", "in_progress", "blocked", "done")

_NAMES = re.compile(
    r"(^|/)(session_handoff|handoff|next_session|session_resume|continuity[^/]*|current)\.md$"
    r"|(^|/)(handoffs|wrap-ups|wrapups|session-handoffs)/[^/]+\.md$"
    r"|(^|/)[^/]*handoff[^/]*\.md$", re.IGNORECASE)


RULES = Rules(
    tiers={"follow_ups": "Next Steps / Pending / TODO / Blockers (blocked) / Done (done) items and ticked boxes",
           "decisions": "Key Decisions / Decisions items",
           "open_loops": "In-flight / needs verification / Shipped & live items",
           "patterns": "Gotchas / Lessons / Failed Approaches items"},
    absence={"follow_up": "by_status_ambiguous", "decision": "ambiguous", "open_loop": "by_status_ambiguous",
             "pattern": "ambiguous"},
    capabilities=frozenset({"item_status", "defer_counts", "priorities"}),
    statuses={"follow_up": STATUSES, "decision": ("active",), "open_loop": ("open",), "pattern": ("observing",)},
    terminal={"follow_up": ("done",)},
)


_DATED = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[-_T](\d{2})(\d{2})(\d{2})?)?")


def date_in_name(uri: str) -> str | None:
    """The date (and time) a dated handoff's file name carries: `2026-05-01-143000-topic.md` -> 2026-05-01T14:30:00."""
    found = _DATED.search(uri.replace("\\", "/").rsplit("/", 1)[-1])
    if found is None:
        return None
    day, hh, mm, ss = found.groups()
    return f"{day}T{hh}:{mm}:{ss or '00'}" if hh else day


def read(doc: Any, record: Record) -> Observation:
    observation = markdown_observation(record.text, SCHEMA_VERSION, NAME,
                                       claimed_keys=("last_updated", "updated", "snapshot", "date"))
    if observation.written_at_raw is None:
        # one file per session in a dated directory: the name is the session's claimed time (and its order)
        observation.written_at_raw = date_in_name(record.source.uri)
    return observation


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="Session-handoff markdown (SESSION_HANDOFF.md, HANDOFF.md, NEXT_SESSION.md, dated handoff directories): "
                "one session's state per file version, items by heading.",
    detection="a markdown file named SESSION_HANDOFF.md, HANDOFF.md, NEXT_SESSION.md, SESSION_RESUME.md, *handoff*.md "
              "or in a handoffs/ or wrap-ups/ directory",
    unit="file",
    sniff_named=markdown_sniff(_NAMES),
    file_hints=("SESSION_HANDOFF.md", "HANDOFF.md", "NEXT_SESSION.md"),
    read=read,
    rules=RULES,
)
