"""What every prose format shares: markdown read into items placed by the heading-to-tier mapping, provisional
ids, and the column specs of prose items.

A prose item has no id of its own. The reader gives it a provisional one (a hash of its normalised text, `#2`…
for repeats within a version); once the namespace's history is in order, `store.prose_identity` matches items
across consecutive versions (`prose.identity`) and rewrites the ids, so a reworded or moved item keeps the id
it had when first seen, and a follow-up carried over counts one more deferral.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Callable, Iterable

import yaml

from ..normalize.columns import Col, compose
from ..normalize.tables import ITEM_BASE
from ..prose.identity import normal_text
from ..prose.markdown import Heading, ListItem, MarkdownDoc, Table, parse
from ..prose.tiers import TierMapping, active_mapping
from .contract import Observation, Section, Unreadable

# The text column each tier's identity is matched on (store.prose_identity reads it back).
TEXT_COLUMN = {"follow_ups": "title", "decisions": "what", "open_loops": "action", "patterns": "text"}
DONE = "done"
_EMOJI_MARKS = frozenset({"🔴", "🟠", "🟡", "🟢", "⚪"})
PRIORITY_WORDS = {"🔴": "high", "🟠": "high", "🟡": "medium", "🟢": "low", "⚪": "low", "p0": "high", "p1": "high",
                  "p2": "medium", "p3": "low", "high": "high", "medium": "medium", "med": "medium", "low": "low",
                  "critical": "high", "高": "high", "中": "medium", "低": "low"}


def provisional_ids(texts: Iterable[str], prefix: str = "p") -> list[str]:
    """`p:<hash of the normalised text>`, with `#2`, `#3` for the same text repeated within one version."""
    seen: dict[str, int] = {}
    out = []
    for text in texts:
        key = hashlib.sha1(normal_text(text).encode()).hexdigest()[:12]
        seen[key] = seen.get(key, 0) + 1
        out.append(f"{prefix}:{key}" + (f"#{seen[key]}" if seen[key] > 1 else ""))
    return out


def priority_of(text: str | None, *, marks_only: bool = False) -> str | None:
    """A priority cell's word (🔴, P1, high, 高 …); with `marks_only`, only a leading emoji mark counts (a list
    item that starts with "High-level …" has no priority)."""
    if not text:
        return None
    stripped = text.strip().casefold()
    for mark, word in PRIORITY_WORDS.items():
        if not stripped.startswith(mark):
            continue
        if mark in _EMOJI_MARKS:
            return word
        if not marks_only and (not mark.isascii() or _word_end(stripped, mark)):
            return word
    return None


def _word_end(text: str, prefix: str) -> bool:
    return len(text) == len(prefix) or not text[len(prefix)].isalnum()


FOLLOW_UP_COLUMNS = compose(ITEM_BASE, [
    Col("title", "text"),
    Col("status", "status"),
    Col("status_raw", "status_raw"),
    Col("priority", "priority"),
    # the identity pass counts carry-overs; a first sighting has none
    Col("defer_count", lambda item: 0, "int"),
])
DECISION_COLUMNS = compose(ITEM_BASE, [
    Col("what", "text"),
    Col("why", "why"),
    Col("status", "status"),
    Col("status_raw", "status_raw"),
    Col("rejected", "rejected", "json"),
    Col("superseded_by", "superseded_by"),
    Col("created_at_raw", "date"),
])
OPEN_LOOP_COLUMNS = compose(ITEM_BASE, [
    Col("action", "text"),
    Col("status", "status"),
    Col("status_raw", "status_raw"),
    Col("verify_method", lambda item: "none"),
])
PATTERN_COLUMNS = compose(ITEM_BASE, [
    Col("text", "text"),
    Col("status", "status"),
    Col("status_raw", "status_raw"),
    Col("first_seen_raw", "date"),
    Col("category", lambda item: None),
])
COLUMNS = {"follow_ups": FOLLOW_UP_COLUMNS, "decisions": DECISION_COLUMNS, "open_loops": OPEN_LOOP_COLUMNS,
           "patterns": PATTERN_COLUMNS}
_NOTHING = frozenset({"", "none", "none yet", "n a", "na", "nothing", "nothing yet", "tbd", "無", "无", "なし"})
DEFAULT_STATUS = {"follow_ups": "open", "decisions": "active", "open_loops": "open", "patterns": "observing"}


class Items:
    """The items of one version, per tier, each with its line; becomes the observation's sections."""

    def __init__(self) -> None:
        self.by_tier: dict[str, list[dict[str, Any]]] = {tier: [] for tier in TEXT_COLUMN}
        self.lines: dict[str, list[int]] = {tier: [] for tier in TEXT_COLUMN}
        self.context_items = 0

    def add(self, tier: str, text: str, line: int, **fields: Any) -> None:
        if tier not in self.by_tier:
            self.context_items += 1
            return
        if normal_text(text) in _NOTHING:
            return  # a bullet with no words ("-", an emoji) or a "None yet." is no item
        status = fields.pop("status", None) or DEFAULT_STATUS[tier]
        self.by_tier[tier].append({"text": text, "status": status, "status_raw": fields.pop("status_raw", status),
                                   "line": line, **{k: v for k, v in fields.items() if v is not None}})
        self.lines[tier].append(line)

    def sections(self, spec: str) -> list[Section]:
        out = []
        for tier, entries in self.by_tier.items():
            for entry, pid in zip(entries, provisional_ids(e["text"] for e in entries)):
                entry["id"] = pid
            out.append(Section(tier, spec, COLUMNS[tier], entries, "", [f"line {n}" for n in self.lines[tier]]))
        return out


