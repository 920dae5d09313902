"""History order within a namespace (concepts.md §2, "History order and the two clocks").

Lineage first: a snapshot whose parent_session is another snapshot's session_id comes after it.
Otherwise by time, preferring what was observed (capture, server, commit, transcript) over what the
document claims (written_at); a file's mtime comes after the claim because copies and checkouts reset it;
then by name (source path and line, natural order). Versions replayed from git carry their position in the
commit graph (`graph_order`, parents first): among themselves they follow the graph, not the commit clock,
which runs in the same second and steps backwards after rebases; they keep the places the time order gave
the git versions as a group, so other snapshots of the namespace interleave as before.

Sessions that come after the stored history (the usual case: one more session's state) are numbered on from it
without loading that history (`tail_facts` reads what is needed in SQL, `append_order` decides); anything else
orders the namespace again.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


@dataclass(slots=True)
class SnapshotMeta:
    snapshot_id: str
    session_id: str | None
    parent_session: str | None
    observed_at: datetime | None
    observed_kind: str | None
    written_at: datetime | None
    name: str
    graph_order: int | None = None


def _natural(name: str) -> tuple[object, ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in re.split(r"(\d+)", name))


def _time_key(meta: SnapshotMeta) -> tuple[datetime | None, str]:
    if meta.observed_at is not None and meta.observed_kind not in (None, "file_mtime"):
        return meta.observed_at, f"observed time ({meta.observed_kind})"
    if meta.written_at is not None:
        return meta.written_at, "claimed time (written_at)"
    if meta.observed_at is not None:
        return meta.observed_at, "file time (mtime)"
    return None, "name"


def order(snapshots: list[SnapshotMeta]) -> tuple[list[str], str]:
    """Snapshot ids in history order, and a sentence naming the rules that decided it."""
    keyed = []
    used: Counter[str] = Counter()
    for meta in snapshots:
        time, source = _time_key(meta)
        used[source] += 1
        # Snapshots without any time sort after timed ones, by name.
        keyed.append(((time is None, time.timestamp() if time else 0.0, _natural(meta.name)), meta))
    keyed.sort(key=lambda pair: pair[0])
    graph = [i for i, (_, meta) in enumerate(keyed) if meta.graph_order is not None]
    if len(graph) > 1:
        in_graph_order = sorted((keyed[i] for i in graph), key=lambda pair: pair[1].graph_order)
        for slot, pair in zip(graph, in_graph_order):
            keyed[slot] = pair
        used["commit graph (parent order)"] += len(graph)
    rank = {meta.snapshot_id: i for i, (_, meta) in enumerate(keyed)}

    by_session: dict[str, list[str]] = defaultdict(list)
    for meta in snapshots:
        if meta.session_id:
            by_session[meta.session_id].append(meta.snapshot_id)
    successors: dict[str, list[str]] = defaultdict(list)
    indegree = {meta.snapshot_id: 0 for meta in snapshots}
    links = 0
    for meta in snapshots:
        if meta.parent_session and meta.parent_session != meta.session_id:
            for parent in by_session.get(meta.parent_session, ()):
                successors[parent].append(meta.snapshot_id)
                indegree[meta.snapshot_id] += 1
                links += 1

    if not links:
        ordered = [meta.snapshot_id for _, meta in keyed]
    else:
        ordered = _topological(rank, successors, indegree)

    return ordered, _rule({source for source, n in used.items() if n}, bool(links))


_RULES = ("commit graph (parent order)", "observed time (capture)", "observed time (server)", "observed time (commit)",
          "observed time (transcript)", "claimed time (written_at)", "file time (mtime)", "name")
_LINEAGE = "lineage (parent_session)"
_THEN = ", then "


def _rule(used: set[str], links: bool) -> str:
    """The sentence naming the rules that decided an order, in the order they apply."""
    parts = ([_LINEAGE] if links else []) + [source for source in _RULES if source in used]
    if "name" not in parts:
        parts.append("name")
    return _THEN.join(parts)


@dataclass(slots=True)
class StoredHistory:
    """What the append fast path needs to know of a namespace's history as stored (`tail_facts`)."""

    count: int               # snapshots, at seq 1..count
    latest: datetime | None  # the latest time any of them is ordered by (`_time_key`)
    untimed: bool            # some are ordered by name alone
    graph: list[int]         # how many carry a commit-graph position, and the highest
    rule: str                # the order rule recorded for it
    lineage_kept: bool       # the stored order puts every parent session before its children (no lineage cycle)
    parents_of_new: bool     # a stored snapshot continues a session that a new snapshot is from
    new_continue_stored: bool  # a new snapshot continues a stored session


