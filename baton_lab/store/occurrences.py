"""Pattern occurrences reconstructed across snapshots.

A v1 pattern keeps only its last 5 `recent_occurrences`; the count says how many happened. Each
occurrence listed in any snapshot becomes one row (first snapshot that shows it). Count increases that
the listed occurrences do not explain (more than 5 between snapshots, v2 anti-patterns, snapshots
missing) become `inferred` rows: they happened after `after_seq` and by `first_seen_seq`, session unknown.
"""

from __future__ import annotations

import duckdb
import polars as pl

_RECONSTRUCT = """
WITH obs AS (
    SELECT p.namespace, p.item_id, p.seq, p.count, p.recent_occurrences,
           lag(p.seq) OVER item AS prev_seq, lag(p.count) OVER item AS prev_count
    FROM patterns p JOIN rebuild USING (namespace)
    WINDOW item AS (PARTITION BY p.namespace, p.item_id ORDER BY p.seq)
),
listed AS (
    SELECT namespace, item_id, seq, occ.session AS session_id, occ.context AS context
    FROM (
        SELECT namespace, item_id, seq,
               unnest(from_json(recent_occurrences, '[{"session": "VARCHAR", "context": "VARCHAR"}]')) AS occ
        FROM obs WHERE recent_occurrences IS NOT NULL AND json_type(recent_occurrences) = 'ARRAY'
    )
),
distinct_listed AS (
    SELECT namespace, item_id, session_id, context, min(seq) AS first_seen_seq
    FROM listed GROUP BY ALL
),
new_per_obs AS (
    SELECT namespace, item_id, first_seen_seq AS seq, count(*) AS listed_new
    FROM distinct_listed GROUP BY ALL
),
unexplained AS (
    SELECT o.namespace, o.item_id, o.seq, o.prev_seq,
           greatest(coalesce(o.count, 0) - coalesce(o.prev_count, 0) - coalesce(n.listed_new, 0), 0) AS n_inferred
    FROM obs o LEFT JOIN new_per_obs n USING (namespace, item_id, seq)
    WHERE o.count IS NOT NULL
)
SELECT d.namespace, d.item_id, d.session_id, d.context, d.first_seen_seq, o.seq AS after_seq, false AS inferred
FROM distinct_listed d
ASOF LEFT JOIN obs o ON d.namespace = o.namespace AND d.item_id = o.item_id AND d.first_seen_seq > o.seq
UNION ALL
SELECT namespace, item_id, NULL, NULL, seq, prev_seq, true
FROM (SELECT *, unnest(range(n_inferred)) AS k FROM unexplained WHERE n_inferred > 0)
"""


def rebuild_occurrences(con: duckdb.DuckDBPyConnection, namespaces: list[str]) -> int:
    """Recompute `pattern_occurrences` for the given namespaces; returns the row count written."""
    if not namespaces:
        return 0
    rebuild = pl.DataFrame({"namespace": namespaces}, schema={"namespace": pl.String})
    con.register("rebuild", rebuild)
    try:
        con.execute("DELETE FROM pattern_occurrences WHERE namespace IN (SELECT namespace FROM rebuild)")
        con.execute(f"INSERT INTO pattern_occurrences BY NAME {_RECONSTRUCT}")
        return con.execute(
            "SELECT count(*) FROM pattern_occurrences WHERE namespace IN (SELECT namespace FROM rebuild)"
        ).fetchall()[0][0]
    finally:
        con.unregister("rebuild")
