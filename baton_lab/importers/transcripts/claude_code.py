"""Claude Code session transcripts (`~/.claude/projects/<project>/<sessionId>.jsonl`, formats.md §2).

Baton calls are assistant `tool_use` blocks: `Bash` whose command calls `/v1/baton/read|write`, or MCP tools
`mcp__<server>__amh_baton_read|write`. Results are `tool_result` blocks in later `user` records, paired by
`tool_use_id` (Bash output from `toolUseResult.stdout` when present, else the block's text). `Write` tool
calls are not scanned for: when `curl -d @file` names a file, the transcript is searched back for the
`Write` (or heredoc) that created it. Unknown record types are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Iterator

from ..base import Record, SourceInfo
from .calls import BatonCall, CallResult, Pairing, call_id, id_markers
from .curl import parse_command
from .scan import candidate_lines, find_lines

NAME = "claude-code-transcript"
VERSION = "1"
RECORD_TYPES = {"user", "assistant", "system", "summary", "file-history-snapshot", "queue-operation", "attachment",
                "progress", "result"}
STATIC_MARKERS = (b"/v1/baton/", b"amh_baton_")
MCP_TOOL = re.compile(r"^mcp__.+__amh_baton_(read|write)$")
PROVENANCE_KEYS = ("sessionId", "cwd", "gitBranch", "version", "isSidechain", "agentId")


def looks_like(record: Any) -> bool:
    """A first record of a Claude Code transcript."""
    return (isinstance(record, dict) and isinstance(record.get("type"), str) and record["type"] in RECORD_TYPES
            and any(key in record for key in ("sessionId", "uuid", "leafUuid")))


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(block.get("text", "") for block in content if isinstance(block, dict) and block.get("type") == "text")
    return ""


class WrittenFiles(Mapping[str, str]):
    """Files the session wrote before a given offset, looked up on demand: the `Write` tool call (or a
    Bash heredoc `cat > FILE`) that last wrote the path. Only `curl -d @file` asks, so the main scan does
    not have to parse every Write."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.before = 0

    def __getitem__(self, key: str) -> str:
        needle = json.dumps(key, ensure_ascii=False)[1:-1].encode()
        with open(self.path, "rb") as handle:
            for line in find_lines(handle, needle, self.before):
                content = _written_content(line, key)
                if content is not None:
                    return content
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _written_content(line: bytes, path: str) -> str | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, a 4,300+-digit integer
        return None
    message = record.get("message") if isinstance(record, dict) and isinstance(record.get("message"), dict) else {}
    content = message.get("content") if record.get("type") == "assistant" else None
    for block in reversed(content if isinstance(content, list) else []):
        if not (isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("input"), dict)):
            continue
        args = block["input"]
        if block.get("name") == "Write" and args.get("file_path") == path and isinstance(args.get("content"), str):
            return args["content"]
        if block.get("name") == "Bash" and isinstance(args.get("command"), str):
            written = parse_command(args["command"], {}, record.get("cwd")).files
            if path in written:
                return written[path]
    return None


def read(path: str, info: SourceInfo) -> Iterator[Record]:
    pairing = Pairing(info, "claude-code")
    files = WrittenFiles(path)
    watching = STATIC_MARKERS  # plus the ids of calls waiting for their result

    def markers() -> tuple[bytes, ...]:
        return watching

    with open(path, "rb") as handle:
        for number, offset, line in candidate_lines(handle, markers):
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):  # not JSON, not UTF-8, a 4,300+-digit integer
                continue  # a torn line that mentions a marker: nothing callable in it
            if not isinstance(record, dict):
                continue
            kind = record.get("type")
            message = record.get("message") if isinstance(record.get("message"), dict) else {}
            content = message.get("content")
            if kind == "assistant" and isinstance(content, list):
                files.before = offset
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_use":
                        _tool_use(block, record, number, pairing, files)
            elif kind == "user" and isinstance(content, list) and pairing.pending:
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result" \
                            and call_id(block.get("tool_use_id")) in pairing.pending:
                        result = _result(block, record, number)
                        yield from pairing.result(call_id(block.get("tool_use_id")), result)
            watching = STATIC_MARKERS + tuple(marker for key in pairing.pending for marker in id_markers(key))
    yield from pairing.finish()


def _tool_use(block: dict[str, Any], record: dict[str, Any], number: int, pairing: Pairing, files: Mapping[str, str]) -> None:
    name, tool_id = call_id(block.get("name")), call_id(block.get("id"))
    args = block.get("input") if isinstance(block.get("input"), dict) else {}
    provenance = {key: record[key] for key in PROVENANCE_KEYS if record.get(key) is not None}
    stamp = record.get("timestamp")
    mcp = MCP_TOOL.match(name)
    if mcp:
        op = mcp.group(1)
        payload = {key: args[key] for key in ("namespace", "baton", "expected_revision") if key in args}
        problem = None if op == "read" or isinstance(args.get("baton"), dict) else "unrecoverable payload: no baton object in the MCP input"
        pairing.add(BatonCall(tool_id, op, "mcp", payload, problem, number, stamp, provenance))
        return
    command = args.get("command")
    if name == "Bash" and isinstance(command, str) and "/v1/baton/" in command:
        parsed = parse_command(command, files, record.get("cwd"))
        for index, call in enumerate(parsed.calls):
            via = "curl" if call.problem is None or "not curl" not in call.problem else "script"
            pairing.add(BatonCall(tool_id, call.op, via, call.payload, call.problem, number, stamp, provenance,
                                  index=index, siblings=len(parsed.calls)))


def _result(block: dict[str, Any], record: dict[str, Any], number: int) -> CallResult:
    is_error = bool(block.get("is_error"))
    tool_result = record.get("toolUseResult")
    if isinstance(tool_result, dict) and isinstance(tool_result.get("stdout"), str):
        text = tool_result["stdout"]
        if is_error and tool_result.get("stderr"):
            text = f"{text}\n{tool_result['stderr']}"
    else:
        text = _text_of(block.get("content"))
    return CallResult(text, is_error, number, record.get("timestamp"))
