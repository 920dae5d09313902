"""Impact tier — open loops (metrics.md §4.1, L1–L9)."""

from __future__ import annotations

import polars as pl

from . import frames as fr
from . import stats
from .base import Context
from .frames import Output
from .registry import Metric, metric

_LT_NOTE = "items already in the first snapshot (left-truncated) are excluded: no delayed-entry estimator"


@metric("L1", "loop_open_rate", family="loops", title="New open loops per session", unit="loops/session")
def loop_open_rate(ctx: Context, m: Metric) -> Output:
    """New loops created per session = #`created` loop events / #sessions in the window, Garwood interval.

    Loops already present in a namespace's first snapshot were created before history began: they are
    not counted, and the first snapshot is not counted as exposure either. Not a quality metric on its own.
    """
    new = ctx.loops.filter(~pl.col("left_truncated")).select("namespace", seq="created_seq", k=pl.lit(1))
    exposure = ctx.grid.join(ctx.bounds.select("namespace", "min_seq"), on="namespace").select(
        "namespace", "seq", e=(pl.col("seq") > pl.col("min_seq")).cast(pl.Int64))
    df = fr.windowed(ctx, pl.concat([new.with_columns(e=pl.lit(0)), exposure.with_columns(k=pl.lit(0))],
                                    how="diagonal_relaxed"), ["k", "e"])
    return Output(fr.finish(fr.rate(df, "k", "e"), m, ctx))


@metric("L2", "verify_coverage", family="loops", title="Machine-checkable share of new loops", unit="share",
        direction="up")
def verify_coverage(ctx: Context, m: Metric) -> Output:
    """Share of loops created in the window whose `verify.method` is machine-checkable (http, file_exists,
    process_running). Denominator: all loops created in the window (`verify: null` counts as "none").
    Variants: machine (the SI component), manual, none — the three-way split. Wilson intervals."""
    loops = ctx.loops.select("namespace", seq="created_seq", cls="method_class")
    contrib = pl.concat([loops.with_columns(variant=pl.lit(v), k=(pl.col("cls") == v).cast(pl.Int64), n=pl.lit(1))
                         for v in ("machine", "manual", "none")])
    df = fr.windowed(ctx, contrib, ["k", "n"], variants=["machine", "manual", "none"])
    return Output(fr.finish(fr.proportion(df, "k", "n"), m, ctx))


def _loop_outcomes(ctx: Context) -> pl.DataFrame:
    return ctx.loops.filter(~pl.col("left_truncated"))


_LOOP_CAUSES = {"verified": 1, "failed": 2, "escalated": 3, "dropped": 4, "censored": 0}


@metric("L3", "time_to_verify", family="loops", title="Sessions from creation to a terminal status", unit="sessions",
        direction="down")
def time_to_verify(ctx: Context, m: Metric) -> Output:
    """Δs from a loop's first snapshot to its first terminal status (verified, failed or escalated).

    Still-open loops are right-censored at the last snapshot; loops that vanish while open (`dropped`) are
    a competing outcome, never censored. Estimator: Aalen-Johansen cumulative incidence of any terminal
    status; `terminal_median` is the session at which it reaches 0.5 (null if it never does) and
    `terminal_cif_at_1` the share closed by the very next session. Curves: the CIF of each cause
    (verified, failed, escalated, dropped). Left-truncated loops excluded (no delayed entry).
    """
    loops = _loop_outcomes(ctx)
    out = fr.survival(ctx, m, loops, variant="terminal", cause_col="outcome", causes=_LOOP_CAUSES,
                      of_interest=["verified", "failed", "escalated"], cohort_seq="created_seq", note=_LT_NOTE,
                      extra_points=(1.0,))
    curves = [out.curves]
    for cause in ("verified", "failed", "escalated", "dropped"):
        curves.append(fr.survival(ctx, m, loops, variant=cause, cause_col="outcome", causes=_LOOP_CAUSES,
                                  of_interest=cause, cohort_seq="created_seq", windows=False).curves)
    return Output(out.rows, pl.concat(curves))


@metric("L4", "caught_regressions", family="loops", title="Caught regressions (loops verified as failed)",
        unit="loops", direction="down", primary=True)
