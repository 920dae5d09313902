"""The three pre-registered questions of metrics.md §6, answered from a MetricResult by fixed rules.

The rules are written down here (and printed in the report) before anyone looks at a result, so a verdict
cannot be tuned to the data: a criterion holds only when its 95% interval says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from ..metrics import MetricResult

# Pre-registered thresholds (metrics.md leaves them to the analyst; these are ours, stated in the report and
# chosen on simulator seeds 1000-1029, then checked on the held-out seeds 5000-5029: bench/verdicts_bench.py).
SILENT_DROP_LOW = 0.10        # L6 "low": the upper 95% bound of the silent-drop share stays below 10%
GATE_LATENCY_TARGET = 10      # P5 "confirmed within the pre-set latency": median gate latency ≤ 10 sessions
ACTED_ON_HIGH = 0.30          # B2 "high": at least 30% of open loops and follow-ups are acted on per session
ACTED_ON_FALL = -0.01         # B2 "falling": the acted-on share loses more than 1 point per 10-session window

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
    key: str = ""                   # stable id of the criterion, e.g. "B2_acted_high" (machine-readable answers)
    evidence: Evidence | None = None  # the row the criterion reads (estimate, interval)

    def _value(self, column: str) -> Any:
        row = self.evidence.row if self.evidence is not None else None
        return None if row is None else row[column]

    @property
    def estimate(self) -> float | None:
        return self._value("estimate")

    @property
    def ci_low(self) -> float | None:
        return self._value("ci_low")

    @property
    def ci_high(self) -> float | None:
        return self._value("ci_high")

    def to_json(self) -> dict[str, Any]:
        e = self.evidence
        return {"key": self.key, "text": self.text, "holds": self.holds,
                "metric_id": e.metric_id if e else None, "variant": e.variant if e else None,
                "status": e.status if e else None, "estimate": self.estimate, "ci_low": self.ci_low,
                "ci_high": self.ci_high}


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
    validity: str = ""              # how often the rule is right on simulated loops (VALIDITY)

    def to_json(self) -> dict[str, Any]:
        """The answer as plain data: verdict, answer, the pre-registered rule and each criterion with its numbers."""
        return {"question": self.key, "title": self.title, "verdict": self.verdict, "answer": self.answer,
                "rule": self.rule, "validity": self.validity, "criteria": [c.to_json() for c in self.criteria]}


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


def _above(e: Evidence, bound: float) -> bool | None:
    """True when the whole interval lies above `bound`, False when it lies below, None otherwise."""
    if not _usable(e) or e.row["ci_low"] is None:
        return None
    if e.row["ci_low"] > bound:
        return True
    return False if e.row["ci_high"] is not None and e.row["ci_high"] < bound else None


def _not_falling(trend: Evidence) -> bool | None:
    """B2 stability: False when the trend's whole interval is below ACTED_ON_FALL, True when it is not."""
    if trend.row is None or not trend.row["min_n_met"] or trend.row["ci_high"] is None:
        return None
    return not trend.row["ci_high"] < ACTED_ON_FALL


def _verdict(criteria: list[Criterion]) -> str:
    if all(c.holds for c in criteria):
        return "yes"
    if all(c.holds is None for c in criteria):
        return "insufficient"
    return "no" if any(c.holds is False for c in criteria) else "inconclusive"


