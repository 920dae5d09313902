"""Beads (`steveyegge/beads`) issue exports: `.beads/issues.jsonl` (older name `.beads/beads.jsonl`).

One version of the file is one tracker state, so the whole file is one document and one snapshot (formats.md §3).
Issues are follow-ups (item id = issue id, `status` = Beads' own word, `closed` terminal, `priority` 0-4 kept,
`defer_until` kept so a later date is a deferral); `issue_type: decision` issues are decisions (a `supersedes`
dependency marks the older one superseded). Who created, holds or closed an issue is kept (`created_by`, and
`actor`, `assignee`, `owner`, `closed_by_session` in `extra`), as are dependencies, labels and comments. An
export cannot express deletion and may be partial, so an issue missing from the next version is `disappeared`
with disposition `ambiguous`, and `reappeared` when it comes back. Lines that are not issues (merge-conflict
markers, torn lines) are reported with their line; duplicate ids (both sides of a committed conflict) keep
the first. Early exports lack fields later ones have; an empty file is an empty snapshot.
"""

from __future__ import annotations

from typing import Any

from ..normalize.columns import Col, compose
from ..normalize.tables import ITEM_BASE
from .base import Record
from .contract import Format, Observation, Rules, Section
from .jsonl_document import read_lines, sniff_records

NAME = "beads-issues"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
STATUSES = ("open", "in_progress", "blocked", "deferred", "closed", "pinned", "hooked")
DECISION_TYPE = "decision"


def looks_like_issue(record: dict[str, Any]) -> bool:
    if record.get("_type") == "memory":
        return "key" in record
    return isinstance(record.get("id"), str) and "status" in record and "title" in record and (
        "issue_type" in record or "priority" in record)


def _deps(item: dict[str, Any], kind: str) -> list[str] | None:
    deps = item.get("dependencies")
    if not isinstance(deps, list):
        return None
    found = [d.get("depends_on_id") for d in deps if isinstance(d, dict) and d.get("type") == kind]
    return [str(x) for x in found if x is not None] or None


def _decision_status(item: dict[str, Any]) -> str | None:
    if item.get("_superseded_by"):
        return "superseded"
    status = item.get("status")
    if status == "closed":
        return "active"  # a closed decision issue is a decision taken
    return "proposed" if isinstance(status, str) else None


FOLLOW_UP_COLUMNS = compose(ITEM_BASE, [
    Col("source_tier", lambda item: None),
    Col("title", "title"),
    Col("priority", "priority"),
    Col("status", "status"),
    Col("status_raw", "status"),
    Col("first_seen_raw", "created_at"),
    Col("created_by", lambda item: item.get("created_by") or item.get("actor"), consumes=("created_by",)),
    Col("defer_until", "defer_until"),
    # `blocks` dependencies name what this issue waits for; the dependency list itself stays in `extra`.
    Col("blocked_by", lambda item: _deps(item, "blocks"), "json"),
])

DECISION_COLUMNS = compose(ITEM_BASE, [
    Col("source_tier", lambda item: None),
    Col("what", "title"),
    Col("why", "description"),
    Col("status", _decision_status, consumes=("_superseded_by",)),
    Col("status_raw", "status"),
    Col("superseded_by", "_superseded_by"),
    Col("created_at_raw", "created_at"),
])

RULES = Rules(
    tiers={"follow_ups": "issues (every issue_type but decision)", "decisions": "issue_type = decision"},
    absence={"follow_up": "ambiguous", "decision": "ambiguous"},
    capabilities=frozenset({"item_status", "priorities", "attribution"}),
    statuses={"follow_up": STATUSES, "decision": ("proposed", "active", "superseded")},
    terminal={"follow_up": ("closed",), "decision": ("superseded",)},
)


# What `read` needs of an issue object (memory note, decision or issue; what it supersedes), by object: an unchanged
# line of the next version is the same object (`read_lines` parses each distinct line once), so it is not looked at
# again. Objects are never mutated after parsing.
_KINDS: dict[int, tuple[dict[str, Any], str, list[str] | None]] = {}
_KINDS_LIMIT = 1 << 14


def _kind(item: dict[str, Any]) -> tuple[str, list[str] | None]:
    hit = _KINDS.get(id(item))
    if hit is not None and hit[0] is item:
        return hit[1], hit[2]
    if item.get("_type") == "memory":
        kind, supersedes = "memory", None
    else:
        kind = "decision" if item.get("issue_type") == DECISION_TYPE else "issue"
        supersedes = _deps(item, "supersedes")
    if len(_KINDS) >= _KINDS_LIMIT:
        _KINDS.clear()
    _KINDS[id(item)] = (item, kind, supersedes)
    return kind, supersedes


def read(doc: Any, record: Record) -> Observation:
    lines = read_lines(record.text)
    issues, decisions, issue_at, decision_at, memories = [], [], [], [], 0
    superseded_by: dict[str, str] = {}
    for number, item in lines.records:
        kind, supersedes = _kind(item)
        if kind == "memory":
            memories += 1  # a key/value note, kept in `raw`, not a work item
            continue
        for older in supersedes or ():
            superseded_by.setdefault(older, str(item.get("id")))
        if kind == "decision":
            decisions.append(item)
            decision_at.append(f"line {number}")
        else:
            issues.append(item)
            issue_at.append(f"line {number}")
    decisions = [{**d, "_superseded_by": superseded_by[d["id"]]}
                 if isinstance(d.get("id"), str) and d["id"] in superseded_by else d for d in decisions]
    return lines.observation(
        SCHEMA_VERSION,
        [Section("follow_ups", NAME, FOLLOW_UP_COLUMNS, issues, "", issue_at),
         Section("decisions", NAME, DECISION_COLUMNS, decisions, "", decision_at)],
        claimed=[item.get("updated_at") for _, item in lines.records],
        extra={"memories": memories} if memories else None,
    )


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="Beads issue tracker export (.beads/issues.jsonl, .beads/beads.jsonl): one tracker state per file version.",
    detection="a JSONL file whose first records are objects with id, title, status and issue_type/priority "
              "(by content, any file name); an empty issues.jsonl/beads.jsonl is an empty state",
    unit="file",
    sniff=lambda head: sniff_records(head, looks_like_issue),
    file_hints=("issues.jsonl", "beads.jsonl"),
    read=read,
    rules=RULES,
)
