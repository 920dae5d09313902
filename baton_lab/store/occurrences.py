"""Pattern occurrences reconstructed across snapshots.

A v1 pattern keeps only its last 5 `recent_occurrences`; the count says how many happened. Each
occurrence listed in any snapshot becomes one row (first snapshot that shows it). Count increases that
the listed occurrences do not explain (more than 5 between snapshots, v2 anti-patterns, snapshots
missing) become `inferred` rows: they happened after `after_seq` and by `first_seen_seq`, session unknown.

Incremental: only rows first seen at seq >= from_seq (the first snapshot that changed) are recomputed; an
occurrence listed again later is recognised by the rows already stored, and counts are differenced with each
pattern's latest earlier observation.

Inference is bounded: a count that jumps by more than `MAX_INFERRED_PER_STEP` unexplained occurrences
between two snapshots (a typo, a corrupted counter, a hostile input: 1 → 2,000,000) infers nothing for
that step and is flagged as a `value` finding in `quarantine` instead of being expanded into millions
of rows. Counts are differenced as HUGEINT, so values near the 64-bit limits cannot overflow.
"""

from __future__ import annotations

import duckdb
import polars as pl

from ..normalize import Finding
from .lookback import latest_before

MAX_INFERRED_PER_STEP = 1000
JUMP_REASON = "implausible count jump"

# The observations from from_seq on; `{floor}` (the lowest from_seq) is a constant, so the scan skips the row groups
# of the history before it.
_TAIL = """
SELECT p.namespace, p.item_id, p.seq, p.snapshot_id, p.count, p.recent_occurrences
FROM patterns p JOIN rebuild r USING (namespace) WHERE p.seq >= r.from_seq AND p.seq >= {floor}
"""

# The seq of the latest observation before from_seq of each pattern the tail holds (the others cannot change a row
# from from_seq on): an aggregate over the history's keys, not a window over all of its rows.
_LAST_BEFORE = """
SELECT p.namespace, p.item_id, max(p.seq) AS seq
FROM patterns p JOIN rebuild r USING (namespace) SEMI JOIN {keys} t USING (namespace, item_id)
WHERE p.seq < r.from_seq AND p.seq >= {since}
GROUP BY ALL
"""

_CTES = """
WITH win AS (
    -- the observations from from_seq on, plus the latest one before of each of their patterns (its count, and the
    -- seq an occurrence first listed later happened after)
    SELECT * FROM _occ_tail
    UNION ALL
    SELECT p.namespace, p.item_id, p.seq, p.snapshot_id, p.count, NULL
    FROM patterns p JOIN _occ_last l USING (namespace, item_id, seq) WHERE p.seq >= {lowest}
),
obs AS (
    SELECT w.*, lag(w.seq) OVER item AS prev_seq, lag(w.count) OVER item AS prev_count
    FROM win w
    WINDOW item AS (PARTITION BY w.namespace, w.item_id ORDER BY w.seq)
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
    -- occurrences listed from from_seq on that no earlier snapshot listed (those are stored already)
    SELECT l.namespace, l.item_id, l.session_id, l.context, min(l.seq) AS first_seen_seq
    FROM listed l
    WHERE NOT EXISTS (
        SELECT 1 FROM pattern_occurrences po
        WHERE NOT po.inferred AND po.namespace = l.namespace AND po.item_id = l.item_id
          AND po.session_id IS NOT DISTINCT FROM l.session_id AND po.context IS NOT DISTINCT FROM l.context)
    GROUP BY ALL
),
new_per_obs AS (
    SELECT namespace, item_id, first_seen_seq AS seq, count(*) AS listed_new
    FROM distinct_listed GROUP BY ALL
),
unexplained AS (
    SELECT o.namespace, o.item_id, o.seq, o.prev_seq, o.count, o.prev_count, o.snapshot_id,
           greatest(o.count::HUGEINT - coalesce(o.prev_count, 0)::HUGEINT - coalesce(n.listed_new, 0), 0) AS n_inferred
    FROM obs o JOIN rebuild r USING (namespace) LEFT JOIN new_per_obs n USING (namespace, item_id, seq)
    WHERE o.count IS NOT NULL AND o.seq >= r.from_seq
)
"""

