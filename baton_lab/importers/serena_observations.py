"""Serena skill observations (formats.md §6c): `.serena/memories/**/<skill>-observations.md` (rjmurillo/ai-agents).

The confidence sections are a pattern ladder: bullets under `## Constraints (HIGH confidence)` are `graduated`
(corrections that MUST be followed), under `(MED confidence)` sections (`Preferences`, `Edge Cases`)
`rule_candidate`, under `(LOW confidence)` (`Notes for Review`) `observing`; the section is kept as `status_raw`.
The `## History` table (`| Date | Session | Type | Learning |`) rows are occurrences: each row is credited to the
bullet its Learning summarises best (rapidfuzz `token_set_ratio` ≥ 60: a History line is a short paraphrase, so the
bar is lower than the cross-version identity threshold) — its `count` and `recent_occurrences` (date, session).
Bullets are recognised across versions by their text; a bullet moving up a section is a status change (LOW → MED
→ HIGH = observing → rule_candidate → graduated). `**Last Updated**` is the claimed time, `**Sessions Analyzed**`
kept in `extra`.
"""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz

from ..normalize.columns import Col, compose
from ..prose.identity import normal_text
from ..prose.markdown import parse
from .base import Record
from .contract import Format, Observation, Rules, Section
from .prose import PATTERN_COLUMNS, front_matter, markdown_sniff, provisional_ids, text_observation

NAME = "serena-observations"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
HISTORY_MATCH = 60.0
_LEVEL = re.compile(r"\((HIGH|MED|MEDIUM|LOW) confidence\)", re.IGNORECASE)
_STATUS = {"high": "graduated", "med": "rule_candidate", "medium": "rule_candidate", "low": "observing"}
_FIELD = re.compile(r"^\*\*(Last Updated|Sessions Analyzed)\*\*:\s*(.+)$", re.MULTILINE)

COLUMNS = compose(PATTERN_COLUMNS, [
    Col("count", "count", "int"),
    Col("recent_occurrences", "occurrences", "json"),
    Col("last_seen_raw", "last_seen"),
])


claims = markdown_sniff(re.compile(r"-observations\.md$"), lambda text, name: "# Skill Observations" in text
                        and "confidence)" in text)


RULES = Rules(
    tiers={"patterns": "bullets of the HIGH/MED/LOW confidence sections (a ladder); History rows as occurrences"},
    absence={"pattern": "ambiguous"},
    capabilities=frozenset({"item_status", "occurrence_counts"}),
    statuses={"pattern": ("observing", "rule_candidate", "graduated")},
    terminal={},
)


def read(doc: Any, record: Record) -> Observation:
    parsed = parse(record.text)
    meta, problem = front_matter(parsed)
    patterns: list[dict[str, Any]] = []
    for item in parsed.items:
        if item.depth > 0:
            continue   # evidence lines under a bullet
        level = next((m for h in reversed(item.path) if (m := _LEVEL.search(h.text))), None)
        if level is None:
            continue
        section = next(h.text for h in reversed(item.path) if _LEVEL.search(h.text))
        patterns.append({"text": item.text, "status": _STATUS[level.group(1).lower()], "status_raw": section,
                         "line": item.line, "occurrences": []})
    keys = [normal_text(p["text"]) for p in patterns]
    for table in parsed.tables:
        header = [h.casefold() for h in table.header]
        if not patterns or "learning" not in header:
            continue
        col = header.index("learning")
        for row in table.rows:
            if col >= len(row):
                continue
            learning = normal_text(row[col])
            scores = [fuzz.token_set_ratio(learning, k) for k in keys]
            best = max(range(len(keys)), key=scores.__getitem__)
            if scores[best] >= HISTORY_MATCH:
                patterns[best]["occurrences"].append({h: c for h, c in zip(table.header, row) if h.casefold() != "learning"})
    for pattern in patterns:
        found = pattern.pop("occurrences")
        pattern["count"] = max(1, len(found))
        if found:
            pattern["occurrences"] = found
            dates = [o.get("Date") for o in found if isinstance(o.get("Date"), str)]
            pattern["last_seen"] = max(dates) if dates else None
    for pattern, pid in zip(patterns, provisional_ids(p["text"] for p in patterns)):
        pattern["id"] = pid
    fields = {k.lower().replace(" ", "_"): v.strip() for k, v in _FIELD.findall(record.text[:4000])}
    return text_observation(
        record.text, SCHEMA_VERSION,
        [Section("patterns", NAME, COLUMNS, patterns, "", [f"line {p['line']}" for p in patterns])],
        context=parsed.title, written_at_raw=fields.get("last_updated"),
        extra={**fields, **({"front_matter": meta} if meta else {})}, unreadable=[problem] if problem else [])


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="Serena skill observations (.serena/memories/**/*-observations.md): HIGH/MED/LOW confidence sections as "
                "a pattern ladder, History rows as occurrences.",
    detection="a markdown file named *-observations.md, or '# Skill Observations' with '(… confidence)' sections",
    unit="file",
    sniff_named=claims,
    file_hints=(),
    read=read,
    rules=RULES,
)