class _TimesAsWritten(yaml.SafeLoader):
    """YAML without the timestamp resolver: `last_updated: 2026-02-27T13:55:14.724Z` stays the text written (a claimed
    time is kept as written; the store parses it)."""


_TimesAsWritten.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def front_matter(doc: MarkdownDoc) -> tuple[dict[str, Any] | None, Unreadable | None]:
    if doc.front_matter is None:
        return None, None
    try:
        value = yaml.load(doc.front_matter, Loader=_TimesAsWritten)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        return None, Unreadable(f"line {doc.front_matter_line}", f"front matter is not YAML: {str(exc).splitlines()[0]}",
                                doc.front_matter[:500])
    if value is None:
        return {}, None
    if not isinstance(value, dict):
        return None, Unreadable(f"line {doc.front_matter_line}", "front matter is not a mapping", doc.front_matter[:500])
    return json.loads(json.dumps(value, default=str)), None


def heading_text(heading: Heading | None) -> str | None:
    return heading.text if heading is not None else None


def _item_status(item: ListItem, placed_status: str | None) -> tuple[str | None, str | None]:
    """A ticked box is done whatever the heading; an unticked one under a Done heading stays what the heading says."""
    if item.checked is True:
        return DONE, "checked"
    if item.checked is False:
        return (placed_status if placed_status not in (None, DONE) else "open"), "unchecked"
    return placed_status, placed_status


def _table_columns(table: Table) -> tuple[int, int | None]:
    """(text column, priority column) of a table listing items: the action/task column, else the widest."""
    header = [h.casefold() for h in table.header]
    priority = next((i for i, h in enumerate(header) if any(w in h for w in ("priority", "優先", "优先", "pri"))), None)
    for i, h in enumerate(header):
        if any(w in h for w in ("action", "task", "item", "next", "todo", "decision", "行動", "行动", "任務", "任务", "事項")):
            return i, priority
    widths = [sum(len(row[i]) for row in table.rows if i < len(row)) for i in range(len(table.header))]
    candidates = [i for i in range(len(widths)) if i != priority]
    return (max(candidates, key=lambda i: widths[i]) if candidates else 0), priority


