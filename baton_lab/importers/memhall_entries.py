"""memory-hall entries (formats.md §12): a `GET /v1/memory` page (`{"entries": [...], "next_cursor"}`) or the
server's SQLite `entries` table (read by `memhall_sqlite` into the same shape).

Entries are append-only rows (a ULID `entry_id`, `created_at`), so one export is a true history, read like an AMH
`memory.json` (`amh_records` holds the mapping and the history rules) with one snapshot per session rather than
per entry: a session ends with its wrap-up `episode` (memory-hall's baton-adjacent timeline), and the entries
after the last wrap-up are the session still open, the last version; an export without wrap-ups has one
snapshot per UTC day. AMH writes its records here with its fields in `metadata` (`amh_status`, `source_tier`,
`supersedes`, `trust_proof`, `provenance_chain`, JSON text or objects); an entry is read as that AMH record:
`decision` entries are decisions, every other type a pattern (AMH stores lessons as `episode`; `type` kept in
`extra`). A native `episode` without AMH metadata is a session wrap-up, not an item: its summary is the context
of the version it closes. `PATCH` merges metadata in place (`amh_status: revoked`) with no time, so a revocation
is observed in the last version, never back-dated. Several tenants keep their histories apart
(`tenant/namespace`). An export is one document: import the whole listing (all pages in one file) or the SQLite
file, since a single page alone holds only part of the history.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from datetime import datetime
from typing import Any, Callable

from .._timeparse import parse_time
from .amh_records import RULES, Change, Holdings, history
from .base import Record
from .contract import Format, Observation, Unreadable

NAME = "memhall-entries"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
ENTRY_KEYS = ("entry_id", "namespace", "type", "content", "created_at")
AMH_STATUSES = ("active", "superseded", "revoked", "expired")
AMH_KEYS = ("amh_version", "amh_status", "source_tier", "source_type", "source_ref", "supersedes", "trust_proof",
            "provenance_chain")


def _is_entry(value: Any) -> bool:
    return isinstance(value, dict) and all(key in value for key in ENTRY_KEYS)


def detect(doc: Any, record: Record) -> bool:
    entries = doc.get("entries") if isinstance(doc, dict) else None
    return isinstance(entries, list) and (_is_entry(entries[0]) if entries else "next_cursor" in doc)


def _json(value: Any) -> Any:
    """metadata values AMH writes as JSON text (trust_proof, provenance_chain) or the server stores as text."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def as_record(entry: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The entry as the AMH record it stands for (AMH's own `entryToAmh` reading), other fields kept beside."""
    meta = _json(entry.get("metadata"))
    meta = meta if isinstance(meta, dict) else {}
    status = meta.get("amh_status")
    source = {key: meta[f"source_{key}"] for key in ("type", "ref", "tier") if meta.get(f"source_{key}") is not None}
    kept = {key: value for key, value in entry.items() if key not in ("entry_id", "namespace", "content", "created_at",
                                                                        "created_by_principal", "metadata")}
    record = {
        "memory_id": entry.get("entry_id"), "status": status if status in AMH_STATUSES else "active",
        "namespace": namespace, "memory_type": entry.get("type"),
        "content": {"format": "text/plain", "value": entry.get("content")},
        "created_at": entry.get("created_at"), "created_by": entry.get("created_by_principal"),
        "metadata": {key: value for key, value in meta.items() if key not in AMH_KEYS} or None, **kept,
    }
    if source:
        record["source"] = source
    for key in ("supersedes", "trust_proof", "provenance_chain"):
        if meta.get(key) is not None:
            record[key] = _json(meta[key])
    return record


def _is_amh(entry: dict[str, Any]) -> bool:
    meta = _json(entry.get("metadata"))
    return isinstance(meta, dict) and any(key in meta for key in ("amh_version", "amh_status"))


def _session(ends: list[datetime]) -> Callable[[Change], Any]:
    """Which version a change belongs to: the session its wrap-up episode closes (the entries after the last
    wrap-up are the session still open: the last version); without any wrap-up, its UTC day. Loop metrics count
    snapshots as sessions, so an entry is not a session of its own."""
    if ends:
        return lambda change: bisect_left(ends, change.at)
    return lambda change: change.at.date()


def read(doc: Any, record: Record) -> list[Observation]:
    entries = [e for e in doc.get("entries") or () if isinstance(e, dict)]
    tenants = {tenant for e in entries if isinstance(tenant := e.get("tenant_id"), str)}  # a list is no tenant
    by_namespace: dict[str | None, Holdings] = {}
    for entry in entries:
        namespace = entry.get("namespace") if isinstance(entry.get("namespace"), str) else None
        if namespace is not None and len(tenants) > 1:
            namespace = f"{entry.get('tenant_id')}/{namespace}"
        held = by_namespace.setdefault(namespace, Holdings())
        if entry.get("type") == "episode" and not _is_amh(entry):
            held.episodes.append(entry)
        else:
            held.records.append(as_record(entry, namespace or ""))
    if not by_namespace:
        by_namespace[None] = Holdings()
    odd = [Unreadable(f"$.entries[{i}]", f"expected an object, got {type(e).__name__}", None)
           for i, e in enumerate(doc.get("entries") or ()) if not isinstance(e, dict)]
    out: list[Observation] = []
    for namespace, held in by_namespace.items():
        ends = sorted(t for e in held.episodes if (t := parse_time(e.get("created_at"))) is not None)
        final = Observation(document=doc, schema_version=SCHEMA_VERSION, namespace=namespace,
                            extra={"next_cursor": doc["next_cursor"]} if doc.get("next_cursor") else None,
                            unreadable=odd if not out else [])
        out.extend(history(held, SCHEMA_VERSION, namespace, final, _session(ends)))
    return out


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="memory-hall entries (GET /v1/memory page, or the SQLite entries table): append-only rows, "
                "one snapshot per created_at; AMH records in metadata read as AMH records.",
    detection='a JSON object with "entries": [objects with entry_id, namespace, type, content, created_at]; '
              "an SQLite file with an entries table",
    detect=detect,
    read=read,
    rules=RULES,
)
