"""The three pre-registered questions of metrics.md §6, answered from a MetricResult by fixed rules.

The rules are written down here (and printed in the report) before anyone looks at a result, so a verdict
cannot be tuned to the data: a criterion holds only when its 95% interval says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..metrics import MetricResult

# Pre-registered thresholds (metrics.md leaves them to the analyst; these are ours, stated in the report).
SILENT_DROP_LOW = 0.10        # L6 "low": the upper 95% bound of the silent-drop share stays below 10%
GATE_LATENCY_TARGET = 10      # P5 "confirmed within the pre-set latency": median gate latency ≤ 10 sessions


@dataclass(frozen=True)
class Evidence:
    label: str
    code: str
    metric_id: str
    variant: str
    row: dict[str, Any] | None     # the overall MetricRows row, None when the metric was not computed

    @property
    def status(self) -> str:
        return "no_data" if self.row is None else self.row["status"]


@dataclass(frozen=True)
class Criterion:
    text: str
    holds: bool | None              # None: the data cannot tell (insufficient or missing)


@dataclass(frozen=True)
class Question:
    key: str
    title: str
    answer: str                     # one sentence, the verdict
    verdict: str                    # yes | no | inconclusive | insufficient
    rule: str                       # what "yes" means, as pre-registered
    criteria: list[Criterion] = field(default_factory=list)
    primary: list[Evidence] = field(default_factory=list)
    secondary: list[Evidence] = field(default_factory=list)
    figures: tuple[str, ...] = ()   # codes whose figures belong beside the answer


def overall_row(result: MetricResult, namespace: str, metric_id: str, variant: str) -> dict[str, Any] | None:
    rows = result.rows.filter(pl.col("overall") & (pl.col("namespace") == namespace)
                              & (pl.col("metric_id") == metric_id) & (pl.col("variant") == variant))
    return rows.row(0, named=True) if rows.height else None


def _evidence(result: MetricResult, namespace: str, label: str, code: str, metric_id: str, variant: str) -> Evidence:
    return Evidence(label, code, metric_id, variant, overall_row(result, namespace, metric_id, variant))


def _usable(e: Evidence) -> bool:
    return e.row is not None and e.row["status"] == "ok" and e.row["estimate"] is not None


def _below(e: Evidence, bound: float) -> bool | None:
    """True when the whole interval lies below `bound`, False when it lies above, None otherwise."""
    if not _usable(e) or e.row["ci_high"] is None:
        return None
    if e.row["ci_high"] < bound:
        return True
    return False if e.row["ci_low"] is not None and e.row["ci_low"] > bound else None


def _components(result: MetricResult, namespace: str) -> pl.DataFrame:
    table = result.items.get("spiral_index")
    if table is None:
        return pl.DataFrame()
    return table.filter((pl.col("namespace") == namespace) & pl.col("used"))


def spiral_question(result: MetricResult, namespace: str) -> Question:
    touch = _evidence(result, namespace, "Open items acted on in their session (B2)", "B2", "touch_rate", "all")
    drop = _evidence(result, namespace, "Open loops silently dropped (L6)", "L6", "silent_drop_rate", "share")
    si = _evidence(result, namespace, "Spiral index (SI)", "SI", "spiral_index", "si")
    rule = _evidence(result, namespace, "Rule effect beyond the regression-to-the-mean control (P6)", "P6",
                     "rule_effectiveness", "rr_vs_control")
    secondary = [
        _evidence(result, namespace, "Sessions that started from the previous baton (B1)", "B1", "read_receipt_rate", "lineage"),
        _evidence(result, namespace, "Closures per new open loop (B4)", "B4", "net_closure_ratio", "ratio"),
        si, rule,
    ]
    comps = _components(result, namespace)
    conclusive = int((comps["score"] != 0).sum()) if comps.height else 0
    # an SI below its minimum (too few conclusive components or windows) says nothing either way
    si_holds = None
    if _usable(si) and comps.height:
        low = si.row["ci_low"]
        si_holds = (si.row["estimate"] > 0 and (low is None or low > 0)) and 2 * conclusive >= comps.height
    touch_trend = comps.filter(pl.col("metric_id") == "touch_rate") if comps.height else comps
    stable = None if not touch_trend.height or not _usable(touch) else bool(touch_trend["score"][0] >= 0)
    drop_low = _below(drop, SILENT_DROP_LOW)
    criteria = [
        Criterion("B2: the touch rate is not falling (its Theil–Sen trend CI is not entirely below 0)", stable),
        Criterion(f"SI > 0 with at least half of its components conclusive ({conclusive} of {comps.height} conclusive)",
                  si_holds),
        Criterion("P6: graduated rules cut recurrence beyond the regression-to-the-mean control (RR upper bound < 1)",
                  _below(rule, 1.0)),
        Criterion(f"L6: silent drops stay low (upper bound of the share < {SILENT_DROP_LOW:.0%})", drop_low),
    ]
    if all(c.holds for c in criteria):
        verdict, answer = "yes", "Yes: the loop spirals upward on every pre-registered criterion."
    elif all(c.holds is None for c in criteria):
        verdict, answer = "insufficient", "Insufficient data to tell a spiral from a log."
    else:
        failed = [c.text.split(":")[0].split(" ")[0] for c in criteria if c.holds is not True]
        verdict = "no" if any(c.holds is False for c in criteria) else "inconclusive"
        answer = ("Not yet distinguishable from a log nobody reads"
                  f" ({', '.join(failed)} {'does' if len(failed) == 1 else 'do'} not meet the bar).")
    return Question("spiral", "Does the baton spiral upward, or is it a log nobody reads?", answer, verdict,
                    "B2 high and stable, L6 low, SI > 0 with conclusive components, and P6 RR < 1 beyond the "
                    "RTM control (metrics.md §4.6, §6).", criteria, [touch, drop], secondary, ("SI", "B2", "L6"))


def graduation_question(result: MetricResult, namespace: str) -> Question:
    gate = _evidence(result, namespace, "Sessions from rule candidate to graduation (P5 gate latency, median)", "P5",
                     "gate_latency", "gate_median")
    funnel = _evidence(result, namespace, "Candidates that graduated (P4)", "P4", "graduation_funnel", "graduated_share")
    reach = _evidence(result, namespace, "Patterns that became rule candidates (P4)", "P4", "graduation_funnel",
                      "candidate_share")
    violations = _evidence(result, namespace, "Graduations that broke the Anti-Ouroboros gate (P7)", "P7",
                           "anti_ouroboros_violations", "any")
    rr = _evidence(result, namespace, "Recurrence after vs before graduation (P6, pooled RR)", "P6",
                   "rule_effectiveness", "rr_graduated")
    rr_control = _evidence(result, namespace, "Same, for crossed-but-not-graduated patterns (P6 control)", "P6",
                           "rule_effectiveness", "rr_control")
    rr_beyond = _evidence(result, namespace, "Rule effect beyond the control (P6, ratio of RRs)", "P6",
                          "rule_effectiveness", "rr_vs_control")
    gate_ok = None
    if _usable(gate) and _usable(funnel):
        gate_ok = funnel.row["estimate"] > 0 and gate.row["estimate"] <= GATE_LATENCY_TARGET
    no_violation = None if violations.row is None or violations.row["numerator"] is None else violations.row["numerator"] == 0
    works = _below(rr_beyond, 1.0)
    criteria = [
        Criterion(f"Candidates graduate, with a median gate latency ≤ {GATE_LATENCY_TARGET} sessions", gate_ok),
        Criterion("P7 = 0: no graduation skipped human confirmation", no_violation),
        Criterion("P6: rules cut recurrence beyond the regression-to-the-mean control (upper bound < 1)", works),
    ]
    if no_violation is False:
        verdict, answer = "no", "Graduation is not practical as run: the gate was skipped (P7 > 0)."
    elif no_violation is None:
        verdict, answer = "insufficient", "Insufficient data: whether graduations kept the human gate (P7) is unknown."
    elif gate_ok is False:
        verdict, answer = "no", "Graduation is not practical as run: candidates wait too long or never graduate."
    elif gate_ok is None:
        verdict = "insufficient"
        answer = "Insufficient data: too few patterns reached the rule threshold to judge graduation" + (
            "; the rules that did graduate cut recurrence beyond the RTM control." if works else ".")
    elif works:
        verdict, answer = "yes", "Yes: graduation is practical and graduated rules cut recurrence beyond the RTM control."
    elif works is None:
        verdict = "inconclusive"
        answer = ("Graduation is practical, but the data do not show that rules cut recurrence beyond the "
                  "regression-to-the-mean control.")
    else:
        verdict, answer = "no", "Graduation is practical, but graduated patterns recur no less than the control."
    return Question("graduation", "Is pattern-to-rule graduation practical, and do rules work?", answer, verdict,
                    f"candidates confirmed within {GATE_LATENCY_TARGET} sessions, P7 = 0, and P6 RR < 1 beyond the "
                    "RTM control (metrics.md §6).", criteria, [gate, funnel], [reach, violations, rr, rr_control, rr_beyond],
                    ("P4", "P5", "P6", "P7"))


def regression_question(result: MetricResult, namespace: str) -> Question:
    count = _evidence(result, namespace, "Caught regressions (L4: loops that reached failed and were not re-verified)",
                      "L4", "caught_regressions", "count")
    rate = _evidence(result, namespace, "Caught regressions per session (L4)", "L4", "caught_regressions",
                     "rate_per_session")
    secondary = [
        _evidence(result, namespace, "Share of verified loops that were caught failing (L4 iii)", "L4",
                  "caught_regressions", "catch_share"),
        _evidence(result, namespace, "Sessions from detection to recovery (L5, median)", "L5", "recovery_time",
                  "recovery_median"),
        _evidence(result, namespace, "Verification flips that may be flakes (L9)", "L9", "verify_flip_rate", "all"),
        _evidence(result, namespace, "Re-verification regressions (B7)", "B7", "reverify_regression_rate", "share"),
    ]
    flake = secondary[2]
    flake_note = ("flake-checked (L9)" if _usable(flake) else
                  "not flake-checked: L9 needs a verification-attempt log the baton does not keep")
    if count.row is None or count.row["estimate"] is None:
        verdict, answer = "insufficient", "No loop outcomes to count regressions from."
    else:
        k = int(count.row["estimate"])
        sessions = rate.row["exposure"] if rate.row is not None else None
        per = (f", {rate.row['estimate']:.3g} per session [{rate.row['ci_low']:.3g}, {rate.row['ci_high']:.3g}]"
               if _usable(rate) else "")
        over = f" over {int(sessions):,} sessions" if sessions else ""
        # metrics.md §6 asks for a flake-checked count; without L9 a non-zero count cannot be a full "yes"
        verdict = "no" if k == 0 else ("yes" if _usable(flake) else "inconclusive")
        answer = f"{k:,} caught regression{'s' if k != 1 else ''}{over}{per}; {flake_note}."
    return Question("regressions", "How many “broke it but didn't notice” cases does next-session verification catch?",
                    answer, verdict, "a non-zero, flake-checked count with an exact CI, and recovery within the next "
                    "session (metrics.md §6).", [], [count, rate], secondary, ("L4", "L5"))


def answer_all(result: MetricResult, namespace: str = "(pooled)") -> list[Question]:
    """The three questions answered for one namespace (or the pool) of an already computed MetricResult."""
    questions = [spiral_question(result, namespace), graduation_question(result, namespace),
                 regression_question(result, namespace)]
    return [_unanswerable(q) for q in questions]


def _unanswerable(q: Question) -> Question:
    """A question whose primary evidence the data's formats cannot express says so plainly (a Beads-only store has
    no open loops to verify), rather than reporting zeros."""
    if not q.primary or any(e.status != "not_supported" for e in q.primary):
        return q
    from dataclasses import replace

    notes = sorted({e.row["note"] for e in q.primary if e.row is not None and e.row["note"]})
    why = "; ".join(n.removeprefix("not supported: ") for n in notes) or "the data's formats lack the fields"
    return replace(q, verdict="insufficient", answer=f"Cannot be answered from this data: {why}.")