_RECONSTRUCT = _CTES + """
SELECT d.namespace, d.item_id, d.session_id, d.context, d.first_seen_seq, o.seq AS after_seq, false AS inferred
FROM distinct_listed d
ASOF LEFT JOIN obs o ON d.namespace = o.namespace AND d.item_id = o.item_id AND d.first_seen_seq > o.seq
UNION ALL
SELECT namespace, item_id, NULL, NULL, seq, prev_seq, true
FROM (SELECT *, unnest(range(n_inferred::BIGINT)) AS k FROM unexplained
      WHERE n_inferred > 0 AND n_inferred <= {cap})
""".replace("{cap}", str(MAX_INFERRED_PER_STEP))

_JUMPS = _CTES + """
SELECT u.namespace, u.item_id, u.seq, u.prev_seq, u.count, u.prev_count, u.snapshot_id, s.source_id, src.uri, s.location
FROM unexplained u JOIN snapshots s USING (snapshot_id) LEFT JOIN sources src ON src.source_id = s.source_id
WHERE u.n_inferred > {cap}
ORDER BY u.namespace, u.item_id, u.seq
""".replace("{cap}", str(MAX_INFERRED_PER_STEP))


def derive_occurrences(con: duckdb.DuckDBPyConnection, from_seq: dict[str, int]) -> tuple[int, list[Finding]]:
    """Recompute `pattern_occurrences` of each namespace from its `from_seq` on (the first seq whose snapshot
    changed: earlier rows stand, so adding a session costs that session); returns the namespaces' row count and
    the implausible jumps from `from_seq` on (their flags from an earlier derivation are removed: the caller
    stores these)."""
    if not from_seq:
        return 0, []
    rebuild = pl.DataFrame({"namespace": list(from_seq), "from_seq": list(from_seq.values())},
                           schema={"namespace": pl.String, "from_seq": pl.Int64})
    con.register("rebuild", rebuild)
    floor = str(int(min(from_seq.values())))
    try:
        con.execute("DELETE FROM pattern_occurrences USING rebuild r "
                    "WHERE pattern_occurrences.namespace = r.namespace AND pattern_occurrences.first_seen_seq >= r.from_seq")
        tail = con.sql(_TAIL.replace("{floor}", floor)).pl()
        con.register("_occ_tail", tail)
        last = latest_before(con, _LAST_BEFORE, "_occ_tail", "namespace, item_id", int(floor))
        con.register("_occ_last", last)
        lowest = str(int(last["seq"].min() or 0))
        con.execute(f"INSERT INTO pattern_occurrences BY NAME {_RECONSTRUCT.replace('{lowest}', lowest)}")
        rows = con.execute(
            "SELECT count(*) FROM pattern_occurrences WHERE namespace IN (SELECT namespace FROM rebuild)"
        ).fetchall()[0][0]
        con.execute("DELETE FROM quarantine WHERE kind = 'value' AND starts_with(reason, ?) AND snapshot_id IN "
                    "(SELECT s.snapshot_id FROM snapshots s JOIN rebuild r USING (namespace) "
                    f"WHERE s.seq >= r.from_seq AND s.seq >= {floor})", [JUMP_REASON])
        # A step infers count - previous count - newly listed occurrences, and stored counts are >= 0 (`Patterns`):
        # with no count above the cap in the tail there is no jump to look for.
        top = tail["count"].max()
        jumps = con.execute(_JUMPS.replace("{lowest}", lowest)).fetchall() if top is not None and top > MAX_INFERRED_PER_STEP else []
    finally:
        for name in ("rebuild", "_occ_tail", "_occ_last"):
            try:
                con.unregister(name)
            except duckdb.Error:
                pass
    return rows, [_jump_finding(*jump) for jump in jumps]


def _jump_finding(namespace: str, item_id: str, seq: int, prev_seq: int | None, count: int, prev_count: int | None,
                  snapshot_id: str, source_id: str, uri: str | None, location: str | None) -> Finding:
    before = f"{prev_count} at snapshot {prev_seq}" if prev_seq is not None else "nothing before it"
    reason = (f"{JUMP_REASON}: pattern count {count} at snapshot {seq} after {before}; more than "
              f"{MAX_INFERRED_PER_STEP} unexplained occurrences in one step, so none were inferred")
    where = (uri or "") + (f"#{location}" if location else "")
    return Finding(where, f"$.patterns[id={item_id}].count", "value", reason, None, source_id, namespace, snapshot_id, item_id)
