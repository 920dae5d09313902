"""The four kinds of baton item, with their true (hidden) state and their v1/v2 renderings.

An item's rendering is cached until the item changes: most items are unchanged between two sessions,
and long runs (scale mode) would otherwise rebuild the same dicts thousands of times. A cached dict
is never mutated, only replaced, so snapshots that share it stay correct (and `render.py` can
reuse the text it encoded for a dict it has seen before).
"""

from __future__ import annotations

from typing import Any

# v2 follow-up priority for a v1 escalation band (v2 priorities are high/medium/low).
V2_PRIORITY = {"normal": "low", "elevated": "medium", "escalated": "high"}


class Loop:
    __slots__ = (
        "id", "action", "expected_outcome", "verify", "method", "created_date", "created_day", "created_time",
        "created_by", "created_seq", "ttl_days", "decision_ref", "status", "source_tier", "broke", "forgotten",
        "checked_seq", "flaky", "reason", "terminal_seq", "removed_seq", "at_risk", "recheck", "recheck_flaky",
        "_v1", "_v2",
    )

    def __init__(self, **fields: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, None)
        self.status = "open"
        self.flaky = False
        self.recheck = False
        self.at_risk = 0
        for name, value in fields.items():
            setattr(self, name, value)

    def set_status(self, status: str, seq: int, reason: str) -> None:
        self.status, self.reason = status, reason
        if status in ("verified", "failed", "escalated"):
            self.terminal_seq = seq
        self._v1 = self._v2 = None

    def v1(self) -> dict[str, Any]:
        if self._v1 is None:
            self._v1 = {
                "id": self.id,
                "action": self.action,
                "expected_outcome": self.expected_outcome,
                "verify": self.verify,
                "created_at": self.created_date,
                "ttl_days": self.ttl_days,
                "decision_ref": self.decision_ref,
                "status": self.status,
                "source_tier": self.source_tier,
            }
        return self._v1

    def v2(self) -> dict[str, Any]:
        if self._v2 is None:
            self._v2 = {
                "id": self.id,
                "action": self.action,
                "expected_outcome": self.expected_outcome,
                "created_at": self.created_time,
                "created_by": self.created_by,
                "stale_after_hours": self.ttl_days * 24,
                "verify": self.verify,
                "status": "pending" if self.status == "open" else self.status,
                "source_tier": self.source_tier,
            }
        return self._v2


class FollowUp:
    __slots__ = (
        "id", "item", "reason", "first_seen", "created_time", "created_by", "created_seq", "defer_count",
        "last_deferred", "last_deferred_time", "priority", "linked_pattern", "source_tier", "done",
        "resolved_seq", "dropped_seq", "deferrals", "opportunities", "at_risk", "resolved_in_band",
        "elevated_seq", "escalated_seq", "_v1", "_v2",
    )

    def __init__(self, **fields: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, None)
        self.defer_count = 0
        self.deferrals = 0
        self.opportunities = 0
        self.priority = "normal"
        self.done = False
        self.at_risk = {"normal": 0, "elevated": 0, "escalated": 0}
        for name, value in fields.items():
            setattr(self, name, value)

    def defer(self, seq: int, date: str, time: str) -> None:
        self.defer_count += 1
        self.deferrals += 1
        self.last_deferred, self.last_deferred_time = date, time
        if self.defer_count >= 5 and self.priority != "escalated":
            self.priority, self.escalated_seq = "escalated", seq
        elif self.defer_count >= 3 and self.priority == "normal":
            self.priority, self.elevated_seq = "elevated", seq
        self._v1 = self._v2 = None

    def resolve(self, seq: int) -> None:
        self.done, self.resolved_seq = True, seq
        self._v2 = None

    def v1(self) -> dict[str, Any]:
        if self._v1 is None:
            self._v1 = {
                "id": self.id,
                "item": self.item,
                "reason": self.reason,
                "first_seen": self.first_seen,
                "defer_count": self.defer_count,
                "last_deferred": self.last_deferred,
                "priority": self.priority,
                "linked_pattern": self.linked_pattern,
                "source_tier": self.source_tier,
            }
        return self._v1

    def v2(self) -> dict[str, Any]:
        if self._v2 is None:
            self._v2 = {
                "id": self.id,
                "title": self.item,
                "created_at": self.created_time,
                "created_by": self.created_by,
                "priority": V2_PRIORITY[self.priority],
                "postponed_count": self.defer_count,
                "last_postponed_at": self.last_deferred_time,
                "blocked_by": None,
                "suggested_agent": None,
                "status": "done" if self.done else "open",
                "source_tier": self.source_tier,
            }
        return self._v2


class Pattern:
    __slots__ = (
        "id", "what", "category", "severity", "remedy", "count", "first_seen", "last_seen", "last_time",
        "last_by", "last_context", "recent", "threshold", "status", "proposed_rule", "graduated_to",
        "source_tier", "initial_tier", "rate", "first_seq", "candidate_seq", "confirmed_seq", "graduated_seq",
        "violation", "dismissed_seq", "rule_effect", "llm_candidate_sessions", "occ_before", "occ_after",
        "sessions_after", "_v1", "_v2",
    )

    def __init__(self, **fields: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, None)
        self.status = "observing"
        self.violation = False
        self.llm_candidate_sessions = 0
        self.occ_before = 0
        self.occ_after = 0
        self.sessions_after = 0
        self.recent = []
        for name, value in fields.items():
            setattr(self, name, value)

    def changed(self) -> None:
        self._v1 = self._v2 = None

    def v1(self) -> dict[str, Any]:
        if self._v1 is None:
            self._v1 = {
                "id": self.id,
                "what": self.what,
                "count": self.count,
                "first_seen": self.first_seen,
                "last_seen": self.last_seen,
                "recent_occurrences": list(self.recent),
                "threshold": self.threshold,
                "status": self.status,
                "proposed_rule": self.proposed_rule,
                "graduated_to": self.graduated_to,
                "source_tier": self.source_tier,
            }
        return self._v1

    def v2(self) -> dict[str, Any]:
        if self._v2 is None:
            self._v2 = {
                "id": self.id,
                "pattern": self.what,
                "category": self.category,
                "severity": self.severity,
                "occurrences": self.count,
                "last_occurred_at": self.last_time,
                "last_occurred_by": self.last_by,
                "context": self.last_context,
                "remedy": self.remedy,
                "promoted_to_rule": self.graduated_to,
                "source_tier": self.source_tier,
            }
        return self._v2


class Decision:
    __slots__ = (
        "id", "topic", "option", "what", "why", "evidence", "rejected", "created_at", "created_seq", "status",
        "superseded_by", "source_tier", "monitoring_seq", "superseded_seq", "reverses", "_v1",
    )

    def __init__(self, **fields: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, None)
        self.status = "active"
        for name, value in fields.items():
            setattr(self, name, value)

    def changed(self) -> None:
        self._v1 = None

    def v1(self) -> dict[str, Any]:
        if self._v1 is None:
            self._v1 = {
                "id": self.id,
                "what": self.what,
                "why": self.why,
                "evidence": list(self.evidence),
                "rejected": list(self.rejected),
                "created_at": self.created_at,
                "status": self.status,
                "superseded_by": self.superseded_by,
                "source_tier": self.source_tier,
            }
        return self._v1
