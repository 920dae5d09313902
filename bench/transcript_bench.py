"""Transcript scan throughput: baton_lab's Claude Code transcript reader against `grep -c` over the same file.

    python bench/transcript_bench.py [--mb 220] [--repeat 3] [--keep PATH]

Generates a Claude Code-style session transcript of at least --mb megabytes: mostly ordinary records
(prompts, Bash/Read tool calls with kilobytes of output, thinking blocks), with a baton read or write
through `curl` every ~2,000 lines, each paired with its tool_result. Then, in the same run and on the
same (page-cached) file, times:
  grep:      grep -c '/v1/baton/' FILE        (the floor: a fixed-string scan that parses nothing)
  baton_lab: the transcript reader — find candidate lines, parse them, pair calls with results, extract
             payloads, build records — everything up to (not including) the store write
Prints medians over --repeat runs as MB/s and the ratio (target: baton_lab within 2.5x of grep, medians of 5).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from baton_lab.importers import transcripts  # noqa: E402
from baton_lab.importers.transcripts import claude_code  # noqa: E402

API = "http://127.0.0.1:9101/v1/baton"
WORDS = ("deploy verify nginx docker compose health check baton loop session pattern rule follow up decision "
         "migrate schema index query latency cache token budget retry backoff timeout port service").split()


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _baton(rng: random.Random, i: int) -> dict:
    return {"schema_version": 1, "session_id": f"2026-06-{1 + i % 28:02d}-{i:04d}", "parent_session": None,
            "updated_at": "2026-06-17T10:00:00+08:00",
            "open_loops": [{"id": f"OL-{j}", "action": _text(rng, 6), "expected_outcome": "200", "status": "open",
                            "verify": {"method": "http", "url": "http://127.0.0.1:9/health"}, "source_tier": "llm_derived"}
                           for j in range(4)],
            "follow_ups": [{"id": f"FU-{j}", "item": _text(rng, 5), "defer_count": i % 4, "priority": "normal"} for j in range(3)],
            "patterns": [], "active_decisions": [], "context": _text(rng, 30)}


def generate(path: Path, megabytes: int, seed: int = 7) -> tuple[int, int]:
    """Write the transcript; returns (lines, baton calls)."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    session = "6f1c2d3e-0000-4000-8000-00000000beef"
    envelope = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/home/dev/proj",
                "sessionId": session, "version": "2.1.14", "gitBranch": "main"}
    lines = calls = 0
    size = 0
    with path.open("w", encoding="utf-8") as out:
        def emit(record: dict) -> None:
            nonlocal lines, size
            text = json.dumps(record, ensure_ascii=False) + "\n"
            out.write(text)
            lines += 1
            size += len(text)

        i = 0
        while size < target:
            i += 1
            stamp = f"2026-06-17T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.000Z"
            tool_id = f"toolu_{i:012d}"
            if i % 1000 == 0:  # a baton call and its result
                calls += 1
                baton = _baton(rng, i)
                if i % 2000 == 0:
                    command = (f"curl -s -X POST {API}/write -H \"Authorization: Bearer $BATON_API_TOKEN\" -d '"
                               + json.dumps({"namespace": "bench", "baton": baton}, separators=(",", ":")) + "'")
                    output = json.dumps({"ok": True, "updated_at": stamp, "namespace": "bench"})
                else:
                    command = f"curl -s -X POST {API}/read -d '{{\"namespace\":\"bench\"}}'"
                    output = json.dumps({"baton": baton, "namespace": "bench", "updated_at": stamp})
            else:
                command = rng.choice(["ls -la src/", "pytest -q tests/", "git status", "rg -n TODO", "cat README.md"])
                output = "\n".join(_text(rng, 12) for _ in range(rng.randint(5, 40)))
            kind = rng.random()
            if kind < 0.1 and i % 1000:
                emit({**envelope, "type": "user", "uuid": f"u{i}", "timestamp": stamp,
                      "message": {"role": "user", "content": _text(rng, rng.randint(10, 200))}})
                continue
            emit({**envelope, "type": "assistant", "uuid": f"a{i}", "timestamp": stamp, "requestId": f"req_{i}",
                  "message": {"id": f"msg_{i}", "model": "claude-opus-4-5", "role": "assistant", "stop_reason": "tool_use",
                              "content": [{"type": "thinking", "thinking": _text(rng, rng.randint(20, 120)), "signature": "x" * 64},
                                          {"type": "tool_use", "id": tool_id, "name": "Bash",
                                           "input": {"command": command, "description": "run"}}],
                              "usage": {"input_tokens": rng.randint(100, 9000), "output_tokens": rng.randint(10, 900)}}})
            emit({**envelope, "type": "user", "uuid": f"r{i}", "timestamp": stamp, "sourceToolAssistantUUID": f"a{i}",
                  "message": {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result", "content": output,
                                                           "is_error": False}]},
                  "toolUseResult": {"stdout": output, "stderr": "", "interrupted": False, "isImage": False}})
    return lines, calls


def time_grep(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(["grep", "-c", "/v1/baton/", str(path)], capture_output=True, text=True, check=False)
    return time.perf_counter() - start, int(done.stdout.strip() or 0)


def time_scan(path: Path) -> tuple[float, int]:
    reader = transcripts.reader(path, claude_code.NAME, "0" * 64, path.stat().st_size)
    start = time.perf_counter()
    records = sum(1 for _ in reader.records())
    return time.perf_counter() - start, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=220)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the transcript here and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "session.jsonl"
        start = time.perf_counter()
        lines, calls = generate(path, args.mb)
        mb = path.stat().st_size / 1e6
        print(f"generated {mb:.1f} MB, {lines:,} lines, {calls} baton calls in {time.perf_counter() - start:.1f} s")
        time_grep(path)  # warm the page cache for both
        grep_runs, scan_runs = [], []
        for _ in range(args.repeat):
            seconds, hits = time_grep(path)
            grep_runs.append(seconds)
            seconds, records = time_scan(path)
            scan_runs.append(seconds)
        grep_s, scan_s = statistics.median(grep_runs), statistics.median(scan_runs)
        print(f"grep -c '/v1/baton/'  median {grep_s:6.3f} s  {mb / grep_s:8.1f} MB/s  ({hits} matching lines; runs: "
              + ", ".join(f"{s:.3f}" for s in grep_runs) + ")")
        print(f"baton_lab scan        median {scan_s:6.3f} s  {mb / scan_s:8.1f} MB/s  ({records} records; runs: "
              + ", ".join(f"{s:.3f}" for s in scan_runs) + ")")
        print(f"ratio baton_lab / grep time = {scan_s / grep_s:.2f}x (target <= 2.5x)")


if __name__ == "__main__":
    main()