def caught_regressions(ctx: Context, m: Metric) -> Output:
    """Loops whose verification ends `failed` and are not later `verified` ("broke something last time and
    didn't notice"), by the window of the snapshot that first shows `failed`.

    Variants: (i) `count` — the count with a Garwood interval; (ii) `rate_per_session` — count / sessions
    in the window (Garwood); (iii) `catch_share` — caught / machine-checked loops that reached verified or
    failed (a failure later contradicted by `verified` counts as verified; Wilson), the DORA change-failure-rate analogue.

    Flake-adjusted (overall rows, `stats.flake_split`): a failed machine check that stays on the baton and is
    checked again either fails again or flips to `verified` with nothing changed — the flaky-test signature.
    From the first-failure share and the flip share the per-check flake rate and the false-failure share φ
    are solved; `real_count` = machine failures not re-run × (1 − φ) + failures confirmed twice × P(real |
    two failures) + failures of manual checks (taken as real), `real_share` = its machine part / machine-
    checked loops, `false_failure_share` = φ. Intervals from the Jeffreys–Dirichlet posterior of the four
    check outcomes; `real_count`'s is posterior predictive (which of *these* failures were real), so it covers
    the realised catches ~95% of the time rather than 99–100%. With no re-run failure the
    flake rate is not identified: `real_share` / `real_count` carry a bound (flake rate ≤ 10% per check)
    and no estimate.
    """
    caught = ctx.loops.filter(pl.col("caught")).select("namespace", seq="failed_seq", k=pl.lit(1))
    df = fr.windowed(ctx, caught, ["k"])
    count = fr.rate(df.with_columns(one=pl.lit(1.0)), "k", "one").with_columns(
        variant=pl.lit("count"), exposure=pl.lit(None, pl.Float64), estimate=pl.col("numerator"),
        min_n_met=pl.lit(True), unit=pl.lit("loops"))
    per_session = fr.rate(df, "k", "sessions").with_columns(variant=pl.lit("rate_per_session"),
                                                            unit=pl.lit("failures/session"))
    terminal = ctx.loops.filter((pl.col("method_class") == "machine")
                                & pl.col("terminal_status").is_in(["verified", "failed"]))
    share = fr.windowed(ctx, terminal.select("namespace", seq="terminal_seq", k=pl.col("caught").cast(pl.Int64),
                                             n=pl.lit(1)), ["k", "n"])
    share = fr.proportion(share, "k", "n").with_columns(variant=pl.lit("catch_share"), unit=pl.lit("share"))
    note = "failed not contradicted by a later verified; read real_count for the flake-adjusted number"
    return Output(fr.finish(pl.concat([count, per_session, share, _flake_rows(ctx)], how="diagonal_relaxed"),
                            m, ctx, note=note))


def _recheck_counts(ctx: Context) -> pl.DataFrame:
    """Per namespace: machine-checked loops (first terminal verified/failed), first failures, failures
    re-checked and failed again, failures that flipped to verified, and caught loops without a machine check.

    A failure counts as re-checked when the loop is still on the baton after the failing snapshot (status
    failed again, or verified): a failed loop that is archived at once was not looked at again."""
    lo = ctx.loops
    machine = (pl.col("method_class") == "machine") & pl.col("terminal_status").is_in(["verified", "failed"])
    fail = machine & (pl.col("terminal_status") == "failed")
    flip = fail & (pl.col("last_verified_seq") > pl.col("failed_seq")).fill_null(False)
    refail = fail & ~flip & (pl.col("last_failed_seq") > pl.col("failed_seq")).fill_null(False)
    return lo.select("namespace", seq="terminal_seq", n=machine.cast(pl.Int64), fail=fail.cast(pl.Int64), refail=refail.cast(pl.Int64),
                     flip=flip.cast(pl.Int64), other=(pl.col("caught") & (pl.col("method_class") != "machine")).cast(pl.Int64))


def _flake_rows(ctx: Context) -> pl.DataFrame:
    """L4's flake-adjusted rows: real_count, real_share, false_failure_share (stats.flake_split)."""
    rows = []
    span = fr.spans(ctx)
    for ns, sub in fr.namespace_groups(ctx, _recheck_counts(ctx)):
        n, fail, refail, flip, other = (int(sub[c].sum()) for c in ("n", "fail", "refail", "flip", "other"))
        split = stats.flake_split(n, fail, refail, flip)
        real, phi = split.real_share, split.false_failure_share
        basis = (f"{n} machine-checked loops, {fail} failed the first check; {refail + flip} re-checked: "
                 f"{flip} flipped to verified, {refail} failed again")
        scale = lambda v: None if v is None else v * n + other  # noqa: E731 - share of machine loops -> count
        common = {"namespace": ns, "overall": True, **span[ns]}
        rows += [
            {**common, "variant": "real_count", "estimate": scale(real.estimate), "ci_low": scale(real.ci_low),
             "ci_high": scale(real.ci_high), "numerator": scale(real.estimate), "denominator": float(fail + other),
             "ci_method": real.method, "min_n_met": real.min_n_met, "unit": "loops", "status": "ok" if n else None,
             "note": f"{basis}; {other} caught without a machine check counted as real"},
            {**common, "variant": "real_share", "estimate": real.estimate, "ci_low": real.ci_low, "ci_high": real.ci_high,
             "numerator": real.numerator, "denominator": real.denominator, "ci_method": real.method,
             "min_n_met": real.min_n_met, "unit": "share", "status": "ok" if n else None, "note": basis},
            {**common, "variant": "false_failure_share", "estimate": phi.estimate, "ci_low": phi.ci_low,
             "ci_high": phi.ci_high, "numerator": phi.numerator, "denominator": phi.denominator,
             "ci_method": phi.method, "min_n_met": phi.min_n_met, "unit": "share",
             "status": "ok" if fail else None, "note": basis},
        ]
    return pl.DataFrame(rows, schema_overrides={k: pl.Float64 for k in
                                                ("estimate", "ci_low", "ci_high", "numerator", "denominator")},
                        infer_schema_length=None)


