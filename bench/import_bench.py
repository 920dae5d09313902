"""Import throughput: baton_lab's full import against DuckDB's own read_json over the same files.

    python bench/import_bench.py [--files 20000] [--namespaces 20] [--repeat 3]
    python bench/import_bench.py --ndjson [--sessions 4000] [--namespaces 2] [--repeat 3]

--ndjson (issue 13's measure): `baton-lab simulate --write ndjson` histories, one NDJSON file of v1 batons per
namespace (--sessions in total, split evenly: the default is 2 namespaces x 2,000 sessions). The baseline is
given every advantage: read_json(..., format='newline_delimited', sample_size=-1) — full schema inference —
into a table; baton_lab runs one `Lab.import_(file, namespace=...)` per file, as a user would. Each side in a
fresh process, medians of --repeat runs, and the ratio (target >= 1/3).

Generates N v2 baton files (each namespace a history of sessions, ~5-9 KB each, realistic section sizes),
then, each in a fresh subprocess so peak memory is its own, times:
  raw:       CREATE TABLE AS SELECT * FROM read_json('<dir>/**/*.json')  (union_by_name=true runs out of
             memory on DuckDB 2.0 with thousands of files, so the schema comes from the sample)
  baton_lab: Lab.import_(<dir>) — parse, detect, hash, redact check, normalise, pandera validation,
             bulk insert, history order, events and pattern occurrences, in one transaction.
Prints medians over --repeat runs: files/s, MB/s, peak RSS and the throughput ratio (target >= 1/3).
Then redaction alone, in this process: the previous pre-check + walk (bench/_redact_before.py) against
`Redactor.document`, over the generated files and over the bundled demo batons (baton_lab/data/demo), with how
many documents each one walked.
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

def raw_read_json(glob: str, options: str = "") -> str:
    """A subprocess script: DuckDB's read_json over argv[1]/<glob> into a table of argv[2]; prints seconds, peak
    RSS and rows."""
    return f"""
