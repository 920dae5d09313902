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
- A of seed s vs A of seed s + 1 (no change: same parameters, independent loops): every effect's true
  value is "no difference", so coverage is read for every main effect, and the false-positive rate is the
  share of pairs where an effect is declared after adjustment — per main effect, and for any of the
  catalogue's effects (under this global null the false discovery rate equals that familywise rate).

Each seed's measured arms are kept in bench/out/compare_validity/<seed>.pkl as they finish, so an
interrupted run resumes and `--table` prints from what is there; the effects are computed from the arms (the
parent does it while the workers simulate) and cached in <seed>.json — `--recompute` drops them after an
effect's method changes, without simulating again. The per-(seed, size) summaries go to
bench/out/compare_validity.jsonl. Workers are processes (DuckDB at one thread each).
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
    return f"{100 * hits / n:.1f}% [{100 * lo:.0f}–{100 * hi:.0f}]"


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


def _summaries(arms_dir: Path, seed: int, sizes: tuple[int, ...]) -> dict | None:
    """Seed s's effect summaries — B_s vs A_s (change) and A_{s+1} vs A_s (null) per size — from the measured
    arms, cached in <seed>.json next to them (None until both seeds' arms exist)."""
    cache = arms_dir / f"{seed}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    here, there = arms_dir / f"{seed}.pkl", arms_dir / f"{seed + 1}.pkl"
    if not (here.exists() and there.exists()):
        return None
    mine, nxt = pickle.loads(here.read_bytes()), pickle.loads(there.read_bytes())
    out = {"change": {str(n): _summary(mine["a"][n], mine["b"][n]) for n in sizes},
           "null": {str(n): _summary(mine["a"][n], nxt["a"][n]) for n in sizes}}
    cache.write_text(json.dumps(out))
    return out


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
    args = parser.parse_args(argv)
    arms_dir = args.out.with_suffix("")
    arms_dir.mkdir(parents=True, exist_ok=True)
    sizes = tuple(sorted(args.sizes))
    seeds = list(range(args.first_seed, args.first_seed + args.seeds + 1))   # one extra: the null pairs A_s with A_s+1
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
                for s in (seed - 1, seed):      # summarise while the workers simulate: the parent is idle otherwise
                    _summaries(arms_dir, s, sizes)
                if i % 10 == 0 or i == len(futures):
                    print(f"{i}/{len(futures)} seeds, {time.perf_counter() - started:.0f} s", flush=True)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        done = dict(zip(seeds[:-1], pool.map(_summaries, [arms_dir] * len(seeds[:-1]), seeds[:-1],
                                             [sizes] * len(seeds[:-1]))))
    lines = [{"seed": s, "size": n, "change": d["change"][str(n)], "null": d["null"][str(n)]}
             for s, d in done.items() if d is not None for n in sizes if str(n) in d["change"]]
    args.out.write_text("".join(json.dumps(x) + "\n" for x in lines))
    print(table(lines, list(sizes)))


if __name__ == "__main__":
    main()
