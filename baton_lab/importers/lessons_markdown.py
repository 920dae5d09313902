"""Lessons markdown (formats.md §6b): `learnings.md` / `lessons.md`, the Anguijm "harness" convention.

`## Per-Session Reflections` holds one `### <session-slug> (YYYY-MM-DD)` heading per session with tagged bullets
(`**KEEP**:`, `**IMPROVE**:`, `**INSIGHT**:`, `**TEST CAUGHT**:` …): each bullet is a pattern (the tag kept as
`status_raw`, the session and its date in `extra`/`first_seen_raw`). `## Accumulated Principles` bullets are the
graduated rules: each is a pattern with status `graduated`, and a session bullet that a principle restates (the
identity matcher's score at or above its threshold) is `graduated` too, with the principle as its `rule_ref` —
so the version that adds the principle is the one where the lesson graduates (a `status_changed` event). Bullets
are recognised across versions by their text; one that disappears is `ambiguous` (a rewrite cannot say why).
"""

from __future__ import annotations

import re
from typing import Any

from ..normalize.columns import Col, compose
from ..prose.identity import THRESHOLD, normal_text, score
from ..prose.markdown import parse
from .base import Record
from .contract import Format, Observation, Rules, Section
from .prose import PATTERN_COLUMNS, front_matter, markdown_sniff, provisional_ids, text_observation

NAME = "lessons-markdown"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
_TAG = re.compile(r"^([A-Z][A-Z /-]{1,30}?)\s*:\s*")
_SESSION_DATE = re.compile(r"\((\d{4}-\d{2}-\d{2})[^)]*\)\s*$")
_NAMES = re.compile(r"(^|/)(learnings|lessons|lessons[-_]learned)\.md$", re.IGNORECASE)
PRINCIPLES = ("accumulated principles", "principles", "rules", "graduated rules", "proven lessons")

COLUMNS = compose(PATTERN_COLUMNS, [Col("rule_ref", "rule_ref")])


claims = markdown_sniff(_NAMES, lambda text, name: "## Accumulated Principles" in text
                        or "## Per-Session Reflections" in text)


RULES = Rules(
    tiers={"patterns": "tagged session bullets (KEEP/IMPROVE/INSIGHT/…) and Accumulated Principles (graduated)"},
    absence={"pattern": "ambiguous"},
    capabilities=frozenset({"item_status"}),
    statuses={"pattern": ("observing", "graduated")},
    terminal={"pattern": ("graduated",)},
)


def _is_principles(title: str) -> bool:
    key = normal_text(title)
    return any(key == p or key.startswith(p) for p in PRINCIPLES)


def read(doc: Any, record: Record) -> Observation:
    parsed = parse(record.text)
    meta, problem = front_matter(parsed)
    principles: list[dict[str, Any]] = []
    bullets: list[dict[str, Any]] = []
    for item in parsed.items:
        if item.depth > 0 or not item.text.strip():
            continue
        headings = [h for h in item.path if h.kind == "heading"]
        if any(_is_principles(h.text) for h in headings):
            principles.append({"text": item.text, "status": "graduated", "status_raw": "principle", "line": item.line})
            continue
        session = headings[-1] if headings and headings[-1].level >= 3 else None
        tag = _TAG.match(item.text)
        entry: dict[str, Any] = {"text": item.text[tag.end():] if tag else item.text, "status": "observing",
                                 "status_raw": tag.group(1).lower() if tag else None, "line": item.line}
        if session is not None:
            entry["session"] = session.text
            date = _SESSION_DATE.search(session.text)
            if date:
                entry["date"] = date.group(1)
        if tag or session is not None:
            bullets.append(entry)
    # graduation: a session bullet that a principle restates
    keys = [normal_text(b["text"]) for b in bullets]
    for principle in principles:
        target = normal_text(principle["text"])
        best = max(range(len(bullets)), key=lambda i: score(keys[i], target), default=None)
        if best is not None and score(keys[best], target) >= THRESHOLD:
            bullets[best]["status"] = "graduated"
            bullets[best]["rule_ref"] = principle["text"]
    entries = principles + bullets
    for entry, pid in zip(entries, provisional_ids(e["text"] for e in entries)):
        entry["id"] = pid
    sessions = sorted({b["session"] for b in bullets if "session" in b})
    return text_observation(
        record.text, SCHEMA_VERSION,
        [Section("patterns", NAME, COLUMNS, entries, "", [f"line {e['line']}" for e in entries])],
        context=parsed.title, written_at_raw=max((b["date"] for b in bullets if "date" in b), default=None),
        extra={"title": parsed.title, "principles": len(principles), "sessions": len(sessions),
               **({"front_matter": meta} if meta else {})}, unreadable=[problem] if problem else [])


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="Lessons markdown (learnings.md / lessons.md): tagged per-session bullets as patterns, Accumulated "
                "Principles as graduated rules.",
    detection="a markdown file named learnings.md / lessons.md / lessons-learned.md, or with '## Accumulated Principles' "
              "or '## Per-Session Reflections'",
    unit="file",
    sniff_named=claims,
    file_hints=("learnings.md", "lessons.md"),
    read=read,
    rules=RULES,
)
