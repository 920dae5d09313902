"""GSD (get-shit-done) planning state (formats.md §5): `.planning/STATE.md`, rewritten after every plan, and
`.planning/.continue-here.md`, a paused task's hand-over.

STATE.md: decision bullets under any heading that names decisions (`### Decisions`, `### Key Decisions`, `### Phase
08.7 Decisions`, `## Recent Decisions` — real files drift far from the template) are decisions, their `[NN-MM]`
plan tag kept (`extra.plan`); `### Pending Todos` are follow-ups, `### Blockers/Concerns` follow-ups marked
`blocked`; Current Position, Session Continuity and Performance Metrics are context; "None yet." is no item. The
YAML front matter that appears late in a file's history is kept in `extra.front_matter`, its `last_updated` as
the claimed time. `.continue-here.md`: the XML-ish blocks are sections (`<remaining_work>` follow-ups,
`<decisions_made>` decisions, `<blockers>`, `<completed_work>` done), and the `<next_action>` paragraph is a
follow-up. Items are recognised across versions by their text (`store.prose_identity`); a decision that
disappears (GSD moves them to PROJECT.md) is `ambiguous`, never superseded.
"""

from __future__ import annotations

import re
from typing import Any

from ..prose.markdown import parse
from ..prose.tiers import active_mapping
from .base import Record
from .contract import Format, Observation, Rules
from .prose import front_matter, markdown_items, markdown_sniff, observation

NAME = "gsd-state"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
_PLAN_TAG = re.compile(r"^\[([^\]]{1,40})\]:?\s*")
_NAMES = re.compile(r"(^|/)\.planning/(STATE\.md|\.continue-here[^/]*\.md)$|(^|/)\.continue-here[^/]*\.md$")


claims = markdown_sniff(_NAMES, lambda text, name: name.endswith("STATE.md") and "# Project State" in text
                        and "## Current Position" in text)


RULES = Rules(
    tiers={"decisions": "bullets under any heading naming decisions, [NN-MM] plan tag kept; <decisions_made>",
           "follow_ups": "Pending Todos, Blockers/Concerns (blocked), <remaining_work>, <next_action>"},
    absence={"decision": "ambiguous", "follow_up": "by_status_ambiguous", "open_loop": "by_status_ambiguous",
             "pattern": "ambiguous"},
    capabilities=frozenset({"item_status", "defer_counts"}),
    statuses={"follow_up": ("open", "blocked", "in_progress", "done"), "decision": ("active",)},
    terminal={"follow_up": ("done",)},
)


def _tag_plans(decisions: list[dict[str, Any]]) -> None:
    for decision in decisions:
        found = _PLAN_TAG.match(decision["text"])
        if found:
            decision["plan"] = found.group(1)
            decision["text"] = decision["text"][found.end():] or decision["text"]


def read(doc: Any, record: Record) -> Observation:
    text = record.text
    parsed = parse(text)
    meta, problem = front_matter(parsed)
    mapping = active_mapping()
    items, unmapped = markdown_items(parsed, mapping)
    _tag_plans(items.by_tier["decisions"])
    for paragraph in parsed.paragraphs:  # .continue-here.md: the next action is a paragraph, not a list
        if paragraph.path and paragraph.path[0].kind == "tag" and paragraph.path[0].text == "next action":
            items.add("follow_ups", paragraph.text, paragraph.line, heading="next action")
    out = observation(text, parsed, meta, problem, items, unmapped, SCHEMA_VERSION, NAME, ("last_updated",), mapping)
    if meta and isinstance(meta.get("status"), str):
        out.extra = {**(out.extra or {}), "status": meta["status"]}
    return out


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="GSD planning state (.planning/STATE.md, .planning/.continue-here.md): decisions with their plan tag, "
                "pending todos and blockers, one state per file version.",
    detection="a markdown file at .planning/STATE.md or .continue-here*.md, or a STATE.md with '# Project State' and "
              "'## Current Position'",
    unit="file",
    sniff_named=claims,
    file_hints=(".planning/STATE.md",),
    read=read,
    rules=RULES,
)
