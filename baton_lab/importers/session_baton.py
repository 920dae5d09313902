"""Session Baton v1 and v2 documents as observations: the rules both schema versions share, and the reading
of a baton's sections into canonical tables. The format modules (`baton_v1`, `baton_v2`, `api_envelope`,
`local_cache`) differ only in how they find the baton and its metadata."""

from __future__ import annotations

from typing import Any

from .. import vocab
from .._jsonutil import dumps, fragment
from ..normalize.tables import V1, V1_SECTIONS, V1_TOP_LEVEL, V2, V2_SECTIONS, V2_TOP_LEVEL
from ._shape import int_or_none, is_v2_baton, text_or_none
from .contract import Observation, Rules, Section, Unreadable

_SESSION_BATON_TERMINAL = tuple(vocab.TERMINAL_STATUSES)

V1_RULES = Rules(
    tiers={"open_loops": "open_loops[]", "follow_ups": "follow_ups[] (present = open)", "patterns": "patterns[]",
           "decisions": "active_decisions[]"},
    # v1 follow-ups have no status: an item leaves by disappearing, which says nothing about why.
    absence={"follow_up": "ambiguous"},
    capabilities=frozenset({"item_status", "defer_counts", "occurrence_counts", "source_tiers", "lineage",
                            "verify_specs", "priorities"}),
    statuses={"open_loop": vocab.OPEN_LOOP_STATUSES, "pattern": vocab.PATTERN_STATUSES,
              "decision": vocab.DECISION_STATUSES, "follow_up": ("open",)},
    terminal={"open_loop": _SESSION_BATON_TERMINAL, "pattern": _SESSION_BATON_TERMINAL,
              "decision": _SESSION_BATON_TERMINAL},
)

V2_RULES = Rules(
    tiers={"open_loops": "open_loops.entries", "follow_ups": "follow_ups.entries", "patterns": "anti_patterns.entries",
           "infra_state": "infra_state.machines/services", "discovery_cache": "discovery_cache.entries",
           "session_bridge": "session_bridge.last_session"},
    absence={"infra": "ambiguous", "discovery": "ambiguous"},
    capabilities=frozenset({"item_status", "defer_counts", "occurrence_counts", "source_tiers", "verify_specs",
                            "revisions", "infra_state", "priorities", "attribution"}),
    statuses={"open_loop": vocab.OPEN_LOOP_STATUSES, "pattern": vocab.PATTERN_STATUSES},
    terminal={"open_loop": _SESSION_BATON_TERMINAL, "pattern": _SESSION_BATON_TERMINAL,
              "follow_up": (*_SESSION_BATON_TERMINAL, *vocab.FOLLOW_UP_CLOSED)},
)

RULES_BY_VERSION = {"1": V1_RULES, "2": V2_RULES}


def v1_observation(doc: dict[str, Any]) -> Observation:
    context = doc.get("context")
    extra = {key: value for key, value in doc.items() if key not in V1_TOP_LEVEL}
    return Observation(
        document=doc,
        schema_version="1",
        session_id=text_or_none(doc.get("session_id")),
        parent_session=text_or_none(doc.get("parent_session")),
        written_at_raw=text_or_none(doc.get("updated_at")),
        context=context if isinstance(context, str) else None,
        extra=extra or None,
        sections=[Section(table, "baton-v1", V1[table], doc.get(section), f"$.{section}")
                  for table, section in V1_SECTIONS.items()],
    )


def v2_observation(doc: dict[str, Any]) -> Observation:
    meta = doc.get("_meta") if isinstance(doc.get("_meta"), dict) else {}
    bridge = doc.get("session_bridge") if isinstance(doc.get("session_bridge"), dict) else {}
    last = bridge.get("last_session") if isinstance(bridge.get("last_session"), dict) else {}
    summary = last.get("summary")
    extra = {key: value for key, value in doc.items() if key not in V2_TOP_LEVEL}
    obs = Observation(
        document=doc,
        schema_version=text_or_none(meta.get("schema_version")) or "2.0",
        namespace=text_or_none(meta.get("namespace")),
        session_id=text_or_none(last.get("session_id")),
        written_at_raw=text_or_none(meta.get("last_written_at")) or text_or_none(last.get("written_at")),
        revision=int_or_none(meta.get("revision")),
        writer=text_or_none(meta.get("last_written_by")) or text_or_none(last.get("written_by")),
        context=summary if isinstance(summary, str) else None,
        extra=extra or None,
        bridge=last if isinstance(bridge.get("last_session"), dict) else None,
    )
    for table, section in V2_SECTIONS.items():
        value = doc.get(section)
        if isinstance(value, dict):
            obs.sections.append(Section(table, "baton-v2", V2[table], value.get("entries"), f"$.{section}.entries"))
        elif value is not None:
            obs.unreadable.append(Unreadable(f"$.{section}", f"expected an object with entries, got {type(value).__name__}",
                                             fragment(dumps(value))))
    _add_infra(obs, doc.get("infra_state"))
    return obs


def _add_infra(obs: Observation, infra: Any) -> None:
    """machines and services are objects keyed by name: each entry becomes an item `machines/NAME`."""
    if not isinstance(infra, dict):
        return
    entries: list[Any] = []
    locations: list[str] = []
    for kind in ("machines", "services"):
        by_name = infra.get(kind)
        if not isinstance(by_name, dict):
            continue
        for name, entry in by_name.items():
            entries.append({**entry, "id": f"{kind}/{name}", "_kind": kind} if isinstance(entry, dict) else entry)
            locations.append(f"$.infra_state.{kind}.{name}")
    if entries:
        obs.sections.append(Section("infra_state", "baton-v2", V2["infra_state"], entries, "", locations))


def baton_observation(doc: dict[str, Any]) -> Observation:
    return v2_observation(doc) if is_v2_baton(doc) else v1_observation(doc)
