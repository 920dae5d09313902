"""Rework triggered by failing test runs in a loop's transcripts: "2/8 FAIL → retry → 8/8 PASS", seen from the
session's side.

A test run is a shell call whose command runs a test tool (pytest, npm/yarn/pnpm/bun test, vitest, jest, go test,
cargo test, make test, tox, …) in a Claude Code transcript (`Bash` tool_use + its tool_result) or a Codex rollout
(`shell`/`exec_command` function_call + its output). It failed when the result says so: an error result or a
non-zero exit code, or an output reporting failures (`3 failed`, `FAILED`, `--- FAIL`, `Tests: 2 failed`,
`test result: FAILED`, `2/8 FAIL`). It is green when it ran and none of that holds.

The files a failure is about: the source files its output names (`tests/test_api.py::test_x FAILED`,
`FAIL src/cart.test.ts`) and the files the session edited before it (Edit/Write/MultiEdit, Codex `apply_patch`),
as paths relative to the session's checkout. The follow-up commits are the repository's commits of the same
checkout (the transcript's cwd ends in the repository's directory name), by the same tool (a Claude Code transcript:
Claude or Gas Town changes; a Codex rollout: Codex changes), after the failure and at most `AFTER_GREEN_H` hours
after the next green run of the same command in the session (`UNTIL_H` hours when none came), touching one of
those files. With the last such commit before the failure (the change under test) they form a rework chain of
one loop, trigger `test_failure`; a chain of fewer than two commits is no rework the history can show.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from .._timeparse import parse_time

AFTER_GREEN_H = 1
UNTIL_H = 6
TEST_COMMAND = re.compile(
    r"(?<![\w-])(pytest|py\.test|tox|nox|vitest|jest|mocha|rspec|phpunit|ctest|"
    r"(npm|yarn|pnpm|bun)( run)? test|deno test|go test|cargo (test|nextest)|mvn( -\S+)* test|gradle\w* test|"
    r"make (test|check)|dotnet test|unittest)(?![\w-])")
FAILED_OUTPUT = re.compile(
    r"(?im)\b\d+ (failed|failing|failures?|errors?)\b|\bFAILED\b|^FAIL\b|--- FAIL|Tests:\s+\d+ failed|"
    r"test result: FAILED|\b\d+/\d+ (FAIL|failed)\b|\bAssertionError\b")
ZERO_FAILURES = re.compile(r"(?i)\b0 (failed|failing|failures?|errors?)\b")
SOURCE_PATH = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]+\.(?:py|pyi|ts|tsx|js|jsx|mjs|cjs|go|rs|java|kt|rb|php|cs|"
                         r"swift|c|cc|cpp|h|hpp|scala|ex|exs|clj|vue|svelte))(?=[\s:(),'\"]|$)")
PATCH_FILE = re.compile(r"(?m)^\*\*\* (?:Update|Add|Delete) File: (\S+)")
EDIT_TOOLS = {"Edit", "Write", "MultiEdit", "NotebookEdit"}


@dataclass
class TestRun:
    session_id: str | None
    tool: str               # claude | codex
    cwd: str | None
    at: datetime | None
    command: str
    failed: bool
    files: set[str] = field(default_factory=set)     # named by the output, or edited before the run


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text(v.get("text") if isinstance(v, dict) else v) for v in value)
    if isinstance(value, dict):
        return "\n".join(_text(value.get(k)) for k in ("stdout", "stderr", "output", "text") if k in value)
    return ""


def _failed(output: str, error: bool) -> bool:
    if error:
        return True
    return any(not ZERO_FAILURES.fullmatch(found.group(0)) for found in FAILED_OUTPUT.finditer(output))


def _relative(path: str, cwd: str | None) -> str:
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1:]
    return path[2:] if path.startswith("./") else path


# Only lines holding one of these are parsed: transcripts are large and mostly prose.
LINE_MARKERS = ("tool_use", "tool_result", "function_call", "session_meta")


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not any(marker in line for marker in LINE_MARKERS):
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict):
                yield record


def read_runs(path: str | os.PathLike[str]) -> list[TestRun]:
    """Every test run of one Claude Code transcript or Codex rollout, in order."""
    runs: list[TestRun] = []
    pending: dict[str, tuple[str, dict[str, Any]]] = {}     # call id → (command, record it was issued in)
    edited: set[str] = set()
    session = cwd = None
    tool = "claude"
    for record in _records(Path(path)):
        kind = record.get("type")
        payload = record.get("payload") if isinstance(record.get("payload"), dict) else None
        if kind == "session_meta" and payload:          # Codex
            tool, session, cwd = "codex", _str(payload.get("id")), _str(payload.get("cwd"))
            continue
        if payload is not None and kind == "response_item":
            tool = "codex"
            if payload.get("type") == "function_call":
                command = _codex_command(payload.get("arguments"))
                edited.update(_relative(p, cwd) for p in PATCH_FILE.findall(command))
                if TEST_COMMAND.search(command):
                    pending[str(payload.get("call_id"))] = (command, record)
            elif payload.get("type") == "function_call_output" and str(payload.get("call_id")) in pending:
                command, _ = pending.pop(str(payload.get("call_id")))
                output, code = _codex_output(payload.get("output"))
                runs.append(_run(session, "codex", cwd, record, command, output, code not in (None, 0), edited))
            continue
        message = record.get("message") if isinstance(record.get("message"), dict) else {}
        content = message.get("content")
        if not isinstance(content, list):
            continue
        session = _str(record.get("sessionId")) or session
        cwd = _str(record.get("cwd")) or cwd
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                args = block.get("input") if isinstance(block.get("input"), dict) else {}
                if block.get("name") in EDIT_TOOLS and isinstance(args.get("file_path"), str):
                    edited.add(_relative(args["file_path"], cwd))
                elif block.get("name") == "Bash" and isinstance(args.get("command"), str) \
                        and TEST_COMMAND.search(args["command"]):
                    pending[str(block.get("id"))] = (args["command"], record)
            elif block.get("type") == "tool_result" and str(block.get("tool_use_id")) in pending:
                command, _ = pending.pop(str(block.get("tool_use_id")))
                output = _text(block.get("content")) + "\n" + _text(record.get("toolUseResult"))
                runs.append(_run(session, tool, cwd, record, command, output, block.get("is_error") is True, edited))
    return runs


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _codex_command(arguments: Any) -> str:
    try:
        args = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        return ""
    if not isinstance(args, dict):
        return ""
    command = args.get("command", args.get("cmd"))
    return " ".join(map(str, command)) if isinstance(command, list) else str(command or "")


def _codex_output(output: Any) -> tuple[str, int | None]:
    """The output text and exit code of a Codex function_call_output (JSON with metadata, or `Exit code: N` text)."""
    text = output if isinstance(output, str) else ""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        meta = parsed.get("metadata") if isinstance(parsed.get("metadata"), dict) else {}
        code = meta.get("exit_code")
        return _text(parsed.get("output")), code if isinstance(code, int) else None
    found = re.match(r"Exit code: (-?\d+)", text)
    return text, int(found.group(1)) if found else None


def _run(session: str | None, tool: str, cwd: str | None, record: dict[str, Any], command: str, output: str,
         error: bool, edited: set[str]) -> TestRun:
    failed = _failed(output, error)
    stamp = record.get("timestamp")
    named = {_relative(p, cwd) for p in SOURCE_PATH.findall(output)} if failed else set()
    return TestRun(session, tool, cwd, parse_time(stamp) if isinstance(stamp, str) else None, command, failed,
                   named | edited if failed else set())


def failures(paths: Iterable[str | os.PathLike[str]]) -> pl.DataFrame:
    """One row per failing test run: session_id, tool, dir (the checkout's directory name), failed_at, green_at
    (the next green run of the same command in the session, or null), files (list)."""
    rows = []
    for path in paths:
        runs = [r for r in read_runs(path) if r.at is not None]
        for i, run in enumerate(runs):
            if not run.failed:
                continue
            green = next((later.at for later in runs[i + 1:] if later.command == run.command and not later.failed), None)
            rows.append({"session_id": run.session_id, "tool": run.tool,
                         "dir": Path(run.cwd.rstrip("/")).name if run.cwd else None, "failed_at": run.at,
                         "green_at": green, "files": sorted(run.files)})
    return pl.DataFrame(rows, schema={"session_id": pl.String, "tool": pl.String, "dir": pl.String,
                                      "failed_at": pl.Datetime("us", "UTC"), "green_at": pl.Datetime("us", "UTC"),
                                      "files": pl.List(pl.String)})


def _touches(paths: list[str] | None, files: list[str]) -> bool:
    """A repository path is a failure's file when equal, or one ends with the other at a `/` (an output naming
    `cart.test.ts` for `web/src/cart.test.ts`; an edit outside the recorded cwd)."""
    return any(p == f or p.endswith("/" + f) or f.endswith("/" + p) for p in paths or () for f in files)


def chains(failed: pl.DataFrame, changes: pl.DataFrame, change_files: pl.DataFrame, checkout: str) -> pl.DataFrame:
    """`rework` rows (loop, first_commit, last_commit, length, duration_s, trigger, commits) for the failing runs
    of this checkout: the change under test and the follow-up commits that touch the failure's files."""
    schema = {"loop": pl.String, "first_commit": pl.String, "last_commit": pl.String, "length": pl.Int64,
              "duration_s": pl.Int64, "trigger": pl.String, "commits": pl.List(pl.String)}
    mine = failed.filter((pl.col("dir") == checkout) & (pl.col("files").list.len() > 0))
    if mine.height == 0 or changes.height == 0:
        return pl.DataFrame(schema=schema)
    tool_of = {"claude": "claude", "gastown": "claude", "codex": "codex"}
    paths = change_files.group_by("commit").agg(pl.col("path"))
    commits = (changes.filter(~pl.col("is_merge")).join(paths, on="commit", how="left")
               .with_columns(tool=pl.col("agent_class").replace_strict(tool_of, default=None))
               .sort("position").select("commit", "loop", "tool", "committed_at", "path").rows(named=True))
    rows = []
    for failure in mine.iter_rows(named=True):
        end = (failure["green_at"] + timedelta(hours=AFTER_GREEN_H) if failure["green_at"]
               else failure["failed_at"] + timedelta(hours=UNTIL_H))
        touching = [c for c in commits if c["tool"] == failure["tool"] and _touches(c["path"], failure["files"])]
        after = [c for c in touching if failure["failed_at"] < c["committed_at"] <= end]
        if not after:
            continue
        loop = after[0]["loop"]
        before = [c for c in touching if c["committed_at"] <= failure["failed_at"] and c["loop"] == loop][-1:]
        members = before + [c for c in after if c["loop"] == loop]
        if len(members) < 2:
            continue
        rows.append({"loop": loop, "first_commit": members[0]["commit"], "last_commit": members[-1]["commit"],
                     "length": len(members),
                     "duration_s": int((members[-1]["committed_at"] - members[0]["committed_at"]).total_seconds()),
                     "trigger": "test_failure", "commits": [c["commit"] for c in members]})
    return pl.DataFrame(rows, schema=schema).unique("commits", keep="first", maintain_order=True)


