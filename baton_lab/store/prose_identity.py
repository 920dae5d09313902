"""Item identity for prose formats, once a namespace's history is in order (runs before events are derived).

Prose items are stored with a provisional id (a hash of their normalised text, `importers.prose`). Walking the
namespace's versions in `seq` order, each version's items are matched to the previous version's, per tier
(`prose.identity.match`: exact text first, then rapidfuzz above the threshold); a matched item takes the id its
chain started with, an unmatched one whose exact text was seen earlier takes that id back (a reappearance), and
anything else starts a new chain. A follow-up carried over while open counts one more deferral (`defer_count`),
which the event derivation turns into a `deferred` event. How each row was matched is kept in `extra.match`
(`how`: exact | fuzzy | reappeared | new, `score`), so confidence and any single pair can be explained.

The whole namespace is re-resolved on each import (deterministic in the order), and only rows whose id, defer
count or match changed are written.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import duckdb
import polars as pl

from ..importers.prose import TEXT_COLUMN
from ..importers.registry import PROSE_FORMATS
from ..prose.identity import match, normal_text

_DONE = ("done",)


def _provisional(text: str) -> str:
    return "p:" + hashlib.sha1(text.encode()).hexdigest()[:12]


def resolve_chain(versions: list[list[tuple[str, str | None]]], *, count_defers: bool) -> list[list[dict[str, Any]]]:
    """Ids for a sequence of versions, each a list of (normalised text, status). Returns per version per item
    {"id", "defer", "how", "score"}. Pure: the store pass and the tests both call it."""
    out: list[list[dict[str, Any]]] = []
    prev_texts: list[str] = []
    prev_rows: list[dict[str, Any]] = []
    prev_status: list[str | None] = []
    graveyard: dict[str, str] = {}   # normalised text -> id of a chain no longer present
    for items in versions:
        texts = [t for t, _ in items]
        rows: list[dict[str, Any] | None] = [None] * len(items)
        for m in match(prev_texts, texts):
            before = prev_rows[m.previous]
            status = items[m.current][1]
            defer = before["defer"]
            if count_defers and prev_status[m.previous] not in _DONE and status not in _DONE:
                defer += 1
            rows[m.current] = {"id": before["id"], "defer": defer, "how": m.how, "score": round(m.score, 1)}
        used = {r["id"] for r in rows if r is not None}
        for j, (text, _) in enumerate(items):
            if rows[j] is not None:
                continue
            old = graveyard.get(text)
            if old is not None and old not in used:
                rows[j] = {"id": old, "defer": 0, "how": "reappeared", "score": 100.0}
            else:
                pid, n = _provisional(text), 1
                while (pid if n == 1 else f"{pid}#{n}") in used:
                    n += 1
                rows[j] = {"id": pid if n == 1 else f"{pid}#{n}", "defer": 0, "how": "new", "score": None}
            used.add(rows[j]["id"])
        current = [r for r in rows if r is not None]
        present = {r["id"] for r in current}
        for text, row in zip(prev_texts, prev_rows):
            if row["id"] not in present:
                graveyard[text] = row["id"]
        for text, row in zip(texts, current):
            if graveyard.get(text) == row["id"]:
                del graveyard[text]
        out.append(current)
        prev_texts, prev_rows, prev_status = texts, current, [s for _, s in items]
    return out


def resolve_identity(con: duckdb.DuckDBPyConnection, namespaces: list[str]) -> int:
    """Re-resolve prose item ids in these namespaces; returns the number of rows rewritten."""
    if not namespaces:
        return 0
    formats = list(PROSE_FORMATS)
    prose = [ns for (ns,) in con.execute(
        "SELECT DISTINCT namespace FROM snapshots WHERE namespace IN (SELECT unnest(?::VARCHAR[])) "
        "AND format IN (SELECT unnest(?::VARCHAR[]))", [namespaces, formats]).fetchall()]
    if not prose:
        return 0
    written = 0
    for table, column in TEXT_COLUMN.items():
        rows = con.sql(f"""
            SELECT i.namespace, i.seq, i.snapshot_id, i.item_id, i.{column} AS text, i.status,
                   TRY_CAST(json_extract(i.extra, '$.line') AS BIGINT) AS line, i.defer_count_ AS defer,
                   json_extract_string(i.extra, '$.match.how') AS how
            FROM (SELECT *, {'defer_count' if table == 'follow_ups' else 'NULL::BIGINT'} AS defer_count_ FROM {table}) i
            JOIN snapshots s USING (snapshot_id)
            WHERE s.namespace IN (SELECT unnest(?::VARCHAR[])) AND s.format IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY i.namespace, i.seq, line NULLS LAST, i.item_id
        """, params=[prose, formats]).pl()
        if rows.height == 0:
            continue
        updates: dict[str, list[Any]] = defaultdict(list)
        for (namespace,), group in rows.group_by(["namespace"], maintain_order=True):
            by_seq = group.partition_by("seq", maintain_order=True)
            versions = [[(normal_text(t or ""), s) for t, s in zip(v["text"], v["status"])] for v in by_seq]
            resolved = resolve_chain(versions, count_defers=table == "follow_ups")
            for frame, ids in zip(by_seq, resolved):
                for snapshot_id, old, defer, how, new in zip(frame["snapshot_id"], frame["item_id"], frame["defer"],
                                                              frame["how"], ids):
                    if old == new["id"] and how == new["how"] and (table != "follow_ups" or defer == new["defer"]):
                        continue
                    updates["snapshot_id"].append(snapshot_id)
                    updates["old_id"].append(old)
                    updates["new_id"].append(new["id"])
                    updates["defer"].append(new["defer"])
                    updates["how"].append(new["how"])
                    updates["score"].append(new["score"])
        if not updates:
            continue
        frame = pl.DataFrame(updates, schema={"snapshot_id": pl.String, "old_id": pl.String, "new_id": pl.String,
                                              "defer": pl.Int64, "how": pl.String, "score": pl.Float64})
        con.register("_identity", frame)
        try:
            defer_set = ", defer_count = u.defer" if table == "follow_ups" else ""
            # two passes through a temporary id, so swapping ids within one snapshot never collides
            con.execute(f"""
                UPDATE {table} SET item_id = '~~' || u.new_id{defer_set},
                    extra = json_merge_patch(coalesce(extra, '{{}}'), json_object('match', json_object('how', u.how, 'score', u.score)))
                FROM _identity u WHERE {table}.snapshot_id = u.snapshot_id AND {table}.item_id = u.old_id""")
            con.execute(f"UPDATE {table} SET item_id = substr(item_id, 3) WHERE item_id LIKE '~~%'")
        finally:
            con.unregister("_identity")
        written += frame.height
    return written


def identity_confidence(con: duckdb.DuckDBPyConnection, namespaces: list[str] | None = None) -> pl.DataFrame:
    """Per namespace, prose format and tier: how the item rows were matched across versions — carried over (exact
    or fuzzy), fuzzy matches near the threshold, reappearances, first sightings. Empty when no prose is stored."""
    from ..prose.identity import NEAR, THRESHOLD

    parts = []
    for table, _ in TEXT_COLUMN.items():
        parts.append(f"""
            SELECT s.namespace, s.format, '{table}' AS tier, s.seq,
                   json_extract_string(i.extra, '$.match.how') AS how,
                   TRY_CAST(json_extract(i.extra, '$.match.score') AS DOUBLE) AS score
            FROM {table} i JOIN snapshots s USING (snapshot_id)
            WHERE s.format IN (SELECT unnest(?::VARCHAR[]))""")
    params: list[Any] = [list(PROSE_FORMATS)] * len(parts)
    where = ""
    if namespaces:
        where = "WHERE namespace IN (SELECT unnest(?::VARCHAR[]))"
        params.append(namespaces)
    return con.sql(f"""
        SELECT namespace, format, tier, count(DISTINCT seq) AS versions, count(*) AS item_rows,
               count(*) FILTER (WHERE how IN ('exact', 'fuzzy')) AS carried_over,
               count(*) FILTER (WHERE how = 'fuzzy') AS fuzzy,
               count(*) FILTER (WHERE how = 'fuzzy' AND score < {THRESHOLD + NEAR}) AS near_threshold,
               count(*) FILTER (WHERE how = 'reappeared') AS reappeared,
               count(*) FILTER (WHERE how = 'new' OR how IS NULL) AS first_seen
        FROM ({' UNION ALL '.join(parts)}) {where}
        GROUP BY ALL ORDER BY namespace, format, tier
    """, params=params).pl()
