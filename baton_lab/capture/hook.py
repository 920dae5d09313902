"""The JSON a Claude Code hook receives on stdin (SessionEnd, Stop, ...):
`{"session_id", "transcript_path", "cwd", "hook_event_name", "reason"?}`. Parsing never fails: a hook
must not break the agent's session, so unreadable input just means no session attribution."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class HookInput:
    session_id: str | None = None
    transcript_path: str | None = None
    cwd: str | None = None
    event: str | None = None
    reason: str | None = None
    problem: str | None = None  # why the input could not be read, when it could not

    def provenance(self) -> dict[str, Any]:
        values = {"hook_session_id": self.session_id, "hook_event": self.event, "transcript_path": self.transcript_path,
                  "hook_cwd": self.cwd, "hook_reason": self.reason}
        return {key: value for key, value in values.items() if value is not None}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_hook(stdin_text: str | None) -> HookInput:
    if not stdin_text or not stdin_text.strip():
        return HookInput(problem="no hook input on stdin")
    try:
        data = json.loads(stdin_text)
    except json.JSONDecodeError as exc:
        return HookInput(problem=f"hook input is not JSON: {exc.msg}")
    if not isinstance(data, dict):
        return HookInput(problem="hook input is not a JSON object")
    return HookInput(session_id=_text(data.get("session_id")), transcript_path=_text(data.get("transcript_path")),
                     cwd=_text(data.get("cwd")), event=_text(data.get("hook_event_name")), reason=_text(data.get("reason")))