def markdown_items(doc: MarkdownDoc, mapping: TierMapping | None = None) -> tuple[Items, list[str]]:
    """Items of a markdown handoff placed by the mapping, and the headings the mapping does not know (context).

    Top-level list items and table rows under a mapped heading are items; nested items are their parent's
    details, except a nested checkbox (a sub-task), which is an item of its own."""
    mapping = mapping or active_mapping()
    items = Items()
    details: dict[int, list[str]] = {}
    for child in doc.items:
        if child.parent is not None and child.checked is None:
            details.setdefault(child.parent, []).append(child.text)
    for index, item in enumerate(doc.items):
        if item.depth > 0 and item.checked is None:
            continue
        placed = mapping.place(item.path)
        status, status_raw = _item_status(item, placed.status)
        tier = placed.tier
        if tier == "context" and item.checked is not None and not placed.historical:
            tier = "follow_ups"  # a checkbox is a task wherever it sits
        items.add(tier, item.text, item.line, status=status, status_raw=status_raw, heading=heading_text(placed.heading),
                  priority=priority_of(item.text, marks_only=True) if tier == "follow_ups" else None,
                  details=details.get(index))
    for table in doc.tables:
        placed = mapping.place(table.path)
        if placed.tier == "context" or not table.rows:
            items.context_items += len(table.rows)
            continue
        text_col, priority_col = _table_columns(table)
        for row, line in zip(table.rows, table.row_lines):
            if text_col >= len(row):
                continue
            priority = priority_of(row[priority_col]) if priority_col is not None and priority_col < len(row) else None
            items.add(placed.tier, row[text_col], line, status=placed.status, heading=heading_text(placed.heading),
                      priority=priority if placed.tier == "follow_ups" else None,
                      cells={h: c for h, c in zip(table.header, row)} or None)
    unmapped = [h.text for h in mapping.unmapped(doc.headings) if h.kind == "heading"]
    return items, unmapped


def markdown_observation(text: str, schema_version: str, spec: str, *, claimed_keys: tuple[str, ...] = (),
                         mapping: TierMapping | None = None) -> Observation:
    """A markdown handoff version as one snapshot: items by heading, front matter and unmapped headings in `extra`."""
    doc = parse(text)
    meta, problem = front_matter(doc)
    items, unmapped = markdown_items(doc, mapping)
    return observation(text, doc, meta, problem, items, unmapped, schema_version, spec, claimed_keys, mapping)


def observation(text: str, doc: MarkdownDoc, meta: dict[str, Any] | None, problem: Unreadable | None, items: Items,
                unmapped: list[str], schema_version: str, spec: str, claimed_keys: tuple[str, ...],
                mapping: TierMapping | None) -> Observation:
    claimed = next((str(meta[k]) for k in claimed_keys if meta and meta.get(k) not in (None, "")), None)
    extra: dict[str, Any] = {"title": doc.title, "headings": len([h for h in doc.headings if h.kind == "heading"]),
                             "mapping": (mapping or active_mapping()).origin}
    if meta:
        extra["front_matter"] = meta
    if unmapped:
        extra["unmapped_headings"] = unmapped
    if items.context_items:
        extra["context_items"] = items.context_items
    return text_observation(text, schema_version, items.sections(spec), context=doc.title, written_at_raw=claimed,
                            extra=extra, unreadable=[problem] if problem else [])


def looks_like_markdown(head: bytes) -> bool:
    """Text, not JSON or binary."""
    sample = head[:4096]
    if b"\x00" in sample:
        return False
    stripped = sample.lstrip(b"\xef\xbb\xbf \t\r\n")
    return not stripped.startswith((b"{", b"["))


def markdown_sniff(names: re.Pattern[str], content: Callable[[str, str], bool] | None = None
                   ) -> Callable[[bytes, str], bool]:
    """A `Format.sniff_named`: markdown text whose path matches `names`, or whose head `content(text, name)` accepts."""
    def sniff(head: bytes, name: str) -> bool:
        if not looks_like_markdown(head):
            return False
        if names.search(name.replace("\\", "/")):
            return True
        return content is not None and content(head.decode("utf-8", "replace"), name)
    return sniff


def text_observation(text: str, schema_version: str, sections: list[Section], *, context: str | None,
                     written_at_raw: str | None, extra: dict[str, Any] | None,
                     unreadable: list[Unreadable]) -> Observation:
    """A markdown version as one snapshot: the text itself is the stored document."""
    return Observation(document=text, document_json=json.dumps(text, ensure_ascii=False), schema_version=schema_version,
                       written_at_raw=written_at_raw, context=context, extra=extra or None, sections=sections,
                       unreadable=unreadable)


__all__ = ["COLUMNS", "DEFAULT_STATUS", "Items", "TEXT_COLUMN", "front_matter", "looks_like_markdown",
           "markdown_items", "markdown_observation", "markdown_sniff", "observation", "priority_of", "provisional_ids",
           "text_observation"]
