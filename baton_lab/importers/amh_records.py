"""agent-memory-hall (AMH) memory records as canonical items, and the history their times make (formats.md §12).

Shared by the two formats that hold AMH records: `amh_memory` (AMH's own `memory.json`) and `memhall_entries`
(memory-hall's entries, AMH's store since the standalone Session Baton service was retired).

Mapping. A memory is a pattern (every `memory_type` but decision: lessons and risks, and the facts, preferences and
constraints that are the same long-lived knowledge; `memory_type` kept in `extra`); a `decision` memory or a
governance decision is a decision; an obligation packet is a follow-up with its status, evidence and missing
evidence. `status` active/superseded/revoked/expired is kept in `status_raw`; `supersedes` links are kept, and the
superseded item names its successor (`superseded_by` for decisions, `extra` for patterns).

History. AMH never edits a memory's content: a change is a new record (`supersedes`) or a status/tier transition
the audit log and the record's provenance chain time-stamp. So one file holds its own history, and it is read as
one snapshot per moment something changed, oldest first (`location` "version k"): records appear at `created_at`
in status `active` (AMH writes every record active), a `supersede`/`revoke`/`expire` audit event (or a superseding
record's creation) moves the status, and a `tier_upgrade` (provenance transition, else audit event) moves
`source_tier`, so each human confirmation is a `tier_changed` event written by `confirmed_by`. Governance decisions
appear at `created_at` as `proposed` (AMH decisions start as proposals) and take their written status at
`effective_at`; obligation packets appear at `last_touched_at` with their written status (AMH keeps only the
latest). The last version is the file exactly as written: whatever the log does not time (a status changed with no
audit event) is observed there, never back-dated.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from .._timeparse import parse_time
from ..normalize.columns import Col, compose
from ..normalize.tables import ITEM_BASE
from .contract import Observation, Rules, Section, Unreadable

PATTERN_STATUS = {"active": "observing", "superseded": "dismissed", "revoked": "dismissed", "expired": "dismissed"}
DECISION_STATUS = {"active": "active", "superseded": "superseded", "revoked": "deprecated", "expired": "deprecated",
                   # governance decisions (AMH decision/types.ts)
                   "proposed": "proposed", "under_review": "proposed", "ratified": "active", "in_effect": "active"}
OBLIGATION_STATUSES = ("pending", "in_progress", "blocked", "stale", "closed", "abandoned")
STATUS_OPERATIONS = {"supersede": "superseded", "revoke": "revoked", "expire": "expired"}
TIER_ORDER = ("raw_source", "llm_derived", "human_confirmed")


def _tier(item: dict[str, Any]) -> Any:
    source = item.get("source")
    tier = source.get("tier") if isinstance(source, dict) else None
    if tier is None and isinstance(item.get("trust_proof"), dict):
        tier = item["trust_proof"].get("tier")
    return tier


def _text(item: dict[str, Any]) -> Any:
    content = item.get("content")
    return content.get("value") if isinstance(content, dict) else content


def _mapped(table: dict[str, str], key: str) -> Any:
    return lambda item: table.get(item.get(key), item.get(key)) if isinstance(item.get(key), str) else item.get(key)


PATTERN_COLUMNS = compose(ITEM_BASE, [
    Col("source_tier", _tier, consumes=("source",)),
    Col("text", _text, consumes=("content",)),
    Col("status", _mapped(PATTERN_STATUS, "status")),
    Col("status_raw", "status"),
    Col("first_seen_raw", "created_at"),
    Col("last_occurred_by", "created_by"),
])

MEMORY_DECISION_COLUMNS = compose(ITEM_BASE, [
    Col("source_tier", _tier, consumes=("source",)),
    Col("what", _text, consumes=("content",)),
    Col("status", _mapped(DECISION_STATUS, "status")),
    Col("status_raw", "status"),
    Col("superseded_by", "_superseded_by"),
    Col("created_at_raw", "created_at"),
])

GOVERNANCE_DECISION_COLUMNS = compose(ITEM_BASE, [
    Col("source_tier", lambda item: None),
    Col("what", "title"),
    Col("why", lambda item: (item.get("ratification") or {}).get("rationale")
        if isinstance(item.get("ratification"), dict) else None),
    Col("status", _mapped(DECISION_STATUS, "status")),
    Col("status_raw", "status"),
    Col("superseded_by", "_superseded_by"),
    Col("evidence", lambda item: (item.get("proposal") or {}).get("evidence_ids")
        if isinstance(item.get("proposal"), dict) else None, "json"),
    Col("created_at_raw", "created_at"),
])

OBLIGATION_COLUMNS = compose(ITEM_BASE, [
    Col("source_tier", lambda item: None),
    Col("title", "promise"),
    Col("status", "status"),
    Col("status_raw", "status"),
    Col("first_seen_raw", "created_at"),
    Col("blocked_by", "blocked_by", "json"),
])

RULES = Rules(
    tiers={"patterns": "memories (lesson, risk, fact, preference, constraint; memory_type kept)",
           "decisions": "decision memories and governance decisions (proposed → ratified → superseded/revoked)",
           "follow_ups": "obligation packets (promise, owner, status, evidence)"},
    absence={},  # AMH never deletes a record: one missing from a later file was removed, after its status or not
    capabilities=frozenset({"item_status", "source_tiers"}),
    statuses={"pattern": ("observing", "dismissed"), "decision": ("proposed", "active", "superseded", "deprecated"),
              "follow_up": OBLIGATION_STATUSES},
    terminal={"pattern": ("dismissed",), "decision": ("superseded", "deprecated"), "follow_up": ("closed", "abandoned")},
)


@dataclass(slots=True)
class Change:
    """One timed change: `kind` record (a record appears), status, tier, decision or obligation (an item appears
    or takes its written state), or episode (a session wrap-up: context only)."""

    at: datetime
    raw_at: str
    kind: str
    key: str
    value: Any
    by: str | None
    what: str


@dataclass(slots=True)
class Holdings:
    """What one document holds for one namespace."""

    records: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    obligations: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    episodes: list[dict[str, Any]] = field(default_factory=list)  # memory-hall session wrap-ups: context, not items


def _id(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) and value else None


def _timed(raw: Any) -> tuple[datetime, str] | None:
    at = parse_time(raw) if isinstance(raw, str) else None
    return (at, raw) if at is not None else None


def _tier_upgrades(record: dict[str, Any], audit: list[dict[str, Any]], *, onto_itself: bool = True
                   ) -> list[tuple[datetime, str, str | None, str | None, str | None]]:
    """(time, raw time, tier before, tier after, by) of each upgrade of this very record: its provenance chain's
    `tier_upgrade` transitions onto itself (or, `onto_itself=False`, onto it from the record it replaced), else
    the audit log's `tier_upgrade` events (details "a → b")."""
    memory_id = record.get("memory_id")
    chain = record.get("provenance_chain")
    transitions = chain.get("transitions") if isinstance(chain, dict) else None
    found = []
    for t in transitions if isinstance(transitions, list) else ():
        if (isinstance(t, dict) and t.get("type") == "tier_upgrade" and t.get("to_memory_id") == memory_id
                and (t.get("from_memory_id") == memory_id or not onto_itself)
                and (when := _timed(t.get("performed_at")))):
            found.append((*when, t.get("tier_before"), t.get("tier_after"), t.get("performed_by")))
    if found:
        return sorted(found, key=lambda f: f[0])
    for event in audit:
        if event.get("memory_id") == memory_id and event.get("operation") == "tier_upgrade" and (
                when := _timed(event.get("timestamp"))):
            before, arrow, after = str(event.get("details") or "").partition("→")
            found.append((*when, before.strip() if arrow else None, after.strip() if arrow else None,
                          event.get("principal_id")))
    return sorted(found, key=lambda f: f[0])


