"""Canonical vocabularies (concepts.md §2). The pandera models in `store.schemas` use these sets."""

from __future__ import annotations

TIERS = ("open_loop", "follow_up", "pattern", "decision", "infra", "discovery")
SOURCE_TIERS = ("raw_source", "llm_derived", "human_confirmed")
VERIFY_METHODS = ("http", "file_exists", "process_running", "manual")
OPEN_LOOP_STATUSES = ("open", "verified", "failed", "escalated", "stale")
PATTERN_STATUSES = ("observing", "rule_candidate", "graduated", "dismissed")
# Session Baton's three, plus the words other formats use (concepts.md §2b: ADR accepted -> active).
DECISION_STATUSES = ("active", "monitoring", "superseded", "proposed", "rejected", "deprecated")
# v1 escalation words, v2 words, and Beads' 0-4 (0 = most urgent) as written.
FOLLOW_UP_PRIORITIES = ("normal", "elevated", "escalated", "high", "medium", "low", "0", "1", "2", "3", "4")
INFRA_STATUSES = ("ok", "needs_reverify", "down", "unknown")
ANTI_PATTERN_CATEGORIES = ("infra_assumption", "scope_creep", "tool_misuse", "deprecated_path", "guessing")
SEVERITIES = ("high", "medium", "low")
EVENTS = (
    "created",
    "status_changed",
    "count_changed",
    "deferred",
    "priority_changed",
    "tier_changed",
    "disappeared",
    "reappeared",
)
# An item removed after one of these was archived; removed before, it was silently dropped.
TERMINAL_STATUSES = ("verified", "failed", "escalated", "graduated", "dismissed", "superseded")
# v2 follow-up statuses that close the item (its removal afterwards is an archive, not a drop).
FOLLOW_UP_CLOSED = ("done", "closed", "resolved", "completed", "cancelled", "canceled", "wontfix", "dropped")
DISPOSITIONS = ("archived", "silent_drop", "ambiguous")
# How a snapshot's observed_at was obtained, strongest first.
OBSERVED_KINDS = ("capture", "server", "commit", "transcript", "file_mtime")
QUARANTINE_KINDS = ("document", "item", "value")

# v2 open-loop `pending` is v1 `open`.
V2_OPEN_LOOP_STATUS = {"pending": "open"}