import duckdb, resource, sys, time
t = time.perf_counter()
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
pattern = (sys.argv[1] + "/{glob}").replace("'", "''")
con.execute(f"CREATE TABLE raw AS SELECT * FROM read_json('{{pattern}}'{options})")
n = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n)
"""


RAW = raw_read_json("**/*.json")

BATON_LAB = """
import resource, sys, time
import baton_lab as bl
t = time.perf_counter()
summary = bl.open(sys.argv[2]).import_(sys.argv[1])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, summary.stored, summary.events)
"""

# One Lab.import_ per namespace file (argv[1] holds `<namespace>.ndjson` files), all into one store.
BATON_LAB_NDJSON = """
import pathlib, resource, sys, time
import baton_lab as bl
t = time.perf_counter()
lab = bl.open(sys.argv[2])
stored = events = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.ndjson")):
    summary = lab.import_(path, namespace=path.stem)
    stored, events = stored + summary.stored, events + summary.events
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, stored, events)
"""

STATUSES = ["pending", "pending", "verified", "failed", "escalated"]


def generate(root: Path, files: int, namespaces: int, seed: int = 1) -> int:
    """Write `files` v2 batons; each namespace evolves session by session. Returns total bytes."""
    rng = random.Random(seed)
    per_ns = files // namespaces
    total = 0
    for ns in range(namespaces):
        loops: dict[str, dict] = {}
        followups: dict[str, dict] = {}
        patterns: dict[str, dict] = {}
        next_id = 0
        for session in range(per_ns):
            stamp = f"2026-{1 + session // 600:02d}-{1 + (session // 24) % 28:02d}T{session % 24:02d}:00:00Z"
            for key in [k for k, v in loops.items() if v["status"] != "pending"]:
                del loops[key]  # archived after a terminal status
            for loop in loops.values():
                loop["status"] = rng.choice(STATUSES)
            for _ in range(rng.randint(0, 3)):
                next_id += 1
                loops[f"OL-{next_id}"] = {
                    "id": f"OL-{next_id}", "action": f"Deployed service build {next_id} to host mini{rng.randint(1, 4)}",
                    "created_at": stamp, "created_by": "claude", "stale_after_hours": 72,
                    "verify": {"method": rng.choice(["http", "file_exists", "process_running", "manual"]),
                               "url": f"http://127.0.0.1:{9000 + ns}/health", "expected_status": 200, "timeout_seconds": 5},
                    "status": "pending", "source_tier": "llm_derived"}
            for fu in followups.values():
                if rng.random() < 0.4:
                    fu["postponed_count"] += 1
                    fu["last_postponed_at"] = stamp
            if rng.random() < 0.5 or not followups:
                next_id += 1
                followups[f"FU-{next_id}"] = {"id": f"FU-{next_id}", "title": f"Follow up on item {next_id}: tidy the config loader",
                                              "created_at": stamp, "created_by": "claude", "priority": rng.choice(["high", "medium", "low"]),
                                              "postponed_count": 0, "last_postponed_at": None, "blocked_by": None,
                                              "suggested_agent": "codex", "status": "open", "source_tier": "llm_derived"}
            if len(followups) > 12:
                followups.pop(next(iter(followups)))
            if rng.random() < 0.2 and len(patterns) < 15:
                next_id += 1
                patterns[f"ap-{next_id}"] = {"id": f"ap-{next_id}", "pattern": f"assumed the path of tool {next_id} without checking",
                                             "category": "infra_assumption", "severity": rng.choice(["high", "medium", "low"]),
                                             "occurrences": 1, "last_occurred_at": stamp, "last_occurred_by": "claude",
                                             "context": "Tried the host path; it was in a container. Lost 20 min.",
                                             "remedy": "Check docker ps first.", "promoted_to_rule": None, "source_tier": "llm_derived"}
            for pat in patterns.values():
                if rng.random() < 0.1:
                    pat["occurrences"] += 1
                    pat["last_occurred_at"] = stamp
            doc = {
                "_meta": {"schema_version": "2.0", "namespace": f"project:{ns:03d}", "revision": session + 1,
                          "last_written_by": "claude", "last_written_at": stamp},
                "infra_state": {"machines": {f"mini{m}": {"verified_at": stamp, "verified_by": "claude", "status": "ok",
                                                          "stale_after_hours": 24} for m in range(1, 4)},
                                "services": {"memhall": {"url": "http://127.0.0.1:9100", "verified_at": stamp, "status": "ok",
                                                         "stale_after_hours": 12, "check_command": "curl -sf $MEMHALL_URL/health"}}},
                "anti_patterns": {"entries": list(patterns.values())},
                "open_loops": {"entries": list(loops.values())},
                "follow_ups": {"entries": list(followups.values())},
                "session_bridge": {"last_session": {"session_date": stamp[:10], "session_id": f"s{ns}-{session}",
                                                    "summary": "Worked through the deployment checklist and updated notes.",
                                                    "completed": ["deploy", "verify"], "in_progress": ["docs"],
                                                    "next_action": "Re-verify the health endpoint.", "written_by": "claude",
                                                    "written_at": stamp}},
            }
            text = json.dumps(doc, ensure_ascii=False, indent=2)
            path = root / f"ns{ns:03d}" / f"{session:05d}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            total += len(text.encode("utf-8"))
    return total


def redaction_ratio(files: list[Path], label: str, repeat: int) -> None:
    """Old vs new redaction over the same parsed documents (median of `repeat` passes each)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import _redact_before as before

    from baton_lab.redact import Redactor, might_contain_secret

    parsed = [(text, json.loads(text)) for text in (p.read_text(encoding="utf-8-sig") for p in files)]
    redactor = Redactor()

    def old() -> None:
        for text, doc in parsed:
            if before.might_contain_secret(text):
                before.redact(doc)

    def new() -> None:
        for text, doc in parsed:
            redactor.document(doc, text)

    times = {}
    for name, fn in (("before", old), ("after", new)):
        runs = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t)
        times[name] = statistics.median(runs)
    walked_old = sum(before.might_contain_secret(text) for text, _ in parsed)
    walked_new = sum(might_contain_secret(text) for text, _ in parsed)
    mb = sum(len(text) for text, _ in parsed) / 1e6
    print(f"redaction, {label} ({len(parsed)} documents, {mb:.1f} MB): before {times['before']:.3f} s "
          f"(walked {walked_old}), after {times['after']:.3f} s (walked {walked_new}) -> "
          f"{times['before'] / times['after']:.1f}x faster")


