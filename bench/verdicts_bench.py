"""Validity of the three verdicts on simulated loops whose truth is known (issue 11).

    python bench/verdicts_bench.py [--seeds 1000-1029] [--sizes 50,100,200,400] [--workers 2] [--out FILE]

For every setting (the presets, a null setting and settings off the presets) and history length, simulate
one single-namespace v1 loop per seed, import them all into one temporary store (the ordinary importer,
NDJSON in a temporary directory; secret redaction is switched off in the workers — simulated batons hold
no secrets and it is ~70% of import time), compute only the metrics the verdicts read, and answer the three
questions per namespace with `baton_lab.report.answer_questions`. Prints the verdict table (share of
seeds answered yes / no / other per question), the criteria's hit rates, and the coverage of the
flake-adjusted catch share (L4 `real_share`) and of the rule effect (P6 `rr_graduated`) against the
simulator's truth. The rules were chosen on seeds 1000-1029 (the default range, `--seeds`); the README
quotes the held-out range 5000-5029.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from baton_lab.simulate.params import DEFAULT, PRESETS, SimParams  # noqa: E402

# The null: rules do nothing, nothing breaks, checks are flaky (and failed checks are re-run half the time).
NULL = DEFAULT.with_overrides(p_broke=0.0, p_flaky=0.08, p_recheck_failed=0.5, rule_effect=1.0)
SETTINGS: dict[str, SimParams] = {
    "healthy-loop": PRESETS["healthy-loop"],
    "log-nobody-reads": PRESETS["log-nobody-reads"],
    "rules-dont-stick": PRESETS["rules-dont-stick"],
    "default": PRESETS["default"],
    "null": NULL,
    # off the presets: a healthy loop with flakier checks that re-runs failures, and a middling loop whose
    # rules halve recurrence, with a slower human gate and some re-checks
    "healthy-flaky-rechecks": PRESETS["healthy-loop"].with_overrides(p_flaky=0.1, p_recheck_failed=0.8),
    "middling-half-effect": DEFAULT.with_overrides(rule_effect=0.5, confirm_latency_mean=5.0, p_silent_drop=0.02,
                                                   p_recheck_failed=0.5, pattern_rate_mean=0.25),
}
METRICS = ["touch_rate", "silent_drop_rate", "rule_effectiveness", "gate_latency", "graduation_funnel",
           "anti_ouroboros_violations", "caught_regressions", "verify_flip_rate", "read_receipt_rate",
           "net_closure_ratio", "recovery_time", "reverify_regression_rate"]


def _truth(sim, ns: str) -> dict:  # noqa: ANN001
    t = sim.truth()
    loops = t["loops"].filter(pl.col("namespace") == ns)
    machine = loops.filter(pl.col("verify_method").is_in(["http", "file_exists", "process_running"])
                           & pl.col("outcome").is_in(["verified", "failed"]))
    real = machine.filter(pl.col("broke_something") & (pl.col("outcome") == "failed")).height
    return {"true_real_share": real / machine.height if machine.height else None,
            "true_rule_effect": sim.spec(ns).params.rule_effect}


def run_cell(job: tuple[str, int, list[int]]) -> list[dict]:
    """One setting × size over the given seeds: one store, one compute, one row per seed."""
    import baton_lab as bl
    from baton_lab.metrics import compute
    from baton_lab.report import answer_questions
    from baton_lab.simulate.simulation import NamespaceSpec, Simulation

    from baton_lab.store import ingest

    if hasattr(ingest, "redact"):   # simulated batons hold no secrets, and redaction is ~70% of import time
        ingest.redact = lambda doc: (doc, 0)
    setting, size, seeds = job
    params = SETTINGS[setting]
    started = time.perf_counter()
    specs = [NamespaceSpec(0, f"{setting}-s{seed}", setting, params, size, seed) for seed in seeds]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sims = [Simulation([spec], spec.seed, setting) for spec in specs]
        for sim in sims:
            sim.write(Path(tmp) / sim.namespaces[0], ["ndjson"])
        lab = bl.open(Path(tmp) / "store.duckdb")
        for sim in sims:
            ns = sim.namespaces[0]
            for path in (Path(tmp) / ns / "ndjson").glob("*.ndjson"):
                lab.import_(path, namespace=ns)
        with lab.connect(read_only=True) as con:
            result = compute(con, None, METRICS, validate=False)
        for sim in sims:
            ns = sim.namespaces[0]
            row = {"setting": setting, "size": size, "seed": sim.seed, **_truth(sim, ns)}
            for q in answer_questions(result, ns):
                row[f"{q.key}"] = q.verdict
                for c in q.criteria:
                    row[f"{q.key}:{c.key}"] = c.holds
                    row |= {f"{q.key}:{c.key}:{k}": getattr(c, k) for k in ("estimate", "ci_low", "ci_high")}
            for (mid, variant), name in ((("caught_regressions", "real_share"), "real"),
                                         (("rule_effectiveness", "rr_graduated"), "rr")):
                r = result.rows.filter((pl.col("namespace") == ns) & (pl.col("metric_id") == mid)
                                       & (pl.col("variant") == variant) & pl.col("overall"))
                r = r.row(0, named=True) if r.height else {}
                row |= {f"{name}_est": r.get("estimate"), f"{name}_lo": r.get("ci_low"), f"{name}_hi": r.get("ci_high")}
            rows.append(row)
    print(f"  {setting} @{size}: {len(seeds)} seeds in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return rows


def b2_pools(seeds: list[int], size: int = 400, setting: str = "healthy-loop") -> pl.DataFrame:
    """Why the all-tier touch rate falls in working loops: per tier, the touched share and the open items per
    session (per namespace) in the first and the last 100 sessions, pooled over the seeds."""
    import baton_lab as bl
    from baton_lab.metrics import compute
    from baton_lab.simulate.simulation import NamespaceSpec, Simulation

    with tempfile.TemporaryDirectory() as tmp:
        lab = bl.open(Path(tmp) / "store.duckdb")
        for seed in seeds:
            sim = Simulation([NamespaceSpec(0, f"{setting}-s{seed}", setting, SETTINGS[setting], size, seed)], seed, setting)
            sim.write(Path(tmp) / str(seed), ["ndjson"])
            lab.import_(next((Path(tmp) / str(seed) / "ndjson").glob("*.ndjson")), namespace=sim.namespaces[0])
        with lab.connect(read_only=True) as con:
            rows = compute(con, None, ["touch_rate"], validate=False).rows
    w = rows.filter((pl.col("namespace") == "(pooled)") & ~pl.col("overall") & (pl.col("variant") != "acted_trend"))
    w = w.with_columns(part=pl.when(pl.col("window_end_s") <= 100).then(pl.lit("first 100"))
                       .when(pl.col("window_start_s") > size - 100).then(pl.lit("last 100"))).drop_nulls("part")
    return (w.group_by("variant", "part").agg(touched=pl.col("numerator").sum() / pl.col("denominator").sum(),
                                              open_per_session=pl.col("denominator").sum() / (10 * pl.len() * len(seeds)))
            .sort("variant", "part"))


def _range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def summarise(df: pl.DataFrame, markdown: bool = False) -> str:
    if markdown:
        return "\n".join(_markdown_rows(df))
    lines = []
    questions = ("spiral", "graduation", "regressions")
    head = f"{'setting':<24}{'n':>5}" + "".join(f"{q[:11] + ' yes/no':>19}" for q in questions) + f"{'cov L4':>8}{'cov P6':>8}"
    lines.append(head)
    for (setting, size), sub in df.sort("setting", "size").group_by(["setting", "size"], maintain_order=True):
        cells = []
        for q in questions:
            yes = (sub[q] == "yes").mean()
            no = (sub[q] == "no").mean()
            cells.append(f"{yes:>9.0%} / {no:>4.0%}")
        cov = []
        for name, truth in (("real", "true_real_share"), ("rr", "true_rule_effect")):
            # L4: only where the flake share is estimated (re-checks seen); a bound covers by construction
            ok = sub.filter(pl.col(f"{name}_est").is_not_null() & pl.col(f"{name}_hi").is_not_null()
                            & pl.col(truth).is_not_null())
            hit = ok.filter((pl.col(f"{name}_lo") <= pl.col(truth) + 1e-12) & (pl.col(truth) <= pl.col(f"{name}_hi") + 1e-12))
            cov.append(f"{hit.height / ok.height:>7.0%}" if ok.height else f"{'—':>7}")
        lines.append(f"{setting + ' @' + str(size):<24}{sub.height:>5}" + "".join(f"{c:>19}" for c in cells) + " " + " ".join(cov))
    return "\n".join(lines)


def _markdown_rows(df: pl.DataFrame) -> list[str]:
    """The verdict table as Markdown (what the README quotes)."""
    out = ["| setting | sessions | seeds | Q1 yes / no | Q2 yes / no | Q3 yes / no | L4 real-share coverage | P6 coverage |",
           "|---|---|---|---|---|---|---|---|"]
    for (setting, size), sub in df.sort("setting", "size").group_by(["setting", "size"], maintain_order=True):
        cells = [f"{(sub[q] == 'yes').mean():.0%} / {(sub[q] == 'no').mean():.0%}" for q in ("spiral", "graduation", "regressions")]
        cov = []
        for name, truth in (("real", "true_real_share"), ("rr", "true_rule_effect")):
            ok = sub.filter(pl.col(f"{name}_est").is_not_null() & pl.col(f"{name}_hi").is_not_null() & pl.col(truth).is_not_null())
            hit = ok.filter((pl.col(f"{name}_lo") <= pl.col(truth) + 1e-12) & (pl.col(truth) <= pl.col(f"{name}_hi") + 1e-12))
            cov.append(f"{hit.height}/{ok.height}" if ok.height else "bound")
        out.append(f"| {setting} | {size} | {sub.height} | " + " | ".join(cells + cov) + " |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1000-1029", help="seed range, e.g. 1000-1029 (tuning) or 5000-5029 (held out)")
    ap.add_argument("--sizes", default="50,100,200,400")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="write the per-seed rows here (Parquet)")
    ap.add_argument("--summarise", nargs="*", default=None, metavar="ROWS",
                    help="print the tables from rows saved by earlier runs (.parquet or .partial.ndjson) and exit")
    ap.add_argument("--markdown", action="store_true", help="with --summarise: the verdict table as Markdown")
    ap.add_argument("--b2-pools", action="store_true", help="print why B2's all-tier touch rate falls in healthy loops")
    args = ap.parse_args()
    if args.b2_pools:
        with pl.Config(tbl_rows=20):
            print(b2_pools(_range(args.seeds)[:6]))
        return
    if args.summarise:
        # json, not pl.read_ndjson: rate-ratio bounds can be Infinity, which json writes and reads back
        frames = [pl.read_parquet(f) if f.endswith(".parquet") else
                  pl.DataFrame([json.loads(line) for line in Path(f).read_text().splitlines()], infer_schema_length=None)
                  for f in args.summarise if Path(f).exists()]
        saved = pl.concat(frames, how="diagonal_relaxed").unique(["setting", "size", "seed"])
        if args.markdown:
            print(summarise(saved, markdown=True))
        else:
            report(saved, "saved rows")
        return
    seeds = _range(args.seeds)
    sizes = [int(s) for s in args.sizes.split(",")]
    jobs = [(s, n, seeds) for n in sorted(sizes, reverse=True) for s in args.settings.split(",")]
    t = time.perf_counter()
    rows: list[dict] = []
    partial = Path(args.out).with_suffix(".partial.ndjson") if args.out else None
    with ProcessPoolExecutor(args.workers) as pool:
        for future in as_completed([pool.submit(run_cell, job) for job in jobs]):
            part = future.result()
            rows.extend(part)
            if partial:   # a long run that is stopped early keeps its finished cells
                with partial.open("a", encoding="utf-8") as fh:
                    fh.writelines(json.dumps(r) + "\n" for r in part)
    df = pl.DataFrame(rows, infer_schema_length=None)
    if args.out:
        df.write_parquet(args.out)
    report(df, f"seeds {args.seeds} ({len(seeds)} per cell), {time.perf_counter() - t:.0f} s")
    print(json.dumps({"cells": len(jobs), "rows": df.height}))


def report(df: pl.DataFrame, what: str) -> None:
    print(f"verdict validity, {what}")
    print("yes/no: share of seeds answered yes / no; cov: 95% interval covers the simulator's truth "
          "(L4 flake-adjusted catch share, P6 rule effect)")
    print(summarise(df))
    crit = [c for c in df.columns if c.count(":") == 1]
    print("\ncriterion holds (share of seeds: True / False / unknown), by setting at 200 sessions")
    for setting, sub in df.filter(pl.col("size") == 200).group_by("setting", maintain_order=True):
        parts = [f"{c}={(sub[c].fill_null(False)).mean():.0%}/{(~sub[c].fill_null(True)).mean():.0%}" for c in crit]
        print(f"  {setting[0]}: " + ", ".join(parts))
    null = df.filter(pl.col("setting") == "null")
    if null.height:
        covers = null.filter(pl.col("real_lo").is_not_null())
        print(f"\nnull setting: flake-adjusted real catches cover zero in "
              f"{covers.filter(pl.col('real_lo') <= 0).height} of {covers.height} seeds × sizes")


if __name__ == "__main__":
    main()
