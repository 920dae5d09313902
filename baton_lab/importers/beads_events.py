"""Beads' event log (`.beads/backup/events.jsonl`, formats.md §3): `{id, issue_id, event_type, actor, old_value,
new_value, comment, created_at}` per line, `event_type` created, updated, status_changed, commented, closed,
reopened, dependency_*, label_*, compacted. In compound-agent's backup `old_value` is the issue's full JSON before
the change and `new_value` a JSON patch (`{"status":"in_progress"}`); a `closed` event's `new_value` is the reason.

The log gives the exact transitions the exports only sample, so one version of the file reads as one snapshot per
moment something changed (events with the same `created_at`, in log order; `location` "version k", observed at the
logged time): the tracker's issues as the log knows them then. An issue is `open` when created (Beads' initial
status), takes each patch, is `closed` by a `closed` event and `open` again when reopened; what the log says about
an issue (title, priority, type, from `old_value`) fills it in, the long texts stay in the file. Issues use the
`beads-issues` columns and rules, so follow-up metrics read the two alike; the log knows only the issues it
mentions, so import it into its own namespace (`-n tracker-events`) rather than beside the exports, where issues
the log has not reached would look absent. The last version is the whole file as written; each line that is not
an event is reported with its line.
"""

from __future__ import annotations

import json
from typing import Any

from .._timeparse import parse_time
from .base import Record
from .beads import DECISION_COLUMNS, DECISION_TYPE, FOLLOW_UP_COLUMNS, RULES
from .contract import Format, Observation, Section, Unreadable
from .jsonl_document import read_lines, sniff_records

NAME = "beads-events"
VERSION = "1"
SCHEMA_VERSION = f"{NAME}/{VERSION}"
# What a version keeps of an issue: the fields the canonical columns read (descriptions stay in the file).
KEPT = ("id", "title", "status", "priority", "issue_type", "created_at", "created_by", "actor", "assignee",
        "defer_until", "closed_at", "close_reason", "updated_at")


def looks_like_event(record: dict[str, Any]) -> bool:
    return "event_type" in record and "issue_id" in record and "created_at" in record


def _patch(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _apply(issues: dict[str, dict[str, Any]], event: dict[str, Any]) -> str | None:
    """Apply one event to the issues; returns what changed (for the version's context), None if nothing did."""
    issue_id, kind, at = str(event.get("issue_id")), event.get("event_type"), event.get("created_at")
    known = issues.get(issue_id)
    before = {k: v for k, v in _patch(event.get("old_value")).items() if k in KEPT}
    issue = {**before, **(known or {})} if known else {"id": issue_id, "status": "open", **before}
    if known is None and kind == "created":
        issue.update(created_at=at, created_by=event.get("actor"))
    if kind in ("status_changed", "updated"):
        issue.update({k: v for k, v in _patch(event.get("new_value")).items() if k in KEPT})
    elif kind == "closed":
        issue.update(status="closed", closed_at=at, close_reason=event.get("new_value") or None)
    elif kind == "reopened":
        issue.update(status="open", closed_at=None)
    elif kind != "created" and known is not None:
        return None  # comments, labels, dependencies, compaction: kept in the file, no state change
    issue["actor"] = event.get("actor")
    issues[issue_id] = issue
    return f"{kind} {issue_id}" + (f" → {issue['status']}" if kind in ("status_changed", "closed", "reopened") else "")


def _sections(issues: dict[str, dict[str, Any]]) -> list[Section]:
    rows = list(issues.values())
    decided = [i for i in rows if i.get("issue_type") == DECISION_TYPE]
    rest = [i for i in rows if i.get("issue_type") != DECISION_TYPE]
    return [Section("follow_ups", "beads-issues", FOLLOW_UP_COLUMNS, rest, "", [f"issue {i['id']}" for i in rest]),
            Section("decisions", "beads-issues", DECISION_COLUMNS, decided, "", [f"issue {i['id']}" for i in decided])]


def read(doc: Any, record: Record) -> list[Observation]:
    lines = read_lines(record.text)
    events = [(n, e) for n, e in lines.records if looks_like_event(e) and parse_time(e.get("created_at"))]
    for number, event in lines.records:
        if not looks_like_event(event) or not parse_time(event.get("created_at")):
            lines.unreadable.append(Unreadable(f"line {number}", "not a Beads event (needs event_type, issue_id and "
                                               "a created_at time)", None))
    groups: list[list[dict[str, Any]]] = []
    for _, event in events:
        if groups and groups[-1][0].get("created_at") == event.get("created_at"):
            groups[-1].append(event)
        else:
            groups.append([event])
    issues: dict[str, dict[str, Any]] = {}
    out: list[Observation] = []
    for number, group in enumerate(groups, start=1):
        changed = [c for e in group if (c := _apply(issues, e))]
        at = group[0].get("created_at")
        if number == len(groups):
            final = lines.observation(SCHEMA_VERSION, _sections(issues), claimed=[at])
            final.location, final.writer, final.context = f"version {number}", group[-1].get("actor"), "; ".join(changed)
            out.append(final)
            break
        state = [dict(i) for i in issues.values()]
        out.append(Observation(
            document={"as_of": at, "events": [e.get("id") for e in group], "issues": state},
            schema_version=SCHEMA_VERSION, written_at_raw=at, observed_at_raw=at, observed_kind="server", logged_time=True,
            writer=group[-1].get("actor"), context="; ".join(changed) or None,
            sections=_sections({i["id"]: i for i in state}), location=f"version {number}"))
    if not out:  # an empty log (or no events in it): one empty snapshot, the file as written
        out.append(lines.observation(SCHEMA_VERSION, _sections({}), claimed=[]))
    return out


FORMAT = Format(
    name=NAME,
    version=VERSION,
    description="Beads event log (.beads/backup/events.jsonl): exact issue transitions, one snapshot per moment.",
    detection="a JSONL file whose first records are objects with event_type, issue_id and created_at (by content); "
              "an empty backup/events.jsonl is an empty log",
    unit="file",
    sniff=lambda head: sniff_records(head, looks_like_event),
    file_hints=("backup/events.jsonl",),
    read=read,
    rules=RULES,
)
