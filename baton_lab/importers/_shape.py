"""Small predicates on JSON shapes that several format modules share."""

from __future__ import annotations

from typing import Any

V1_SECTIONS = ("open_loops", "follow_ups", "patterns", "active_decisions")


def is_v2_baton(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    meta = doc.get("_meta")
    if isinstance(meta, dict) and str(meta.get("schema_version", "")).startswith("2"):
        return True
    return isinstance(doc.get("anti_patterns"), dict) or isinstance(doc.get("open_loops"), dict)


def is_v1_baton(doc: Any) -> bool:
    if not isinstance(doc, dict) or is_v2_baton(doc):
        return False
    version = doc.get("schema_version")
    if version is not None:
        return str(version).strip() in ("1", "1.0")
    return "session_id" in doc and any(isinstance(doc.get(section), list) for section in V1_SECTIONS)


def is_baton(doc: Any) -> bool:
    return is_v1_baton(doc) or is_v2_baton(doc)


def text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        try:
            return int(value)
        except ValueError:  # Unicode digits int() refuses ("²"), or more digits than int() converts
            return None
    return None
