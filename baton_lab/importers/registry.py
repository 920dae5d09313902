"""The formats, in detection order (most specific first), and the sources they are read from.

Adding a format: write one module exposing `FORMAT` (see `contract.Format`), add it to `FORMATS`, and add a
folder of golden cases under `tests/golden/<format>/`.
"""

from __future__ import annotations

from typing import Any

from ..errors import UnknownFormat
from ..store.rules import item_tables
from . import (adr, amh_memory, api_envelope, baton_v1, baton_v2, beads, beads_events, decision_log, gsd_state,
               handoff_json, handoff_markdown, lessons_jsonl, lessons_markdown, local_cache, memhall_entries,
               patch_proposal, serena_observations, session_log_json)
from .base import Record
from .contract import Format, Rules
from .sources import CAPTURES, CONTAINERS, SourceKind

FORMATS: tuple[Format, ...] = (
    beads.FORMAT,
    beads_events.FORMAT,
    lessons_jsonl.FORMAT,
    amh_memory.FORMAT,
    memhall_entries.FORMAT,
    gsd_state.FORMAT,
    lessons_markdown.FORMAT,
    decision_log.FORMAT,
    serena_observations.FORMAT,
    adr.FORMAT,
    handoff_markdown.FORMAT,
    patch_proposal.FORMAT,
    api_envelope.FORMAT,
    local_cache.FORMAT,
    baton_v2.FORMAT,
    baton_v1.FORMAT,
    handoff_json.FORMAT,
    session_log_json.FORMAT,
)
FORMATS_BY_NAME = {fmt.name: fmt for fmt in FORMATS}
# Formats whose items have no ids of their own: `store.prose_identity` matches them across versions by text.
PROSE_FORMATS = (handoff_markdown.NAME, gsd_state.NAME, lessons_markdown.NAME, handoff_json.NAME,
                 session_log_json.NAME, decision_log.NAME, serena_observations.NAME)
WHOLE_FILE_FORMATS = tuple(fmt for fmt in FORMATS if fmt.unit == "file")


def get_format(name: str) -> Format:
    try:
        return FORMATS_BY_NAME[name]
    except KeyError:
        raise UnknownFormat(f"unknown format {name!r}; known: {', '.join(FORMATS_BY_NAME)}") from None


def detect_format(doc: Any, record: Record) -> Format | None:
    """The document format of a parsed JSON document (a .json file or one NDJSON line)."""
    for fmt in FORMATS:
        if fmt.detect is not None and fmt.detect(doc, record):
            return fmt
    return None


def sniff_whole_file(head: bytes, name: str) -> Format | None:
    """The whole-file format whose content the head of a file matches; an empty file is claimed by the format
    whose file-name hints match it (an empty export is an empty snapshot, not an error)."""
    for fmt in WHOLE_FILE_FORMATS:
        if fmt.sniff is not None and fmt.sniff(head):
            return fmt
    for fmt in WHOLE_FILE_FORMATS:
        if fmt.sniff_named is not None and fmt.sniff_named(head, name):
            return fmt
    if not head.strip():
        for fmt in WHOLE_FILE_FORMATS:
            if fmt.matches_name(name):
                return fmt
    return None


def rules_for(format_name: str | None, schema_version: str | None) -> Rules | None:
    fmt = FORMATS_BY_NAME.get(format_name or "")
    return fmt.rules_for(schema_version) if fmt else None


def source_kinds() -> tuple[SourceKind, ...]:
    from . import git_history, transcripts

    return (*CONTAINERS, *transcripts.KINDS_DECLARED, git_history.KIND, *CAPTURES)


def list_formats() -> list[dict[str, Any]]:
    """Every document format and every source kind, as `baton-lab formats` prints them."""
    rows: list[dict[str, Any]] = []
    for fmt in FORMATS:
        rows.append({
            "name": fmt.name, "kind": "document", "version": fmt.version, "detection": fmt.detection,
            "description": fmt.description, "unit": fmt.unit, "file_hints": list(fmt.file_hints),
            "tiers": {table: what for table, what in fmt.rules.tiers.items()},
            "absence": _absence(fmt), "capabilities": sorted(_capabilities(fmt)),
            "terminal": {tier: list(words) for tier, words in fmt.rules.terminal.items()},
        })
    for source in source_kinds():
        rows.append({"name": source.name, "kind": source.kind, "version": source.version, "detection": source.detection,
                     "description": source.description})
    return rows


def _all_rules(fmt: Format) -> list[Rules]:
    return [fmt.rules, *fmt.rules_by_version.values()]


def _capabilities(fmt: Format) -> set[str]:
    return set().union(*(rules.provides for rules in _all_rules(fmt)))


def capabilities_of(format_name: str | None, schema_version: str | None) -> frozenset[str]:
    """What snapshots of this format (and wrapped schema version) can express; empty for an unknown format."""
    rules = rules_for(format_name, schema_version)
    return rules.provides if rules else frozenset()


def _absence(fmt: Format) -> dict[str, str]:
    """tier -> absence rule; a wrapper of several schema versions names each version's rule where they differ."""
    out: dict[str, str] = {}
    versions = fmt.rules_by_version or {"": fmt.rules}
    tiers = {_tier(table) for rules in versions.values() for table in rules.tiers} - {None}
    for tier in sorted(tiers):  # type: ignore[type-var]
        by_version = {v: rules.absence_of(tier) for v, rules in versions.items()
                      if any(_tier(t) == tier for t in rules.tiers)}
        values = set(by_version.values())
        out[tier] = values.pop() if len(values) == 1 else ", ".join(f"v{v}: {rule}" for v, rule in sorted(by_version.items()))
    return out


def _tier(table: str) -> str | None:
    return item_tables().get(table)
