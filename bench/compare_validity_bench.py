"""Validity of `baton-lab compare` on simulated loops with known truth: coverage, false positives, power.

    python bench/compare_validity_bench.py [--seeds 200] [--sizes 50 100 200] [--workers 2]
    python bench/compare_validity_bench.py --table          # the table from the results already written

Per seed, one simulated store holds two loops of max(sizes) sessions: A with the default parameters and B
with a practice switched on (`CHANGE`: more machine-checkable loops, checked sooner, fewer silent drops,
more actions put under verification). Both are written as v1 NDJSON and imported; for each size n the first
n sessions of each loop are the arms (nested: one import serves every size), measured in-process (the whole
catalogue, one run for both loops). Then

- B vs A (a real change): power = share of seeds where the effect is declared in its good direction after
  the Benjamini–Hochberg adjustment across the catalogue; coverage of the 95% interval for the two effects
  whose true value is a model parameter — L1 rate ratio (loops per session, 1.8 / 1.5 = 1.2) and L2
  difference (machine-checkable share, 0.80 − 0.65 = 0.15);
- no change: seeds are taken two by two (s, s + 1), and each couple gives two null pairs, A_s vs A_{s+1}
  (default parameters) and B_s vs B_{s+1} (the practice on in both): same parameters, independent loops,
  and no arm in two pairs, so the pairs are independent and the Wilson interval of a share over them is
  honest (chaining A_s vs A_{s+1}, A_{s+1} vs A_{s+2}, … used every arm twice: neighbouring pairs were
  correlated and the coverage of one 200-seed run wandered more than its interval said). Every effect's
  true value is "no difference", so coverage is read for every main effect, and the false-positive rate is
  the share of pairs where an effect is declared after adjustment — per main effect, and for any of the
  catalogue's effects (under this global null the false discovery rate equals that familywise rate).

Each seed's measured arms are kept in bench/out/compare_validity/<seed>.pkl as they finish, so an
interrupted run resumes and `--table` prints from what is there; the effects are computed from the arms (the
parent does it while the workers simulate) and cached in <seed>.json — `--recompute` drops them after an
effect's method changes, without simulating again. The per-(seed, size) summaries go to
bench/out/compare_validity.jsonl. Workers are processes (DuckDB at one thread each).

    python bench/compare_validity_bench.py --truth-l6 2000    # L6 alone, from the simulator's truth

L6 (silent-drop share) measured on an arm equals the count in the simulator's truth (tests/test_compare.py
checks it), so its interval's coverage can be read over thousands of seeds without importing anything:
`--truth-l6 N` simulates N seeds (no writing, no import: ~30 ms a seed), builds each arm's loop cells from
the truth and runs the same effect function `compare` uses — null coverage over N independent pairs, and
coverage under the real change against the true effect (difference of the pooled shares over all N seeds,
the estimand the pooled arm share estimates).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "compare_validity.jsonl"

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from baton_lab.simulate.params import DEFAULT, PRACTICES  # noqa: E402

CHANGE = DEFAULT.with_overrides(**dict(PRACTICES["next-session-verification"]))
# (metric id, variant, short label, true effect of CHANGE or None when it has no closed form)
MAIN = (
    ("loop_open_rate", "all", "L1 loops/session (RR)", 1.8 / 1.5),
    ("verify_coverage", "machine", "L2 machine-checkable share (diff)", 0.80 - 0.65),
    ("silent_drop_rate", "share", "L6 silent-drop share (diff)", None),
    ("time_to_verify", "terminal_median", "L3 time to verify (HR)", None),
    ("caught_regressions", "rate_per_session", "L4 caught regressions/session (RR)", None),
    ("touch_rate", "all", "B2 touch rate (diff)", None),
    ("touch_rate", "acted", "B2 acted-on share (diff)", None),
    ("carryover_ratio", "all", "B3 carried over unchanged (diff)", None),
)


def _effects(table) -> dict:  # noqa: ANN001 - polars frame of effects_table
    rows = {(r["metric_id"], r["variant"]): r for r in table.iter_rows(named=True)}
    return {f"{mid}:{variant}": {k: rows.get((mid, variant), {}).get(k) for k in
                                 ("effect", "ci_low", "ci_high", "p_value", "p_adjusted", "status", "reading", "null")}
            for mid, variant, _, _ in MAIN}


def _summary(a, b) -> dict:  # noqa: ANN001 - two ArmResults
    from baton_lab.compare import effects_table

    table, level, tested, discoveries = effects_table(a, b)
    return {"tested": tested, "discoveries": discoveries, "level": level, "effects": _effects(table)}


def run_one(seed: int, sizes: tuple[int, ...]) -> tuple[int, dict, dict]:
    """Simulate and import loop A (default) and loop B (CHANGE) of max(sizes) sessions; measure the first n
    sessions of each for every n (nested arms: one import serves every size). Returns (seed, A's and B's
    ArmResults per size): the effects are computed from them afterwards, so a change to an effect's method
    is re-evaluated without simulating again, and the null design pairs A arms across seeds."""
    import duckdb

    import baton_lab as bl
    from baton_lab.compare import measure_arm
    from baton_lab.compare.arms import Arm
    from baton_lab.simulate import simulate
    from baton_lab.store import ingest

    if hasattr(ingest, "redact"):   # simulated batons hold no secrets: skip the redaction pass
        ingest.redact = lambda doc: (doc, 0)
    work = Path(tempfile.mkdtemp(prefix="bl-compare-bench-"))
    try:
        top = max(sizes)
        sim = simulate({"a": DEFAULT, "b": CHANGE}, seed=seed, sessions=2 * top, namespaces=2)
        sim.write(work / "sim", ["ndjson"])
        lab = bl.open(work / "store.duckdb")
        for path in sorted((work / "sim" / "ndjson").glob("*.ndjson")):
            lab.import_(path, namespace=path.stem)
        con = duckdb.connect(str(work / "store.duckdb"), read_only=True)
        con.execute("SET threads = 1")
        con.execute("SET enable_progress_bar = false")
        names = sorted(r[0] for r in con.execute("SELECT DISTINCT namespace FROM snapshots").fetchall())
        arms_a, arms_b = {}, {}
        for n in sizes:
            # one catalogue run over both loops' first n sessions; each loop's own rows are its arm
            ranges = pl.DataFrame({"namespace": names, "lo": [1] * len(names), "hi": [n] * len(names)})
            both = measure_arm(con, Arm("both", "both", ranges), per_namespace=True)
            arms_a[n], arms_b[n] = both[names[0]], both[names[1]]
        con.close()
        return seed, arms_a, arms_b
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pct(hits: int, n: int) -> str:
    """The share with its Wilson 95% interval: at 200 seeds a coverage of 95% is read to about ±3 points."""
    if not n:
        return "–"
    from baton_lab.metrics.stats import wilson_ci

    lo, hi = (float(v[0]) for v in wilson_ci(np.array([hits]), np.array([n])))
    digits = 1 if n >= 1000 else 0      # thousands of pairs (--truth-l6) read coverage to a few tenths
    return f"{100 * hits / n:.1f}% [{100 * lo:.{digits}f}–{100 * hi:.{digits}f}]"


def table(lines: list[dict], sizes: list[int]) -> str:
    by_size = {s: [r for r in lines if r["size"] == s] for s in sizes}
    head = "| " + " | ".join(["effect (B vs A)", "measure"] + [f"n = {s}/arm" for s in sizes]) + " |"
    out = [head, "|---|---|" + "---:|" * len(sizes)]

    def row(label: str, measure: str, cell) -> None:  # noqa: ANN001
        out.append(f"| {label} | {measure} | " + " | ".join(cell(by_size[s]) for s in sizes) + " |")

    def coverage(design: str, key: str, truth: float):  # noqa: ANN202
        def cell(runs: list[dict]) -> str:
            ok = [r[design]["effects"][key] for r in runs if r[design]["effects"][key]["status"] == "ok"]
            hit = sum(e["ci_low"] <= truth <= e["ci_high"] for e in ok)
            return f"{_pct(hit, len(ok))} ({len(ok)})"
        return cell

    def declared(design: str, key: str, good: bool | None):  # noqa: ANN202
        def cell(runs: list[dict]) -> str:
            readings = [r[design]["effects"][key]["reading"] for r in runs]
            if good is None:
                hit = sum(x not in ("no detectable difference", "insufficient", None) for x in readings)
            else:
                hit = sum(x in ("better in B", "higher in B", "sooner in B") for x in readings)
            return _pct(hit, len(runs))
        return cell

    for mid, variant, label, truth in MAIN:
        key = f"{mid}:{variant}"
        if truth is not None:
            row(label, "coverage of the 95% CI, real change (seeds with enough data)", coverage("change", key, truth))
    for mid, variant, label, _ in MAIN:
        key = f"{mid}:{variant}"
        null = 1.0 if ("RR" in label or "HR" in label) else 0.0
        row(label, "coverage of the 95% CI, no change", coverage("null", key, null))
    def spread(key: str, ratio: bool):  # noqa: ANN202
        # how wide the effects really spread over the null pairs, against the spread the intervals claim: ~1
        # when an interval's standard error is right, > 1 when it misses some dependence (log scale for ratios)
        def cell(runs: list[dict]) -> str:
            ok = [r["null"]["effects"][key] for r in runs if r["null"]["effects"][key]["status"] == "ok"]
            f = np.log if ratio else (lambda v: np.asarray(v, float))
            est = f(np.array([e["effect"] for e in ok], float))
            se = (f(np.array([e["ci_high"] for e in ok], float)) - f(np.array([e["ci_low"] for e in ok], float))) / (2 * 1.959964)
            good = np.isfinite(est) & np.isfinite(se)
            return f"{est[good].std(ddof=1) / np.sqrt(np.mean(se[good] ** 2)):.2f}" if good.sum() > 2 else "–"
        return cell

    for mid, variant, label, _ in MAIN:
        row(label, "spread of the effect over no-change pairs ÷ its interval's standard error",
            spread(f"{mid}:{variant}", "RR" in label or "HR" in label))
    for mid, variant, label, _ in MAIN:
        row(label, "false positives, no change, BH-adjusted", declared("null", f"{mid}:{variant}", None))
    row("any of the catalogue's effects", "false positives, no change, BH-adjusted (= FDR here)",
        lambda runs: _pct(sum(r["null"]["discoveries"] > 0 for r in runs), len(runs)))
    for mid, variant, label, _ in MAIN:
        row(label, "power: declared better, BH-adjusted", declared("change", f"{mid}:{variant}", True))
    row("effects tested per comparison", "median", lambda runs: str(sorted(r["null"]["tested"] for r in runs)[len(runs) // 2])
        if runs else "–")
    row("seeds", "", lambda runs: str(len(runs)))
    return "\n".join(out)


PAIRING = "disjoint"   # cached summaries of another null design are recomputed


def null_pair(seed: int, first_seed: int) -> tuple[int, int, str]:
    """The null pair seed s carries: (earlier seed, later seed, loop). Seeds go two by two from the first;
    the earlier of a couple carries A vs A, the later B vs B, so every arm is in exactly one null pair."""
    if (seed - first_seed) % 2 == 0:
        return seed, seed + 1, "a"
    return seed - 1, seed, "b"


def _summaries(arms_dir: Path, seed: int, sizes: tuple[int, ...], first_seed: int) -> dict | None:
    """Seed s's effect summaries — B_s vs A_s (change) and its null pair (`null_pair`) per size — from the
    measured arms, cached in <seed>.json next to them (None until both seeds' arms exist)."""
    cache = arms_dir / f"{seed}.json"
    if cache.exists():
        out = json.loads(cache.read_text())
        if out.get("pairing") == [PAIRING, first_seed]:
            return out
    early, late, loop = null_pair(seed, first_seed)
    paths = [arms_dir / f"{s}.pkl" for s in (early, late)]
    if not all(path.exists() for path in paths):
        return None
    arms = {s: pickle.loads(path.read_bytes()) for s, path in zip((early, late), paths)}
    mine = arms[seed]
    out = {"pairing": [PAIRING, first_seed],
           "change": {str(n): _summary(mine["a"][n], mine["b"][n]) for n in sizes},
           "null": {str(n): _summary(arms[early][loop][n], arms[late][loop][n]) for n in sizes}}
    cache.write_text(json.dumps(out))
    return out


def truth_l6(n_seeds: int, sizes: tuple[int, ...], first_seed: int) -> str:
    """L6's interval from the simulator's truth over many seeds (see the module docstring): a table of null
    coverage (independent pairs, the same pairing as the main run) and real-change coverage."""
    from baton_lab.compare import effects as fx
    from baton_lab.simulate import simulate

    top = max(sizes)
    seeds = list(range(first_seed, first_seed + n_seeds + n_seeds % 2))
    loops: dict[tuple[int, str], np.ndarray] = {}
    for seed in seeds:
        sim = simulate({"a": DEFAULT, "b": CHANGE}, seed=seed, sessions=2 * top, namespaces=2)
        for spec, loop in zip(sim.specs, ("a", "b")):
            run = spec.run(with_v2=False)
            for _ in run:
                pass
            # (created, vanished while open or 0): vanished = the first snapshot without it (truth.py keying)
            loops[seed, loop] = np.array([(x.created_seq, x.removed_seq if x.status == "open" and x.removed_seq else 0)
                                          for x in run.loops], dtype=np.int64).reshape(-1, 2)

    def cells(seed: int, loop: str, n: int) -> dict[str, np.ndarray]:
        # what comparison._cells makes of L6's cells: one cell per loop (item code), dated by its session
        x = loops[seed, loop][loops[seed, loop][:, 0] <= n]
        k = ((x[:, 1] > 0) & (x[:, 1] <= n)).astype(np.int64)
        return {"item": np.arange(len(x)), "seq": x[:, 0] + len(x), "k": k, "n": np.ones(len(x), np.int64)}

    def spread(hits: list[bool]) -> str:
        # coverage of each run of 200 pairs (what one benchmark of 200 seeds sees): lowest – highest
        blocks = [100 * float(np.mean(hits[i:i + 200])) for i in range(0, len(hits) - 199, 200)]
        return f"{min(blocks):.1f}–{max(blocks):.1f}% ({len(blocks)} runs)" if blocks else "–"

    out = ["| L6 silent-drop share (diff) | " + " | ".join(f"n = {n}/arm" for n in sizes) + " |",
           "|---|" + "---:|" * len(sizes)]
    null_cells, change_cells, truths, null_spread, chained_cells, chained_spread = [], [], [], [], [], []
    for n in sizes:
        pooled = {loop: [sum(int(c[v].sum()) for c in (cells(s, loop, n) for s in seeds)) for v in ("k", "n")]
                  for loop in ("a", "b")}
        truth = pooled["b"][0] / pooled["b"][1] - pooled["a"][0] / pooled["a"][1]
        null_hits = []
        for s in seeds:
            early, late, loop = null_pair(s, first_seed)
            e = fx.clustered_share_difference(cells(early, loop, n), cells(late, loop, n))
            null_hits.append(e.ci_low <= 0 <= e.ci_high)
        # the earlier design, for comparison: A_s vs A_{s+1} chained, every arm in two pairs
        chained = []
        for s in seeds[:-1]:
            e = fx.clustered_share_difference(cells(s, "a", n), cells(s + 1, "a", n))
            chained.append(e.ci_low <= 0 <= e.ci_high)
        change = [fx.clustered_share_difference(cells(s, "a", n), cells(s, "b", n)) for s in seeds]
        change_hits = [e.ci_low <= truth <= e.ci_high for e in change if e.sufficient]
        null_cells.append(f"{_pct(sum(null_hits), len(null_hits))} ({len(null_hits)})")
        change_cells.append(f"{_pct(sum(change_hits), len(change_hits))} ({len(change_hits)})")
        truths.append(f"{truth:+.4f}")
        null_spread.append(spread(null_hits))
        chained_cells.append(f"{_pct(sum(chained[:200]), len(chained[:200]))} ({len(chained[:200])})")
        chained_spread.append(spread(chained))
    out.append("| coverage of the 95% CI, no change (independent pairs) | " + " | ".join(null_cells) + " |")
    out.append("| … range over runs of 200 independent pairs | " + " | ".join(null_spread) + " |")
    out.append("| coverage, no change, earlier chained design, first 200 pairs | " + " | ".join(chained_cells) + " |")
    out.append("| … range over runs of 200 chained pairs | " + " | ".join(chained_spread) + " |")
    out.append("| true effect of the practice (pooled over the seeds) | " + " | ".join(truths) + " |")
    out.append("| coverage of the 95% CI, real change (seeds with enough data) | " + " | ".join(change_cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    parser.add_argument("--table", action="store_true", help="print the table from the results already written")
    parser.add_argument("--recompute", action="store_true",
                        help="drop the cached effect summaries (after changing an effect's method) and recompute them")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--truth-l6", type=int, metavar="N", default=0,
                        help="only L6's coverage, from the simulator's truth over N seeds (no import)")
    args = parser.parse_args(argv)
    if args.truth_l6:
        print(truth_l6(args.truth_l6, tuple(sorted(args.sizes)), args.first_seed))
        return
    arms_dir = args.out.with_suffix("")
    arms_dir.mkdir(parents=True, exist_ok=True)
    sizes = tuple(sorted(args.sizes))
    # an even number of seeds: they pair two by two for the null design (`null_pair`)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds + args.seeds % 2))
    if args.recompute:
        for cache in arms_dir.glob("*.json"):
            cache.unlink()
    if not args.table:
        todo = [s for s in seeds if not (arms_dir / f"{s}.pkl").exists()]
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            futures = [pool.submit(run_one, seed, sizes) for seed in todo]
            for i, fut in enumerate(as_completed(futures), 1):
                seed, arms_a, arms_b = fut.result()
                (arms_dir / f"{seed}.pkl").write_bytes(pickle.dumps({"a": arms_a, "b": arms_b}))
                for s in (seed, seed - 1 if (seed - args.first_seed) % 2 else seed + 1):
                    _summaries(arms_dir, s, sizes, args.first_seed)   # while the workers simulate: the parent is idle
                if i % 10 == 0 or i == len(futures):
                    print(f"{i}/{len(futures)} seeds, {time.perf_counter() - started:.0f} s", flush=True)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        done = dict(zip(seeds, pool.map(_summaries, [arms_dir] * len(seeds), seeds, [sizes] * len(seeds),
                                        [args.first_seed] * len(seeds))))
    lines = [{"seed": s, "size": n, "change": d["change"][str(n)], "null": d["null"][str(n)]}
             for s, d in done.items() if d is not None for n in sizes if str(n) in d["change"]]
    args.out.write_text("".join(json.dumps(x) + "\n" for x in lines))
    print(table(lines, list(sizes)))


if __name__ == "__main__":
    main()