AGENT_PRINCIPAL = re.compile(r"^agent[-:_/.]", re.IGNORECASE)


def _agents(records: list[dict[str, Any]]) -> set[str]:
    """Principals the records show acting as agents: every record's `agent_id` and its provenance origin's."""
    found = set()
    for record in records:
        chain = record.get("provenance_chain")
        origin = chain.get("origin") if isinstance(chain, dict) else None
        for value in (record.get("agent_id"), origin.get("agent_id") if isinstance(origin, dict) else None):
            if isinstance(value, str) and value:
                found.add(value)
    return found


def governance(held: Holdings) -> dict[str, Any]:
    """The Anti-Ouroboros audit of a namespace's records: every tier upgrade with who confirmed it and when (the
    human confirmations), every supersession with both records' tiers, and those where an `llm_derived` record
    replaced another `llm_derived` one (AMH's own gate, `governance/source-tier.ts`, refuses those; one here was
    written with the gate off). An upgrade's `by_agent` says whether its confirmer is an agent — a principal
    some record names as its `agent_id`, or one named `agent-…`/`agent:…` as AMH's principals are — and is null
    when no confirmer is named: either way no human confirmed it (metric P7 `unconfirmed_upgrade`)."""
    by_id = {r["memory_id"]: r for r in held.records if _id(r, "memory_id")}
    agents = _agents(held.records)
    upgrades = [{"memory_id": memory_id, "at": raw_at, "from": before, "to": after, "confirmed_by": by,
                 "by_agent": None if not isinstance(by, str) or not by
                 else by in agents or bool(AGENT_PRINCIPAL.match(by))}
                for memory_id, record in by_id.items()
                for _, raw_at, before, after, by in _tier_upgrades(record, held.audit, onto_itself=False)]
    supersessions = [{"memory_id": memory_id, "supersedes": record["supersedes"], "at": record.get("created_at"),
                      "tier": _tier(record), "supersedes_tier": _tier(by_id[record["supersedes"]])}
                     for memory_id, record in by_id.items()
                     if isinstance(record.get("supersedes"), str) and record["supersedes"] in by_id]
    loops = [{"memory_id": s["memory_id"], "supersedes": s["supersedes"]} for s in supersessions
             if s["tier"] == "llm_derived" and s["supersedes_tier"] == "llm_derived"]
    return {"tier_upgrades": upgrades,
            "human_confirmations": sum(u["to"] == "human_confirmed" for u in upgrades),
            "supersessions": supersessions, "llm_supersedes_llm": loops}


