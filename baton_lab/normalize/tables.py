"""Column specs per table and baton schema version: the mapping from v1/v2 fields to canonical columns."""

from __future__ import annotations

from typing import Any

from .. import vocab
from .columns import Col, compose

ITEM_BASE = [Col("item_id", "id"), Col("source_tier", "source_tier")]


def _verify_method(item: dict[str, Any]) -> Any:
    verify = item.get("verify")
    if verify is None:
        return "none"
    return verify.get("method") if isinstance(verify, dict) else verify


def _v2_loop_status(item: dict[str, Any]) -> Any:
    status = item.get("status")
    return vocab.V2_OPEN_LOOP_STATUS.get(status, status) if isinstance(status, str) else status


def _v2_pattern_status(item: dict[str, Any]) -> str:
    """SPEC-v2 §4.4: promoted when promoted_to_rule is set; candidate at occurrences >= 2 or severity high."""
    if item.get("promoted_to_rule"):
        return "graduated"
    occurrences = item.get("occurrences")
    if (isinstance(occurrences, int) and not isinstance(occurrences, bool) and occurrences >= 2) or item.get("severity") == "high":
        return "rule_candidate"
    return "observing"


V1 = {
    "open_loops": compose(ITEM_BASE, [
        Col("action", "action"),
        Col("expected_outcome", "expected_outcome"),
        Col("verify_method", _verify_method, consumes=("verify",)),
        Col("verify", "verify", "json"),
        Col("status", "status"),
        Col("created_at_raw", "created_at"),
        Col("ttl_days", "ttl_days", "int"),
        Col("decision_ref", "decision_ref"),
    ]),
    "follow_ups": compose(ITEM_BASE, [
        Col("title", "item"),
        Col("reason", "reason"),
        Col("defer_count", "defer_count", "int"),
        Col("priority", "priority"),
        # v1 follow-ups have no status: an item that is present is open (concepts.md §2).
        Col("status", lambda item: "open"),
        Col("first_seen_raw", "first_seen"),
        Col("last_deferred_raw", "last_deferred"),
        Col("linked_pattern", "linked_pattern"),
    ]),
    "patterns": compose(ITEM_BASE, [
        Col("text", "what"),
        Col("count", "count", "int"),
        Col("threshold", "threshold", "int"),
        Col("status", "status"),
        Col("rule_ref", "graduated_to"),
        Col("proposed_rule", "proposed_rule"),
        Col("first_seen_raw", "first_seen"),
        Col("last_seen_raw", "last_seen"),
        Col("recent_occurrences", "recent_occurrences", "json"),
    ]),
    "decisions": compose(ITEM_BASE, [
        Col("what", "what"),
        Col("why", "why"),
        Col("status", "status"),
        Col("superseded_by", "superseded_by"),
        Col("evidence", "evidence", "json"),
        Col("rejected", "rejected", "json"),
        Col("created_at_raw", "created_at"),
    ]),
}

V2 = {
    "open_loops": compose(V1["open_loops"], [
        Col("status", _v2_loop_status, consumes=("status",)),
        Col("created_by", "created_by"),
        Col("stale_after_hours", "stale_after_hours", "int"),
    ]),
    "follow_ups": compose(ITEM_BASE, [
        Col("title", "title"),
        Col("reason", "reason"),
        Col("defer_count", "postponed_count", "int"),
        Col("priority", "priority"),
        Col("status", "status"),
        Col("first_seen_raw", "created_at"),
        Col("last_deferred_raw", "last_postponed_at"),
        Col("blocked_by", "blocked_by", "json"),
        Col("suggested_agent", "suggested_agent"),
        Col("created_by", "created_by"),
    ]),
    "patterns": compose(ITEM_BASE, [
        Col("text", "pattern"),
        Col("count", "occurrences", "int"),
        Col("threshold", lambda item: 2),
        Col("status", _v2_pattern_status, consumes=("promoted_to_rule", "occurrences", "severity")),
        Col("rule_ref", "promoted_to_rule"),
        Col("category", "category"),
        Col("severity", "severity"),
        Col("last_seen_raw", "last_occurred_at"),
        Col("last_occurred_by", "last_occurred_by"),
        Col("context", "context"),
        Col("remedy", "remedy"),
    ]),
    "infra_state": compose(ITEM_BASE, [
        Col("kind", "_kind"),
        Col("status", "status"),
        Col("verified_at_raw", "verified_at"),
        Col("verified_by", "verified_by"),
        Col("stale_after_hours", "stale_after_hours", "int"),
        Col("check_command", "check_command"),
    ]),
    "discovery_cache": compose(ITEM_BASE, [
        Col("target", "target"),
        Col("discovered_at_raw", "discovered_at"),
        Col("discovered_by", "discovered_by"),
        Col("stale_after_hours", "stale_after_hours", "int"),
        Col("verified_still_valid", "verified_still_valid", "bool"),
        Col("findings", "findings", "json"),
    ]),
}

SESSION_BRIDGE = [
    Col("bridge_session_id", "session_id"),
    Col("session_date", "session_date"),
    Col("summary", "summary"),
    Col("completed", "completed", "json"),
    Col("in_progress", "in_progress", "json"),
    Col("next_action", "next_action"),
    Col("written_by", "written_by"),
    Col("written_at_raw", "written_at"),
]

PATCH_OP = [
    Col("op", "op"),
    Col("path", "path"),
    Col("by", "by", "int"),
    Col("value", "value", "json"),
]

# Where each table's items live in a baton: JSON path prefix per schema version.
V1_SECTIONS = {"open_loops": "open_loops", "follow_ups": "follow_ups", "patterns": "patterns", "decisions": "active_decisions"}
V2_SECTIONS = {"open_loops": "open_loops", "follow_ups": "follow_ups", "patterns": "anti_patterns", "discovery_cache": "discovery_cache"}
V1_TOP_LEVEL = ("schema_version", "session_id", "parent_session", "updated_at", "context", *V1_SECTIONS.values())
V2_TOP_LEVEL = ("_meta", "session_bridge", "infra_state", *V2_SECTIONS.values())