def merge(existing: pl.DataFrame, triggered: pl.DataFrame, order: dict[str, int], times: dict[str, int]) -> pl.DataFrame:
    """The self-undo chains with the test-failure chains folded in: a chain sharing a commit with a test-failure
    chain becomes one chain (its commits' union, trigger test_failure unless a CI status already explains it)."""
    if triggered.height == 0:
        return existing
    chains_ = [dict(row) for row in existing.iter_rows(named=True)]
    for new in triggered.iter_rows(named=True):
        overlapping = [c for c in chains_ if set(c["commits"]) & set(new["commits"]) and c["loop"] == new["loop"]]
        members = set(new["commits"]).union(*(set(c["commits"]) for c in overlapping))
        ci = any(c["trigger"] == "ci_status" for c in overlapping)
        chains_ = [c for c in chains_ if c not in overlapping]
        ordered = sorted(members, key=order.__getitem__)
        chains_.append({**new, "commits": ordered, "first_commit": ordered[0], "last_commit": ordered[-1],
                        "length": len(ordered), "duration_s": times[ordered[-1]] - times[ordered[0]],
                        "trigger": "ci_status" if ci else "test_failure"})
    return pl.DataFrame(sorted(chains_, key=lambda c: order[c["first_commit"]]), schema=existing.schema)