def spiral_question(result: MetricResult, namespace: str) -> Question:
    acted = _evidence(result, namespace, "Open loops and follow-ups acted on in their session (B2 acted)", "B2",
                      "touch_rate", "acted")
    trend = _evidence(result, namespace, "Trend of the acted-on share per 10-session window (B2, Theil–Sen)", "B2",
                      "touch_rate", "acted_trend")
    drop = _evidence(result, namespace, "Open loops silently dropped (L6)", "L6", "silent_drop_rate", "share")
    rule = _evidence(result, namespace, "Recurrence after vs before graduation, triggering stretch excluded (P6)",
                     "P6", "rule_effectiveness", "rr_graduated")
    secondary = [
        _evidence(result, namespace, "Sessions that started from the previous baton (B1)", "B1", "read_receipt_rate", "lineage"),
        _evidence(result, namespace, "Closures per new open loop (B4)", "B4", "net_closure_ratio", "ratio"),
        _evidence(result, namespace, "All open items touched, patterns and decisions included (B2 all)", "B2",
                  "touch_rate", "all"),
        _evidence(result, namespace, "Spiral index (SI; shown, not part of the verdict)", "SI", "spiral_index", "si"),
        _evidence(result, namespace, "Rule effect beyond the crossed-not-graduated control (P6)", "P6",
                  "rule_effectiveness", "rr_vs_control"),
        trend,
    ]
    criteria = [
        Criterion(f"B2: open loops and follow-ups are acted on (lower bound of the share ≥ {ACTED_ON_HIGH:.0%})",
                  _above(acted, ACTED_ON_HIGH - 1e-12), "B2_acted_high", acted),
        Criterion(f"B2: the acted-on share is not falling (trend CI not entirely below {ACTED_ON_FALL:+.0%} per window)",
                  _not_falling(trend), "B2_acted_stable", trend),
        Criterion(f"L6: silent drops stay low (upper bound of the share < {SILENT_DROP_LOW:.0%})",
                  _below(drop, SILENT_DROP_LOW), "L6_low", drop),
        Criterion("P6: graduated rules cut recurrence (pooled RR upper bound < 1, triggering stretch excluded)",
                  _below(rule, 1.0), "P6_works", rule),
    ]
    verdict = _verdict(criteria)
    if verdict == "yes":
        answer = "Yes: the loop spirals upward on every pre-registered criterion."
    elif verdict == "insufficient":
        answer = "Insufficient data to tell a spiral from a log."
    else:
        failed = [c.text.split(":")[0] for c in criteria if c.holds is not True]
        failed = list(dict.fromkeys(failed))
        answer = ("Not yet distinguishable from a log nobody reads"
                  f" ({', '.join(failed)} {'does' if len(failed) == 1 else 'do'} not meet the bar).")
    return Question("spiral", "Does the baton spiral upward, or is it a log nobody reads?", answer, verdict,
                    f"open loops and follow-ups acted on (B2 acted: lower bound ≥ {ACTED_ON_HIGH:.0%}) and not falling "
                    f"(trend not below {ACTED_ON_FALL:+.0%} per window), L6 silent drops low (upper bound < "
                    f"{SILENT_DROP_LOW:.0%}), and graduated rules cut recurrence (P6 RR upper bound < 1, the "
                    "pattern's own post-threshold history as control). SI is shown but not voted: it needs more "
                    "windows than 50–200 sessions give.", criteria, [acted, drop], secondary, ("B2", "L6", "P6"))


def graduation_question(result: MetricResult, namespace: str) -> Question:
    gate = _evidence(result, namespace, "Sessions from rule candidate to graduation (P5 gate latency, median)", "P5",
                     "gate_latency", "gate_median")
    funnel = _evidence(result, namespace, "Candidates that graduated (P4)", "P4", "graduation_funnel", "graduated_share")
    reach = _evidence(result, namespace, "Patterns that became rule candidates (P4)", "P4", "graduation_funnel",
                      "candidate_share")
    violations = _evidence(result, namespace, "Graduations that broke the Anti-Ouroboros gate (P7)", "P7",
                           "anti_ouroboros_violations", "any")
    rr = _evidence(result, namespace, "Recurrence after vs before graduation, triggering stretch excluded (P6)", "P6",
                   "rule_effectiveness", "rr_graduated")
    rr_control = _evidence(result, namespace, "Same, for crossed-but-not-graduated patterns (P6 control arm)", "P6",
                           "rule_effectiveness", "rr_control")
    rr_beyond = _evidence(result, namespace, "Rule effect beyond the control arm (P6, ratio of RRs)", "P6",
                          "rule_effectiveness", "rr_vs_control")
    gate_ok = None
    if _usable(gate) and _usable(funnel):
        gate_ok = funnel.row["estimate"] > 0 and gate.row["estimate"] <= GATE_LATENCY_TARGET
    no_violation = None if violations.row is None or violations.row["numerator"] is None else violations.row["numerator"] == 0
    works = _below(rr, 1.0)
    criteria = [
        Criterion(f"Candidates graduate, with a median gate latency ≤ {GATE_LATENCY_TARGET} sessions", gate_ok,
                  "P5_gate", gate),
        Criterion("P7 = 0: no graduation skipped human confirmation", no_violation, "P7_zero", violations),
        Criterion("P6: rules cut recurrence (pooled RR upper bound < 1, triggering stretch excluded)", works,
                  "P6_works", rr),
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
            "; the rules that did graduate cut recurrence." if works else ".")
    elif works:
        verdict, answer = "yes", "Yes: graduation is practical and graduated rules cut recurrence."
    elif works is None:
        verdict = "inconclusive"
        answer = "Graduation is practical, but the data do not show that rules cut recurrence."
    else:
        verdict, answer = "no", "Graduation is practical, but graduated patterns recur more after graduation than before."
    return Question("graduation", "Is pattern-to-rule graduation practical, and do rules work?", answer, verdict,
                    f"candidates confirmed within {GATE_LATENCY_TARGET} sessions, P7 = 0, and P6 RR upper bound < 1 "
                    "(after graduation vs the pattern's own stretch from crossing the threshold to graduating: "
                    "the triggering stretch is excluded, which is what removes regression to the mean).",
                    criteria, [gate, funnel], [reach, violations, rr, rr_control, rr_beyond], ("P4", "P5", "P6", "P7"))


