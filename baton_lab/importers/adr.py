"""Architecture Decision Records (formats.md §7): `docs/adr/NNNN-slug.md`, `docs/decisions/NNNN-slug.md`,
`doc/adr/` — MADR 2/3/4 and Nygard, one decision per file.

A file version is a snapshot holding one decision, whose id is the ADR's number (`ADR-0001`, from the file name,
else the title). The status comes from MADR ≥3 front matter (`status:`), a MADR 2 bullet (`* Status: …`), a
Nygard `## Status` section, or a free-text line (`- **Status**: Accepted (Codex dissent satisfied …)`): accepted
→ `active`, proposed, rejected, deprecated and superseded as such, the words as written in `status_raw`; a
`superseded by [ADR-0005](…)` link fills `superseded_by`. `what` is the title, `why` the Decision Outcome (or
Decision) text, `rejected` the Considered Options (or Alternatives Considered) not chosen, `created_at_raw` the
date. Replaying a file's git history gives the history of its status edits (accepted → superseded is a
`status_changed` event). A directory of ADRs holds one decision per file, so one file's absence from the next
file says nothing: the absence rule is `partial` (no disappearance or reappearance is derived).
"""

from __future__ import annotations

import re
from typing import Any

from ..prose.markdown import MarkdownDoc, parse
from .base import Record
from .contract import Format, Observation, Rules, Section
from .prose import COLUMNS, front_matter, markdown_sniff, text_observation

NAME = "adr"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
_NAMES = re.compile(r"(^|/)(adr|adrs|decisions|architecture[-_]decisions?)/(?:[^/]+/)*\d{1,4}[-_][^/]+\.md$", re.IGNORECASE)
_NUMBER_IN_NAME = re.compile(r"(?:^|/)(\d{1,4})[-_][^/]*$")
_NUMBER_IN_TITLE = re.compile(r"^(?:ADR[- _]?)?(\d{1,4})\b[.:\s—–-]*\s*(.*)$", re.IGNORECASE)
_SUPERSEDED_BY = re.compile(r"superseded\s+by\s*:?\s*\[?\s*(?:ADR[- _]?)?(\d{1,4})", re.IGNORECASE)
_CHOSEN = re.compile(r"chosen option:?\s*[\"“]([^\"”]+)[\"”]", re.IGNORECASE)
STATUS_WORDS = {"accepted": "active", "approved": "active", "adopted": "active", "proposed": "proposed",
                "draft": "proposed", "rejected": "rejected", "deprecated": "deprecated", "superseded": "superseded"}


claims = markdown_sniff(_NAMES, lambda text, name: bool(re.search(r"^#{1,2} Status\s*$", text, re.MULTILINE))
                        and "## Context" in text and "## Decision" in text)


RULES = Rules(
    tiers={"decisions": "one decision per ADR file (id ADR-NNNN; status from front matter, bullet, Status section "
                        "or line; superseded-by links)"},
    absence={"decision": "partial"},
    capabilities=frozenset({"item_status"}),
    statuses={"decision": ("active", "proposed", "rejected", "deprecated", "superseded")},
    terminal={"decision": ("superseded", "rejected", "deprecated")},
)


def _status_text(doc: MarkdownDoc, meta: dict[str, Any] | None) -> str | None:
    if meta and isinstance(meta.get("status"), str):
        return meta["status"]
    for item in doc.items:
        if item.depth == 0 and item.text.lower().startswith("status"):
            return item.text.split(":", 1)[1].strip() if ":" in item.text else None
    for paragraph in doc.paragraphs:
        if paragraph.path and paragraph.path[-1].text.strip().lower() == "status":
            return paragraph.text   # Nygard `## Status` section, or a `**Status:**` label
        if paragraph.text.lower().startswith("status:"):
            return paragraph.text.split(":", 1)[1].strip()
    return None


def _status(raw: str | None) -> str | None:
    if not raw:
        return None
    first = re.sub(r"[^a-z]+", " ", raw.lower()).split()
    return STATUS_WORDS.get(first[0]) if first else None


def _section_text(doc: MarkdownDoc, *names: str) -> str | None:
    for paragraph in doc.paragraphs:
        if any(h.kind == "heading" and h.text.strip().lower().startswith(names) for h in paragraph.path):
            return paragraph.text
    return None


def _section_items(doc: MarkdownDoc, *names: str) -> list[str]:
    return [i.text for i in doc.items if i.depth == 0 and any(
        h.kind == "heading" and h.text.strip().lower().startswith(names) for h in i.path)]


def _date(doc: MarkdownDoc, meta: dict[str, Any] | None) -> str | None:
    if meta and meta.get("date") is not None:
        return str(meta["date"])
    for item in doc.items:
        if item.depth == 0 and item.text.lower().startswith("date:"):
            return item.text.split(":", 1)[1].strip() or None
    return None


def read(doc: Any, record: Record) -> Observation:
    parsed = parse(record.text)
    meta, problem = front_matter(parsed)
    title = (meta or {}).get("title") if isinstance((meta or {}).get("title"), str) else parsed.title
    number = None
    by_name = _NUMBER_IN_NAME.search(record.source.uri.replace("\\", "/"))
    by_title = _NUMBER_IN_TITLE.match(title or "")
    if by_name:
        number = int(by_name.group(1))
    elif by_title and by_title.group(2):
        number = int(by_title.group(1))
    what = by_title.group(2).strip() if by_title and by_title.group(2) else title
    raw_status = _status_text(parsed, meta)
    superseded = _SUPERSEDED_BY.search(raw_status or "")
    outcome = _section_text(parsed, "decision outcome", "decision")
    chosen = _CHOSEN.search(outcome or "")
    options = _section_items(parsed, "considered options", "alternatives considered", "alternatives", "options considered")
    rejected = [o for o in options if not chosen or chosen.group(1).strip().lower() not in o.lower()]
    decisions = []
    if what:
        decisions.append({
            "id": f"ADR-{number:04d}" if number is not None else re.sub(r"\W+", "-", what.lower()).strip("-")[:60],
            "text": what, "why": outcome, "status": _status(raw_status), "status_raw": raw_status,
            "superseded_by": f"ADR-{int(superseded.group(1)):04d}" if superseded else None,
            "rejected": rejected or None, "date": _date(parsed, meta),
            **({"chosen": chosen.group(1)} if chosen else {}),
        })
    return text_observation(
        record.text, SCHEMA_VERSION,
        [Section("decisions", NAME, COLUMNS["decisions"], decisions, "", ["line 1"] * len(decisions))],
        context=title, written_at_raw=decisions[0]["date"] if decisions else None,
        extra={"front_matter": meta} if meta else None, unreadable=[problem] if problem else [])


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="Architecture Decision Records (docs/adr/NNNN-slug.md; MADR 2/3/4, Nygard): one decision per file, "
                "its status edits over the file's history.",
    detection="a markdown file NNNN-slug.md under adr/ or decisions/, or with '## Status', '## Context' and "
              "'## Decision' sections",
    unit="file",
    sniff_named=claims,
    file_hints=(),
    read=read,
    rules=RULES,
)