def run(script: str, data: Path, db: Path) -> list[float]:
    out = subprocess.run([sys.executable, "-c", script, str(data), str(db)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"benchmark step failed:\n{out.stderr}")
    return [float(x) for x in out.stdout.split()]


def compare(steps: list[tuple[str, str, Path]], root: Path, repeat: int, units: int, unit: str, size: int,
            target: str = "target >= 0.33") -> None:
    """Run each (name, script, data) step `repeat` times in fresh subprocesses; print medians of seconds, units/s,
    MB/s and peak RSS, and the throughput ratio of the second step to the first (the baseline)."""
    results: dict[str, list[list[float]]] = {name: [] for name, _, _ in steps}
    for i in range(repeat):
        for name, script, data in steps:
            db = root / f"{name.split()[0]}-{i}.duckdb"
            results[name].append(run(script, data, db))
            db.unlink()
    medians = {}
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        rss_mb = statistics.median(r[1] for r in runs) / 1024
        medians[name] = seconds
        print(f"{name:18s} median {seconds:7.2f} s  {units / seconds:8.1f} {unit}/s  {size / 1e6 / seconds:6.1f} MB/s  "
              f"peak RSS {rss_mb:6.0f} MB  (runs: {', '.join(f'{r[0]:.2f}' for r in runs)})")
    (base, _, _), (ours, _, _) = steps
    print(f"throughput ratio {ours} / {base} = {medians[base] / medians[ours]:.2f} ({target})")


def ndjson(sessions: int, namespaces: int, repeat: int) -> None:
    """Simulated NDJSON histories: read_json with every advantage against one import per namespace file."""
    from baton_lab.simulate import generate as simulate

    with tempfile.TemporaryDirectory(prefix="baton-lab-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        simulate(root / "sim", seed=0, sessions=sessions, namespaces=namespaces, formats=["ndjson"])
        data = root / "sim" / "ndjson"
        files = sorted(data.glob("*.ndjson"))
        size = sum(f.stat().st_size for f in files)
        lines = sum(f.read_bytes().count(b"\n") for f in files)
        print(f"simulated {len(files)} NDJSON files, {lines} lines (v1 batons), {size / 1e6:.1f} MB "
              f"in {time.perf_counter() - t:.1f} s")
        raw = raw_read_json("*.ndjson", ", format='newline_delimited', sample_size=-1")
        compare([("raw read_json", raw, data), ("baton_lab import", BATON_LAB_NDJSON, data)],
                root, repeat, lines, "lines", size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--namespaces", type=int, default=None, help="default: 20 (2 with --ndjson)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ndjson", action="store_true", help="simulated NDJSON histories instead of v2 files")
    parser.add_argument("--sessions", type=int, default=4000, help="--ndjson: sessions in total over the namespaces")
    args = parser.parse_args()
    if args.ndjson:
        ndjson(args.sessions, args.namespaces or 2, args.repeat)
        return
    args.namespaces = args.namespaces or 20
    with tempfile.TemporaryDirectory(prefix="baton-lab-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        size = generate(root / "data", args.files, args.namespaces)
        files = args.files // args.namespaces * args.namespaces
        print(f"generated {files} files, {size / 1e6:.1f} MB in {time.perf_counter() - t:.1f} s")
        compare([("raw read_json", RAW, root / "data"), ("baton_lab import", BATON_LAB, root / "data")],
                 root, args.repeat, files, "files", size)
        redaction_ratio(sorted((root / "data").rglob("*.json")), "generated v2 batons", args.repeat)
        demo = sorted((Path(__file__).resolve().parents[1] / "baton_lab" / "data" / "demo").rglob("*.json"))
        if demo:
            redaction_ratio(demo, "bundled demo batons", args.repeat)

if __name__ == "__main__":
    main()
