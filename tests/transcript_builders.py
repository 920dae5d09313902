"""Claude Code transcripts and Codex rollouts built line by line, with the record shapes of formats.md §2 and §11."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

API = "http://127.0.0.1:9101/v1/baton"
AUTH = '-H "Authorization: Bearer $BATON_API_TOKEN" -H \'Content-Type: application/json\''


def sq(text: str) -> str:
    """POSIX single quotes: an embedded ' becomes '\\'' ."""
    return "'" + text.replace("'", "'\\''") + "'"


def compact(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def curl_read(namespace: str, auth: str = AUTH) -> str:
    return f"curl -s -X POST {API}/read {auth} -d {sq(compact({'namespace': namespace}))}"


def curl_write(namespace: str, baton: dict[str, Any], auth: str = AUTH, **extra: Any) -> str:
    return f"curl -s -X POST {API}/write {auth} -d {sq(compact({'namespace': namespace, 'baton': baton, **extra}))}"


class ClaudeTranscript:
    """Lines of one Claude Code session; `call` adds an assistant tool_use and (optionally) its user tool_result."""

    def __init__(self, session: str = "6f1c2d3e-0000-4000-8000-000000000001", cwd: str = "/home/dev/proj",
                 branch: str = "main", start: str = "2026-06-17T09:00") -> None:
        self.session, self.cwd, self.branch = session, cwd, branch
        self.lines: list[dict[str, Any]] = []
        self.start, self.minute, self.n = start, 0, 0

    def _stamp(self) -> str:
        self.minute += 1
        return f"{self.start}:{self.minute:02d}.000Z"

    def _envelope(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.n += 1
        return {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": self.cwd,
                "sessionId": self.session, "version": "2.1.14", "gitBranch": self.branch, "type": kind,
                "uuid": f"u-{self.n}", "timestamp": self._stamp(), **fields}

    def raw(self, record: dict[str, Any]) -> "ClaudeTranscript":
        self.lines.append(record)
        return self

    def prompt(self, text: str) -> "ClaudeTranscript":
        self.lines.append(self._envelope("user", message={"role": "user", "content": text}))
        return self

    def tool_use(self, tool_id: str, name: str, args: dict[str, Any]) -> "ClaudeTranscript":
        self.lines.append(self._envelope("assistant", requestId="req", message={
            "id": f"msg-{tool_id}", "model": "claude-opus-4-5", "role": "assistant", "stop_reason": "tool_use",
            "content": [{"type": "tool_use", "id": tool_id, "name": name, "input": args}],
            "usage": {"input_tokens": 10, "output_tokens": 5}}))
        return self

    def tool_result(self, tool_id: str, output: str, *, is_error: bool = False, bash: bool = True) -> "ClaudeTranscript":
        result: Any = ({"stdout": output, "stderr": "", "interrupted": False, "isImage": False} if bash and not is_error
                       else (f"Error: {output}" if bash else [{"type": "text", "text": output}]))
        self.lines.append(self._envelope("user", message={"role": "user", "content": [
            {"tool_use_id": tool_id, "type": "tool_result", "content": output, "is_error": is_error}]},
            toolUseResult=result, sourceToolAssistantUUID=f"u-{self.n}"))
        return self

    def bash(self, tool_id: str, command: str, output: str | None, *, is_error: bool = False) -> "ClaudeTranscript":
        self.tool_use(tool_id, "Bash", {"command": command, "description": "baton"})
        return self if output is None else self.tool_result(tool_id, output, is_error=is_error)

    def mcp(self, tool_id: str, tool: str, args: dict[str, Any], output: str | None) -> "ClaudeTranscript":
        self.tool_use(tool_id, f"mcp__amh__{tool}", args)
        if output is not None:
            self.lines.append(self._envelope("user", message={"role": "user", "content": [
                {"tool_use_id": tool_id, "type": "tool_result", "content": [{"type": "text", "text": output}]}]},
                toolUseResult=[{"type": "text", "text": output}]))
        return self

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in self.lines), encoding="utf-8")
        return path


class CodexRollout:
    def __init__(self, session: str = "019b64e5-57fa-7463-b644-fba7e456f905", cwd: str = "/home/dev/proj") -> None:
        self.lines: list[dict[str, Any]] = [
            {"timestamp": "2026-06-18T08:00:00.000Z", "type": "session_meta",
             "payload": {"id": session, "timestamp": "2026-06-18T08:00:00.000Z", "cwd": cwd, "originator": "codex_cli_rs",
                         "cli_version": "0.77.0", "instructions": None, "source": "cli", "model_provider": "openai",
                         "git": {"commit_hash": "abc123", "branch": "feature/x", "repository_url": "git@github.com:me/proj.git"}}},
            {"timestamp": "2026-06-18T08:00:01.000Z", "type": "turn_context",
             "payload": {"cwd": cwd, "approval_policy": "on-request", "sandbox_policy": {"type": "workspace-write"},
                         "model": "gpt-5-codex", "effort": "medium", "summary": "auto"}},
        ]
        self.second = 1

    def _stamp(self) -> str:
        self.second += 1
        return f"2026-06-18T08:00:{self.second:02d}.000Z"

    def item(self, payload: dict[str, Any], kind: str = "response_item") -> "CodexRollout":
        self.lines.append({"timestamp": self._stamp(), "type": kind, "payload": payload})
        return self

    def shell(self, call_id: str, script: str, output: str | None, *, exit_code: int = 0, exec_command: bool = False
              ) -> "CodexRollout":
        args = {"cmd": script} if exec_command else {"command": ["bash", "-lc", script], "timeout_ms": 120000}
        self.item({"type": "function_call", "name": "exec_command" if exec_command else "shell",
                   "arguments": json.dumps(args), "call_id": call_id})
        if output is not None:
            if exec_command:
                text = f"Exit code: {exit_code}\nWall time: 0.2 seconds\nOutput:\n{output}"
            else:
                text = json.dumps({"output": output, "metadata": {"exit_code": exit_code, "duration_seconds": 0.2}})
            self.item({"type": "function_call_output", "call_id": call_id, "output": text})
        return self

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in self.lines), encoding="utf-8")
        return path
