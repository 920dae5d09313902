"""Experience tier — patterns → rules (metrics.md §4.3, P1–P9), with P6 done against regression to the mean.

Occurrence timing comes from `pattern_occurrences` (one row per occurrence, placed at the first snapshot
showing it), so count jumps across a missing snapshot are counted once, at the snapshot that shows them.
A pattern's first snapshot holds its entry occurrence(s): recurrence is counted strictly after it.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats as sps

from . import frames as fr
from . import stats
from .base import Context
from .frames import Output
from .registry import Metric, metric
from .schema import CURVE_COLUMNS, POOLED


def _occ(ctx: Context) -> pl.DataFrame:
    """Occurrences joined to their pattern's lifecycle."""
    return ctx.occurrences.join(ctx.patterns, on=["namespace", "item_id"], how="inner")


def _at_risk(ctx: Context, start: pl.Expr, end: pl.Expr, frame: pl.DataFrame) -> pl.DataFrame:
    """(namespace, seq, e): subjects at risk in session seq for start < seq <= end, via a difference array."""
    marks = pl.concat([
        frame.select("namespace", seq=start + 1, e=pl.lit(1)),
        frame.select("namespace", seq=end + 1, e=pl.lit(-1)),
    ]).group_by("namespace", "seq").agg(pl.col("e").sum())
    return (ctx.grid.select("namespace", "seq").join(marks, on=["namespace", "seq"], how="left")
            .with_columns(pl.col("e").fill_null(0)).sort("namespace", "seq")
            .with_columns(e=pl.col("e").cum_sum().over("namespace")))


@metric("P1", "pattern_recurrence_rate", family="patterns", title="Pattern occurrences per pattern-session",
        unit="occurrences/pattern-session", direction="down")
def pattern_recurrence_rate(ctx: Context, m: Metric) -> Output:
    """Occurrences after a pattern's first snapshot / pattern-sessions at risk (from the session after the
    first snapshot to dismissal, removal or the last snapshot): per pattern (count − 1)/sessions after
    first_seen, pooled = Σ occurrences / Σ sessions at risk (Garwood). Window rows place each occurrence
    and each session at risk in its own window. Items: per-pattern k, exposure, rate and interval; the
    overall rows carry the overdispersion index (variance/mean of per-window counts) in `note`."""
    p = ctx.patterns
    occ = _occ(ctx).filter((pl.col("seq") > pl.col("first_seq")) & (pl.col("seq") <= pl.col("end_seq")))
    risk = _at_risk(ctx, pl.col("first_seq"), pl.col("end_seq"), p)
    contrib = pl.concat([occ.select("namespace", "seq", k=pl.lit(1), e=pl.lit(0)), risk.with_columns(k=pl.lit(0))],
                        how="diagonal_relaxed")
    df = fr.rate(fr.windowed(ctx, contrib, ["k", "e"]), "k", "e").with_columns(variant=pl.lit("pooled"))
    disp = (df.filter(~pl.col("overall") & (pl.col("exposure") > 0)).group_by("namespace")
            .agg(d=pl.col("numerator").var() / pl.col("numerator").mean()))
    df = df.join(disp, on="namespace", how="left").with_columns(
        note=pl.when(pl.col("overall") & pl.col("d").is_not_null())
        .then(pl.format("overdispersion (var/mean of window counts) = {}", pl.col("d").round(2))))
    per = p.select("namespace", "item_id", e=(pl.col("end_seq") - pl.col("first_seq")).clip(0)).join(
        occ.group_by("namespace", "item_id").agg(k=pl.len()), on=["namespace", "item_id"], how="left"
    ).with_columns(pl.col("k").fill_null(0))
    fr.record_clusters(ctx, m, "pooled", per.select("namespace", item="item_id", seq=pl.lit(None), k="k", n="e"))
    lo, hi = stats.garwood_ci(per["k"].to_numpy(), per["e"].to_numpy())
    items = per.with_columns(rate=pl.when(pl.col("e") > 0).then(pl.col("k") / pl.col("e")),
                             ci_low=pl.Series(lo).fill_nan(None), ci_high=pl.Series(hi).fill_nan(None))
    return Output(fr.finish(df.drop("d"), m, ctx), items=items.rename({"item_id": "pattern_id"}))


@metric("P2", "inter_occurrence_interval", family="patterns", title="Sessions between occurrences of a pattern",
        unit="sessions", direction="up")
