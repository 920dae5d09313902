"""Session transcripts as sources of baton history: every read and write an agent made through the API.

`sniff(path)` recognises a Claude Code transcript or a Codex rollout by its first records; `reader(path,
kind)` turns it into a `SourceReader` whose records are the baton states the transcript shows (writes,
reads, 409 conflict bodies) and the calls that could not be replayed (as errors, so they are counted and
quarantined). The file is streamed: only lines that mention a baton endpoint, an MCP baton tool, a Write,
or the id of a call still waiting for its result are parsed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ...errors import InputNotFound, UnknownFormat

from ..base import SourceInfo, SourceReader
from ..files import hash_file, natural_key
from ..sources import SourceKind
from . import claude_code, codex

KINDS = {
    claude_code.NAME: claude_code,
    codex.NAME: codex,
}

SOURCES = {
    claude_code.NAME: {
        "version": claude_code.VERSION,
        "detection": "a .jsonl whose first records have type user/assistant/summary/queue-operation/... and sessionId or uuid",
        "description": "Claude Code session transcript (~/.claude/projects/**/*.jsonl): Bash curl and MCP amh_baton_* "
                       "reads/writes paired with their tool_result by tool_use_id.",
    },
    codex.NAME: {
        "version": codex.VERSION,
        "detection": 'a .jsonl whose first records are {"timestamp", "type": session_meta|response_item|..., "payload"}',
        "description": "Codex CLI rollout (~/.codex/sessions/**/rollout-*.jsonl): shell/exec_command function calls "
                       "paired with function_call_output by call_id.",
    },
}

KINDS_DECLARED = tuple(SourceKind(name, "transcript", spec["version"], spec["detection"], spec["description"])
                       for name, spec in SOURCES.items())

SNIFF_LINES = 5
SNIFF_LINE_BYTES = 1 << 20


def sniff(path: str | Path) -> str | None:
    """The transcript kind of a file, from its first few records; None when it is not a transcript."""
    try:
        with open(path, "rb") as handle:
            seen = 0
            while seen < SNIFF_LINES:
                line = handle.readline(SNIFF_LINE_BYTES)
                if not line:
                    return None
                if not line.strip():
                    continue
                seen += 1
                try:
                    record = json.loads(line.decode("utf-8-sig"))
                except (ValueError, RecursionError):  # not JSON, not UTF-8, a 4,300+-digit integer
                    return None
                for name, module in KINDS.items():
                    if module.looks_like(record):
                        return name
                if not isinstance(record, dict) or "type" not in record:
                    return None
    except OSError:
        return None
    return None


def reader(path: Path, kind: str, sha256: str, size: int) -> SourceReader:
    module = KINDS[kind]
    info = SourceInfo(uri=str(path), sha256=sha256, size_bytes=size, container=kind, container_version=module.VERSION)
    return SourceReader(info, lambda: module.read(str(path), info))


def iter_transcript_sources(paths: list, skipped: list[str] | None = None, *, kind: str | None = None):
    """A reader per transcript under `paths` (files, or directories searched for *.jsonl, e.g. ~/.claude/projects).
    Files that are not transcripts are listed in `skipped` (a forced `kind` reads every file as that kind)."""
    if kind is not None and kind not in KINDS:
        raise UnknownFormat(f"unknown transcript kind {kind!r}; known: {', '.join(KINDS)}")
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputNotFound(f"no such file or directory: {path}")
        if path.is_file():
            files = [path]
        else:
            files = sorted((Path(root) / name for root, dirs, names in os.walk(path)
                            for name in names if name.endswith(".jsonl")), key=natural_key)
        for file in files:
            found = kind or sniff(file)
            if found is None:
                if skipped is not None:
                    skipped.append(str(file))
                continue
            sha, size = hash_file(file)
            yield reader(file, found, sha, size)


__all__ = ["KINDS", "SOURCES", "iter_transcript_sources", "reader", "sniff"]
