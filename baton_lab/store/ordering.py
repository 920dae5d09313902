"""History order within a namespace (concepts.md §2, "History order and the two clocks").

Lineage first: a snapshot whose parent_session is another snapshot's session_id comes after it.
Otherwise by time, preferring what was observed (capture, server, commit, transcript) over what the
document claims (written_at); a file's mtime comes after the claim because copies and checkouts reset it;
then by name (source path and line, natural order). Versions replayed from git carry their position in the
commit graph (`graph_order`, parents first): among themselves they follow the graph, not the commit clock,
which runs in the same second and steps backwards after rebases; they keep the places the time order gave
the git versions as a group, so other snapshots of the namespace interleave as before.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime


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

    parts = (["lineage (parent_session)"] if links else []) + [
        source for source in ("commit graph (parent order)", "observed time (capture)", "observed time (server)", "observed time (commit)",
                              "observed time (transcript)", "claimed time (written_at)", "file time (mtime)", "name")
        if used[source]
    ]
    if "name" not in parts:
        parts.append("name")
    return ordered, ", then ".join(parts)


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
