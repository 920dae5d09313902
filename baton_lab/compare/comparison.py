"""`compare(con, ...)`: every catalogue metric in two arms, the effect of B against A, the false discovery
rate controlled across the catalogue, and a pre-registered verdict per research question.

The whole catalogue runs unchanged on each arm (`arms.arm_view`); each overall pooled row of A is paired
with the same row of B, and the row's kind picks the effect (effects.py): shares → difference, rates →
rate ratio, time-to-event medians → hazard ratio. Rows of other kinds (trends, within-arm ratios, bootstrap
medians, descriptive means, the spiral index) have no two-arm effect here and are listed as such.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import BatonLabError
from ..metrics import frames as fr
from ..metrics.base import Context
from ..metrics.registry import REGISTRY, resolve as resolve_metrics, run
from ..metrics.schema import POOLED
from ..metrics.spiral import COMPONENTS
from . import arms as arms_mod
from . import effects as fx
from .arms import Arm

ALPHA = 1 - fx.CONFIDENCE      # false discovery rate q, pre-registered


class NothingToCompare(BatonLabError):
    hint = ("the arms share no metric with data in both: pick arms with more sessions, or other namespaces "
            "(`baton-lab metrics -n NS` shows what each supports).")


@dataclass(frozen=True)
class Endpoint:
    metric_id: str
    variant: str
    label: str
    good: str | None            # "up" / "down": which direction of the metric is better; None: neutral


@dataclass(frozen=True)
class QuestionRule:
    key: str
    title: str
    endpoints: tuple[Endpoint, ...]
    better: str                 # the answer when B is better (neutral questions: when B has more)
    worse: str
    words: tuple[str, str] = ("better", "worse")   # the verdicts; a neutral question says "more" / "fewer"


# Pre-registered (written before any data are seen; printed with every comparison). A question's verdict is
# decided by its primary endpoints after the Benjamini-Hochberg adjustment across the whole catalogue.
QUESTIONS = (
    QuestionRule("spiral", "Does the loop spiral upward, or is the baton a log nobody reads?",
                 (Endpoint("touch_rate", "all", "Open items acted on in their session (B2)", "up"),
                  Endpoint("silent_drop_rate", "share", "Open loops silently dropped (L6)", "down")),
                 "B is read and acted on more", "B is read and acted on less"),
    QuestionRule("graduation", "Is pattern-to-rule graduation practical?",
                 (Endpoint("gate_latency", "gate_median", "Time from rule candidate to human confirmation (P5)", "down"),
                  Endpoint("graduation_funnel", "graduated_share", "Candidates that graduated (P4)", "up")),
                 "graduation works better in B", "graduation works worse in B"),
    QuestionRule("verification", "How many 'broke it and didn't notice' cases does verification catch?",
                 (Endpoint("caught_regressions", "rate_per_session", "Caught regressions per session (L4)", None),),
                 "B catches more per session", "B catches fewer per session", ("more", "fewer")),
)
VERDICT_RULE = ("B is 'better' when at least one primary endpoint differs in its good direction with a "
                "Benjamini–Hochberg adjusted p ≤ {q} and none differs in the bad direction; 'worse' the other way "
                "round; 'mixed' when both happen; 'no detectable difference' when every primary endpoint has "
                "enough data and none differs; otherwise 'insufficient'. A question without a good direction "
                "(caught regressions: more may mean more breakage or better catching) says 'more' / 'fewer' "
                "instead of 'better' / 'worse'.").format(q=f"{ALPHA:.2f}")

_DIRECTIONS = {(mid, variant): d for mid, variant, d, _ in COMPONENTS if d in ("up", "down")} | {
    (e.metric_id, e.variant): e.good for q in QUESTIONS for e in q.endpoints if e.good}


# Rows that have a two-arm effect by their kind but are left out of it, and so out of the FDR family (their arm
# estimates are still listed). Measured on simulated loops with no change (bench/compare_validity_bench.py),
# these are the ones declared "different" far more often than 5%:
DESCRIPTIVE_ONLY = {
    "decision_linkage": "D4 is a referential-integrity check of the baton, not a loop outcome: its shares follow the "
                        "history's state (no decision recorded yet → no loop can link one), not the practice",
    ("inter_occurrence_interval", "gap_median"): "repeated gaps of one pattern are not independent subjects for a "
                                                 "hazard ratio; P1's rate ratio (clustered by pattern) tests recurrence",
}


def _descriptive_only(metric_id: str, variant: str) -> str | None:
    return DESCRIPTIVE_ONLY.get(metric_id) or DESCRIPTIVE_ONLY.get((metric_id, variant))


def kind_of(row: dict[str, Any]) -> str | None:
    """share | rate | time for the row kinds that have a two-arm effect; None for the others."""
    method, unit, variant = row["ci_method"] or "", row["unit"] or "", row["variant"] or ""
    if method in ("wilson", "exact") and unit == "share" and row["denominator"] is not None:
        return "share"
    if method == "garwood" and ("/" in unit or unit.startswith("per")):
        return "rate"
    if variant.endswith("_median") and method.startswith(("kaplan-meier", "aalen-johansen")):
        return "time"
    return None


@dataclass
class ArmResult:
    arm: Arm
    rows: pl.DataFrame                                   # overall pooled MetricRows of the arm
    samples: dict[tuple[str, str], pl.DataFrame]         # (metric id, survival variant) -> durations
    # (metric id, variant) -> item-session cells of shares / rates whose trials are not independent (effects.py)
    clusters: dict[tuple[str, str], pl.DataFrame] = field(default_factory=dict)


def measure_arm(con, arm: Arm, metrics: list[str] | None = None, *,  # noqa: ANN001
                per_namespace: bool = False) -> ArmResult | dict[str, ArmResult]:
    """The catalogue (spiral index excepted: it has no two-arm effect) on one arm's sessions, pooled.

    `per_namespace=True` returns each namespace of the arm as its own one-namespace arm, from one run."""
    cur = arms_mod.arm_view(con, arm.ranges)
    try:
        ctx = Context(cur, arm.namespaces)
        ctx.survival_samples = {}
        ctx.cluster_samples = {}
        rows = [fr.mark_schema_gaps(run(ctx, m).rows, m, ctx)
                for m in resolve_metrics(metrics) if m.family != "spiral"]
        frame = pl.concat(rows) if rows else fr.empty()
        if not per_namespace:
            pooled = frame.filter(pl.col("overall") & (pl.col("namespace") == POOLED))
            return ArmResult(arm, pooled, ctx.survival_samples, ctx.cluster_samples)
        return {ns: ArmResult(Arm(arm.label, ns, arm.ranges.filter(pl.col("namespace") == ns)),
                              frame.filter(pl.col("overall") & (pl.col("namespace") == ns)),
                              {k: s.filter(pl.col("namespace") == ns) for k, s in ctx.survival_samples.items()},
                              {k: c.filter(pl.col("namespace") == ns) for k, c in ctx.cluster_samples.items()})
                for ns in arm.namespaces}
    finally:
        cur.close()


def _cells(frame: pl.DataFrame) -> dict:
    """Integer cluster codes that stay distinct across the namespaces of an arm (a session is a namespace's seq)."""
    item = pl.struct("namespace", "item").rank("dense")
    codes = frame.select(item=item, seq=pl.when(pl.col("seq").is_null()).then(item)   # no session: one-way by item
                         .otherwise(pl.struct("namespace", "seq").rank("dense") + item.max()), k="k", n="n")
    return {c: codes[c].to_numpy() for c in codes.columns}


def _effect(kind: str, a: dict, b: dict, sa: pl.DataFrame | None, sb: pl.DataFrame | None,
            confidence: float) -> fx.Effect:
    if kind == "share" and sa is not None and sb is not None:      # item-session cells: a clustered share
        return fx.clustered_share_difference(_cells(sa), _cells(sb), confidence=confidence)
    if kind == "share":
        return fx.share_difference(int(a["numerator"]), int(a["denominator"]), int(b["numerator"]),
                                   int(b["denominator"]), confidence=confidence)
    if kind == "rate" and sa is not None and sb is not None:       # events clustered by item: over-dispersed
        return fx.clustered_rate_ratio(_cells(sa), _cells(sb), confidence=confidence)
    if kind == "rate":
        return fx.rate_ratio(int(a["numerator"]), a["exposure"] or 0.0, int(b["numerator"]), b["exposure"] or 0.0,
                             confidence=confidence)
    if sa is None or sb is None:
        return fx.Effect("time", "hazard ratio", None, None, None, None, "", 1.0, False, "no durations")
    return fx.hazard_ratio(sa["duration"].to_numpy(), sa["_hit"].to_numpy(), sb["duration"].to_numpy(),
                           sb["_hit"].to_numpy(), confidence=confidence)


def _reading(kind: str, effect: fx.Effect, adjusted_p: float | None, good: str | None) -> str:
    if not effect.sufficient or effect.estimate is None:
        return "insufficient"
    if adjusted_p is None or adjusted_p > ALPHA:
        return "no detectable difference"
    higher = effect.estimate > effect.null
    if kind == "time":           # a hazard ratio above 1: the event comes sooner in B
        if good is None:
            return "sooner in B" if higher else "later in B"
        return "better in B" if higher == (good == "down") else "worse in B"
    if good is None:
        return "higher in B" if higher else "lower in B"
    return "better in B" if higher == (good == "up") else "worse in B"


@dataclass(frozen=True)
class QuestionVerdict:
    key: str
    title: str
    verdict: str                 # better | worse (more | fewer) | mixed | no detectable difference | insufficient
    answer: str
    endpoints: list[dict[str, Any]]


def _verdict(rule: QuestionRule, table: pl.DataFrame) -> QuestionVerdict:
    found = []
    for e in rule.endpoints:
        row = table.filter((pl.col("metric_id") == e.metric_id) & (pl.col("variant") == e.variant))
        found.append({"label": e.label, "metric_id": e.metric_id, "variant": e.variant,
                      "row": row.row(0, named=True) if row.height else None})
    readings = [f["row"]["reading"] if f["row"] else "not computed" for f in found]
    good = [r for r in readings if r in ("better in B", "higher in B")]
    bad = [r for r in readings if r in ("worse in B", "lower in B")]
    if good and bad:
        verdict, answer = "mixed", "the primary endpoints move in opposite directions"
    elif good:
        verdict, answer = rule.words[0], rule.better
    elif bad:
        verdict, answer = rule.words[1], rule.worse
    elif all(r == "no detectable difference" for r in readings):
        verdict, answer = "no detectable difference", "no primary endpoint differs after adjustment"
    else:
        verdict, answer = "insufficient", "too little data in an arm for a primary endpoint"
    detail = "; ".join(f"{f['label']}: {r}" for f, r in zip(found, readings))
    return QuestionVerdict(rule.key, rule.title, verdict, f"{answer} ({detail}).", found)


@dataclass
class Comparison:
    arm_a: Arm
    arm_b: Arm
    effects: pl.DataFrame                 # one row per metric row of the arms (EFFECT_SCHEMA)
    verdicts: list[QuestionVerdict]
    fcr_confidence: float                 # level of the adjusted intervals
    n_tested: int
    n_discoveries: int
    its: list[Any] = field(default_factory=list)     # its.ITSResult per endpoint (period comparisons)
    its_note: str | None = None                      # why there is no ITS (e.g. statsmodels missing)
    rule: str = VERDICT_RULE

    @property
    def compared(self) -> pl.DataFrame:
        return self.effects.filter(pl.col("status").is_in(["ok", "insufficient"]))

    def to_json(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {
            "arms": [self.arm_a.to_json(), self.arm_b.to_json()],
            "fdr": {"method": "benjamini-hochberg", "q": ALPHA, "tested": self.n_tested,
                    "discoveries": self.n_discoveries, "adjusted_interval_level": self.fcr_confidence},
            "verdicts": [{"question": v.key, "title": v.title, "verdict": v.verdict, "answer": v.answer}
                         for v in self.verdicts],
            "rule": self.rule,
            "effects": [{k: clean(v) for k, v in r.items()} for r in self.effects.to_dicts()],
            "its": [r.to_json() for r in self.its],
            "its_note": self.its_note,
        }

    def _repr_html_(self) -> str:
        from .format import effect_text, p_text

        head = (f"<div><strong>baton_lab comparison</strong>: A = {html.escape(self.arm_a.name)} "
                f"({self.arm_a.sessions} sessions) vs B = {html.escape(self.arm_b.name)} ({self.arm_b.sessions} sessions)."
                f" {self.n_tested} effects tested, {self.n_discoveries} after Benjamini–Hochberg at q = {ALPHA:.2f}.")
        verdicts = "".join(f"<li><b>{html.escape(v.title)}</b> {html.escape(v.verdict)}: {html.escape(v.answer)}</li>"
                           for v in self.verdicts)
        rows = "".join(
            f"<tr><td>{html.escape(r['code'])} {html.escape(r['metric_id'])}:{html.escape(r['variant'])}</td>"
            f"<td>{html.escape(effect_text(r))}</td><td>{p_text(r['p_adjusted'])}</td>"
            f"<td>{html.escape(r['reading'])}</td></tr>" for r in self.compared.iter_rows(named=True))
        return (head + f"<ul>{verdicts}</ul><table><thead><tr><th>metric</th><th>effect B vs A [95% CI]</th>"
                f"<th>BH p</th><th>reading</th></tr></thead><tbody>{rows}</tbody></table></div>")


EFFECT_SCHEMA = {
    "metric_id": pl.String, "code": pl.String, "title": pl.String, "variant": pl.String, "kind": pl.String,
    "unit": pl.String, "a_estimate": pl.Float64, "a_ci_low": pl.Float64, "a_ci_high": pl.Float64,
    "a_numerator": pl.Float64, "a_denominator": pl.Float64, "a_exposure": pl.Float64, "a_status": pl.String,
    "b_estimate": pl.Float64, "b_ci_low": pl.Float64, "b_ci_high": pl.Float64,
    "b_numerator": pl.Float64, "b_denominator": pl.Float64, "b_exposure": pl.Float64, "b_status": pl.String,
    "measure": pl.String, "effect": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "null": pl.Float64,
    "method": pl.String, "p_value": pl.Float64, "p_adjusted": pl.Float64, "adj_ci_low": pl.Float64,
    "adj_ci_high": pl.Float64, "status": pl.String, "reading": pl.String, "direction": pl.String, "note": pl.String,
}


def _arm_cols(prefix: str, row: dict | None) -> dict[str, Any]:
    keys = ("estimate", "ci_low", "ci_high", "numerator", "denominator", "exposure", "status")
    return {f"{prefix}_{k}": (row or {}).get(k) if row else (None if k != "status" else "no_data") for k in keys}


def effects_table(res_a: ArmResult, res_b: ArmResult, *, confidence: float = fx.CONFIDENCE
                  ) -> tuple[pl.DataFrame, float, int, int]:
    """Pair the arms' rows, compute effects, adjust across the catalogue; (table, FCR level, tested, discoveries)."""
    resolve_metrics(None)   # the registry is filled on first use (arms may have been measured elsewhere)
    rows_b = {(r["metric_id"], r["variant"]): r for r in res_b.rows.iter_rows(named=True)}
    records, inputs = [], []
    for a in res_a.rows.iter_rows(named=True):
        key = (a["metric_id"], a["variant"])
        b = rows_b.get(key)
        m = REGISTRY[a["metric_id"]]
        kind = kind_of(a) if b is not None else None
        record = {"metric_id": a["metric_id"], "code": m.code, "title": m.title, "variant": a["variant"],
                  "kind": kind, "unit": a["unit"], **_arm_cols("a", a), **_arm_cols("b", b),
                  "direction": _DIRECTIONS.get(key)}
        statuses = {a["status"], b["status"] if b else "no_data"}
        if "not_supported" in statuses:
            record.update(status="not_supported", reading="not supported",
                          note=a["note"] if a["status"] == "not_supported" else (b or {}).get("note"))
        elif kind is None:
            record.update(status="not_compared", reading="no two-arm effect for this kind of row",
                          note=f"{a['ci_method'] or 'no interval'}: a trend, within-arm ratio, bootstrap or descriptive row")
        elif (why := _descriptive_only(*key)) is not None:
            record.update(status="not_compared", reading="descriptive here: no two-arm test", note=why)
        elif "no_data" in statuses:
            record.update(status="no_data", reading="no data in an arm")
        else:
            if kind in ("share", "rate"):
                sa, sb = res_a.clusters.get(key), res_b.clusters.get(key)
            else:
                sample = a["variant"].removesuffix("_median")
                sa, sb = res_a.samples.get((key[0], sample)), res_b.samples.get((key[0], sample))
            effect = _effect(kind, a, b, sa, sb, confidence)
            record.update(measure=effect.measure, effect=effect.estimate, ci_low=effect.ci_low, ci_high=effect.ci_high,
                          null=effect.null, method=effect.method, p_value=effect.p_value,
                          status="ok" if effect.sufficient else "insufficient", note=effect.reason)
            inputs.append((len(records), kind, a, b, sa, sb))
        records.append(record)
    tested = [i for i, *_ in inputs if records[i]["status"] == "ok" and records[i]["p_value"] is not None]
    adjusted = fx.benjamini_hochberg([records[i]["p_value"] for i in tested])
    for i, q in zip(tested, adjusted):
        records[i]["p_adjusted"] = q
    discoveries = sum(q is not None and q <= ALPHA for q in adjusted)
    level = fx.fcr_confidence(len(tested), discoveries, confidence=confidence)
    for i, kind, a, b, sa, sb in inputs:
        r = records[i]
        if r["status"] == "ok":
            adj = _effect(kind, a, b, sa, sb, level)
            r["adj_ci_low"], r["adj_ci_high"] = adj.ci_low, adj.ci_high
        effect = fx.Effect(kind, r["measure"], r["effect"], r["ci_low"], r["ci_high"], r["p_value"], r["method"],
                           r["null"], r["status"] == "ok")
        r["reading"] = _reading(kind, effect, r.get("p_adjusted"), r["direction"])
    table = pl.DataFrame(records, schema=EFFECT_SCHEMA) if records else pl.DataFrame(schema=EFFECT_SCHEMA)
    return table, level, len(tested), discoveries


def compare(con, *, a: str | list[str] | None = None, b: str | list[str] | None = None,  # noqa: ANN001
            split: str | None = None, before: str | None = None, after: str | None = None,
            namespaces: str | list[str] | None = None, metrics: list[str] | None = None, its: bool = True,
            its_window: int = 5) -> Comparison:
    """Compare arm B with arm A over the catalogue. See `arms.resolve` for the ways to name the arms.

    Raises ArmError for arms that do not exist, are empty or overlap, and NothingToCompare when no metric has
    data in both arms. `its` adds an interrupted time series of the primary endpoints for before/after splits
    (needs statsmodels: `pip install 'baton-lab[stats]'`)."""
    arm_a, arm_b = arms_mod.resolve(con, a=a, b=b, split=split, before=before, after=after, namespaces=namespaces)
    res_a, res_b = measure_arm(con, arm_a, metrics), measure_arm(con, arm_b, metrics)
    table, level, tested, discoveries = effects_table(res_a, res_b)
    if not table.filter(pl.col("status").is_in(["ok", "insufficient"])).height:
        raise NothingToCompare(f"A ({arm_a.name}) and B ({arm_b.name}) share no metric with data in both arms")
    verdicts = [_verdict(rule, table) for rule in QUESTIONS]
    result = Comparison(arm_a, arm_b, table, verdicts, level, tested, discoveries)
    same_loops = sorted(arm_a.namespaces) == sorted(arm_b.namespaces)
    if its and same_loops:
        from . import its as its_mod

        result.its, result.its_note = its_mod.for_split(con, arm_a, arm_b, window=its_window)
    elif its:
        result.its_note = "interrupted time series applies to a before/after split within the same loops"
    return result


__all__ = ["ALPHA", "DESCRIPTIVE_ONLY", "QUESTIONS", "VERDICT_RULE", "ArmResult", "Comparison", "Endpoint", "NothingToCompare",
           "QuestionRule", "QuestionVerdict", "compare", "effects_table", "kind_of", "measure_arm"]
