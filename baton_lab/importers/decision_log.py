"""Memory-bank decision logs (formats.md §10): Roo Code / Cline `memory-bank/decisionLog.md` (also `.roo/`,
`cline_docs/`).

Each `## YYYY-MM-DD - Title` entry is a decision: `what` is the title, `why` the **Rationale:** text, the date is
`created_at_raw` (entries are often out of date order; they are kept as written), and **Context:** /
**Decision:** / **Implementation:** / **Consequences:** are kept in `extra`. RooFlow's `* [YYYY-MM-DD HH:MM:SS] -
…` bullets under a Decision heading are decisions too. An unfilled template entry (`## [Date] - [Decision
Topic]`) is quarantined with its line, not stored. A reversal is written as a new entry without a link
("Revert Job ID Type from UUID to String" after "Job ID Type Change from String to UUID"): a later entry whose
title starts with Revert/Reverse/Undo/Replace/Supersede and restates an earlier title (the identity matcher's
score at or above its threshold, on the titles without that verb) marks the earlier one `superseded`, its
`superseded_by` the later one. Entries are recognised across versions by their title.
"""

from __future__ import annotations

import re
from typing import Any

from ..prose.identity import THRESHOLD, normal_text, score
from ..prose.markdown import parse
from .base import Record
from .contract import Format, Observation, Rules, Section, Unreadable
from .prose import COLUMNS, front_matter, markdown_sniff, provisional_ids, text_observation

NAME = "decision-log"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
_ENTRY = re.compile(r"^\[?(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?\]?\s*[-–—:]\s*(.+)$")
_TEMPLATE = re.compile(r"^\[[^\]]*\]\s*[-–—:]\s*\[[^\]]*\]$")
_REVERSAL = re.compile(r"^(revert(ed|ing)?|reverse|undo|replace[sd]?|supersede[sd]?)\b", re.IGNORECASE)
_NAMES = re.compile(r"(^|/)decision[-_ ]?log\.md$", re.IGNORECASE)


claims = markdown_sniff(_NAMES, lambda text, name: "**Decision:**" in text
                        and bool(re.search(r"^## \d{4}-\d{2}-\d{2} [-–—] ", text, re.MULTILINE)))


RULES = Rules(
    tiers={"decisions": "## YYYY-MM-DD - Title entries (rationale -> why; reversals infer superseded)"},
    absence={"decision": "ambiguous"},
    capabilities=frozenset({"item_status"}),
    statuses={"decision": ("active", "superseded")},
    terminal={"decision": ("superseded",)},
)


def _supersede(entries: list[dict[str, Any]]) -> None:
    """A later-dated reversal entry supersedes the earlier entry whose title it restates."""
    for later in entries:
        verb = _REVERSAL.match(later["text"])
        if not verb:
            continue
        rest = normal_text(later["text"][verb.end():])
        candidates = [e for e in entries if e is not later and (e.get("date") or "") <= (later.get("date") or "")]
        best = max(candidates, key=lambda e: score(normal_text(e["text"]), rest), default=None)
        if best is not None and score(normal_text(best["text"]), rest) >= THRESHOLD:
            best["status"], best["superseded_by"] = "superseded", later["id"]


def read(doc: Any, record: Record) -> Observation:
    parsed = parse(record.text)
    meta, problem = front_matter(parsed)
    unreadable = [problem] if problem else []
    entries: list[dict[str, Any]] = []
    heads = {}
    for heading in parsed.headings:
        if heading.kind != "heading" or heading.level < 2:
            continue
        text = heading.text.strip()
        if _TEMPLATE.match(text):
            unreadable.append(Unreadable(f"line {heading.line}", "unfilled template entry (no date, no topic)", text))
            continue
        found = _ENTRY.match(text)
        if found:
            entry = {"text": found.group(2).strip(), "date": found.group(1), "status": "active", "line": heading.line}
            entries.append(entry)
            heads[heading] = entry
    for paragraph in parsed.paragraphs:
        owner = next((heads[h] for h in reversed(paragraph.path) if h in heads), None)
        label = paragraph.path[-1] if paragraph.path and paragraph.path[-1].kind == "label" else None
        if owner is not None and label is not None:
            owner.setdefault(label.text.lower(), paragraph.text)
    for item in parsed.items:
        owner = next((heads[h] for h in reversed(item.path) if h in heads), None)
        label = item.path[-1] if item.path and item.path[-1].kind == "label" else None
        if owner is not None and label is not None and item.depth == 0:
            key = label.text.lower()
            owner[key] = (owner[key] + "\n" if isinstance(owner.get(key), str) else "") + item.text
            continue
        found = _ENTRY.match(item.text)  # RooFlow: * [YYYY-MM-DD HH:MM:SS] - decision
        if owner is None and found and any("decision" in h.text.lower() for h in item.path):
            entries.append({"text": found.group(2).strip(), "date": found.group(1), "status": "active", "line": item.line})
    for entry in entries:
        entry["why"] = entry.pop("rationale", None)
    for entry, pid in zip(entries, provisional_ids(e["text"] for e in entries)):
        entry["id"] = pid
    _supersede(entries)
    return text_observation(
        record.text, SCHEMA_VERSION,
        [Section("decisions", NAME, COLUMNS["decisions"], entries, "", [f"line {e['line']}" for e in entries])],
        context=parsed.title, written_at_raw=max((e["date"] for e in entries), default=None),
        extra={"entries": len(entries), **({"front_matter": meta} if meta else {})}, unreadable=unreadable)


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="Memory-bank decision log (memory-bank/decisionLog.md): dated entries as decisions, reversals "
                "inferred by title.",
    detection="a markdown file named decisionLog.md / decision-log.md, or with '## YYYY-MM-DD - Title' entries and "
              "'**Decision:**'",
    unit="file",
    sniff_named=claims,
    file_hints=("decisionLog.md",),
    read=read,
    rules=RULES,
)
