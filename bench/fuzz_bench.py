"""Long fuzz run: hostile documents of every format, imported in batches; counts crashes, lost records,
stored secrets and unescaped markup, and times redaction against the previous implementation.

    python bench/fuzz_bench.py [--inputs 100000] [--batch 250] [--reports 3] [--log fuzz.jsonl]

The documents come from the same hypothesis strategies as tests/test_hostile_input.py (tests/hostile.py):
v1/v2 batons, API envelopes, cache files, patch proposals and torn writes, with huge and negative numbers,
NaN/Infinity, deep nesting, lone surrogates, BOMs, NUL bytes, secrets of every shape in every field and key
(also split by JSON escapes), and HTML/Markdown/LaTeX/jinja text. Each batch is one `import_` call into a
fresh store; every table is scanned for the planted secrets. The first --reports batches also get a report
and export (HTML, Markdown, SVG, LaTeX, tables), scanned for secrets and unescaped markup.
Redaction throughput: the old pre-check + walk (bench/_redact_before.py) and `Redactor.document` over the
same parsed documents, in the same process. Progress goes to --log as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import _redact_before as before  # noqa: E402
import hostile  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--reports", type=int, default=3)
    parser.add_argument("--log", type=Path, default=None)
    args = parser.parse_args()
    totals = {"inputs": 0, "batches": 0, "crashes": 0, "crashed_inputs": 0, "lost": 0, "secrets": 0,
              "report_batches": 0, "report_secrets": 0, "unescaped": 0, "planted": 0,
              "stored": 0, "duplicates": 0, "proposals": 0, "empty": 0, "quarantined": 0, "unchanged": 0,
              "redact_old_s": 0.0, "redact_new_s": 0.0, "redacted_docs": 0}
    pending: list[hostile.Document] = []
    started = time.perf_counter()

    def flush() -> None:
        docs = pending[:]
        pending.clear()
        for i, doc in enumerate(docs):
            doc.name = f"{i:05d}-{doc.name.split('-', 1)[1]}"[:200]
        with tempfile.TemporaryDirectory(prefix="baton-lab-fuzz-") as tmp:
            outcome = hostile.import_batch(docs, Path(tmp))
            totals["batches"] += 1
            totals["inputs"] += len(docs)
            totals["planted"] += sum(len(d.planted.cores) for d in docs)
            if outcome.crash:
                totals["crashes"] += 1
                totals["crashed_inputs"] += len(docs)
                print(outcome.crash, file=sys.stderr)
            else:
                s = outcome.summary
                for key, value in (("stored", s.stored), ("duplicates", s.duplicates), ("proposals", s.proposals),
                                   ("empty", s.empty), ("quarantined", s.quarantined), ("unchanged", s.sources_unchanged)):
                    totals[key] += value
                totals["lost"] += outcome.lost
                totals["secrets"] += len(outcome.leaks)
                if outcome.leaks:
                    print("leak:", outcome.leaks[:5], file=sys.stderr)
                if totals["report_batches"] < args.reports:
                    leaked, unescaped = report_check(outcome.db, Path(tmp), docs)
                    totals["report_batches"] += 1
                    totals["report_secrets"] += leaked
                    totals["unescaped"] += unescaped
        old, new, n = redaction_times(docs)
        totals["redact_old_s"] += old
        totals["redact_new_s"] += new
        totals["redacted_docs"] += n
        totals["elapsed_s"] = round(time.perf_counter() - started, 1)
        if args.log:
            with args.log.open("a") as log:
                log.write(json.dumps(totals) + "\n")

    @settings(max_examples=args.inputs, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(hostile.hostile_document())
    def generate(doc: hostile.Document) -> None:
        pending.append(doc)
        if len(pending) >= args.batch:
            flush()

    generate()
    if pending:
        flush()
    ratio = totals["redact_old_s"] / totals["redact_new_s"] if totals["redact_new_s"] else float("nan")
    print(f"{totals['inputs']} inputs in {totals['batches']} batches ({totals['elapsed_s']} s): "
          f"{totals['crashes']} crashed batches, {totals['lost']} lost, {totals['secrets']} secrets stored "
          f"(of {totals['planted']} planted), {totals['report_secrets']} secrets and {totals['unescaped']} unescaped "
          f"in {totals['report_batches']} reports+exports")
    print(f"  stored {totals['stored']} · duplicates {totals['duplicates']} · proposals {totals['proposals']} · "
          f"empty {totals['empty']} · quarantined {totals['quarantined']} · identical files {totals['unchanged']}")
    print(f"  redaction over {totals['redacted_docs']} parsed documents: before {totals['redact_old_s']:.1f} s, "
          f"after {totals['redact_new_s']:.1f} s ({ratio:.1f}x)")


if __name__ == "__main__":
    main()
