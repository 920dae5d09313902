"""JSON session handoff (formats.md §8): `agent/.state/session-handoff.json`, rewritten by each session's agent.

`decisions[{decision, rationale, alternatives[]}]` are decisions (alternatives → `rejected`), `nextSteps[]` (free
text) are follow-ups and `blockers[]` (text, or `{issue, severity, suggestions}`) follow-ups with status `blocked`
(severity → priority: critical/high → high). The free-text items have no ids: they are recognised across versions
by their text (`store.prose_identity`), so a next step carried over is a deferral. `agent` is the writer (several
agents write one file), `timestamp` the claimed time (LLM-written, not monotonic: git order wins),
`sessionSummary` the context; everything else (currentState, testMetrics, openQuestions, previousSession …) is kept
in `extra`. Invalid versions (concatenated objects, "Extra data") are quarantined with their commit by the source.
"""

from __future__ import annotations

from typing import Any

from .base import Record
from .contract import Format, Observation, Rules, Section
from .prose import COLUMNS, provisional_ids

NAME = "handoff-json"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
_SEVERITY = {"critical": "high", "high": "high", "medium": "medium", "med": "medium", "low": "low"}
_ITEM_KEYS = ("decisions", "nextSteps", "blockers", "sessionSummary", "agent", "timestamp")


def detect(doc: Any, record: Record) -> bool:
    return (isinstance(doc, dict) and "sessionSummary" in doc and ("nextSteps" in doc or "decisions" in doc)
            and "_meta" not in doc)


RULES = Rules(
    tiers={"decisions": "decisions[] (alternatives -> rejected)",
           "follow_ups": "nextSteps[] (free text, identity by text) and blockers[] (blocked, severity -> priority)"},
    absence={"decision": "ambiguous", "follow_up": "by_status_ambiguous"},
    capabilities=frozenset({"item_status", "defer_counts", "priorities", "attribution"}),
    statuses={"follow_up": ("open", "blocked"), "decision": ("active",)},
    terminal={},
)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def read(doc: Any, record: Record) -> Observation:
    follow: list[dict[str, Any]] = []
    follow_at: list[str] = []
    for i, step in enumerate(doc.get("nextSteps") or [] if isinstance(doc.get("nextSteps"), list) else []):
        text = _text(step) or (_text(step.get("step") or step.get("task") or step.get("title")) if isinstance(step, dict) else None)
        if text:
            follow.append({"text": text, "status": "open", "status_raw": "nextStep"})
            follow_at.append(f"$.nextSteps[{i}]")
    for i, blocker in enumerate(doc.get("blockers") or [] if isinstance(doc.get("blockers"), list) else []):
        severity = None
        if isinstance(blocker, dict):
            text = _text(blocker.get("issue") or blocker.get("description") or blocker.get("title"))
            severity = blocker.get("severity")
            extra = {k: v for k, v in blocker.items() if k not in ("issue", "description", "title", "severity")}
        else:
            text, extra = _text(blocker), {}
        if text:
            follow.append({"text": text, "status": "blocked", "status_raw": "blocker",
                           "priority": _SEVERITY.get(str(severity).lower()) if severity else None,
                           **({"severity": severity} if severity else {}), **extra})
            follow_at.append(f"$.blockers[{i}]")
    decisions: list[dict[str, Any]] = []
    decision_at: list[str] = []
    for i, decision in enumerate(doc.get("decisions") or [] if isinstance(doc.get("decisions"), list) else []):
        if isinstance(decision, dict):
            text = _text(decision.get("decision") or decision.get("title") or decision.get("what"))
            entry = {"text": text, "why": _text(decision.get("rationale")), "status": "active", "status_raw": None,
                     "rejected": decision.get("alternatives") or None,
                     **{k: v for k, v in decision.items() if k not in ("decision", "title", "what", "rationale", "alternatives")}}
        else:
            text, entry = _text(decision), {"text": _text(decision), "status": "active"}
        if text:
            decisions.append(entry)
            decision_at.append(f"$.decisions[{i}]")
    for entries in (follow, decisions):
        for entry, pid in zip(entries, provisional_ids(e["text"] for e in entries)):
            entry["id"] = pid
    rest = {k: v for k, v in doc.items() if k not in _ITEM_KEYS}
    return Observation(
        document=doc, schema_version=SCHEMA_VERSION,
        writer=_text(doc.get("agent")), written_at_raw=_text(doc.get("timestamp")), context=_text(doc.get("sessionSummary")),
        extra=rest or None,
        sections=[Section("follow_ups", NAME, COLUMNS["follow_ups"], follow, "", follow_at),
                  Section("decisions", NAME, COLUMNS["decisions"], decisions, "", decision_at)],
    )


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="JSON session handoff (agent/.state/session-handoff.json): free-text next steps, blockers and decisions "
                "recognised across versions by their text; the writing agent kept.",
    detection='a JSON object with "sessionSummary" and "nextSteps"/"decisions" (no Session Baton _meta)',
    detect=detect,
    read=read,
    rules=RULES,
)
