"""The local cache file `~/.claude/loop/batons/{namespace}.json`: a baton plus `_sync_status`.

`_sync_status` is a transport field: it is recorded on the snapshot but left out of the content hash,
so the same baton seen in the cache and in a snapshot directory is one snapshot.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from ._shape import text_or_none
from .base import Record
from .contract import Format, NotThisFormat, Observation
from .session_baton import RULES_BY_VERSION, V1_RULES, baton_observation

VERSION = "1"
TRANSPORT_FIELDS = ("_sync_status",)


def namespace_from_filename(uri: str) -> str:
    """session-baton writes `/` and `:` as `_`; the file stem is the namespace as the cache spells it."""
    return PurePath(uri.split("#", 1)[0]).stem


def read(doc: Any, record: Record) -> Observation:
    if not isinstance(doc, dict):
        raise NotThisFormat("a cache file holds a JSON object")
    baton = {key: value for key, value in doc.items() if key not in TRANSPORT_FIELDS}
    inner = baton_observation(baton)
    inner.sync_status = text_or_none(doc.get("_sync_status"))
    inner.namespace = inner.namespace or namespace_from_filename(record.source.uri)
    return inner


FORMAT = Format(
    name="local-cache",
    version=VERSION,
    detection='a baton object carrying "_sync_status" (synced | pending_upload)',
    description="session-baton's local cache file ~/.claude/loop/batons/{namespace}.json; namespace from the file name.",
    detect=lambda doc, record: isinstance(doc, dict) and "_sync_status" in doc,
    read=read,
    rules=V1_RULES,
    rules_by_version=RULES_BY_VERSION,
)