def inter_occurrence_interval(ctx: Context, m: Metric) -> Output:
    """Gap in sessions between consecutive occurrence sessions of the same pattern (from its first snapshot);
    the last gap is right-censored at the end of exposure. Kaplan-Meier of all gaps pooled. `gap_median`
    reads its interval off the KM log-log band, which treats gaps as independent; gaps of one pattern are
    not, so that band is optimistic. `gap_median_cluster` is the same median with the interval metrics.md
    §3.1 asks for: a cluster bootstrap by pattern (999 resamples of whole patterns with all their gaps,
    right-censoring kept, pooled KM median recomputed; seeded, reproducible; BCa, percentile when BCa is
    undefined — as it can be for a median of whole sessions — ci_method says which). Both rows are
    kept so the gap between them shows how much the clustering matters; read `gap_median_cluster`.
    numerator = gaps ending in an occurrence, denominator = patterns; insufficient below 10 patterns.
    Curves: the KM of gaps and the mean cumulative function of occurrences since first_seen (`mcf`)."""
    p = ctx.patterns
    occ = _occ(ctx).filter((pl.col("seq") > pl.col("first_seq")) & (pl.col("seq") <= pl.col("end_seq")))
    starts = p.select("namespace", "item_id", seq="first_seq")
    marks = pl.concat([starts, occ.select("namespace", "item_id", "seq").unique()]).sort("namespace", "item_id", "seq")
    gaps = marks.with_columns(nxt=pl.col("seq").shift(-1).over("namespace", "item_id")).join(
        p.select("namespace", "item_id", "end_seq"), on=["namespace", "item_id"])
    gaps = gaps.with_columns(
        outcome=pl.when(pl.col("nxt").is_not_null()).then(pl.lit("occurred")).otherwise(pl.lit("censored")),
        duration=pl.coalesce("nxt", "end_seq") - pl.col("seq"),
    ).filter(pl.col("duration") > 0)
    out = fr.survival(ctx, m, gaps, variant="gap", cause_col="outcome", causes={"occurred": 1, "censored": 0},
                      of_interest="occurred", cohort_seq="seq", note="gaps pooled over patterns (clustered)")
    rows = pl.concat([out.rows, fr.finish(_cluster_median_rows(ctx, gaps), m, ctx)])
    mcf_frames = []
    for ns, sub in fr.namespace_groups(ctx, p):
        if sub.height == 0:
            continue
        subs = sub.with_row_index("i").select("namespace", "item_id", "i", "first_seq",
                                              end=(pl.col("end_seq") - pl.col("first_seq")))
        ev = occ.join(subs, on=["namespace", "item_id"]) if ns == POOLED else \
            occ.filter(pl.col("namespace") == ns).join(subs, on=["namespace", "item_id"])
        curve = stats.mean_cumulative_function(subs["end"].to_numpy(), ev["i"].to_numpy(),
                                               (ev["seq"] - ev["first_seq"]).to_numpy())
        if curve.time.size:
            mcf_frames.append(pl.DataFrame({"namespace": ns, "metric_id": m.id, "variant": "mcf", "time": curve.time,
                                            "value": curve.value, "lower": curve.lower, "upper": curve.upper,
                                            "at_risk": curve.at_risk}, schema=CURVE_COLUMNS))
    return Output(rows, pl.concat([out.curves, *mcf_frames]))


