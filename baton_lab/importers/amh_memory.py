"""agent-memory-hall's `memory.json` (`~/.amh/memory.json`, formats.md §12): `{records: AmhRecord[], audit:
AuditEvent[]}`, and the same records in AMH's inspector seeds (`{memories, decisions, audit_events, roles, ...}`).

One file holds its own history (see `amh_records`): it reads as one snapshot per version, one history per AMH
namespace; a governance decision or obligation packet without a namespace goes with the file's only namespace.
The audit log's hash chain (`prev_hash` → `hash`) is verified: every broken link is reported on the last version
(a quarantine row at `$.audit[i]`, so `baton-lab validate` and the report's data quality show it) and the chain's
tally is kept in that snapshot's `extra.audit_chain`; nothing is repaired.
"""

from __future__ import annotations

from typing import Any

from .amh_records import RULES, Holdings, history, verify_chain
from .base import Record
from .contract import Format, Observation, Unreadable

NAME = "amh-memory"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
# AMH's own store file, and the inspector seed's names for the same lists.
RECORD_KEYS = ("records", "memories")
AUDIT_KEYS = ("audit", "audit_events")


def _first(doc: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, list[Any]]:
    for key in keys:
        if isinstance(doc.get(key), list):
            return key, doc[key]
    return None, []


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and "memory_id" in value and ("amh_version" in value or "memory_type" in value)


def detect(doc: Any, record: Record) -> bool:
    if not isinstance(doc, dict):
        return False
    key, records = _first(doc, RECORD_KEYS)
    if key is None:
        return False
    if records:
        return _is_record(records[0])
    return _first(doc, AUDIT_KEYS)[0] is not None  # a fresh store: {"records": [], "audit": []}


def _dicts(values: Any) -> list[dict[str, Any]]:
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def read(doc: Any, record: Record) -> list[Observation]:
    records_key, records = _first(doc, RECORD_KEYS)
    audit_key, audit = _first(doc, AUDIT_KEYS)
    chain = verify_chain(audit, f"$.{audit_key or 'audit'}")
    by_namespace: dict[str | None, Holdings] = {}
    namespace_of: dict[str, str | None] = {}
    for item in _dicts(records):
        namespace = item.get("namespace") if isinstance(item.get("namespace"), str) else None
        by_namespace.setdefault(namespace, Holdings()).records.append(item)
        namespace_of[str(item.get("memory_id"))] = namespace
    only = next(iter(by_namespace)) if len(by_namespace) == 1 else None
    for key in ("decisions", "obligations"):
        for item in _dicts(doc.get(key)):
            namespace = item.get("namespace") if isinstance(item.get("namespace"), str) else only
            getattr(by_namespace.setdefault(namespace, Holdings()), key).append(item)
    for event in _dicts(audit):
        namespace = namespace_of.get(str(event.get("memory_id")), only)
        if namespace in by_namespace:
            by_namespace[namespace].audit.append(event)
    if not by_namespace:
        by_namespace[None] = Holdings()
    # A broken link is reported once, on the history of the memory it concerns (else the first namespace).
    breaks: dict[str | None, list] = {}
    for part in chain.breaks:
        index = int(part.location.rsplit("[", 1)[1].rstrip("]"))
        namespace = namespace_of.get(str(audit[index].get("memory_id")) if isinstance(audit[index], dict) else "", None)
        breaks.setdefault(namespace if namespace in by_namespace else next(iter(by_namespace)), []).append(part)
    # Entries that are not objects are reported once, with the first namespace's last version.
    first = next(iter(by_namespace))
    breaks.setdefault(first, []).extend(
        Unreadable(f"$.{key}[{i}]", f"expected an object, got {type(v).__name__}", None)
        for key in (records_key, "decisions", "obligations") if key and isinstance(doc.get(key), list)
        for i, v in enumerate(doc[key]) if not isinstance(v, dict))
    out: list[Observation] = []
    for namespace, held in by_namespace.items():
        final = Observation(
            document=doc, schema_version=SCHEMA_VERSION, namespace=namespace,
            extra={"audit_chain": chain.summary(), "records_key": records_key} if audit_key else None,
            unreadable=breaks.get(namespace, []))
        out.extend(history(held, SCHEMA_VERSION, namespace, final))
    return out


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="agent-memory-hall memory.json (records + hash-chained audit log) and inspector seeds: "
                "one snapshot per version of the records, audit chain verified.",
    detection="a JSON object with records[] (or memories[]) of AMH records (memory_id, amh_version/memory_type), "
              "or an empty records[] beside audit[]",
    detect=detect,
    file_hints=("memory.json",),
    read=read,
    rules=RULES,
)
