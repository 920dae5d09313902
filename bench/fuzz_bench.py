"""Long fuzz run: hostile documents of every format, imported in batches; counts crashes, lost records,
stored secrets and unescaped markup, and times redaction against the previous implementation.

    python bench/fuzz_bench.py [--generator random] [--inputs 100000] [--batch 500] [--seed 1]
                               [--workers 2] [--report-every 25] [--log fuzz.jsonl] [--batches 78,90]

Two generators of the same hostile value families (huge and negative numbers, NaN/Infinity, deep nesting,
lone surrogates, BOMs, NUL bytes, secrets of every shape in every field and key — also split by JSON
escapes —, HTML/Markdown/LaTeX/jinja text, torn writes):
- `random` (default, a few ms per input): realistic documents of every JSON format the importer reads
  (demo batons and cache files, golden cases, Beads and lessons JSONL, transcripts) mutated with seeded
  `random` (tests/hostile_mutate.py). Batch k is `documents(seed * 1_000_003 + k, batch)`, so a run is
  reproducible whatever --workers is; batches run in --workers processes.
- `hypothesis` (~0.7 s per input): tests/hostile.py's strategies, as the property-based tests use them.
Each batch is one `import_` call into a fresh store; every table is scanned for the planted secrets.
Every --report-every'th batch (the first included) also gets a report and export (HTML, Markdown, SVG,
LaTeX, tables), every file scanned for secrets and unescaped markup, and its redaction timed: the old
pre-check + walk (bench/_redact_before.py) against `Redactor.document` over the same parsed documents.
Progress goes to --log as JSON lines. A document a format reader failed on (quarantined with the error, the
import going on) is counted as a crash too (`reader_errors`).

Re-running what a run reported: `--batches 78,90,153` runs only those batches of the same --seed/--batch;
the batches also depend on the seed corpus (the demo, tests/golden, tests/fixtures/real), so for a run made
at an older commit pass that commit's corpus with `--seeds-root DIR`
(`git archive COMMIT baton_lab/data/demo tests/golden tests/fixtures/real | tar -x -C DIR`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import _redact_before as before  # noqa: E402
import hostile  # noqa: E402

from baton_lab._jsonutil import decode_text  # noqa: E402
from baton_lab.redact import Redactor  # noqa: E402


def redaction_times(docs: list[hostile.Document]) -> tuple[float, float, int]:
    """Seconds for the old and the new redaction over the parseable documents; and how many there were."""
    parsed = []
    for doc in docs:
        text = decode_text(doc.data)
        try:
            parsed.append((text, json.loads(text)))
        except (ValueError, RecursionError):
            continue
    t = time.perf_counter()
    for text, doc in parsed:
        if before.might_contain_secret(text):
            before.redact(doc)
    old = time.perf_counter() - t
    redactor = Redactor()
    t = time.perf_counter()
    for text, doc in parsed:
        redactor.document(doc, text)
    return old, time.perf_counter() - t, len(parsed)


def report_check(db: Path, root: Path, docs: list[hostile.Document]) -> tuple[int, int]:
    import baton_lab as bl
    from baton_lab.report import build, write

    write(build(bl.open(db)), root / "out", html=True, latex=True, png=False)
    texts = hostile.file_texts(root / "out")
    return len(hostile.leaks([c for d in docs for c in d.planted.cores], texts)), len(hostile.unescaped_markup(texts))


TOTALS = ("inputs", "batches", "crashes", "crashed_inputs", "reader_errors", "report_crashes", "lost", "secrets", "report_batches", "report_secrets",
          "unescaped", "planted", "stored", "duplicates", "proposals", "empty", "quarantined", "unchanged",
          "redact_old_s", "redact_new_s", "redacted_docs")


def run_batch(docs: list[hostile.Document], report: bool) -> dict[str, Any]:
    """Import one batch into a fresh store and count what happened; with `report`, also render and scan a report
    and export of the store and time redaction over the batch."""
    counts: dict[str, Any] = {"inputs": len(docs), "batches": 1,
                              "planted": sum(len(d.planted.cores) for d in docs)}
    with tempfile.TemporaryDirectory(prefix="baton-lab-fuzz-") as tmp:
        outcome = hostile.import_batch(docs, Path(tmp))
        if outcome.crash:
            counts |= {"crashes": 1, "crashed_inputs": len(docs), "crash": outcome.crash[-3000:]}
            return counts
        s = outcome.summary
        counts |= {"stored": s.stored, "duplicates": s.duplicates, "proposals": s.proposals, "empty": s.empty,
                   "quarantined": s.quarantined, "unchanged": s.sources_unchanged, "lost": outcome.lost,
                   "secrets": len(outcome.leaks)}
        if outcome.leaks:
            counts["leaks"] = outcome.leaks[:5]
        if outcome.reader_errors:
            # A reader that raised on a document: the import went on (document quarantined), but it is a crash.
            counts["reader_errors"] = len(outcome.reader_errors)
            counts["reader_failures"] = [f"{uri}: {reason[:400]}" for uri, reason in outcome.reader_errors[:5]]
        if report:
            try:
                leaked, unescaped = report_check(outcome.db, Path(tmp), docs)
            except Exception:  # noqa: BLE001 - a report that cannot be written from a hostile store is a crash
                import traceback

                counts |= {"report_batches": 1, "report_crashes": 1, "crash": "report: " + traceback.format_exc()[-3000:]}
            else:
                counts |= {"report_batches": 1, "report_secrets": leaked, "unescaped": unescaped}
    if report:
        old, new, n = redaction_times(docs)
        counts |= {"redact_old_s": old, "redact_new_s": new, "redacted_docs": n}
    return counts


def random_batch(job: tuple[int, int, int, bool, Path | None]) -> dict[str, Any]:
    """Batch k of a seeded run (tests/hostile_mutate.py), in a worker process."""
    import hostile_mutate

    seed, k, size, report, seeds_root = job
    if seeds_root is not None:
        hostile_mutate.ROOT = seeds_root
    docs = list(hostile_mutate.documents(seed * 1_000_003 + k, size))
    return run_batch(docs, report) | {"batch_index": k}


def run_isolated(jobs: list[tuple[int, int, int, bool, Path | None]], workers: int) -> Iterator[dict[str, Any]]:
    """Each job's counts, run in `workers` spawned processes. A worker that dies (a native abort, the OOM
    killer) breaks the whole pool and every batch in flight with it; those batches are re-run one per fresh
    process, so the one that kills its process again is reported as a crash (`worker_died`) and the innocent
    ones get their real counts. (The previous `Pool.imap_unordered` waited forever for a dead worker's batch.)
    A worker that hangs rather than dies still holds its batch: the figure export has its own timeout, DuckDB
    none."""
    context = multiprocessing.get_context("spawn")
    queue = list(reversed(jobs))
    while queue:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            in_flight: dict[Future, tuple] = {}
            broken: list[tuple] = []
            while (queue or in_flight) and not broken:
                while queue and len(in_flight) < workers:
                    job = queue.pop()
                    in_flight[pool.submit(random_batch, job)] = job
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    job = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        broken.append(job)
            broken += in_flight.values()   # the pool is gone: everything still in flight went down with it
        for job in sorted(broken, key=lambda j: j[1]):
            with ProcessPoolExecutor(1, mp_context=context) as alone:
                try:
                    yield alone.submit(random_batch, job).result()
                except BrokenProcessPool as exc:
                    # a report batch that died is a report that could not be written, too
                    yield {"inputs": job[2], "batches": 1, "crashes": 1, "crashed_inputs": job[2], "batch_index": job[1],
                           "report_batches": int(job[3]), "report_crashes": int(job[3]),
                           "crash": f"worker_died: the process importing batch {job[1]} died ({exc})"}


def hypothesis_batches(inputs: int, batch: int) -> Iterator[list[hostile.Document]]:
    """Batches of tests/hostile.py documents, drawn by hypothesis in this process."""
    from hypothesis import HealthCheck, Phase, given, settings

    pending: list[hostile.Document] = []
    out: list[list[hostile.Document]] = []

    @settings(max_examples=inputs, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(hostile.hostile_document())
    def generate(doc: hostile.Document) -> None:
        doc.name = f"{len(pending):05d}-{doc.name.split('-', 1)[1]}"[:200]
        pending.append(doc)
        if len(pending) >= batch:
            out.append(pending[:])
            pending.clear()

    generate()  # hypothesis drives the loop, so batches are collected, then yielded
    if pending:
        out.append(pending[:])
    yield from out


def parse_batches(spec: str) -> set[int]:
    """`78,90,100-102` -> {78, 90, 100, 101, 102}."""
    out: set[int] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", choices=("random", "hypothesis"), default="random")
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1, help="random generator: the run's seed")
    parser.add_argument("--workers", type=int, default=2, help="random generator: processes importing batches")
    parser.add_argument("--report-every", type=int, default=25, help="report + export every N-th batch (the first too)")
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--batches", default=None,
                        help="random generator: only these batch indexes of the run, e.g. 78,90 or 100-124 "
                             "(to re-run the batches a long run reported)")
    parser.add_argument("--seeds-root", type=Path, default=None,
                        help="random generator: read the realistic seed documents (demo, tests/golden, "
                             "tests/fixtures/real) under this checkout instead of this one; a run's batches depend on "
                             "the seed corpus, so re-running an earlier run's batches needs that commit's corpus "
                             "(e.g. `git archive <commit> baton_lab/data/demo tests/golden tests/fixtures/real | tar -x -C DIR`)")
    args = parser.parse_args()
    totals: dict[str, Any] = dict.fromkeys(TOTALS, 0)
    started = time.perf_counter()

    def add(counts: dict[str, Any]) -> None:
        for key in TOTALS:
            totals[key] += counts.get(key, 0)
        totals["elapsed_s"] = round(time.perf_counter() - started, 1)
        for key in ("crash", "leaks", "reader_failures"):
            if key in counts:
                print(f"batch {counts.get('batch_index', totals['batches'] - 1)} {key}:", counts[key], file=sys.stderr)
        if args.log:
            with args.log.open("a") as log:
                log.write(json.dumps(totals | {k: counts[k] for k in ("batch_index", "crash", "leaks", "reader_failures")
                                                 if k in counts},
                                     default=str) + "\n")

    chosen = None if args.batches is None else parse_batches(args.batches)
    if chosen is not None and args.generator != "random":
        parser.error("--batches needs --generator random (hypothesis batches are not addressable)")
    if args.generator == "random":
        n_batches = -(-args.inputs // args.batch)
        jobs = [(args.seed, k, min(args.batch, args.inputs - k * args.batch), k % args.report_every == 0,
                 args.seeds_root) for k in range(n_batches) if chosen is None or k in chosen]
        for counts in run_isolated(jobs, args.workers):
            add(counts)
    else:
        for k, docs in enumerate(hypothesis_batches(args.inputs, args.batch)):
            add(run_batch(docs, k % args.report_every == 0))
    ratio = totals["redact_old_s"] / totals["redact_new_s"] if totals["redact_new_s"] else float("nan")
    print(f"{totals['inputs']} inputs ({args.generator}) in {totals['batches']} batches ({totals['elapsed_s']} s, "
          f"{totals['elapsed_s'] / max(1, totals['inputs']) * 1000:.1f} ms per input): "
          f"{totals['crashes']} crashed batches, {totals['reader_errors']} documents a reader failed on, {totals['lost']} lost, {totals['secrets']} secrets stored "
          f"(of {totals['planted']} planted), {totals['report_secrets']} secrets and {totals['unescaped']} unescaped "
          f"in {totals['report_batches']} reports+exports ({totals['report_crashes']} could not be written)")
    print(f"  stored {totals['stored']} · duplicates {totals['duplicates']} · proposals {totals['proposals']} · "
          f"empty {totals['empty']} · quarantined {totals['quarantined']} · identical files {totals['unchanged']}")
    print(f"  redaction over {totals['redacted_docs']} parsed documents of the report batches: before "
          f"{totals['redact_old_s']:.1f} s, after {totals['redact_new_s']:.1f} s ({ratio:.1f}x)")
    sys.exit(1 if totals["crashes"] or totals["reader_errors"] or totals["report_crashes"] or totals["lost"] or totals["secrets"] or totals["report_secrets"]
             or totals["unescaped"] else 0)


if __name__ == "__main__":
    main()