def changes(held: Holdings) -> list[Change]:
    """Every timed change in a namespace's records, decisions and obligations, oldest first (stable)."""
    out: list[Change] = []
    by_id = {rid: r for r in held.records if (rid := _id(r, "memory_id"))}
    status_timed: set[str] = set()
    for event in held.audit:
        # Ids and operations are looked up in dicts: a value that is a list or an object is no id at all.
        operation = event.get("operation")
        memory_id, status = _id(event, "memory_id"), STATUS_OPERATIONS.get(operation) if isinstance(operation, str) else None
        if status and memory_id in by_id and (when := _timed(event.get("timestamp"))):
            status_timed.add(memory_id)
            out.append(Change(*when, "status", memory_id, status, event.get("principal_id"),
                              f"{event.get('operation')} {memory_id}"))
    for record in held.records:
        memory_id = _id(record, "memory_id")
        when = _timed(record.get("created_at"))
        if memory_id is None or when is None:
            continue  # observed only in the file as written
        upgrades = _tier_upgrades(record, held.audit)
        initial_tier = upgrades[0][2] if upgrades and upgrades[0][2] in TIER_ORDER else _tier(record)
        out.append(Change(*when, "record", memory_id, initial_tier, record.get("created_by"), f"write {memory_id}"))
        for at, raw_at, _, after, by in upgrades:
            out.append(Change(at, raw_at, "tier", memory_id, after or _tier(record), by,
                              f"tier_upgrade {memory_id} → {after or _tier(record)} by {by}"))
        older = record.get("supersedes")
        if isinstance(older, str) and older in by_id and older not in status_timed:
            out.append(Change(*when, "status", older, "superseded", record.get("created_by"),
                              f"supersede {older} by {memory_id}"))
    for decision in held.decisions:
        decision_id, when = _id(decision, "decision_id"), _timed(decision.get("created_at"))
        if decision_id is None or when is None:
            continue
        effective = _timed(decision.get("effective_at"))
        if effective and decision.get("status") != "proposed":
            out.append(Change(*when, "decision", decision_id, "proposed", decision.get("proposer_principal_id"),
                              f"propose {decision_id}"))
            when = effective
        out.append(Change(*when, "decision", decision_id, decision.get("status"),
                          decision.get("proposer_principal_id"), f"{decision.get('status')} {decision_id}"))
    for packet in held.obligations:
        obligation_id = _id(packet, "obligation_id")
        when = _timed(packet.get("last_touched_at")) or _timed(packet.get("created_at"))
        if obligation_id and when:
            out.append(Change(*when, "obligation", obligation_id, packet.get("status"), packet.get("owner"),
                              f"obligation {obligation_id} {packet.get('status')}"))
    for episode in held.episodes:
        if when := _timed(episode.get("created_at")):
            text = str(episode.get("summary") or episode.get("content") or "")
            out.append(Change(*when, "episode", str(episode.get("entry_id")), None, episode.get("agent_id"),
                              f"episode: {text[:200]}"))
    out.sort(key=lambda c: c.at)
    return out


