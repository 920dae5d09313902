"""Structured session logs (formats.md §9): `.agents/sessions/YYYY-MM-DD-session-NN[-slug].json`, one file per
session (rjmurillo/ai-agents).

`nextSteps[]` are follow-ups, recognised across sessions by their text (`store.prose_identity`), so a next step
the following session's log repeats is a deferral. The protocol-compliance checks (`protocolCompliance.sessionStart
/ sessionEnd.<check>{level MUST|SHOULD, complete, evidence}`) are kept as verification claims: open loops whose
action is the check, `verified` when complete, `failed` when a MUST check is not, else `open`, the evidence as the
expected outcome (`verify_method: manual`). `session.number` is the session id, `session.date` the claimed time;
the objective is the context; workLog, branch and commits are kept in `extra`.
"""

from __future__ import annotations

from typing import Any

from ..normalize.columns import Col, compose
from .base import Record
from .contract import Format, Observation, Rules, Section
from .prose import COLUMNS, provisional_ids

NAME = "session-log-json"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"

CHECK_COLUMNS = compose(COLUMNS["open_loops"], [
    Col("expected_outcome", "evidence"),
    Col("verify_method", lambda item: "manual"),
])


def detect(doc: Any, record: Record) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("session"), dict)
            and ("protocolCompliance" in doc or "workLog" in doc) and "schemaVersion" in doc)


RULES = Rules(
    tiers={"follow_ups": "nextSteps[] (free text, identity by text across sessions)",
           "open_loops": "protocolCompliance checks as verification claims (complete -> verified; MUST not met -> failed)"},
    absence={"follow_up": "by_status_ambiguous", "open_loop": "by_status_ambiguous"},
    capabilities=frozenset({"item_status", "defer_counts"}),
    statuses={"follow_up": ("open",), "open_loop": ("open", "verified", "failed")},
    terminal={"open_loop": ("verified", "failed")},
)


def _checks(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    out, where = [], []
    compliance = doc.get("protocolCompliance")
    if not isinstance(compliance, dict):
        return out, where
    for phase, checks in compliance.items():
        if not isinstance(checks, dict):
            continue
        for name, check in checks.items():
            if not isinstance(check, dict):
                continue
            complete = check.get("complete", check.get("Complete"))
            level = str(check.get("level", check.get("Level")) or "")
            status = "verified" if complete is True else ("failed" if level.upper().startswith("MUST") and
                                                          "NOT" not in level.upper() else "open")
            evidence = check.get("evidence", check.get("Evidence"))
            out.append({"text": f"{phase}: {name}", "status": status, "status_raw": f"{level} complete={complete}",
                        "evidence": evidence if isinstance(evidence, str) else None, "level": level or None})
            where.append(f"$.protocolCompliance.{phase}.{name}")
    return out, where


def read(doc: Any, record: Record) -> Observation:
    session = doc.get("session") or {}
    steps = doc.get("nextSteps") if isinstance(doc.get("nextSteps"), list) else []
    follow = [{"text": s.strip(), "status": "open", "status_raw": "nextStep"} for s in steps if isinstance(s, str) and s.strip()]
    follow_at = [f"$.nextSteps[{i}]" for i, s in enumerate(steps) if isinstance(s, str) and s.strip()]
    checks, check_at = _checks(doc)
    for entries in (follow, checks):
        for entry, pid in zip(entries, provisional_ids(e["text"] for e in entries)):
            entry["id"] = pid
    number = session.get("number")
    return Observation(
        document=doc, schema_version=SCHEMA_VERSION,
        session_id=str(number) if number is not None else None,
        written_at_raw=session.get("date") if isinstance(session.get("date"), str) else None,
        context=session.get("objective") if isinstance(session.get("objective"), str) else None,
        extra={k: v for k, v in doc.items() if k not in ("nextSteps", "protocolCompliance")} or None,
        sections=[Section("follow_ups", NAME, COLUMNS["follow_ups"], follow, "", follow_at),
                  Section("open_loops", NAME, CHECK_COLUMNS, checks, "", check_at)],
    )


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="Structured session logs (.agents/sessions/*.json): one file per session; next steps as follow-ups, "
                "protocol-compliance checks as verification claims.",
    detection='a JSON object with "schemaVersion", a "session" object and "protocolCompliance"/"workLog"',
    detect=detect,
    read=read,
    rules=RULES,
)