def regression_question(result: MetricResult, namespace: str) -> Question:
    count = _evidence(result, namespace, "Caught regressions (L4: loops that reached failed and were not re-verified)",
                      "L4", "caught_regressions", "count")
    real = _evidence(result, namespace, "Real catches after flakes (L4 real_count, flake-adjusted)", "L4",
                     "caught_regressions", "real_count")
    rate = _evidence(result, namespace, "Caught regressions per session (L4)", "L4", "caught_regressions",
                     "rate_per_session")
    flake = _evidence(result, namespace, "Re-checked failures that flipped to verified (L9)", "L9", "verify_flip_rate", "all")
    secondary = [
        _evidence(result, namespace, "Share of machine-checked loops caught failing, flake-adjusted (L4 real_share)",
                  "L4", "caught_regressions", "real_share"),
        _evidence(result, namespace, "Share of first failures that were flakes (L4 false_failure_share)", "L4",
                  "caught_regressions", "false_failure_share"),
        _evidence(result, namespace, "Share of verified loops that were caught failing (L4 iii)", "L4",
                  "caught_regressions", "catch_share"),
        _evidence(result, namespace, "Sessions from detection to recovery (L5, median)", "L5", "recovery_time",
                  "recovery_median"),
        flake,
        _evidence(result, namespace, "Per-check flake rate (L9)", "L9", "verify_flip_rate", "flake_rate"),
        _evidence(result, namespace, "Re-verification regressions (B7)", "B7", "reverify_regression_rate", "share"),
    ]
    identified = _usable(flake)
    real_holds = None
    if real.row is not None and real.row["ci_low"] is not None:
        real_holds = True if real.row["ci_low"] > 0 else None
    criteria = [Criterion("L4: real catches after flakes, lower bound > 0 (flake share estimated from re-checked "
                          "failures, else bounded)", real_holds, "L4_real_positive", real)]
    if count.row is None or count.row["estimate"] is None:
        verdict, answer = "insufficient", "No loop outcomes to count regressions from."
    else:
        k = int(count.row["estimate"])
        sessions = rate.row["exposure"] if rate.row is not None else None
        per = (f", {rate.row['estimate']:.3g} per session [{rate.row['ci_low']:.3g}, {rate.row['ci_high']:.3g}]"
               if _usable(rate) else "")
        over = f" over {int(sessions):,} sessions" if sessions else ""
        if k == 0:
            criteria = [Criterion(criteria[0].text, False, criteria[0].key, real)]
        verdict = "no" if k == 0 else ("yes" if real_holds else "inconclusive")
        adjusted = ""
        if k and real.row is not None and real.row["ci_low"] is not None:
            lo, hi = real.row["ci_low"], real.row["ci_high"]
            how = ("flake share estimated from re-checked failures (L9)" if identified else
                   "no failure was re-checked, so flakes are only bounded (≤ 10% of checks)")
            est = "" if real.row["estimate"] is None else f"{real.row['estimate']:.3g} "
            adjusted = f"; real after flakes: {est}[{lo:.3g}, {hi:.3g}] — {how}"
        answer = f"{k:,} caught regression{'s' if k != 1 else ''}{over}{per}{adjusted}."
    return Question("regressions", "How many “broke it but didn't notice” cases does next-session verification catch?",
                    answer, verdict, "a non-zero count of real catches after flakes: the lower bound of the "
                    "flake-adjusted count (L4 real_count) above 0. The false-failure share comes from failed checks "
                    "re-run with nothing changed (L9); with no re-run failure it is bounded by a 10% per-check flake "
                    "rate, stated as such (metrics.md §6).", criteria, [count, real, rate], secondary, ("L4", "L5"))


