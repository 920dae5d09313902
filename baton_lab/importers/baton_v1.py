"""Session Baton v1 JSON (`schema_version: 1`), as session-baton 0.1's pydantic `Baton` writes it."""

from __future__ import annotations

from typing import Any

from ._shape import is_v1_baton
from .base import Record
from .contract import Format, NotThisFormat, Observation
from .session_baton import V1_RULES, v1_observation

VERSION = "1"


def read(doc: Any, record: Record) -> Observation:
    if not isinstance(doc, dict):
        raise NotThisFormat("a v1 baton is a JSON object")
    return v1_observation(doc)


FORMAT = Format(
    name="baton-v1",
    version=VERSION,
    detection="a JSON object with schema_version 1 (or no schema_version, a session_id and v1 sections as lists)",
    description="Session Baton v1 baton: open_loops, follow_ups, patterns, active_decisions, context.",
    detect=lambda doc, record: is_v1_baton(doc),
    read=read,
    rules=V1_RULES,
)
