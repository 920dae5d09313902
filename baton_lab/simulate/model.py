"""The generative model: one namespace's loop, session by session.

`NamespaceRun` yields one `SessionSnapshot` per session: the baton as the session wrote it at its end
(v1, and v2 when asked), with the session's clock. Every item keeps its hidden truth (did the action
break something, was the check flaky, true occurrence times...), which `truth.py` turns into tables
after the run. The order of events inside a session is fixed and documented in docs/simulator.md:
archive what was terminal last time, work the open loops, follow-ups, patterns and decisions, then
create new items, then write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator

import numpy as np

from . import text
from .items import Decision, FollowUp, Loop, Pattern
from .params import SimParams
from .rand import Draws, categorical, cumulative

MACHINE_METHODS = ("http", "file_exists", "process_running")
WRITERS = ("claude-code", "codex")


@dataclass(slots=True)
class SessionSnapshot:
    """What one session wrote, plus the facts a writer needs to render it in each format."""

    namespace: str
    seq: int
    session_id: str
    parent_session: str | None
    started_at: datetime
    written_at: datetime
    writer: str
    revision: int
    unseen_revisions: list[int]
    v1: dict[str, Any]
    v2: dict[str, Any] | None
    # When the server stored the write (its own clock, microseconds) - the SQLite/API `updated_at`.
    server_updated_at: str
    # Whether the transcript's write command carries its payload (False: a python one-liner).
    payload_recoverable: bool
    # (loop id, method, verify spec, reported status) for each check run this session (transcripts).
    checks: list[tuple[str, str, dict[str, Any] | None, str]] = field(default_factory=list)


def _iso(t: datetime) -> str:
    return t.isoformat()


class _Calendar:
    """Session start times: working hours, a gap between sessions, most weekends off."""

    def __init__(self, params: SimParams, draws: Draws) -> None:
        self.params, self.draws = params, draws
        start = datetime.fromisoformat(params.start).astimezone(timezone.utc)
        self.next_start = start + timedelta(seconds=int(draws.uniform(0, 3 * 3600)))
        self.day: date | None = None
        self.n_today = 0

    def session(self) -> tuple[datetime, datetime, str]:
        p, d = self.params, self.draws
        started = self.next_start
        minutes = d.uniform(*p.session_minutes)
        written = started + timedelta(seconds=int(minutes * 60))
        if started.date() != self.day:
            self.day, self.n_today = started.date(), 0
        self.n_today += 1
        session_id = f"{started.date().isoformat()}-{self.n_today:03d}"

        t = written + timedelta(seconds=int(900 + d.exponential(p.mean_gap_hours) * 3600))
        if t.hour >= 21 or t.hour < 8:
            day = t.date() + timedelta(days=1 if t.hour >= 21 else 0)
            t = datetime(day.year, day.month, day.day, 8, tzinfo=timezone.utc) + timedelta(
                seconds=int(d.uniform(0, 2.5 * 3600))
            )
        if t.weekday() >= 5 and d.chance(p.weekend_skip):
            day = t.date() + timedelta(days=7 - t.weekday())
            t = datetime(day.year, day.month, day.day, 8, tzinfo=timezone.utc) + timedelta(
                seconds=int(d.uniform(0, 2 * 3600))
            )
        self.next_start = t
        return started, written, session_id


class NamespaceRun:
    """Iterate to run the loop; afterwards the item lists and `sessions`/`occurrences` hold the truth."""

    def __init__(
        self,
        namespace: str,
        preset: str,
        params: SimParams,
        seed: np.random.SeedSequence,
        sessions: int,
        *,
        with_v2: bool = True,
    ) -> None:
        self.namespace, self.preset, self.params = namespace, preset, params
        self.n_sessions, self.with_v2 = sessions, with_v2
        self.draws = Draws(seed)
        self.loops: list[Loop] = []
        self.followups: list[FollowUp] = []
        self.patterns: list[Pattern] = []
        self.decisions: list[Decision] = []
        self.occurrences: list[tuple[str, int, str, str, int, bool]] = []
        self.sessions: list[dict[str, Any]] = []
        self.unseen: list[tuple[int, int]] = []
        self._counters = {"ol": 0, "fu": 0, "pat": 0, "dec": 0}

    # -- helpers ----------------------------------------------------------------------------------
    def _new_id(self, kind: str) -> str:
        self._counters[kind] += 1
        return f"{kind}-{self._counters[kind]:04d}"

    def _fill(self, template: str) -> str:
        return template.format(svc=self.draws.pick(text.SERVICES), host=self.draws.pick(text.HOSTS))

    def _verify_spec(self, method: str, svc: str, host: str) -> dict[str, Any] | None:
        if method == "none":
            return None
        spec: dict[str, Any] = {
            "method": method,
            "url": None,
            "expected_status": None,
            "path": None,
            "process_name": None,
            "timeout_seconds": 5,
            "note": None,
        }
        if method == "http":
            spec["url"] = f"http://{host}.lan:{8000 + text.SERVICES.index(svc)}/health"
            spec["expected_status"] = 200
        elif method == "file_exists":
            spec["path"] = f"/srv/{svc}/current/VERSION"
        elif method == "process_running":
            spec["process_name"] = svc
        else:
            spec["note"] = f"ask the user to confirm {svc} works on {host}"
        return spec

    # -- the loop ---------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[SessionSnapshot]:
        base = self.params
        changed = base.after_regime_change() if base.regime_change_at is not None else base
        calendar = _Calendar(base, self.draws)
        parent: str | None = None
        revision = 0
        live_loops: list[Loop] = []
        live_fus: list[FollowUp] = []
        live_patterns: list[Pattern] = []
        live_decisions: list[Decision] = []
        tables: dict[int, Any] = {}

        for seq in range(1, self.n_sessions + 1):
            regime = 1 if base.regime_change_at is not None and seq >= base.regime_change_at else 0
            p = changed if regime else base
            if id(p) not in tables:
                tables[id(p)] = (cumulative(p.verify_mix), dict(p.resolve_by_priority))
            verify_table, resolve_hazard = tables[id(p)]
            d = self.draws
            started, written, session_id = calendar.session()
            writer = WRITERS[1] if d.chance(p.p_codex_writer) else WRITERS[0]
            recoverable = not d.chance(p.p_unrecoverable_write)
            server_updated_at = _iso(written + timedelta(seconds=1, microseconds=int(d.u() * 999_999)))
            today = started.date().isoformat()
            day_ordinal = started.date().toordinal()
            now_iso = _iso(started)
            stats = dict.fromkeys(
                ("loops_checked", "loops_failed", "loops_dropped", "loops_created", "followups_deferred",
                 "followups_resolved", "followups_created", "pattern_occurrences", "patterns_created",
                 "graduations", "decisions_created", "decisions_superseded"),
                0,
            )

            # Items that reached a terminal status in the previous snapshot are archived now.
            for loop in live_loops:
                if loop.status != "open" and not loop.recheck:
                    loop.removed_seq = seq
            live_loops = [loop for loop in live_loops if loop.status == "open" or loop.recheck]
            live_fus = [fu for fu in live_fus if not fu.done]
            live_patterns = [pat for pat in live_patterns if pat.status != "dismissed"]
            live_decisions = [dec for dec in live_decisions if dec.status != "superseded"]

            # Open loops: silent drop, else maybe a check, else maybe ttl expiry.
            checks: list[tuple[str, str, dict[str, Any] | None, str]] = []
            kept: list[Loop] = []
            for loop in live_loops:
                if loop.recheck:   # a failed check re-run (p_recheck_failed): flips to verified or fails again
                    loop.recheck, loop.recheck_flaky = False, d.chance(p.p_flaky)
                    kept.append(loop)
                    status = "failed" if loop.broke != loop.recheck_flaky else "verified"
                    if status == "verified":
                        loop.set_status(status, seq, "recheck")
                    checks.append((loop.id, loop.method, loop.verify, status))
                    stats["loops_checked"] += 1
                    continue
                loop.at_risk += 1
                if d.chance(p.p_silent_drop):
                    loop.set_status("open", seq, "silent")
                    loop.removed_seq = seq
                    stats["loops_dropped"] += 1
                    continue
                kept.append(loop)
                method = loop.method
                if loop.forgotten:
                    pass
                elif method in MACHINE_METHODS:
                    if d.chance(p.p_check_machine):
                        flaky = d.chance(p.p_flaky)
                        failed = loop.broke != flaky
                        loop.flaky = flaky
                        self._close(loop, seq, "failed" if failed else "verified", "check", checks, stats)
                        # only draw when re-checks are on, so the presets' seeded runs are unchanged
                        loop.recheck = failed and p.p_recheck_failed > 0 and d.chance(p.p_recheck_failed)
                        continue
                elif method == "manual":
                    if d.chance(p.p_check_manual):
                        self._close(loop, seq, "failed" if loop.broke else "verified", "check", checks, stats)
                        continue
                elif d.chance(p.p_check_none):
                    self._close(loop, seq, "verified", "self_report", checks, stats)
                    continue
                if day_ordinal - loop.created_day > loop.ttl_days:
                    if d.chance(p.p_ttl_escalate):
                        loop.set_status("escalated", seq, "ttl")
                    else:
                        loop.set_status("open", seq, "ttl")
                        loop.removed_seq = seq
                        kept.pop()
                        stats["loops_dropped"] += 1
            live_loops = kept

            # Follow-ups: resolve (hazard by priority band), else abandon, else maybe defer.
            kept_fus: list[FollowUp] = []
            for fu in live_fus:
                band = fu.priority
                fu.at_risk[band] += 1
                if d.chance(resolve_hazard[band]):
                    fu.resolve(seq)
                    fu.resolved_in_band = band
                    kept_fus.append(fu)  # v2 shows it once as done; v1 renders only open ones
                    stats["followups_resolved"] += 1
                    continue
                if d.chance(p.p_followup_drop):
                    fu.dropped_seq = seq
                    continue
                fu.opportunities += 1
                if d.chance(p.p_defer):
                    fu.defer(seq, today, now_iso)
                    stats["followups_deferred"] += 1
                kept_fus.append(fu)
            live_fus = kept_fus

            # Patterns: occurrences first (rate set by the status at session start), then the funnel.
            for pat in live_patterns:
                graduated = pat.status == "graduated"
                if graduated:
                    pat.sessions_after += 1
                k = d.poisson(pat.rate * (pat.rule_effect if graduated else 1.0))
                if k:
                    context = d.pick(text.OCCURRENCE_CONTEXTS)
                    pat.count += k
                    pat.last_seen, pat.last_time, pat.last_by, pat.last_context = today, now_iso, writer, context
                    pat.recent = (pat.recent + [{"session": session_id, "context": context}] * k)[-5:]
                    if graduated:
                        pat.occ_after += k
                    else:
                        pat.occ_before += k
                    self.occurrences.append((pat.id, seq, session_id, now_iso, k, graduated))
                    stats["pattern_occurrences"] += k
                    pat.changed()
                self._advance_pattern(pat, seq, p, stats)

            # Decisions: supersession (sometimes a reversal), else active -> monitoring.
            for dec in list(live_decisions):
                if d.chance(p.p_supersede):
                    successor = self._supersede(dec, seq, today, p)
                    live_decisions.append(successor)
                    stats["decisions_superseded"] += 1
                    stats["decisions_created"] += 1
                elif dec.status == "active" and d.chance(p.p_monitor):
                    dec.status, dec.monitoring_seq = "monitoring", seq
                    dec.changed()

            # New items. A new decision on a topic that already has a live one supersedes it, which
            # keeps the decision list bounded by the number of topics, as a curated baton would be.
            for _ in range(d.poisson(p.decisions_per_session)):
                topic, options = d.pick(text.DECISIONS)
                current = next((dec for dec in live_decisions if dec.topic == topic and dec.status != "superseded"), None)
                if current is None:
                    live_decisions.append(self._new_decision(seq, today, p, topic=topic, option=d.pick(options)))
                else:
                    live_decisions.append(self._supersede(current, seq, today, p))
                    stats["decisions_superseded"] += 1
                stats["decisions_created"] += 1
            active_decisions = [dec.id for dec in live_decisions if dec.status != "superseded"]
            for _ in range(d.poisson(p.loops_per_session)):
                loop = self._new_loop(seq, today, day_ordinal, now_iso, writer, p, verify_table, active_decisions)
                live_loops.append(loop)
                stats["loops_created"] += 1
            rate = p.new_pattern_rate * 0.5 ** ((seq - 1) / p.new_pattern_halflife)
            for _ in range(d.poisson(rate)):
                pat = self._new_pattern(seq, session_id, today, now_iso, writer, p)
                live_patterns.append(pat)
                stats["patterns_created"] += 1
                stats["pattern_occurrences"] += 1
            pattern_ids = [pat.id for pat in live_patterns if pat.status != "dismissed"]
            for _ in range(d.poisson(p.followups_per_session)):
                live_fus.append(self._new_followup(seq, today, now_iso, writer, p, pattern_ids))
                stats["followups_created"] += 1

            extra = d.poisson(p.extra_writes_per_session)
            unseen = list(range(revision + 1, revision + 1 + extra))
            revision += extra + 1
            self.unseen.extend((r, seq) for r in unseen)

            context = (
                f"Session {session_id}: checked {len(checks)} loop(s), {stats['loops_failed']} failed; "
                f"{len(live_loops)} open loop(s), {sum(not fu.done for fu in live_fus)} follow-up(s), "
                f"{len(live_patterns)} pattern(s)."
            )
            v1 = {
                "schema_version": 1,
                "session_id": session_id,
                "parent_session": parent,
                "updated_at": _iso(written),
                "open_loops": [loop.v1() for loop in live_loops],
                "follow_ups": [fu.v1() for fu in live_fus if not fu.done],
                "patterns": [pat.v1() for pat in live_patterns],
                "active_decisions": [dec.v1() for dec in live_decisions],
                "context": context,
            }
            v2 = None
            if self.with_v2:
                v2 = self._v2_document(
                    session_id, today, written, writer, revision, context, checks,
                    live_loops, live_fus, live_patterns,
                )
            self.sessions.append(
                {
                    "seq": seq,
                    "session_id": session_id,
                    "parent_session": parent,
                    "started_at": started,
                    "written_at": written,
                    "writer": writer,
                    "regime": regime,
                    "revision": revision,
                    "unseen_revisions": extra,
                    "server_updated_at": server_updated_at,
                    "payload_recoverable": recoverable,
                    **stats,
                    "open_loops": len(live_loops),
                    "open_followups": sum(not fu.done for fu in live_fus),
                    "live_patterns": len(live_patterns),
                    "live_decisions": len(live_decisions),
                }
            )
            yield SessionSnapshot(
                self.namespace, seq, session_id, parent, started, written, writer, revision, unseen, v1, v2,
                server_updated_at, recoverable, checks,
            )
            parent = session_id

    # -- item transitions ------------------------------------------------------------------------
    def _close(self, loop: Loop, seq: int, status: str, reason: str, checks: list, stats: dict) -> None:
        loop.checked_seq = seq
        loop.set_status(status, seq, reason)
        checks.append((loop.id, loop.method, loop.verify, status))
        stats["loops_checked"] += 1
        if status == "failed":
            stats["loops_failed"] += 1

    def _advance_pattern(self, pat: Pattern, seq: int, p: SimParams, stats: dict) -> None:
        d = self.draws
        if pat.status == "observing":
            if pat.count >= pat.threshold:
                pat.status, pat.candidate_seq = "rule_candidate", seq
                pat.proposed_rule = f"Before acting: {pat.remedy}."
                pat.changed()
            return
        if pat.status != "rule_candidate" or pat.candidate_seq == seq:
            return
        if pat.source_tier == "llm_derived":
            pat.llm_candidate_sessions += 1
            if d.chance(p.p_gate_violation):
                pat.violation = True
                self._graduate(pat, seq, p, stats)
            elif p.confirm_latency_mean > 0 and d.chance(1.0 / max(p.confirm_latency_mean, 1.0)):
                pat.source_tier, pat.confirmed_seq = "human_confirmed", seq
                pat.changed()
            elif d.chance(p.p_dismiss):
                pat.status, pat.dismissed_seq = "dismissed", seq
                pat.changed()
        elif pat.confirmed_seq != seq:
            if d.chance(p.p_graduate):
                self._graduate(pat, seq, p, stats)
            elif d.chance(p.p_dismiss):
                pat.status, pat.dismissed_seq = "dismissed", seq
                pat.changed()

    def _graduate(self, pat: Pattern, seq: int, p: SimParams, stats: dict) -> None:
        pat.status, pat.graduated_seq, pat.rule_effect = "graduated", seq, p.rule_effect
        pat.graduated_to = f"rules/{text.slug(pat.what)}.md"
        pat.changed()
        stats["graduations"] += 1

    def _supersede(self, old: Decision, seq: int, today: str, p: SimParams) -> Decision:
        d = self.draws
        topic, options = next((t, o) for t, o in text.DECISIONS if t == old.topic)
        reversal = bool(old.rejected) and d.chance(p.p_reversal)
        if reversal:
            option = d.pick(old.rejected)
        else:
            fresh = [o for o in options if o != old.option and o not in old.rejected]
            option = d.pick(fresh) if fresh else d.pick([o for o in options if o != old.option])
        new = self._new_decision(seq, today, p, topic=topic, option=option, rejected_extra=old.option)
        new.reverses = old.id if reversal else None
        old.status, old.superseded_by, old.superseded_seq = "superseded", new.id, seq
        old.changed()
        return new

    # -- item creation ---------------------------------------------------------------------------
    def _new_loop(self, seq, today, day_ordinal, now_iso, writer, p, verify_table, decisions) -> Loop:  # noqa: ANN001
        d = self.draws
        svc, host = d.pick(text.SERVICES), d.pick(text.HOSTS)
        method = categorical(d, verify_table)
        loop = Loop(
            id=self._new_id("ol"),
            action=d.pick(text.ACTIONS).format(svc=svc),
            expected_outcome=d.pick(text.EXPECTED).format(svc=svc),
            verify=self._verify_spec(method, svc, host),
            method=method,
            created_date=today,
            created_day=day_ordinal,
            created_time=now_iso,
            created_by=writer,
            created_seq=seq,
            ttl_days=p.ttl_days,
            decision_ref=d.pick(decisions) if decisions and d.chance(0.3) else None,
            source_tier="llm_derived" if d.chance(0.8) else "raw_source",
            broke=d.chance(p.p_broke),
            forgotten=d.chance(p.p_forgotten),
        )
        self.loops.append(loop)
        return loop

    def _new_followup(self, seq, today, now_iso, writer, p, patterns) -> FollowUp:  # noqa: ANN001
        d = self.draws
        svc, host = d.pick(text.SERVICES), d.pick(text.HOSTS)
        item, reason = d.pick(text.FOLLOW_UPS)
        fu = FollowUp(
            id=self._new_id("fu"),
            item=item.format(svc=svc, host=host),
            reason=reason.format(svc=svc, host=host),
            first_seen=today,
            created_time=now_iso,
            created_by=writer,
            created_seq=seq,
            linked_pattern=d.pick(patterns) if patterns and d.chance(0.25) else None,
            source_tier="llm_derived" if d.chance(0.7) else "raw_source",
        )
        self.followups.append(fu)
        return fu

    def _new_pattern(self, seq, session_id, today, now_iso, writer, p) -> Pattern:  # noqa: ANN001
        d = self.draws
        what, category, severity = d.pick(text.PATTERNS)
        what = self._fill(what)
        context = d.pick(text.OCCURRENCE_CONTEXTS)
        tier = "llm_derived" if d.chance(p.p_pattern_llm_derived) else "raw_source"
        pat = Pattern(
            id=self._new_id("pat"),
            what=what,
            category=category,
            severity=severity,
            remedy=text.REMEDIES[category],
            count=1,
            first_seen=today,
            last_seen=today,
            last_time=now_iso,
            last_by=writer,
            last_context=context,
            recent=[{"session": session_id, "context": context}],
            threshold=p.threshold,
            source_tier=tier,
            initial_tier=tier,
            rate=d.gamma(p.pattern_rate_shape, p.pattern_rate_mean),
            first_seq=seq,
        )
        self.occurrences.append((pat.id, seq, session_id, now_iso, 1, False))
        self.patterns.append(pat)
        return pat

    def _new_decision(self, seq, today, p, *, topic, option, rejected_extra=None) -> Decision:  # noqa: ANN001
        d = self.draws
        options = next(o for t, o in text.DECISIONS if t == topic)
        others = [o for o in options if o != option and o != rejected_extra]
        rejected = [o for o in others if d.chance(0.5)]
        if rejected_extra is not None:
            rejected.insert(0, rejected_extra)
        evidence = [e for e in text.EVIDENCE if d.chance(0.35)]
        dec = Decision(
            id=self._new_id("dec"),
            topic=topic,
            option=option,
            what=f"Use {option} for {topic}",
            why=d.pick(text.WHYS),
            evidence=evidence,
            rejected=rejected,
            created_at=today,
            created_seq=seq,
            source_tier="llm_derived" if d.chance(p.p_decision_llm_derived) else "human_confirmed",
        )
        self.decisions.append(dec)
        return dec

    # -- v2 ---------------------------------------------------------------------------------------
    def _v2_document(self, session_id, today, written, writer, revision, context, checks,  # noqa: ANN001
                     loops, fus, patterns) -> dict[str, Any]:
        written_iso = _iso(written)
        completed = [f"{loop_id}: {status}" for loop_id, _, _, status in checks]
        return {
            "_meta": {
                "schema_version": "2.0",
                "namespace": self.namespace,
                "revision": revision,
                "last_written_by": writer,
                "last_written_at": written_iso,
            },
            "_security": {"secrets": "never stored; reference environment variables such as $BATON_API_TOKEN"},
            "infra_state": {
                "machines": {
                    host: {
                        "verified_at": written_iso,
                        "verified_by": writer,
                        "status": "ok",
                        "stale_after_hours": 24,
                    }
                    for host in text.HOSTS[:2]
                },
                "services": {},
            },
            "discovery_cache": {"entries": []},
            "anti_patterns": {"entries": [pat.v2() for pat in patterns if pat.status != "dismissed"]},
            "open_loops": {"entries": [loop.v2() for loop in loops]},
            "follow_ups": {"entries": [fu.v2() for fu in fus]},
            "session_bridge": {
                "last_session": {
                    "session_date": today,
                    "session_id": session_id,
                    "summary": context,
                    "completed": completed,
                    "in_progress": [loop.id for loop in loops if loop.status == "open"],
                    "next_action": f"verify {loops[0].id}" if loops else "pick the next follow-up",
                    "written_by": writer,
                    "written_at": written_iso,
                }
            },
            "infra": {},
            "governance": {"limits": {"open_loops": 20, "follow_ups": 30, "anti_patterns": 50, "discovery_cache": 50}},
            "deprecated_patterns": [],
        }