def _cluster_median_rows(ctx: Context, gaps: pl.DataFrame) -> pl.DataFrame:
    """P2's `gap_median_cluster` rows: pooled KM median of the gaps with a cluster bootstrap by pattern."""
    rows = []
    gaps = gaps.select("namespace", "duration", occurred=pl.col("outcome") == "occurred",
                       pattern=pl.struct("namespace", "item_id").rank("dense"))
    for ns, sub in fr.namespace_groups(ctx, gaps):
        est = stats.km_median_cluster_bootstrap(sub["duration"].to_numpy(), sub["occurred"].to_numpy(),
                                                sub["pattern"].to_numpy())
        enough = est.denominator >= stats.MIN_BOOTSTRAP_CLUSTERS
        if est.estimate is not None:
            status, note = None, f"cluster bootstrap by pattern: {est.denominator} patterns, {sub.height} gaps"
        elif sub.height:
            status, note = ("ok" if enough else "insufficient"), "median not reached within follow-up"
        else:
            status, note = None, None
        rows.append({"namespace": ns, "variant": "gap_median_cluster", "overall": True, "estimate": est.estimate,
                     "ci_low": est.ci_low, "ci_high": est.ci_high, "ci_method": est.method, "unit": "sessions",
                     "numerator": est.numerator, "denominator": float(est.denominator),
                     "n_censored": int((~sub["occurred"]).sum()), "min_n_met": enough, "status": status,
                     "note": note})
    span = ctx.bounds.select("namespace", window_start_s="min_seq", window_end_s="max_seq")
    whole = span.select(pl.lit(POOLED).alias("namespace"), pl.col("window_start_s").min(), pl.col("window_end_s").max())
    frame = pl.DataFrame(rows, schema_overrides={"estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                                                 "numerator": pl.Float64, "status": pl.String, "note": pl.String},
                         infer_schema_length=None)
    return frame.join(pl.concat([span, whole]), on="namespace", how="left")


@metric("P3", "new_pattern_rate", family="patterns", title="New patterns per session", unit="patterns/session")
def new_pattern_rate(ctx: Context, m: Metric) -> Output:
    """New pattern ids per session (patterns in the first snapshot excluded, and the first snapshot from the
    exposure), Garwood interval; variant `trend` (overall rows): Theil–Sen slope of the per-window rates
    per window. A saturating cumulative curve with falling P1 is the spiral; a steady line with flat
    recurrence is a log of new mistakes. Curve: cumulative new patterns by session."""
    new = ctx.patterns.filter(~pl.col("left_truncated")).select("namespace", seq="first_seq", k=pl.lit(1))
    exposure = ctx.grid.join(ctx.bounds.select("namespace", "min_seq"), on="namespace").select(
        "namespace", "seq", e=(pl.col("seq") > pl.col("min_seq")).cast(pl.Int64))
    df = fr.rate(fr.windowed(ctx, pl.concat([new, exposure], how="diagonal_relaxed").fill_null(0), ["k", "e"]), "k", "e")
    trend = fr.trend_rows(df)
    return Output(fr.finish(pl.concat([df.with_columns(variant=pl.lit("rate")), trend], how="diagonal_relaxed"), m, ctx))


@metric("P4", "graduation_funnel", family="patterns", title="observing → rule_candidate → graduated / dismissed",
        unit="share", primary=True)
def graduation_funnel(ctx: Context, m: Metric) -> Output:
    """For patterns first seen in the window (cohort): `candidate_share` = reached rule_candidate (or
    graduated directly) / created; `graduated_share` = graduated / reached candidate; `dismissed_share` =
    dismissed / reached candidate (Wilson each). Candidates still waiting are "in progress" (n_censored):
    use P5 for timing. Counts per stage are the numerators/denominators."""
    p = ctx.patterns.with_columns(cand=pl.col("candidate_seq").is_not_null() | pl.col("graduated_seq").is_not_null())
    waiting = (pl.col("cand") & pl.col("graduated_seq").is_null() & pl.col("dismissed_seq").is_null()).cast(pl.Int64)
    contrib = pl.concat([
        p.select("namespace", seq="first_seq", variant=pl.lit("candidate_share"), k=pl.col("cand").cast(pl.Int64),
                 n=pl.lit(1), c=(~pl.col("cand") & pl.col("dismissed_seq").is_null()).cast(pl.Int64)),
        p.filter("cand").select("namespace", seq="first_seq", variant=pl.lit("graduated_share"),
                                k=pl.col("graduated_seq").is_not_null().cast(pl.Int64), n=pl.lit(1), c=waiting),
        p.filter("cand").select("namespace", seq="first_seq", variant=pl.lit("dismissed_share"),
                                k=(pl.col("dismissed_seq").is_not_null() & pl.col("graduated_seq").is_null()).cast(pl.Int64),
                                n=pl.lit(1), c=waiting),
    ])
    df = fr.windowed(ctx, contrib, ["k", "n", "c"], variants=["candidate_share", "graduated_share", "dismissed_share"])
    rows = fr.proportion(df, "k", "n").with_columns(n_censored=pl.col("c").cast(pl.Int64))
    return Output(fr.finish(rows, m, ctx))


_P5_NOTE = "left-truncated patterns excluded (no delayed entry)"


@metric("P5", "time_to_candidate", family="patterns", title="Sessions from first seen to rule_candidate",
        unit="sessions")
def time_to_candidate(ctx: Context, m: Metric) -> Output:
    """Δs from a pattern's first snapshot to the first showing `rule_candidate` (or `graduated`); dismissal or
    removal before that is competing, still observing is censored at the end of exposure. Aalen-Johansen
    (KM when nothing competes); 0 when the pattern enters already a candidate."""
    p = ctx.patterns.filter(~pl.col("left_truncated")).with_columns(
        cand=pl.coalesce("candidate_seq", "graduated_seq"))
    p = p.with_columns(
        outcome=pl.when(pl.col("cand").is_not_null()).then(pl.lit("candidate"))
        .when(pl.col("end_seq") < pl.col("max_seq")).then(pl.lit("ended")).otherwise(pl.lit("censored")),
        duration=pl.coalesce("cand", "end_seq") - pl.col("first_seq"))
    return fr.survival(ctx, m, p, variant="candidate", cause_col="outcome",
                       causes={"candidate": 1, "ended": 2, "censored": 0}, of_interest="candidate",
                       cohort_seq="first_seq", note=_P5_NOTE)


@metric("P5", "time_to_graduation", family="patterns", title="Sessions from rule_candidate to graduated",
        unit="sessions", primary=True)
def time_to_graduation(ctx: Context, m: Metric) -> Output:
    """Δs from the first `rule_candidate` snapshot to the first `graduated` one (0 when a pattern graduates
    in the session it becomes a candidate — see P7 `same_session`); dismissal/removal competing, waiting
    candidates censored. Aalen-Johansen CIF of graduation; median = where it reaches 0.5."""
    p = ctx.patterns.with_columns(cand=pl.coalesce("candidate_seq", "graduated_seq")).filter(pl.col("cand").is_not_null())
    p = p.with_columns(
        outcome=pl.when(pl.col("graduated_seq").is_not_null()).then(pl.lit("graduated"))
        .when(pl.col("end_seq") < pl.col("max_seq")).then(pl.lit("ended")).otherwise(pl.lit("censored")),
        duration=pl.coalesce("graduated_seq", "end_seq") - pl.col("cand"))
    return fr.survival(ctx, m, p, variant="graduation", cause_col="outcome",
                       causes={"graduated": 1, "ended": 2, "censored": 0}, of_interest="graduated", cohort_seq="cand")


@metric("P5", "gate_latency", family="patterns", title="Sessions an llm_derived candidate waits for a human",
        unit="sessions", direction="down", primary=True)
def gate_latency(ctx: Context, m: Metric) -> Output:
    """Anti-Ouroboros gate latency: for candidates that were `llm_derived` when they became candidates, Δs from
    the first `rule_candidate` snapshot to the first snapshot with `source_tier: human_confirmed`. Graduating
    while still llm_derived (a violation), dismissal or removal compete; waiting candidates are censored.
    Aalen-Johansen; graduation is "practical" if the median stays within the pre-registered latency."""
    p = ctx.patterns.with_columns(cand=pl.coalesce("candidate_seq", "graduated_seq")).filter(
        pl.col("cand").is_not_null() & (pl.col("initial_tier") == "llm_derived")
        & (pl.col("confirmed_seq").is_null() | (pl.col("confirmed_seq") >= pl.col("cand"))))
    p = p.with_columns(
        outcome=pl.when(pl.col("confirmed_seq").is_not_null()).then(pl.lit("confirmed"))
        .when(pl.col("violation_seq").is_not_null() | (pl.col("end_seq") < pl.col("max_seq"))).then(pl.lit("other"))
        .otherwise(pl.lit("censored")),
        duration=pl.coalesce("confirmed_seq", "violation_seq", "end_seq") - pl.col("cand"))
    return fr.survival(ctx, m, p, variant="gate", cause_col="outcome", causes={"confirmed": 1, "other": 2, "censored": 0},
                       of_interest="confirmed", cohort_seq="cand")


def rule_effect_table(ctx: Context) -> pl.DataFrame:
    """Per pattern and arm: occurrences and sessions before/after (see `rule_effectiveness`)."""
    p = ctx.patterns.with_columns(c=pl.coalesce("crossing_seq", "candidate_seq", "graduated_seq"))
    occ = _occ(ctx).select("namespace", "item_id", "seq")
    grad = p.filter(pl.col("graduated_seq").is_not_null()).select(
        "namespace", "item_id", "c", lo="c", hi="graduated_seq", end="end_seq", arm=pl.lit("graduated"))
    # Control alignment: a pseudo-graduation d sessions after crossing, d = the namespace's median
    # crossing-to-graduation delay (at least 1), so both arms compare the same stretch of a pattern's life.
    delay = grad.group_by("namespace").agg(d=(pl.col("hi") - pl.col("lo")).median().round().clip(1).cast(pl.Int64))
    overall_d = int(max(1, round((grad["hi"] - grad["lo"]).median() or 1)))
    ctrl = p.filter(pl.col("graduated_seq").is_null() & pl.col("crossing_seq").is_not_null()).join(
        delay, on="namespace", how="left").with_columns(pl.col("d").fill_null(overall_d)).select(
        "namespace", "item_id", "c", lo="c", hi=pl.col("c") + pl.col("d"), end="end_seq", arm=pl.lit("control"))
    arms = pl.concat([grad, ctrl]).with_columns(hi=pl.min_horizontal("hi", "end"))
    j = occ.join(arms.select("namespace", "item_id", "lo", "hi", "end"), on=["namespace", "item_id"])
    counts = j.group_by("namespace", "item_id").agg(
        k_before=((pl.col("seq") > pl.col("lo")) & (pl.col("seq") <= pl.col("hi"))).sum(),
        k_after=((pl.col("seq") > pl.col("hi")) & (pl.col("seq") <= pl.col("end"))).sum())
    t = arms.join(counts, on=["namespace", "item_id"], how="left").with_columns(
        pl.col("k_before").fill_null(0).cast(pl.Int64), pl.col("k_after").fill_null(0).cast(pl.Int64),
        e_before=(pl.col("hi") - pl.col("lo")).clip(0).cast(pl.Int64),
        e_after=(pl.col("end") - pl.col("hi")).clip(0).cast(pl.Int64))
    r = fr.ratio(t, "k_after", "e_after", "k_before", "e_before")
    return r.select("namespace", pattern_id="item_id", arm="arm", crossing_seq="c",
                    graduated_seq=pl.when(pl.col("arm") == "graduated").then(pl.col("hi")),
                    k_before="k_before", e_before="e_before", k_after="k_after", e_after="e_after",
                    rr="estimate", rr_low="ci_low", rr_high="ci_high")


@metric("P6", "rule_effectiveness", family="patterns", title="Recurrence after vs before graduation (with RTM control)",
        unit="rate ratio", direction="<1", primary=True)
def rule_effectiveness(ctx: Context, m: Metric) -> Output:
    """Per graduated pattern RRᵢ = (occurrences after graduation / sessions after) ÷ (occurrences before /
    sessions before). *Before* excludes the first occurrence **and the whole threshold-triggering window**:
    it runs from the session after the threshold-crossing snapshot (count ≥ threshold; v2: became a
    candidate) to the graduation snapshot. Sessions up to the crossing are selected *because* occurrences
    piled up there (regression to the mean); counting them — or even keeping the climb but dropping only
    the crossing session — biases the baseline (the climb is an inverse-sampling stretch whose rate
    reads low, the crossing session reads high). *After* runs from the session after graduation to
    dismissal/removal/last snapshot. Occurrences in the graduation snapshot happened before the rule. A
    pattern that graduates in the snapshot where it crosses (or becomes a candidate) has no before-period
    and contributes nothing to the pooled ratio (its item row has e_before = 0).

    `rr_graduated`: pooled over patterns by the stratified conditional likelihood (pattern strata = fixed
    effects; likelihood-ratio interval, defined with zero events after). `rr_control`: the same quantity
    for the regression-to-the-mean control — patterns that crossed the threshold but never graduated,
    aligned at crossing with a pseudo-graduation after the namespace's median crossing→graduation delay.
    `rr_vs_control` = rr_graduated / rr_control (Wald on the log scale from the two profile intervals):
    the effect beyond RTM and beyond drift. Insufficient below 6 pooled "before" occurrences (metrics.md
    §3.2). Window rows: graduation cohorts, crude Σ exact conditional ratio. Items: the per-pattern
    forest (rr, rr_low, rr_high, exact conditional) for both arms. Curve: event study — rate per
    pattern-session aligned at graduation, s − s_grad from −10 to +10."""
    t = rule_effect_table(ctx)
    rows = []
    span = {r["namespace"]: (r["min_seq"], r["max_seq"]) for r in ctx.bounds.iter_rows(named=True)}
    for ns, sub in fr.namespace_groups(ctx, t.rename({"pattern_id": "item_id"})):
        est = {}
        for arm in ("graduated", "control"):
            a = sub.filter(pl.col("arm") == arm)
            e = stats.pooled_rate_ratio(a["k_after"].to_numpy(), a["e_after"].to_numpy(),
                                        a["k_before"].to_numpy(), a["e_before"].to_numpy())
            est[arm] = e
            lo_s, hi_s = span.get(ns, (min(v[0] for v in span.values()) if span else None,
                                       max(v[1] for v in span.values()) if span else None))
            rows.append({"namespace": ns, "variant": f"rr_{arm}", "window_start_s": lo_s, "window_end_s": hi_s,
                         "overall": True, "numerator": e.numerator, "denominator": e.denominator,
                         "exposure": float(a["e_after"].sum()), "estimate": e.estimate, "ci_low": e.ci_low,
                         "ci_high": e.ci_high, "ci_method": e.method, "min_n_met": e.min_n_met,
                         "note": f"{a.height} patterns; before exposure {int(a['e_before'].sum())} sessions"})
        g, c = est["graduated"], est["control"]
        rows.append({"namespace": ns, "variant": "rr_vs_control", "window_start_s": rows[-1]["window_start_s"],
                     "window_end_s": rows[-1]["window_end_s"], "overall": True, **_ratio_of_ratios(g, c)})
    overall = pl.DataFrame(rows, schema_overrides={k: pl.Float64 for k in
                                                   ("numerator", "denominator", "exposure", "estimate", "ci_low", "ci_high")},
                           infer_schema_length=None)
    grad = t.filter(pl.col("arm") == "graduated")
    cohort = grad.select("namespace", seq="graduated_seq", ka="k_after", ea="e_after", kb="k_before", eb="e_before")
    win = fr.windowed(ctx, cohort, ["ka", "ea", "kb", "eb"]).filter(~pl.col("overall"))
    win = fr.ratio(win, "ka", "ea", "kb", "eb").with_columns(
        variant=pl.lit("rr_graduated"), ci_method=pl.lit("exact-conditional on crude sums (graduation cohort)"))
    return Output(fr.finish(pl.concat([overall, win], how="diagonal_relaxed"), m, ctx),
                  curves=_event_study(ctx, m), items=t)


def _ratio_of_ratios(g: stats.Estimate, c: stats.Estimate) -> dict:
    ok = all(v is not None and 0 < v < math.inf for v in (g.estimate, g.ci_low, g.ci_high, c.estimate, c.ci_low, c.ci_high))
    if not ok:
        return {"estimate": None, "ci_low": None, "ci_high": None, "min_n_met": False,
                "ci_method": "ratio of pooled RRs, log-scale Wald", "note": "needs finite graduated and control estimates"}
    z = sps.norm.ppf(0.975)
    se = math.hypot((math.log(g.ci_high) - math.log(g.ci_low)) / (2 * z), (math.log(c.ci_high) - math.log(c.ci_low)) / (2 * z))
    lr = math.log(g.estimate) - math.log(c.estimate)
    return {"estimate": math.exp(lr), "ci_low": math.exp(lr - z * se), "ci_high": math.exp(lr + z * se),
            "numerator": g.estimate, "denominator": c.estimate, "min_n_met": g.min_n_met and c.min_n_met,
            "ci_method": "ratio of pooled RRs, log-scale Wald"}


def _event_study(ctx: Context, m: Metric, span: int = 10) -> pl.DataFrame:
    p = ctx.patterns.filter(pl.col("graduated_seq").is_not_null())
    rel = pl.DataFrame({"rel": list(range(-span, span + 1))})
    exp = p.join(rel, how="cross").with_columns(s=pl.col("graduated_seq") + pl.col("rel")).filter(
        (pl.col("s") > pl.col("first_seq")) & (pl.col("s") <= pl.col("end_seq")))
    occ = _occ(ctx).filter(pl.col("graduated_seq").is_not_null()).with_columns(rel=pl.col("seq") - pl.col("graduated_seq"))
    frames = []
    for ns, sub in fr.namespace_groups(ctx, exp):
        o = occ if ns == POOLED else occ.filter(pl.col("namespace") == ns)
        o = o.filter((pl.col("seq") > pl.col("first_seq")) & (pl.col("seq") <= pl.col("end_seq")))
        e = sub.group_by("rel").agg(e=pl.len()).join(o.group_by("rel").agg(k=pl.len()), on="rel", how="left") \
            .with_columns(pl.col("k").fill_null(0)).sort("rel")
        if e.height == 0:
            continue
        lo, hi = stats.garwood_ci(e["k"].to_numpy(), e["e"].to_numpy())
        frames.append(pl.DataFrame({"namespace": ns, "metric_id": m.id, "variant": "event_study",
                                    "time": e["rel"].cast(pl.Float64), "value": (e["k"] / e["e"]).cast(pl.Float64),
                                    "lower": lo, "upper": hi, "at_risk": e["e"].cast(pl.Float64)}, schema=CURVE_COLUMNS))
    return pl.concat(frames) if frames else pl.DataFrame(schema=CURVE_COLUMNS)


_P7_TIER_VARIANTS = {"unconfirmed_upgrade": "upgrade", "llm_supersedes_llm": "supersession"}
_P7_NO_AUDIT = ("not supported: needs the audit of a tier-gated store (tier upgrades with who confirmed them, "
                "supersessions with tiers: AMH records); this format's gate is graduation")
_P7_NO_GRADUATION = "no graduations: this store's gate is the tier upgrade (see unconfirmed_upgrade)"


@metric("P7", "anti_ouroboros_violations", family="patterns", title="Anti-Ouroboros gate violations",
        unit="share", direction="=0", primary=True,
        requires=("source_tiers", "needs items that say whether a human confirmed them (source_tier), which this "
                  "format has not"))
def anti_ouroboros_violations(ctx: Context, m: Metric) -> Output:
    """Share of graduated patterns (by graduation window) with a gate violation; target 0. Variants:
    `hard` (a) — observed `graduated` / with a rule while `source_tier == llm_derived`; `laundering` (b) —
    the tier flips llm_derived → human_confirmed in the very snapshot that graduates, written by an agent
    (`writer` set and not a human; v1 has no writer, so only v2 snapshots can show it) — there is no approval
    record to clear it; `same_session` (c) — candidate and graduated in one snapshot (no ORIENT approval
    opportunity); `any`. Clopper-Pearson (exact) intervals; the numerator is the headline count for (a).

    Tier-gated stores (AMH), whose gate is the tier upgrade rather than graduation, are audited from the
    import's own audit of the store (`Context.tier_audit`), by the session each act falls in:
    `unconfirmed_upgrade` — among upgrades to `human_confirmed`, the share with no human confirmer (none named,
    or an agent); `llm_supersedes_llm` — among supersessions, the share where an `llm_derived` record replaced
    an `llm_derived` one. Both Clopper-Pearson; not_supported on namespaces without such an audit."""
    p = ctx.patterns.filter(pl.col("graduated_seq").is_not_null()).with_columns(
        hard=pl.col("violation_seq").is_not_null(),
        laundering=pl.col("laundering_suspect").fill_null(False),
        same_session=pl.col("candidate_seq").is_null() | (pl.col("candidate_seq") == pl.col("graduated_seq")))
    p = p.with_columns(any=pl.col("hard") | pl.col("laundering") | pl.col("same_session"))
    variants = ["hard", "laundering", "same_session", "any"]
    acts = ctx.tier_audit
    contrib = pl.concat([
        *[p.select("namespace", seq="graduated_seq", variant=pl.lit(v), k=pl.col(v).cast(pl.Int64), n=pl.lit(1))
          for v in variants],
        *[acts.filter(pl.col("act") == act).select("namespace", "seq", variant=pl.lit(v),
                                                    k=pl.col("flagged").cast(pl.Int64), n=pl.lit(1))
          for v, act in _P7_TIER_VARIANTS.items()]])
    variants += list(_P7_TIER_VARIANTS)
    rows = fr.proportion(fr.windowed(ctx, contrib, ["k", "n"], variants=variants), "k", "n", method="exact")
    audited = acts["namespace"].unique().to_list()
    unaudited = [ns for ns in ctx.namespaces if ns not in audited] + ([POOLED] if not audited else [])
    tier_variant = pl.col("variant").is_in(list(_P7_TIER_VARIANTS))
    rows = rows.with_columns(
        status=pl.when(tier_variant & pl.col("namespace").is_in(unaudited)).then(pl.lit("not_supported")),
        note=pl.when(tier_variant & pl.col("namespace").is_in(unaudited)).then(pl.lit(_P7_NO_AUDIT))
        .when(~tier_variant & pl.col("overall") & (pl.col("n") == 0)
              & pl.col("namespace").is_in(audited + ([POOLED] if audited else [])))
        .then(pl.lit(_P7_NO_GRADUATION))
        .when(pl.col("variant") == "laundering")
        .then(pl.lit("needs a writer (v2 _meta.last_written_by); v1 snapshots cannot show it")))
    rows = rows.with_columns(
        *[pl.when(pl.col("status") == "not_supported").then(None).otherwise(pl.col(c)).alias(c)
          for c in ("estimate", "ci_low", "ci_high")])
    return Output(fr.finish(rows, m, ctx))


@metric("P8", "rule_provenance_share", family="patterns", title="Provenance of graduated rules", unit="share",
        direction="up")
def rule_provenance_share(ctx: Context, m: Metric) -> Output:
    """Among graduated patterns (by graduation window), the share whose last `source_tier` is
    `human_confirmed` (variant human_confirmed) or `raw_source` (raw_source), Wilson. `category_entropy`
    (overall rows): Shannon entropy (nats) of graduated v2 `category` with a multinomial bootstrap
    percentile interval (999 resamples, seeded) — the model-collapse guard; not supported without
    categories (v1 patterns have none)."""
    g = ctx.patterns.filter(pl.col("graduated_seq").is_not_null())
    variants = ["human_confirmed", "raw_source"]
    contrib = pl.concat([g.select("namespace", seq="graduated_seq", variant=pl.lit(v),
                                  k=(pl.col("last_tier") == v).cast(pl.Int64), n=pl.lit(1)) for v in variants])
    rows = [fr.proportion(fr.windowed(ctx, contrib, ["k", "n"], variants=variants), "k", "n")]
    ent = []
    rng = np.random.default_rng(0)
    for ns, sub in fr.namespace_groups(ctx, g.filter(pl.col("category").is_not_null())):
        counts = sub.group_by("category").len()["len"].to_numpy()
        if counts.sum() == 0:
            ent.append({"namespace": ns, "variant": "category_entropy", "overall": True, "status": "not_supported",
                        "note": "not supported: needs v2 anti-pattern `category`", "min_n_met": False})
            continue
        n = int(counts.sum())
        h = _entropy(counts[None, :])[0]
        boot = _entropy(rng.multinomial(n, counts / n, size=999))
        ent.append({"namespace": ns, "variant": "category_entropy", "overall": True, "estimate": float(h),
                    "ci_low": float(np.quantile(boot, 0.025)), "ci_high": float(np.quantile(boot, 0.975)),
                    "ci_method": "multinomial bootstrap percentile", "denominator": float(n),
                    "min_n_met": n >= stats.MIN_PROPORTION_N, "unit": "nats"})
    rows.append(pl.DataFrame(ent, infer_schema_length=None))
    return Output(fr.finish(pl.concat(rows, how="diagonal_relaxed"), m, ctx))


def _entropy(counts: np.ndarray) -> np.ndarray:
    p = counts / counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=1)


