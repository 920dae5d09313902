"""Baton documents built in code, with the field lists of session-baton 0.1.0 (v1) and SPEC-v2 (v2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def loop(id: str, status: str = "open", method: str | None = "http", tier: str = "llm_derived", **extra: Any) -> dict[str, Any]:
    verify = None if method is None else {"method": method, "url": "http://127.0.0.1:9/health", "expected_status": 200}
    return {"id": id, "action": f"deploy {id}", "expected_outcome": "health 200", "verify": verify,
            "created_at": "2026-06-17", "ttl_days": 7, "decision_ref": None, "status": status, "source_tier": tier, **extra}


def follow_up(id: str, defer: int = 0, priority: str = "normal", tier: str = "llm_derived", **extra: Any) -> dict[str, Any]:
    return {"id": id, "item": f"do {id}", "reason": "out of scope", "first_seen": "2026-06-17", "defer_count": defer,
            "last_deferred": None, "priority": priority, "linked_pattern": None, "source_tier": tier, **extra}


def pattern(id: str, count: int = 1, status: str = "observing", occurrences: list[tuple[str, str]] | None = None,
            tier: str = "llm_derived", graduated_to: str | None = None, **extra: Any) -> dict[str, Any]:
    occ = [{"session": s, "context": c} for s, c in (occurrences or [])]
    return {"id": id, "what": f"pattern {id}", "count": count, "first_seen": "2026-06-17", "last_seen": "2026-06-18",
            "recent_occurrences": occ, "threshold": 3, "status": status, "proposed_rule": None,
            "graduated_to": graduated_to, "source_tier": tier, **extra}


def decision(id: str, status: str = "active", superseded_by: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": id, "what": f"decide {id}", "why": "because", "evidence": ["bench"], "rejected": ["other"],
            "created_at": "2026-06-17", "status": status, "superseded_by": superseded_by, "source_tier": "human_confirmed",
            **extra}


def v1(session: str, parent: str | None = None, *, updated_at: str | None = None, loops=(), follow_ups=(), patterns=(),
       decisions=(), context: str = "") -> dict[str, Any]:
    return {"schema_version": 1, "session_id": session, "parent_session": parent,
            "updated_at": updated_at or "2026-06-17T10:00:00+08:00",
            "open_loops": list(loops), "follow_ups": list(follow_ups), "patterns": list(patterns),
            "active_decisions": list(decisions), "context": context}


def v2(namespace: str, revision: int, *, written_at: str = "2026-06-18T10:30:00Z", loops=(), follow_ups=(),
       anti_patterns=(), session_id: str = "2026-06-18-a", machines: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "_meta": {"schema_version": "2.0", "namespace": namespace, "revision": revision, "last_written_by": "claude",
                  "last_written_at": written_at},
        "_security": {"forbidden": ["No actual token/key/secret values"]},
        "infra_state": {"machines": machines or {"mini2": {"verified_at": written_at, "verified_by": "claude", "status": "ok",
                                                           "stale_after_hours": 24}},
                        "services": {"memhall": {"url": "http://127.0.0.1:9100", "verified_at": written_at,
                                                 "status": "ok", "stale_after_hours": 12,
                                                 "check_command": "curl -sf $MEMHALL_PRIMARY_URL/health"}}},
        "discovery_cache": {"entries": [{"id": "dc-001", "target": "mini2:memhall", "discovered_at": written_at,
                                         "discovered_by": "claude", "stale_after_hours": 720,
                                         "findings": {"mode": "host"}, "verified_still_valid": True}]},
        "anti_patterns": {"entries": list(anti_patterns)},
        "open_loops": {"entries": list(loops)},
        "follow_ups": {"entries": list(follow_ups)},
        "session_bridge": {"last_session": {"session_date": written_at[:10], "session_id": session_id,
                                            "summary": "実装した baton cache", "completed": ["a"], "in_progress": ["b"],
                                            "next_action": "review", "written_by": "claude", "written_at": written_at}},
        "infra": {"memhall": {"auth_type": "Bearer", "auth_env_var": "MH_API_TOKEN"}},
        "governance": {"limits": {"max_files_per_commit": 10}},
        "deprecated_patterns": [{"name": "handoff/latest.md", "deprecated_since": "2026-05-31"}],
    }


def v2_loop(id: str, status: str = "pending", method: str = "http", **extra: Any) -> dict[str, Any]:
    return {"id": id, "action": f"deploy {id}", "created_at": "2026-06-17T18:00:00Z", "created_by": "claude",
            "stale_after_hours": 72, "verify": {"method": method, "url": "http://127.0.0.1:9/health", "expected_status": 200},
            "status": status, "source_tier": "llm_derived", **extra}


def v2_follow_up(id: str, postponed: int = 0, status: str = "open", priority: str = "high") -> dict[str, Any]:
    return {"id": id, "title": f"do {id}", "created_at": "2026-06-10T09:00:00Z", "created_by": "claude",
            "priority": priority, "postponed_count": postponed, "last_postponed_at": None, "blocked_by": None,
            "suggested_agent": "codex", "status": status, "source_tier": "llm_derived"}


def anti_pattern(id: str, occurrences: int = 1, severity: str = "medium", promoted: str | None = None,
                 tier: str = "llm_derived") -> dict[str, Any]:
    return {"id": id, "pattern": f"assume {id}", "category": "infra_assumption", "severity": severity,
            "occurrences": occurrences, "last_occurred_at": "2026-06-12T09:00:00Z", "last_occurred_by": "claude",
            "context": "nginx was in Docker", "remedy": "docker ps first", "promoted_to_rule": promoted, "source_tier": tier}


def write(path: Path, doc: Any, *, bom: bool = False, indent: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, ensure_ascii=False, indent=indent)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def write_sequence(folder: Path, batons: list[dict[str, Any]]) -> list[Path]:
    """One file per baton, named so that name order is history order."""
    return [write(folder / f"{i:03d}-{b.get('session_id', 'x')}.json", b) for i, b in enumerate(batons, start=1)]
