"""The `/v1/baton/read` response (session-baton server and memhall): `{"baton", "namespace", "updated_at", "revision"?}`.

The envelope's `updated_at` is the server's write time, so it is an observation, not the agent's claim.
memhall's 409 conflict body (`detail.current_baton`) carries the current baton too and is accepted here.
"""

from __future__ import annotations

from typing import Any

from ._shape import int_or_none, is_v1_baton, is_v2_baton, text_or_none
from .base import Record
from .contract import EmptyRead, Format, NotThisFormat, Unwrapped
from .session_baton import RULES_BY_VERSION, V1_RULES, v1_observation, v2_observation

VERSION = "1"


def _conflict_body(doc: dict[str, Any]) -> dict[str, Any] | None:
    detail = doc.get("detail") if isinstance(doc.get("detail"), dict) else doc
    if str(detail.get("error", "")).endswith("revision_conflict"):
        return detail
    return None


def detect(doc: Any, record: Record) -> bool:
    if not isinstance(doc, dict):
        return False
    if "baton" in doc and ("namespace" in doc or "updated_at" in doc) and (doc["baton"] is None or isinstance(doc["baton"], dict)):
        return True
    return _conflict_body(doc) is not None


def read(doc: Any, record: Record) -> Unwrapped:
    if not isinstance(doc, dict):
        raise NotThisFormat("an API envelope is a JSON object")
    conflict = _conflict_body(doc)
    if conflict is not None:
        # memhall: current_baton/current_updated_at/current_revision; SPEC-v2 text: baton/current_revision.
        baton = conflict.get("current_baton", conflict.get("baton"))
        updated_at = conflict.get("current_updated_at")
        revision = conflict.get("current_revision")
    else:
        baton, updated_at, revision = doc.get("baton"), doc.get("updated_at"), doc.get("revision")
    namespace = text_or_none(doc.get("namespace") or (conflict or {}).get("namespace"))
    if baton is None:
        return EmptyRead(namespace=namespace)
    if is_v2_baton(baton):
        inner = v2_observation(baton)
    elif is_v1_baton(baton):
        inner = v1_observation(baton)
    else:
        raise NotThisFormat("the envelope's `baton` is neither a v1 nor a v2 baton")
    inner.namespace = namespace or inner.namespace
    inner.observed_at_raw = text_or_none(updated_at)
    inner.observed_kind = "server"
    if int_or_none(revision) is not None:
        inner.revision = int_or_none(revision)
    return inner


FORMAT = Format(
    name="api-envelope",
    version=VERSION,
    detection='a JSON object with "baton" (object or null) and "namespace"/"updated_at"; or a 409 body with error *revision_conflict',
    description="Response of POST /v1/baton/read (session-baton, memhall), and memhall's 409 conflict body.",
    detect=detect,
    read=read,
    rules=V1_RULES,
    rules_by_version=RULES_BY_VERSION,
)