@metric("L5", "detection_latency", family="loops", title="Sessions from creation to `failed`", unit="sessions")
def detection_latency(ctx: Context, m: Metric) -> Output:
    """DORA time-to-detect: Δs from loop creation to the snapshot showing `failed`, with the other terminal
    outcomes and drops competing and open loops censored (Aalen-Johansen CIF of `failed`; the median is
    where it reaches 0.5, usually never — then read `failed_cif_at_1`). Left-truncated loops excluded."""
    return fr.survival(ctx, m, _loop_outcomes(ctx), variant="failed", cause_col="outcome", causes=_LOOP_CAUSES,
                       of_interest="failed", cohort_seq="created_seq", note=_LT_NOTE, extra_points=(1.0,))


@metric("L5", "recovery_time", family="loops", title="Sessions from `failed` to a verified fix", unit="sessions",
        direction="down")
def recovery_time(ctx: Context, m: Metric) -> Output:
    """Δs from a loop's `failed` snapshot to the first loop created at or after it with the same
    `decision_ref` that reaches `verified`; right-censored at the last snapshot while no fix is seen.
    Kaplan-Meier median over failed loops that have a decision_ref (others cannot be linked: session-baton
    has no fix-of field, and matching action text over-counts templated actions)."""
    loops = ctx.loops
    failed = loops.filter(pl.col("caught")).select("namespace", "item_id", "failed_seq", "decision_ref", "action",
                                                   "max_seq")
    fixes = loops.filter(pl.col("terminal_status") == "verified").select(
        "namespace", fix_ref="decision_ref", fix_action="action", fix_created="created_seq", fix_seq="terminal_seq")
    by_ref = failed.filter(pl.col("decision_ref").is_not_null()).join(
        fixes, left_on=["namespace", "decision_ref"], right_on=["namespace", "fix_ref"])
    links = (by_ref.select("namespace", "item_id", "fix_created", "fix_seq")
             .join(failed.select("namespace", "item_id", "failed_seq"), on=["namespace", "item_id"])
             .filter((pl.col("fix_created") >= pl.col("failed_seq")) & (pl.col("fix_seq") > pl.col("failed_seq")))
             .group_by("namespace", "item_id").agg(fix_seq=pl.col("fix_seq").min()))
    frame = failed.join(links, on=["namespace", "item_id"], how="left").with_columns(
        outcome=pl.when(pl.col("fix_seq").is_not_null()).then(pl.lit("fixed")).otherwise(pl.lit("censored")),
        duration=pl.coalesce("fix_seq", "max_seq") - pl.col("failed_seq"))
    frame = frame.filter(pl.col("decision_ref").is_not_null())
    if frame.height == 0:
        return Output(fr.unsupported(m, ctx, "needs failed loops with a decision_ref to link a fix to "
                                             "(session-baton has no fix-of field)"))
    return fr.survival(ctx, m, frame, variant="recovery", cause_col="outcome", causes={"fixed": 1, "censored": 0},
                       of_interest="fixed", cohort_seq="failed_seq",
                       note="fix linked by decision_ref; failed loops without one excluded")


@metric("L6", "silent_drop_rate", family="loops", title="Loops that vanish without a terminal status",
        unit="share", direction="down", primary=True)
def silent_drop_rate(ctx: Context, m: Metric) -> Output:
    """Loops that vanish from the baton while still open (no verified/failed/escalated seen) / loops created
    in the window (cohort by first snapshot, left-truncated loops included). Wilson interval. A competing
    outcome, not censoring: loops still open at the last snapshot count in the denominator and can still
    drop, so the last windows are lower bounds. Curve: Aalen-Johansen CIF of `dropped`."""
    contrib = ctx.loops.select("namespace", seq="created_seq", k=(pl.col("outcome") == "dropped").cast(pl.Int64),
                               n=pl.lit(1))
    rows = fr.proportion(fr.windowed(ctx, contrib, ["k", "n"]), "k", "n").with_columns(variant=pl.lit("share"))
    fr.record_clusters(ctx, m, "share", contrib.with_columns(item=ctx.loops["item_id"]))
    curve = fr.survival(ctx, m, _loop_outcomes(ctx), variant="dropped", cause_col="outcome", causes=_LOOP_CAUSES,
                        of_interest="dropped", cohort_seq="created_seq", windows=False).curves
    return Output(fr.finish(rows, m, ctx), curve)


