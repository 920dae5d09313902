"""Session Baton v1 JSON (`schema_version: 1`), as session-baton 0.1's pydantic `Baton` writes it."""

from __future__ import annotations

from typing import Any

from ._shape import is_v1_baton, text_or_none
from .base import BatonDoc, DocumentFormat, NotThisFormat, Record

VERSION = "1"


def unwrap_v1(doc: Any) -> BatonDoc:
    if not isinstance(doc, dict):
        raise NotThisFormat("a v1 baton is a JSON object")
    return BatonDoc(
        baton=doc,
        schema_version="1",
        session_id=text_or_none(doc.get("session_id")),
        parent_session=text_or_none(doc.get("parent_session")),
        written_at_raw=text_or_none(doc.get("updated_at")),
    )


FORMAT = DocumentFormat(
    name="baton-v1",
    version=VERSION,
    detection="a JSON object with schema_version 1 (or no schema_version, a session_id and v1 sections as lists)",
    description="Session Baton v1 baton: open_loops, follow_ups, patterns, active_decisions, context.",
    detect=lambda doc, record: is_v1_baton(doc),
    unwrap=lambda doc, record: unwrap_v1(doc),
)