# Measured by bench/verdicts_bench.py on held-out simulator seeds (5000-5029, single namespace, v1); the README's
# verdict section has the whole table. Update both when a rule changes.
VALIDITY = {
    "spiral": "a healthy-loop is answered yes in 93% of held-out seeds at 100 and 200 sessions (100% at 400) and "
              "never no (with flaky, re-run checks: 100% at 200 and 400); log-nobody-reads no in 100% at 100, 200 "
              "and 400; the null setting (rules do nothing, nothing breaks) never yes.",
    "graduation": "a healthy-loop is answered yes in 93% of held-out seeds at 100 and 200 sessions (100% at 400); "
                  "log-nobody-reads no in 100% at 100, 200 and 400; when rules do nothing (rules-dont-stick, null) "
                  "yes in 0–3%; rules that halve recurrence yes in 77% at 200 and 90% at 400; the P6 interval covers "
                  "the true rule effect in 94% of seeds overall (92–95% per history length).",
    "regressions": "with nothing broken and flaky, re-run checks (the null setting) the answer is yes in 0–3% of "
                   "held-out seeds and the flake-adjusted count covers zero in 98%; with re-runs the real-catch "
                   "share's interval covers the loop's true share in 96% of seeds (93–97% per setting), without "
                   "them it is bounded.",
}


def answer_all(result: MetricResult, namespace: str = "(pooled)") -> list[Question]:
    """The three questions answered for one namespace (or the pool) of an already computed MetricResult."""
    questions = [spiral_question(result, namespace), graduation_question(result, namespace),
                 regression_question(result, namespace)]
    return [_unanswerable(replace(q, validity=VALIDITY[q.key])) for q in questions]


def _unanswerable(q: Question) -> Question:
    """A question whose primary evidence the data's formats cannot express says so plainly (a Beads-only store has
    no open loops to verify), rather than reporting zeros."""
    if not q.primary or any(e.status != "not_supported" for e in q.primary):
        return q
    notes = sorted({e.row["note"] for e in q.primary if e.row is not None and e.row["note"]})
    why = "; ".join(n.removeprefix("not supported: ") for n in notes) or "the data's formats lack the fields"
    return replace(q, verdict="insufficient", answer=f"Cannot be answered from this data: {why}.")


QUESTION_COLUMNS = {"namespace": pl.String, "question": pl.String, "verdict": pl.String, "answer": pl.String,
                    "criterion": pl.String, "text": pl.String, "holds": pl.Boolean, "metric_id": pl.String,
                    "variant": pl.String, "status": pl.String, "estimate": pl.Float64, "ci_low": pl.Float64,
                    "ci_high": pl.Float64}


def questions_frame(questions: list[Question], namespace: str) -> pl.DataFrame:
    """One row per criterion of each question (a question without criteria gets one row with criterion null):
    the report's `tables/questions.parquet|csv`."""
    rows = []
    for q in questions:
        head = {"namespace": namespace, "question": q.key, "verdict": q.verdict, "answer": q.answer}
        crits = [c.to_json() for c in q.criteria] or [{}]
        for c in crits:
            rows.append({**head, "criterion": c.get("key"), **{k: c.get(k) for k in
                         ("text", "holds", "metric_id", "variant", "status", "estimate", "ci_low", "ci_high")}})
    return pl.DataFrame(rows, schema=QUESTION_COLUMNS)