@metric("L7", "stale_share", family="loops", title="Open loops past their ttl (point prevalence)", unit="share",
        direction="down")
def stale_share(ctx: Context, m: Metric) -> Output:
    """Per snapshot: open loops older than `ttl_days` (v1: days from `created_at` to the snapshot's claimed
    write time) or `stale_after_hours` (v2), or marked `stale`, / open loops. Window rows pool loop-snapshots
    (Wilson; loop-snapshots are clustered by loop, so the interval is optimistic)."""
    prev = ctx.loop_prevalence.select("namespace", "seq", k="n_stale", n="n_open")
    if getattr(ctx, "cluster_samples", None) is not None:
        fr.record_clusters(ctx, m, "prevalence", ctx.loop_prevalence_cells.select("namespace", "seq", item="item_id",
                                                                                  k="is_stale", n=pl.lit(1)))
    return Output(fr.finish(fr.proportion(fr.windowed(ctx, prev, ["k", "n"]), "k", "n")
                            .with_columns(variant=pl.lit("prevalence")), m, ctx,
                            note="denominator = open loop-snapshots (clustered by loop)"))


@metric("L8", "loop_escalation_rate", family="loops", title="Loops ending escalated", unit="share")
def loop_escalation_rate(ctx: Context, m: Metric) -> Output:
    """Loops ending `escalated` / loops reaching any terminal status (verified, failed, escalated), by the
    window of the terminal snapshot; variants all, machine, manual, none (verify method). Wilson."""
    term = ctx.loops.filter(pl.col("terminal_status").is_not_null())
    k = (pl.col("terminal_status") == "escalated").cast(pl.Int64)
    contrib = pl.concat([term.select("namespace", seq="terminal_seq", k=k, n=pl.lit(1), variant=pl.lit("all")),
                         term.select("namespace", seq="terminal_seq", k=k, n=pl.lit(1), variant="method_class")])
    df = fr.windowed(ctx, contrib, ["k", "n"], variants=["all", "machine", "manual", "none"])
    return Output(fr.finish(fr.proportion(df, "k", "n"), m, ctx))


@metric("L9", "verify_flip_rate", family="loops", title="Flip rate of repeated machine checks", unit="share")
def verify_flip_rate(ctx: Context, m: Metric) -> Output:
    """Among machine-checked loops that failed and were checked again (still on the baton in the next
    snapshot), the share that flipped to `verified` with nothing recorded in between — the flaky-test flip
    rate (`all`, Wilson). `flake_rate`: the per-check probability of a wrong result solved from the flip
    share and the first-failure share (stats.flake_split; posterior interval), which L4's `real_count`
    uses. Batons keep only the latest status, so a failure archived at once is never re-checked: without
    any re-checked failure the metric is not supported (a verification-attempt log, metrics.md §7 gap 2,
    would give it for every check) and L4 reports a bound instead."""
    counts = _recheck_counts(ctx)
    if int((counts["refail"] + counts["flip"]).sum()) == 0:
        return Output(fr.unsupported(m, ctx, "no failed loop was checked again (failed loops are archived at once); "
                                             "a verification-attempt log (metrics.md §7 gap 2) would give it",
                                     variants=["all", "flake_rate"]))
    rechecked = counts.filter(pl.col("seq").is_not_null())
    flips = fr.proportion(fr.windowed(ctx, rechecked.select("namespace", "seq", k="flip", n=pl.col("flip") + pl.col("refail")),
                                      ["k", "n"]), "k", "n").with_columns(variant=pl.lit("all"))
    rows = []
    span = fr.spans(ctx)
    for ns, sub in fr.namespace_groups(ctx, counts):
        n, fail, refail, flip = (int(sub[c].sum()) for c in ("n", "fail", "refail", "flip"))
        f = stats.flake_split(n, fail, refail, flip).flake_rate
        rows.append({"namespace": ns, "variant": "flake_rate", "overall": True, **span[ns], "estimate": f.estimate,
                     "ci_low": f.ci_low, "ci_high": f.ci_high, "numerator": f.numerator, "denominator": f.denominator,
                     "ci_method": f.method, "min_n_met": f.min_n_met and refail + flip > 0, "unit": "per check"})
    rate = pl.DataFrame(rows, schema_overrides={k: pl.Float64 for k in
                                                ("estimate", "ci_low", "ci_high", "numerator", "denominator")},
                        infer_schema_length=None)
    return Output(fr.finish(pl.concat([flips, rate], how="diagonal_relaxed"), m, ctx,
                            note="re-checked = still on the baton after failing; flip = failed then verified"))
