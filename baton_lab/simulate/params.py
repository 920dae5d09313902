"""Parameters of the generative model, and the named presets.

Every probability is per item per session unless it says otherwise; "session" means one agent session
that reads the baton at its start and writes it once at its end. Defaults are grounded in
docs/simulator.md and the metric catalogue (metrics.md §4): they make each metric non-trivial on a
few hundred sessions without being extreme.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import BatonLabError


class SimulationError(BatonLabError):
    hint = "`baton-lab simulate --help` lists the options; presets are " + "healthy-loop, log-nobody-reads, rules-dont-stick, default, demo."


@dataclass(frozen=True)
class SimParams:
    """One loop's behaviour. All fields are documented; `docs/simulator.md` shows what they produce."""

    # -- calendar -------------------------------------------------------------------------------
    start: str = "2026-06-01T09:00:00+00:00"
    """First session of every namespace starts at this UTC time (plus a seeded offset of up to 3 h)."""
    mean_gap_hours: float = 3.0
    """Mean (exponential) idle time between one session's end and the next start, before pushing
    sessions out of the night (21:00-08:00) and, with `weekend_skip`, off weekends."""
    weekend_skip: float = 0.8
    """Probability that a session falling on a Saturday or Sunday is moved to Monday morning."""
    session_minutes: tuple[float, float] = (20.0, 120.0)
    """Session length, uniform between these bounds (minutes)."""

    # -- impact tier: open loops -------------------------------------------------------------------
    loops_per_session: float = 1.5
    """Mean (Poisson) number of open loops created per session."""
    verify_mix: tuple[tuple[str, float], ...] = (
        ("http", 0.30),
        ("file_exists", 0.20),
        ("process_running", 0.15),
        ("manual", 0.20),
        ("none", 0.15),
    )
    """Verify-method mix of new loops; `none` writes `verify: null`."""
    p_broke: float = 0.15
    """Probability that the action of a new loop truly broke something (ground truth)."""
    p_check_machine: float = 0.75
    """Per session, probability that an open loop with a machine check (http / file_exists /
    process_running) is checked. The first chance is the next session."""
    p_check_manual: float = 0.4
    """Per session, probability that an open loop with a `manual` check gets its human check."""
    p_check_none: float = 0.3
    """Per session, probability that an open loop without a check is closed by self-report.
    Nobody looks, so it is reported `verified` even when it broke something (a missed regression)."""
    p_forgotten: float = 0.08
    """Probability that a new loop is never looked at again: no check ever runs, so it can only be
    silently dropped or expire at its ttl (which makes `escalated` and expiry visible)."""
    p_flaky: float = 0.05
    """Probability that a machine check reports the wrong outcome (false failed or false verified)."""
    p_recheck_failed: float = 0.0
    """Probability that a failed machine check is re-run in the next session before the loop is archived
    (a re-check discipline). The loop stays `failed` on the baton meanwhile; the re-run is flaky with
    `p_flaky` too, so a false failure usually comes back `verified` (failed → verified with nothing
    changed) and a real one fails again. 0 (the presets) = failed loops are archived at once."""
    p_silent_drop: float = 0.03
    """Per session, probability that an open loop is removed while still `open` (silent drop)."""
    ttl_days: int = 7
    """`ttl_days` written on every loop; an unchecked loop older than this expires."""
    p_ttl_escalate: float = 0.7
    """When a loop expires: probability it becomes `escalated`; otherwise it is dropped while open."""

    # -- follow-ups --------------------------------------------------------------------------------
    followups_per_session: float = 0.6
    """Mean (Poisson) number of follow-ups created per session."""
    p_defer: float = 0.35
    """Per session, probability that an open follow-up that was neither resolved nor dropped is
    deferred (`defer_count += 1`; priority becomes `elevated` at 3 and `escalated` at 5)."""
    resolve_by_priority: tuple[tuple[str, float], ...] = (("normal", 0.15), ("elevated", 0.25), ("escalated", 0.45))
    """Per-session resolution hazard by priority band at the start of the session; a resolved
    follow-up disappears (v1) or shows `status: done` once (v2). Escalation effectiveness (F3) is
    the ratio of these hazards."""
    p_followup_drop: float = 0.01
    """Per session, probability that an open follow-up is abandoned (disappears unresolved)."""

    # -- experience tier: patterns ----------------------------------------------------------------
    new_pattern_rate: float = 0.35
    """Mean (Poisson) number of new patterns per session at session 1."""
    new_pattern_halflife: float = 80.0
    """Sessions after which the new-pattern rate has halved (discovery saturates, metrics.md P3)."""
    pattern_rate_mean: float = 0.2
    """Mean per-session occurrence rate of a pattern; each pattern's rate is Gamma-distributed."""
    pattern_rate_shape: float = 2.0
    """Gamma shape of per-pattern occurrence rates (smaller = more heterogeneous patterns)."""
    threshold: int = 3
    """v1 `threshold`: `observing` becomes `rule_candidate` when `count >= threshold`."""
    p_pattern_llm_derived: float = 0.8
    """Probability that a new pattern is `llm_derived` (else `raw_source`)."""
    confirm_latency_mean: float = 3.0
    """Mean sessions (geometric) a human takes to confirm an `llm_derived` candidate (the
    Anti-Ouroboros gate); confirmation sets `source_tier: human_confirmed`. 0 = humans never confirm."""
    p_graduate: float = 0.5
    """Per session, probability that a confirmed (or `raw_source`) candidate graduates to a rule
    (`graduated_to: rules/<slug>.md`), at the earliest the session after confirmation."""
    p_dismiss: float = 0.04
    """Per session, probability that a candidate is dismissed (shown once, then archived)."""
    p_gate_violation: float = 0.0
    """Per session, probability that an `llm_derived` candidate graduates without confirmation
    (an injected Anti-Ouroboros violation)."""
    rule_effect: float = 0.3
    """Multiplier on a pattern's occurrence rate after it graduated (1.0 = the rule does nothing)."""

    # -- decisions ---------------------------------------------------------------------------------
    decisions_per_session: float = 0.06
    """Mean (Poisson) number of new independent decisions per session."""
    p_monitor: float = 0.05
    """Per session, probability that an `active` decision moves to `monitoring`."""
    p_supersede: float = 0.01
    """Per session, probability that a live decision is superseded by a new one (`superseded_by`)."""
    p_reversal: float = 0.3
    """Given a supersession, probability that the new decision restores a rejected alternative."""
    p_decision_llm_derived: float = 0.2
    """Probability that a new decision is `llm_derived` (else the v1 default `human_confirmed`)."""

    # -- transport (v2 revisions, transcripts) -----------------------------------------------------
    extra_writes_per_session: float = 0.15
    """Mean (Poisson) extra mid-session v2 writes; their revisions are never on disk (unseen)."""
    p_unrecoverable_write: float = 0.03
    """Probability that a transcript's write is a python one-liner whose payload cannot be recovered."""
    p_codex_writer: float = 0.1
    """Probability that a session is run by Codex instead of Claude Code (v2 `last_written_by`);
    transcripts exist only for Claude Code sessions."""

    # -- regime change -----------------------------------------------------------------------------
    regime_change_at: int | None = None
    """Session index (1-based) from which `regime_change` applies, or None for a stationary loop."""
    regime_change: tuple[tuple[str, float], ...] = ()
    """Field overrides that take effect at `regime_change_at`, e.g. (("p_broke", 0.05),)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("p_") and not 0.0 <= value <= 1.0:
                raise SimulationError(f"{f.name} must be a probability in [0, 1], got {value!r}")
        total = sum(w for _, w in self.verify_mix)
        if abs(total - 1.0) > 1e-9:
            raise SimulationError(f"verify_mix weights must sum to 1, got {total}")
        known = {f.name for f in dataclasses.fields(self)}
        for name, _ in self.regime_change:
            if name not in known or name.startswith("regime_"):
                raise SimulationError(f"regime_change names an unknown field: {name!r}")

    def after_regime_change(self) -> "SimParams":
        """The parameters in force from `regime_change_at` on."""
        return dataclasses.replace(self, regime_change_at=None, regime_change=(), **dict(self.regime_change))

    def with_overrides(self, **overrides: Any) -> "SimParams":
        return dataclasses.replace(self, **overrides)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (tuples of pairs become objects) for `truth/params.json`."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("verify_mix", "resolve_by_priority", "regime_change"):
                value = {k: v for k, v in value}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


DEFAULT = SimParams()

PRESETS: Mapping[str, SimParams] = {
    "default": DEFAULT,
    # Loops are checked at the next session, few drops, humans keep up with the gate, rules work.
    "healthy-loop": DEFAULT.with_overrides(
        verify_mix=(("http", 0.40), ("file_exists", 0.25), ("process_running", 0.20), ("manual", 0.10), ("none", 0.05)),
        p_check_machine=0.9,
        p_check_manual=0.6,
        p_forgotten=0.02,
        p_silent_drop=0.01,
        p_defer=0.2,
        resolve_by_priority=(("normal", 0.25), ("elevated", 0.4), ("escalated", 0.6)),
        confirm_latency_mean=2.0,
        p_graduate=0.6,
        rule_effect=0.3,
        p_gate_violation=0.0,
        # The loop gets better: fewer actions break things after it has run for a while.
        regime_change_at=40,
        regime_change=(("p_broke", 0.06),),
    ),
    # The baton is written but hardly read: little verification, loops vanish, deferrals pile up,
    # candidates wait at the gate and some graduate anyway.
    "log-nobody-reads": DEFAULT.with_overrides(
        verify_mix=(("http", 0.10), ("file_exists", 0.05), ("process_running", 0.05), ("manual", 0.30), ("none", 0.50)),
        p_check_machine=0.2,
        p_check_manual=0.1,
        p_check_none=0.1,
        p_forgotten=0.4,
        p_silent_drop=0.06,
        p_ttl_escalate=0.3,
        p_defer=0.6,
        resolve_by_priority=(("normal", 0.04), ("elevated", 0.05), ("escalated", 0.05)),
        p_followup_drop=0.03,
        new_pattern_halflife=400.0,
        confirm_latency_mean=25.0,
        p_graduate=0.15,
        p_dismiss=0.01,
        p_gate_violation=0.015,
        rule_effect=0.8,
        p_unrecoverable_write=0.1,
    ),
    # Graduation works as a process (the gate holds), but rules do not change behaviour.
    "rules-dont-stick": DEFAULT.with_overrides(
        pattern_rate_mean=0.3,
        confirm_latency_mean=2.0,
        p_graduate=0.7,
        rule_effect=1.0,
    ),
}

# Practices a user switches on, as field overrides: `with_practice(params, name, at=session)` turns one on
# mid-history through the regime change (a before/after for `baton-lab compare`), `params.with_overrides(
# **dict(PRACTICES[name]))` gives a loop that had it from the start (loop vs loop).
PRACTICES: Mapping[str, tuple[tuple[str, Any], ...]] = {
    # Next-session verification: more actions put under a machine check, checked at the next session,
    # fewer loops silently dropped (bench/compare_validity_bench.py measures the comparison on this one).
    "next-session-verification": (
        ("loops_per_session", 1.8),
        ("verify_mix", (("http", 0.40), ("file_exists", 0.25), ("process_running", 0.15), ("manual", 0.10),
                        ("none", 0.10))),
        ("p_check_machine", 0.9),
        ("p_silent_drop", 0.015),
    ),
    # A lessons file that is read: rules stick and fewer actions break things.
    "lessons-file": (("rule_effect", 0.2), ("p_broke", 0.08)),
}


def with_practice(params: SimParams, practice: str, *, at: int) -> SimParams:
    """`params` with `practice` switched on from session `at` (1-based) — the regime change."""
    if practice not in PRACTICES:
        raise SimulationError(f"unknown practice {practice!r}; known: {', '.join(PRACTICES)}")
    if at < 1:
        raise SimulationError("a practice starts at a session index ≥ 1")
    return params.with_overrides(regime_change_at=at, regime_change=PRACTICES[practice])


# A mix assigns (label, preset) pairs to namespaces round-robin; `demo` is the bundled dataset
# (baton_lab/data/demo): the three contrasting presets, plus two default loops kept as v2 and as transcripts.
MIXES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "demo": (
        ("healthy-loop", "healthy-loop"),
        ("log-nobody-reads", "log-nobody-reads"),
        ("rules-dont-stick", "rules-dont-stick"),
        ("v2-default", "default"),
        ("transcript-default", "default"),
    ),
}


def preset_names() -> list[str]:
    return [*PRESETS, *MIXES]


def resolve(preset_or_params: str | SimParams | Mapping[str, SimParams]) -> list[tuple[str, str, SimParams]]:
    """The (namespace label, preset name, params) cycle that namespaces are assigned from, in order."""
    if isinstance(preset_or_params, SimParams):
        return [("custom", "custom", preset_or_params)]
    if isinstance(preset_or_params, Mapping):
        return [(str(k), "custom", v) for k, v in preset_or_params.items()]
    if preset_or_params in PRESETS:
        return [(preset_or_params, preset_or_params, PRESETS[preset_or_params])]
    if preset_or_params in MIXES:
        return [(label, name, PRESETS[name]) for label, name in MIXES[preset_or_params]]
    raise SimulationError(f"unknown preset {preset_or_params!r}; known: {', '.join(preset_names())}")