@metric("P9", "occurrence_history_loss", family="patterns", title="Patterns whose occurrence history is not recoverable",
        unit="share", direction="=0")
def occurrence_history_loss(ctx: Context, m: Metric) -> Output:
    """Among patterns whose count exceeded 5 (more than `recent_occurrences` keeps), the share with at least
    one occurrence that snapshot diffs cannot place in a session: occurrences counted before the pattern
    entered history (left-truncated with count > 1) or count increases across a gap in the pattern's
    presence (an `inferred` occurrence whose previous observation is more than one snapshot back). Wilson.
    Must be ≈ 0 before P1, P2 and P6 are trusted."""
    p = ctx.patterns
    gaps = ctx.occurrences.filter(pl.col("inferred") & pl.col("after_seq").is_not_null()
                                  & (pl.col("seq") - pl.col("after_seq") > 1)).select("namespace", "item_id").unique()
    p = p.join(gaps.with_columns(gap=pl.lit(True)), on=["namespace", "item_id"], how="left").with_columns(
        lost=pl.col("gap").fill_null(False) | (pl.col("left_truncated") & (pl.col("first_count").fill_null(0) > 1)))
    big = p.filter(pl.col("max_count") > 5)
    contrib = big.select("namespace", seq="first_seq", k=pl.col("lost").cast(pl.Int64), n=pl.lit(1))
    return Output(fr.finish(fr.proportion(fr.windowed(ctx, contrib, ["k", "n"]), "k", "n")
                            .with_columns(variant=pl.lit("share")), m, ctx))