def _superseded_by(items: list[dict[str, Any]], id_key: str) -> list[dict[str, Any]]:
    successor = {item["supersedes"]: item.get(id_key) for item in items if isinstance(item.get("supersedes"), str)}
    return [{**item, "_superseded_by": successor[item[id_key]]} if _id(item, id_key) in successor else item
            for item in items]


def _section(table: str, spec: str, columns: list[Col], items: list[dict[str, Any]], id_key: str, path: str) -> Section:
    """Items keyed by their own id field (`memory_id`, `decision_id`, `obligation_id`), each located by it."""
    entries = [{"id": item.get(id_key), **item} for item in items]
    return Section(table, spec, columns, entries, "", [f"{path}[{item.get(id_key)}]" for item in items])


def sections(held: Holdings) -> list[Section]:
    records = _superseded_by(held.records, "memory_id")
    return [
        _section("patterns", "amh-record", PATTERN_COLUMNS,
                 [r for r in records if r.get("memory_type") != "decision"], "memory_id", "$.records"),
        _section("decisions", "amh-record", MEMORY_DECISION_COLUMNS,
                 [r for r in records if r.get("memory_type") == "decision"], "memory_id", "$.records"),
        _section("decisions", "amh-decision", GOVERNANCE_DECISION_COLUMNS, _superseded_by(held.decisions, "decision_id"),
                 "decision_id", "$.decisions"),
        _section("follow_ups", "amh-obligation", OBLIGATION_COLUMNS, held.obligations, "obligation_id", "$.obligations"),
    ]


def _as_of(record: dict[str, Any], status: str, tier: Any, at: datetime) -> dict[str, Any]:
    """A record as it stood at `at`: its status and tier then, without a trust proof given later."""
    if record.get("status") == status and _tier(record) == tier:
        return record
    out = {**record, "status": status}
    if isinstance(record.get("source"), dict):
        out["source"] = {**record["source"], "tier": tier}
    proof = record.get("trust_proof")
    confirmed = parse_time(proof.get("confirmed_at")) if isinstance(proof, dict) else None
    if confirmed is not None and confirmed > at:
        out.pop("trust_proof")
    return out


def _decided(decision: dict[str, Any], status: Any) -> dict[str, Any]:
    """A governance decision as it stood in `status`: a proposal has no ratification yet."""
    if decision.get("status") == status:
        return decision
    out = {**decision, "status": status}
    if status == "proposed":
        for later in ("ratification", "effective_at"):
            out.pop(later, None)
    return out


