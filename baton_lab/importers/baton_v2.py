"""Session Baton v2 JSON (SPEC-v2 draft): `_meta`, `*.entries`, `anti_patterns`, `session_bridge`, `infra_state`."""

from __future__ import annotations

from typing import Any

from ._shape import is_v2_baton
from .base import Record
from .contract import Format, NotThisFormat, Observation
from .session_baton import V2_RULES, v2_observation

VERSION = "2.0-draft"


def read(doc: Any, record: Record) -> Observation:
    if not isinstance(doc, dict):
        raise NotThisFormat("a v2 baton is a JSON object")
    return v2_observation(doc)


FORMAT = Format(
    name="baton-v2",
    version=VERSION,
    detection="a JSON object whose _meta.schema_version starts with 2 (or with open_loops/anti_patterns as objects)",
    description="Session Baton v2 draft baton: _meta.revision, *.entries, anti_patterns, session_bridge, infra_state.",
    detect=lambda doc, record: is_v2_baton(doc),
    read=read,
    rules=V2_RULES,
)
