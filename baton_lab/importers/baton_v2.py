"""Session Baton v2 JSON (SPEC-v2 draft): `_meta`, `*.entries`, `anti_patterns`, `session_bridge`, `infra_state`."""

from __future__ import annotations

from typing import Any

from ._shape import int_or_none, is_v2_baton, text_or_none
from .base import BatonDoc, DocumentFormat, NotThisFormat

VERSION = "2.0-draft"


def unwrap_v2(doc: Any) -> BatonDoc:
    if not isinstance(doc, dict):
        raise NotThisFormat("a v2 baton is a JSON object")
    meta = doc.get("_meta") if isinstance(doc.get("_meta"), dict) else {}
    bridge = doc.get("session_bridge") if isinstance(doc.get("session_bridge"), dict) else {}
    last = bridge.get("last_session") if isinstance(bridge.get("last_session"), dict) else {}
    return BatonDoc(
        baton=doc,
        schema_version=text_or_none(meta.get("schema_version")) or "2.0",
        namespace=text_or_none(meta.get("namespace")),
        session_id=text_or_none(last.get("session_id")),
        written_at_raw=text_or_none(meta.get("last_written_at")) or text_or_none(last.get("written_at")),
        revision=int_or_none(meta.get("revision")),
        writer=text_or_none(meta.get("last_written_by")) or text_or_none(last.get("written_by")),
    )


FORMAT = DocumentFormat(
    name="baton-v2",
    version=VERSION,
    detection="a JSON object whose _meta.schema_version starts with 2 (or with open_loops/anti_patterns as objects)",
    description="Session Baton v2 draft baton: _meta.revision, *.entries, anti_patterns, session_bridge, infra_state.",
    detect=lambda doc, record: is_v2_baton(doc),
    unwrap=lambda doc, record: unwrap_v2(doc),
)
