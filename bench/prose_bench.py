"""Prose handoffs: importing a long markdown handoff history, and how item matching scales.

    python bench/prose_bench.py [--versions 2000] [--items 100] [--sample 10]

1. Generates a dated-handoff directory of --versions files (~20 KB each: Next Steps, Blockers, Decisions, Gotchas,
   Done and a historical log; each version carries most items over, rewords ~3%, ticks ~2%, drops ~1% and adds a
   few), then times `Lab.import_` on it: versions/s and MB/s, and, measured inside that import, the time spent
   parsing (markdown-it token stream, then items placed by heading: `markdown_observation`) and matching
   (`store.prose_identity.resolve_chain`), each as a share of the import. The baseline, in the same run, is
   markdown-it-py's own `parse` (the parser baton_lab builds on, without baton_lab's cache of inline parses
   across versions) of every --sample'th version, scaled to all.
2. Matching alone at 100 … 3,200 items per version, with 5% reworded (the usual case) and with every item
   reworded (the worst case: no exact matches, everything goes to the fuzzy stage): time per version and the
   log-log slope against the item count (1 = linear, 2 = quadratic).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import baton_lab as bl  # noqa: E402
from baton_lab.prose.identity import match, normal_text  # noqa: E402
from markdown_it import MarkdownIt  # noqa: E402

WORDS = ("migrate refactor verify deploy cache index schema retry council review benchmark parser token session "
         "handoff metric interval flake regression rollout canary budget latency throughput fixture snapshot import "
         "export report chart notebook ledger queue worker scheduler backfill audit secret redact").split()
MODULES = [f"{a}_{b}" for a in ("auth", "store", "api", "cli", "report", "sync") for b in ("core", "io", "util", "v2")]


def _sentence(rng: random.Random, n: int = 12) -> str:
    words = rng.sample(WORDS, k=min(n, len(WORDS)))
    return (f"{words[0].capitalize()} {' '.join(words[1:])} in `{rng.choice(MODULES)}` "
            f"(ticket #{rng.randrange(1, 9999)})")


def _reword(rng: random.Random, text: str) -> str:
    words = text.split()
    if rng.random() < 0.5:
        words.insert(rng.randrange(len(words)), rng.choice(WORDS))
    else:
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


def generate(root: Path, versions: int, items: int, seed: int = 7) -> int:
    """Write `versions` dated handoffs; returns total bytes."""
    rng = random.Random(seed)
    todo = [_sentence(rng) for _ in range(items)]
    decisions = [_sentence(rng) for _ in range(items // 4)]
    gotchas = [_sentence(rng) for _ in range(items // 8)]
    blockers = [_sentence(rng) for _ in range(max(2, items // 40))]
    log = [f"- {_sentence(rng, 14)}" for _ in range(items // 2)]
    root.mkdir(parents=True, exist_ok=True)
    total = 0
    for v in range(versions):
        done = []
        keep = []
        for item in todo:
            r = rng.random()
            if r < 0.02:
                done.append(item)            # ticked off
            elif r < 0.03:
                continue                     # dropped silently
            elif r < 0.06:
                keep.append(_reword(rng, item))
            else:
                keep.append(item)
        todo = keep + [_sentence(rng) for _ in range(items - len(keep))]
        if rng.random() < 0.2:
            decisions.append(_sentence(rng))
        day = f"{2026 + v // 336:04d}-{1 + (v // 28) % 12:02d}-{1 + v % 28:02d}"
        text = (f"# Session handoff {v}\n\n## Summary\nSession {v} of the generated loop.\n\n## Next Steps\n"
                + "".join(f"- {t}\n" for t in todo)
                + "\n## Blockers\n" + "".join(f"- {b}\n" for b in blockers)
                + "\n## Done\n" + "".join(f"- [x] {d}\n" for d in done)
                + "\n## Key Decisions\n" + "".join(f"- {d}\n" for d in decisions[-items // 4:])
                + "\n## Gotchas\n" + "".join(f"- {g}\n" for g in gotchas)
                + "\n## Historical session log\n\n### Earlier\n" + "\n".join(log[:items // 2]) + "\n")
        path = root / f"{day}-{v:04d}-session.md"
        path.write_text(text, encoding="utf-8")
        total += len(text.encode())
    return total


def _timed(fn) -> float:  # noqa: ANN001
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


class _Stopwatch:
    """Wraps a module function so the time spent inside it during the import is summed."""

    def __init__(self, module, name: str) -> None:  # noqa: ANN001
        self.module, self.name, self.seconds = module, name, 0.0
        self.inner = getattr(module, name)

    def __enter__(self) -> "_Stopwatch":
        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            t = time.perf_counter()
            try:
                return self.inner(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t
        setattr(self.module, self.name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(self.module, self.name, self.inner)


def import_run(versions: int, items: int, sample: int) -> None:
    from baton_lab.importers import handoff_markdown
    from baton_lab.store import prose_identity

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "handoffs"
        size = generate(folder, versions, items)
        print(f"generated {versions} versions, {size / versions / 1024:.1f} KB per version, {size / 1e6:.1f} MB")
        with _Stopwatch(handoff_markdown, "markdown_observation") as reading, \
                _Stopwatch(prose_identity, "resolve_chain") as matching:
            t = time.perf_counter()
            summary = bl.open(Path(tmp) / "store.duckdb").import_(folder, namespace="bench")
            total = time.perf_counter() - t
        rows = summary.items
        texts = [f.read_text(encoding="utf-8") for f in sorted(folder.glob("*.md"))[::sample]]
        bare = MarkdownIt("commonmark").enable("table")
        baseline = _timed(lambda: [bare.parse(t) for t in texts]) * sample
        print(f"import: {total:.1f} s = {versions / total:.1f} versions/s, {size / total / 1e6:.2f} MB/s, "
              f"{rows:,} item rows ({rows / versions:.0f} per version), {summary.events:,} events")
        print(f"  parsing + placing items by heading (markdown_observation): {reading.seconds:.1f} s = "
              f"{reading.seconds / total:.0%} of the import")
        print(f"  matching items across versions (resolve_chain):          {matching.seconds:.1f} s = "
              f"{matching.seconds / total:.0%} of the import")
        print(f"  the rest (hash, redaction, validation, insert, ordering, identity rewrite, events): "
              f"{total - reading.seconds - matching.seconds:.1f} s")
        print(f"  baseline, markdown-it-py's bare parse of every {sample}th version, scaled: {baseline:.1f} s "
              f"({versions / baseline:.1f} versions/s); baton_lab's parsing + placing = "
              f"{reading.seconds / baseline:.2f}x the bare parse")


def scaling() -> None:
    rng = random.Random(3)
    print("\nmatching one version pair, by items per version (median of 5):")
    print("| items | 5% reworded: ms | all reworded: ms |")
    print("|---:|---:|---:|")
    sizes = [100, 200, 400, 800, 1600, 3200]
    usual, worst = [], []
    for n in sizes:
        prev = [normal_text(_sentence(rng)) for _ in range(n)]
        some = [_reword(rng, t) if rng.random() < 0.05 else t for t in prev]
        every = [_reword(rng, t) for t in prev]
        u = statistics.median(_timed(lambda: match(prev, some)) for _ in range(5)) * 1e3
        w = statistics.median(_timed(lambda: match(prev, every)) for _ in range(5)) * 1e3
        usual.append(u)
        worst.append(w)
        print(f"| {n:,} | {u:.2f} | {w:.1f} |")

    def slope(ts: list[float]) -> float:
        xs, ys = [math.log(n) for n in sizes[2:]], [math.log(t) for t in ts[2:]]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)

    print(f"log-log slope from 400 items on: {slope(usual):.2f} (5% reworded), {slope(worst):.2f} (all reworded); "
          "1 = linear, 2 = quadratic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=2000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--sample", type=int, default=10, help="time the baseline parse on every Nth version")
    args = parser.parse_args()
    import_run(args.versions, args.items, args.sample)
    scaling()


if __name__ == "__main__":
    main()