def history(held: Holdings, schema_version: str, namespace: str | None, final: Observation,
            version_of: Callable[[Change], Any] | None = None) -> list[Observation]:
    """The namespace's versions, oldest first: one per run of changes `version_of` puts together (by default each
    distinct change time) before the last, then `final` (the document as written, given the last change time as
    its claimed time). A version stands as of its last change."""
    timeline = changes(held)
    version_of = version_of or (lambda change: change.at)
    records = {r["memory_id"]: r for r in held.records if _id(r, "memory_id")}
    decisions = {d["decision_id"]: d for d in held.decisions if _id(d, "decision_id")}
    obligations = {o["obligation_id"]: o for o in held.obligations if _id(o, "obligation_id")}
    state: dict[str, dict[str, Any]] = defaultdict(dict)       # kind -> id -> (status, tier) or written state
    groups: list[list[Change]] = []
    for change in timeline:
        if groups and version_of(groups[-1][0]) == version_of(change):
            groups[-1].append(change)
        else:
            groups.append([change])
    versions: list[Observation] = []
    for number, group in enumerate(groups[:-1], start=1):
        for change in group:
            if change.kind == "record":
                state["record"][change.key] = ["active", change.value]
            elif change.kind == "status" and change.key in state["record"]:
                state["record"][change.key][0] = change.value
            elif change.kind == "tier" and change.key in state["record"]:
                state["record"][change.key][1] = change.value
            elif change.kind in ("decision", "obligation"):
                state[change.kind][change.key] = change.value
        at = group[-1]
        now = Holdings(
            records=[_as_of(records[rid], status, tier, at.at) for rid, (status, tier) in state["record"].items()],
            decisions=[_decided(decisions[did], status) for did, status in state["decision"].items()],
            obligations=[obligations[oid] for oid in state["obligation"]],
        )
        document = {"as_of": at.raw_at, "changes": [c.what for c in group],
                    **{key: value for key, value in (("records", now.records), ("decisions", now.decisions),
                                                     ("obligations", now.obligations)) if value}}
        versions.append(Observation(
            document=document, schema_version=schema_version, namespace=namespace, written_at_raw=at.raw_at,
            observed_at_raw=at.raw_at, observed_kind="server", logged_time=True, writer=group[-1].by,
            context="; ".join(c.what for c in group), sections=sections(now), location=f"version {number}"))
    if groups:
        last = groups[-1]
        final.written_at_raw = last[-1].raw_at
        final.writer = final.writer or last[-1].by
        final.context = final.context or "; ".join(c.what for c in last)
    final.sections = sections(held)
    final.extra = {**(final.extra or {}), "anti_ouroboros": governance(held)}
    final.location = f"version {len(versions) + 1}"
    return [*versions, final]


# -- the audit log's hash chain (AMH OL-013) ------------------------------------------------------------------------

AUDIT_GENESIS = "genesis"
_CHAIN_FIELDS = ("event_id", "memory_id", "operation", "principal_id", "timestamp", "correlation_id", "details")


def audit_hash(event: dict[str, Any], prev_hash: str) -> str:
    """AMH's chain hash: SHA-256 (hex) of the event's fields in a fixed order, as JavaScript's JSON.stringify writes
    them (no spaces, non-ASCII as is), absent optional fields as null, and the previous event's hash."""
    body = {name: event.get(name) for name in _CHAIN_FIELDS}
    body["prev_hash"] = prev_hash
    return hashlib.sha256(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(slots=True)
class ChainReport:
    total: int = 0
    verified: int = 0
    unchained: int = 0      # events written before the chain existed: no hash, not evidence of tampering
    breaks: list[Unreadable] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"events": self.total, "verified": self.verified, "unchained": self.unchained,
                "broken": [b.location for b in self.breaks]}


def verify_chain(events: list[Any], path: str) -> ChainReport:
    """Walk the log in file order as AMH's own verifier does, never rewriting it: an unhashed event resets the
    expectation to genesis; a link whose `prev_hash` is not the previous event's recomputed hash, or whose `hash`
    does not reproduce from its own content, is a break (reported at `path[i]`). The walk advances on what each
    event actually hashes to, so an edited event also breaks the link after it."""
    report = ChainReport(total=len(events))
    expected = AUDIT_GENESIS
    for index, event in enumerate(events):
        if not isinstance(event, dict) or not event.get("hash"):
            report.unchained += 1
            expected = AUDIT_GENESIS
            continue
        prev = event.get("prev_hash") or AUDIT_GENESIS
        recomputed = audit_hash(event, prev)
        problems = []
        if prev != expected:
            problems.append(f"prev_hash {str(prev)[:12]}… is not the previous event's hash {expected[:12]}…")
        if recomputed != event.get("hash"):
            problems.append("hash does not reproduce from the event's content (edited after it was written?)")
        if problems:
            report.breaks.append(Unreadable(f"{path}[{index}]", f"audit chain broken at event {event.get('event_id')}: "
                                            + "; ".join(problems) + " — reported, not repaired", None))
        else:
            report.verified += 1
        expected = recomputed
    return report
