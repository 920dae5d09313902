"""Claude Code session transcripts whose Bash `curl` calls read and write the baton.

Layout mirrors `~/.claude/projects/<cwd with non-alphanumerics as '-'>/<sessionId>.jsonl`. Each
Claude Code session reads the baton at the start (the tool result carries the API envelope with the
previous state), runs the machine checks of the loops it verifies, and writes the baton at the end
with `curl -d '<JSON>'`, single-quoted so `shlex.split` recovers the payload. Sessions run by Codex
(`writer == "codex"`) leave no Claude transcript; a few writes are python one-liners whose payload
cannot be recovered (`payload_recoverable` in truth/sessions).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..model import SessionSnapshot
from ..text import namespace_safe
from .files import compact

API = "http://127.0.0.1:9101/v1/baton"
AUTH = '-H "Authorization: Bearer $BATON_API_TOKEN" -H \'Content-Type: application/json\''
VERSION = "2.1.14"
MODEL = "claude-opus-4-5-20251101"


def shell_quote(value: str) -> str:
    """POSIX single quotes; an embedded ' becomes '\\'' ."""
    return "'" + value.replace("'", "'\\''") + "'"


def read_command(namespace: str) -> str:
    return f"curl -s -X POST {API}/read {AUTH} -d {shell_quote(compact({'namespace': namespace}))}"


def write_command(namespace: str, baton: dict[str, Any]) -> str:
    payload = compact({"namespace": namespace, "baton": baton})
    return f"curl -s -X POST {API}/write {AUTH} -d {shell_quote(payload)}"


def unrecoverable_write_command(namespace: str) -> str:
    return (
        'python3 -c "import json,os,urllib.request; b=json.load(open(\'/tmp/baton-next.json\')); '
        f"req=urllib.request.Request('{API}/write', data=json.dumps({{'namespace': '{namespace}', 'baton': b}}).encode(), "
        "headers={'Authorization': 'Bearer '+os.environ['BATON_API_TOKEN'], 'Content-Type': 'application/json'}); "
        'print(urllib.request.urlopen(req).read().decode())"'
    )


def check_command(method: str, verify: dict[str, Any]) -> tuple[str, str, str]:
    """(command, stdout if the check passes, stdout if it fails)."""
    if method == "http":
        return (f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 {verify['url']}", "200", "503")
    if method == "file_exists":
        return (f"test -f {verify['path']} && echo present || echo missing", "present", "missing")
    return (f"pgrep -x {verify['process_name']} >/dev/null && echo running || echo 'not running'", "running", "not running")


def derived_uuid(*parts: object) -> str:
    key = "|".join(str(p) for p in parts).encode()
    return str(uuid.UUID(bytes=hashlib.blake2b(key, digest_size=16).digest(), version=4))


def claude_session_id(salt: str, namespace: str, seq: int) -> str:
    """The Claude Code `sessionId` of a session's transcript (a UUID fixed by seed, namespace, seq)."""
    return derived_uuid(salt, namespace, seq, "session")


def _stamp(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class TranscriptWriter:
    def __init__(self, root: Path, namespace: str, salt: str) -> None:
        self.namespace, self.salt = namespace, salt
        self.cwd = f"/home/dev/{namespace_safe(namespace)}"
        self.dir = root / re.sub(r"[^A-Za-z0-9]", "-", self.cwd)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.previous: SessionSnapshot | None = None
        self.count = 0

    def _uuid(self, *parts: object) -> str:
        return derived_uuid(self.salt, self.namespace, *parts)

    def _token(self, prefix: str, *parts: object) -> str:
        key = "|".join(str(p) for p in (self.salt, self.namespace, prefix, *parts)).encode()
        return prefix + hashlib.blake2b(key, digest_size=12).hexdigest()

    def add(self, snap: SessionSnapshot) -> None:
        previous, self.previous = self.previous, snap
        if snap.writer != "claude-code":
            return
        session = claude_session_id(self.salt, self.namespace, snap.seq)
        records: list[dict[str, Any]] = []
        clock = snap.started_at
        span = (snap.written_at - snap.started_at) / 8
        parent: list[str | None] = [None]
        n = [0]

        def envelope(kind: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
            nonlocal clock
            n[0] += 1
            clock = clock + timedelta(milliseconds=700 + 37 * n[0])
            record = {
                "parentUuid": parent[0],
                "isSidechain": False,
                "userType": "external",
                "cwd": self.cwd,
                "sessionId": session,
                "version": VERSION,
                "gitBranch": "main",
                "type": kind,
                "message": message,
                "uuid": self._uuid(snap.seq, n[0]),
                "timestamp": _stamp(clock),
                **extra,
            }
            parent[0] = record["uuid"]
            records.append(record)
            return record

        def assistant(content: list[dict[str, Any]]) -> dict[str, Any]:
            return envelope(
                "assistant",
                {
                    "model": MODEL,
                    "id": self._token("msg_01", snap.seq, n[0]),
                    "type": "message",
                    "role": "assistant",
                    "content": content,
                    "stop_reason": "tool_use" if content[-1]["type"] == "tool_use" else "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 4, "output_tokens": 120},
                },
                requestId=self._token("req_011", snap.seq, n[0]),
            )

        def bash(command: str, description: str, stdout: str) -> None:
            tool_id = self._token("toolu_01", snap.seq, n[0])
            call = assistant([{"type": "tool_use", "id": tool_id, "name": "Bash",
                               "input": {"command": command, "description": description}}])
            envelope(
                "user",
                {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result", "content": stdout, "is_error": False}]},
                toolUseResult={"stdout": stdout, "stderr": "", "interrupted": False, "isImage": False},
                sourceToolAssistantUUID=call["uuid"],
            )

        envelope("user", {"role": "user", "content": f"Continue the work in {self.namespace}. Start by reading the baton."})
        read_out = {
            "baton": previous.v1 if previous else None,
            "namespace": self.namespace,
            "updated_at": previous.server_updated_at if previous else None,
        }
        bash(read_command(self.namespace), "Read the baton", compact(read_out))
        clock += span
        for loop_id, method, verify, status in snap.checks:
            if method in ("http", "file_exists", "process_running"):
                command, ok, bad = check_command(method, verify or {})
                bash(command, f"Verify {loop_id}", ok if status == "verified" else bad)
            else:
                assistant([{"type": "text", "text": f"{loop_id} has no machine check; marking it {status}."}])
            clock += span / max(len(snap.checks), 1)
        assistant([{"type": "text", "text": snap.v1["context"]}])
        if snap.payload_recoverable:
            command = write_command(self.namespace, snap.v1)
        else:
            command = unrecoverable_write_command(self.namespace)
        clock = max(clock, snap.written_at - timedelta(seconds=3))
        result = {"ok": True, "updated_at": snap.server_updated_at, "namespace": self.namespace}
        bash(command, "Write the baton", compact(result))
        with open(self.dir / f"{session}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.count += 1

    def close(self) -> int:
        return self.count