def append_order(stored: StoredHistory, new: list[SnapshotMeta]) -> tuple[list[str], str] | None:
    """The new snapshots' order when they all come after the stored history — exactly what `order` gives for the
    stored and new snapshots together — or None when they do not (the caller orders everything again).

    They do when each is ordered by a time later than every stored one (none stored is untimed), no stored
    snapshot continues a new one's session, the stored order keeps lineage (so no cycle was broken by time, which a
    new snapshot could change) and their commit-graph positions follow the stored ones. Then `order` places every
    stored snapshot first, as before, and the new ones by the same rules among themselves."""
    if not new or stored.count == 0 or stored.untimed or stored.parents_of_new or not stored.lineage_kept:
        return None
    keys = [_time_key(meta) for meta in new]
    if any(time is None or stored.latest is None or time <= stored.latest for time, _ in keys):
        return None
    graph = [meta.graph_order for meta in new if meta.graph_order is not None]
    if graph and stored.graph[0] and min(graph) <= stored.graph[1]:
        return None
    ordered, new_rule = order(new)
    old_parts, new_parts = stored.rule.split(_THEN), new_rule.split(_THEN)
    used = set(old_parts + new_parts)
    if stored.graph[0] + len(graph) > 1:
        used.add("commit graph (parent order)")
    links = _LINEAGE in old_parts or _LINEAGE in new_parts or stored.new_continue_stored
    return ordered, _rule(used, links)


# `_time_key`'s time in SQL over `snapshots` (the fast path's latest stored time, without loading the history)
_TIME_KEY_SQL = ("CASE WHEN observed_at IS NOT NULL AND observed_kind IS NOT NULL AND observed_kind <> 'file_mtime' "
                 "THEN observed_at ELSE coalesce(written_at, observed_at) END")


def tail_facts(con: "duckdb.DuckDBPyConnection", namespace: str, new: list[SnapshotMeta]) -> StoredHistory | None:
    """The stored history of `namespace` (its rows with a seq) as `append_order` needs it; None when it has none."""
    row = con.execute(f"""
        SELECT count(*), max({_TIME_KEY_SQL}), bool_or({_TIME_KEY_SQL} IS NULL), max(seq),
               count(TRY_CAST(json_extract_string(provenance, '$.graph_order') AS BIGINT)),
               max(TRY_CAST(json_extract_string(provenance, '$.graph_order') AS BIGINT))
        FROM snapshots WHERE namespace = ? AND seq IS NOT NULL""", [namespace]).fetchall()[0]
    count, latest, untimed, last_seq, graph_count, graph_max = row
    if not count or last_seq != count:
        return None
    rule = con.execute("SELECT order_rule FROM namespace_order WHERE namespace = ?", [namespace]).fetchall()
    if not rule:
        return None
    sessions = [m.session_id for m in new if m.session_id]
    parents = [m.parent_session for m in new if m.parent_session and m.parent_session != m.session_id]
    (broken, parents_of_new, continue_stored), = con.execute("""
        WITH stored AS (SELECT seq, session_id, parent_session FROM snapshots WHERE namespace = ? AND seq IS NOT NULL)
        SELECT
          EXISTS (SELECT 1 FROM stored c JOIN stored p ON p.session_id = c.parent_session
                  WHERE c.parent_session IS DISTINCT FROM c.session_id AND p.seq > c.seq),
          EXISTS (SELECT 1 FROM stored WHERE parent_session IN (SELECT unnest(?::VARCHAR[]))
                  AND parent_session IS DISTINCT FROM session_id),
          EXISTS (SELECT 1 FROM stored WHERE session_id IN (SELECT unnest(?::VARCHAR[])))
    """, [namespace, sessions, parents]).fetchall()
    return StoredHistory(count, latest, bool(untimed), [graph_count, graph_max], rule[0][0], not broken,
                         bool(parents_of_new), bool(continue_stored))


def _topological(rank: dict[str, int], successors: dict[str, list[str]], indegree: dict[str, int]) -> list[str]:
    """Kahn's algorithm, always taking the earliest-by-time ready snapshot; cycles are broken by time."""
    remaining = dict(indegree)
    ready = [(rank[sid], sid) for sid, degree in remaining.items() if degree == 0]
    heapq.heapify(ready)
    done: set[str] = set()
    ordered: list[str] = []
    pending_by_rank = sorted(rank, key=rank.__getitem__)
    cursor = 0
    while len(ordered) < len(rank):
        if not ready:
            # A lineage cycle (bad data): release the earliest snapshot not yet placed.
            while pending_by_rank[cursor] in done:
                cursor += 1
            heapq.heappush(ready, (rank[pending_by_rank[cursor]], pending_by_rank[cursor]))
        _, sid = heapq.heappop(ready)
        if sid in done:
            continue
        done.add(sid)
        ordered.append(sid)
        for nxt in successors.get(sid, ()):
            remaining[nxt] -= 1
            if remaining[nxt] == 0 and nxt not in done:
                heapq.heappush(ready, (rank[nxt], nxt))
    return ordered
