"""Codex CLI rollouts (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`, formats.md §11).

Each line is `{"timestamp", "type", "payload"}`. Baton calls are `response_item` payloads of type
`function_call` (`shell` with `{"command": ["bash", "-lc", "…"]}`, `exec_command` with `cmd`, MCP tools
named `…amh_baton_read|write`) or `local_shell_call`; results are `function_call_output` (output may itself
be JSON `{"output", "metadata": {"exit_code"}}`), paired by `call_id`. `session_meta` and `turn_context`
give the session id, cwd, branch and CLI version. Unknown types are skipped.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any, Iterator

from ..base import Record, SourceInfo
from .calls import BatonCall, CallResult, Pairing, call_id, id_markers
from .curl import parse_command
from .scan import candidate_lines

NAME = "codex-rollout"
VERSION = "1"
RECORD_TYPES = {"session_meta", "response_item", "event_msg", "turn_context", "compacted", "world_state"}
STATIC_MARKERS = (b"/v1/baton/", b"amh_baton_", b'"session_meta"', b'"turn_context"')
MCP_TOOL = re.compile(r"amh_baton_(read|write)$")
SHELLS = {"bash", "sh", "zsh", "/bin/bash", "/bin/sh", "/bin/zsh", "/usr/bin/bash"}
OUTPUT_TYPES = {"function_call_output", "custom_tool_call_output", "local_shell_call_output"}


def looks_like(record: Any) -> bool:
    return (isinstance(record, dict) and {"timestamp", "type", "payload"} <= set(record)
            and isinstance(record["type"], str) and record["type"] in RECORD_TYPES)


def _script(command: Any) -> str | None:
    """The shell text of a `command` argv (`["bash", "-lc", "…"]`) or a plain string."""
    if isinstance(command, str):
        return command
    if isinstance(command, list) and all(isinstance(part, str) for part in command) and command:
        if command[0] in SHELLS and len(command) >= 3 and command[1] in ("-lc", "-c", "-l", "-ic"):
            return command[-1]
        return shlex.join(command)
    return None


def _arguments(payload: dict[str, Any]) -> dict[str, Any]:
    raw = payload.get("arguments", payload.get("input"))
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON (or a 4,300+-digit integer)
            return {"cmd": raw}
        return value if isinstance(value, dict) else {}
    return {}


def _output(raw: Any) -> tuple[str, int | None]:
    """Tool output text and exit code: JSON `{"output", "metadata": {"exit_code"}}`, the newer
    `Exit code: N … Output:` text, or plain text."""
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON (or a 4,300+-digit integer)
            value = raw
    else:
        value = raw
    if isinstance(value, dict) and "output" in value:
        metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
        code = metadata.get("exit_code")
        return str(value.get("output") or ""), code if isinstance(code, int) else None
    text = value if isinstance(value, str) else json.dumps(value)
    match = re.match(r"Exit code: (\d+)\n(?:.*\n)*?Output:\n", text)
    if match:
        return text[match.end():], int(match.group(1))
    return text, None


def read(path: str, info: SourceInfo) -> Iterator[Record]:
    pairing = Pairing(info, "codex")
    session: dict[str, Any] = {}
    watching = STATIC_MARKERS

    def markers() -> tuple[bytes, ...]:
        return watching

    with open(path, "rb") as handle:
        for number, _offset, line in candidate_lines(handle, markers):
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):  # not JSON, not UTF-8, a 4,300+-digit integer
                continue
            if not isinstance(record, dict) or not isinstance(record.get("payload"), dict):
                continue
            kind, payload, stamp = record.get("type"), record["payload"], record.get("timestamp")
            if kind == "session_meta":
                git = payload.get("git") if isinstance(payload.get("git"), dict) else {}
                session.update({"sessionId": payload.get("id"), "cwd": payload.get("cwd"), "gitBranch": git.get("branch"),
                                "version": payload.get("cli_version"), "originator": payload.get("originator")})
            elif kind == "turn_context" and payload.get("cwd"):
                session["cwd"] = payload["cwd"]
            elif kind == "response_item":
                item = payload.get("type")
                if item in ("function_call", "custom_tool_call", "local_shell_call"):
                    _call(payload, {k: v for k, v in session.items() if v is not None}, stamp, number, pairing)
                elif item in OUTPUT_TYPES and call_id(payload.get("call_id")) in pairing.pending:
                    text, code = _output(payload.get("output"))
                    result = CallResult(text, False, number, stamp, exit_code=code)
                    yield from pairing.result(call_id(payload.get("call_id")), result)
            watching = STATIC_MARKERS + tuple(marker for key in pairing.pending for marker in id_markers(key))
    yield from pairing.finish()


def _call(payload: dict[str, Any], provenance: dict[str, Any], stamp: str | None, number: int, pairing: Pairing) -> None:
    tool_id, name = call_id(payload.get("call_id") or payload.get("id")), call_id(payload.get("name"))
    mcp = MCP_TOOL.search(name)
    if mcp:
        args = _arguments(payload)
        op = mcp.group(1)
        problem = None if op == "read" or isinstance(args.get("baton"), dict) else "unrecoverable payload: no baton object in the MCP input"
        body = {key: args[key] for key in ("namespace", "baton", "expected_revision") if key in args}
        pairing.add(BatonCall(tool_id, op, "mcp", body, problem, number, stamp, provenance))
        return
    if payload.get("type") == "local_shell_call":
        action = payload.get("action") if isinstance(payload.get("action"), dict) else {}
        script = _script(action.get("command"))
    else:
        args = _arguments(payload)
        script = _script(args.get("command", args.get("cmd")))
    if not script or "/v1/baton/" not in script:
        return
    parsed = parse_command(script, {}, provenance.get("cwd"))
    for index, call in enumerate(parsed.calls):
        via = "curl" if call.problem is None or "not curl" not in call.problem else "script"
        pairing.add(BatonCall(tool_id, call.op, via, call.payload, call.problem, number, stamp, provenance,
                              index=index, siblings=len(parsed.calls)))
