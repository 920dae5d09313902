"""compound-agent lessons (`.claude/lessons/index.jsonl`, formats.md §6a): the pattern tier of a real loop.

The file is append-only with updates as new lines: the last line per id wins within a version, so one version
of the file is one document and one snapshot. Lessons are patterns: `insight` is the text, `type` is kept as
written (including undocumented values such as `quick`), `confirmed: true` is `human_confirmed` (else
`llm_derived`), `invalidatedAt` or `deleted` makes the lesson `dismissed` (the reason kept), and `supersedes`,
`related`, `retrievalCount` and `citation` are kept in `extra`. A rewrite that drops ids cannot say why, so an
id missing from the next version is `disappeared` with disposition `ambiguous`.
"""

from __future__ import annotations

from typing import Any

from ..normalize.columns import Col, compose
from ..normalize.tables import ITEM_BASE
from .base import Record
from .contract import Format, Observation, Rules, Section
from .jsonl_document import read_lines, sniff_records

NAME = "lessons-jsonl"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"


def looks_like_lesson(record: dict[str, Any]) -> bool:
    return isinstance(record.get("id"), str) and "insight" in record and ("trigger" in record or "type" in record)


def _dismissed(item: dict[str, Any]) -> bool:
    return bool(item.get("invalidatedAt") or item.get("deleted"))


def _status_raw(item: dict[str, Any]) -> str:
    if item.get("deleted"):
        return "deleted"
    return "invalidated" if item.get("invalidatedAt") else "active"


COLUMNS = compose(ITEM_BASE, [
    Col("text", "insight"),
    Col("status", lambda item: "dismissed" if _dismissed(item) else "observing"),
    Col("status_raw", _status_raw),
    Col("source_tier", lambda item: "human_confirmed" if item.get("confirmed") is True else "llm_derived"),
    Col("first_seen_raw", "created"),
    Col("last_seen_raw", "lastRetrieved"),
])

RULES = Rules(
    tiers={"patterns": "lessons (every type; the last line per id wins)"},
    absence={"pattern": "ambiguous"},
    capabilities=frozenset({"item_status", "source_tiers"}),
    statuses={"pattern": ("observing", "dismissed")},
    terminal={"pattern": ("dismissed",)},
)


def read(doc: Any, record: Record) -> Observation:
    lines = read_lines(record.text)
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    without_id: list[tuple[int, dict[str, Any]]] = []
    for number, item in lines.records:
        item_id = item.get("id")
        if isinstance(item_id, str) and item_id:
            latest.pop(item_id, None)  # re-insert: the item sits where its last line is
            latest[item_id] = (number, item)
        else:
            without_id.append((number, item))
    kept = sorted([*latest.values(), *without_id], key=lambda pair: pair[0])
    return lines.observation(
        SCHEMA_VERSION,
        [Section("patterns", NAME, COLUMNS, [item for _, item in kept], "", [f"line {n}" for n, _ in kept])],
        claimed=[item.get("invalidatedAt") or item.get("created") for _, item in kept],
    )


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="compound-agent lessons index (.claude/lessons/index.jsonl): append-only lessons, last line per id wins.",
    detection="a JSONL file whose first records are objects with id, insight and trigger/type (by content); "
              "an empty index.jsonl is an empty state",
    unit="file",
    sniff=lambda head: sniff_records(head, looks_like_lesson),
    file_hints=("lessons/index.jsonl",),
    read=read,
    rules=RULES,
)
