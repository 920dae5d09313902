"""What every capture source hands to the import: the bytes of one namespace's current state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import BatonLabError


class CaptureFailed(BatonLabError):
    """The source could not be read (server down, bad token, unreadable file). Recorded in `captures`."""

    hint = "the failure is recorded in the `captures` table; nothing already in the store is affected."


@dataclass(slots=True)
class Fetched:
    """One namespace's state as read: an API envelope (HTTP, SQLite) or a cache file's bytes."""

    namespace: str | None
    data: bytes
    uri: str
    tenant_id: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
