"""Event derivation: compare consecutive snapshots of a namespace, in SQL (concepts.md §2 "Events").

What an item's absence means is the format's rule (`importers.contract.Rules`): the rules of every
(format, schema version) in the window are joined in as a small table, so a Beads export's missing issue is
`ambiguous` while a Session Baton loop removed after `verified` is `archived`.

Incremental: only events at seq >= from_seq are (re)computed. The window reads the observations from
from_seq - 1 on, plus the latest earlier observation of each item in it, so reappearances and changes across a
gap still compare with the last value seen. Adding a session reads its tail and the history's item keys, never a
window over the whole history (at 4,000 sessions: 70 ms, was 135 ms; the same rows, `tests/test_incremental_import.py`).
"""

from __future__ import annotations

import duckdb
import polars as pl

from .. import vocab
from ..importers.registry import rules_for
from .lookback import latest_before
from .rules import item_tables

ITEM_TABLES = item_tables()


def _sql_array(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _format_rules(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """format x schema version x tier -> absence rule and terminal statuses, for the formats in the window."""
    # `snaps` holds the snapshots from from_seq - 1 on only, so only their formats are joined
    pairs = con.execute("SELECT DISTINCT s.format, s.schema_version FROM snapshots s JOIN derive_from d USING (namespace) "
                        "WHERE s.seq >= d.from_seq - 1").fetchall()
    rows: dict[str, list] = {"format": [], "schema_version": [], "tier": [], "absence": [], "terminal": []}
    for format_name, schema_version in pairs:
        rules = rules_for(format_name, schema_version)
        if rules is None:
            continue  # a format this version does not know: Session Baton's rule (by status) applies
        for tier in ITEM_TABLES.values():
            terminal = rules.terminal.get(tier)
            rows["format"].append(format_name)
            rows["schema_version"].append(schema_version)
            rows["tier"].append(tier)
            rows["absence"].append(rules.absence_of(tier))
            rows["terminal"].append([t.lower() for t in terminal] if terminal else None)
    return pl.DataFrame(rows, schema={"format": pl.String, "schema_version": pl.String, "tier": pl.String,
                                      "absence": pl.String, "terminal": pl.List(pl.String)})


_OBSERVATIONS = """
SELECT namespace, 'open_loop' AS tier, item_id, seq, status, NULL::BIGINT AS cnt, NULL::BIGINT AS defer,
       NULL::VARCHAR AS priority, source_tier, NULL::VARCHAR AS until FROM open_loops
UNION ALL
SELECT namespace, 'follow_up', item_id, seq, status, NULL, defer_count, priority, source_tier, defer_until FROM follow_ups
UNION ALL
SELECT namespace, 'pattern', item_id, seq, status, count, NULL, NULL, source_tier, NULL FROM patterns
UNION ALL
SELECT namespace, 'decision', item_id, seq, status, NULL, NULL, NULL, source_tier, NULL FROM decisions
UNION ALL
SELECT namespace, 'infra', item_id, seq, status, NULL, NULL, NULL, source_tier, NULL FROM infra_state
UNION ALL
SELECT namespace, 'discovery', item_id, seq,
       CASE verified_still_valid WHEN true THEN 'valid' WHEN false THEN 'invalid' END, NULL, NULL, NULL, source_tier, NULL
FROM discovery_cache
"""

# The window's observations: from from_seq - 1 on. `{floor}` (the lowest from_seq - 1) is a constant, so each
# table's scan skips the row groups of the history before it.
_RECENT = f"""
SELECT o.* FROM ({_OBSERVATIONS}) o JOIN derive_from d USING (namespace) WHERE o.seq >= d.from_seq - 1 AND o.seq >= {{floor}}
"""

# The seq of each windowed item's latest observation before the window (items the window does not hold cannot have
# an event from from_seq on): an aggregate over the history's keys only, not a window over all of its rows.
_LAST_BEFORE = f"""
SELECT o.namespace, o.tier, o.item_id, max(o.seq) AS seq
FROM (SELECT namespace, tier, item_id, seq FROM ({_OBSERVATIONS})) o JOIN derive_from d USING (namespace)
SEMI JOIN {{keys}} r USING (namespace, tier, item_id)
WHERE o.seq < d.from_seq - 1 AND o.seq >= {{since}}
GROUP BY ALL
"""

_DERIVE = f"""
WITH obs AS (
    SELECT * FROM _recent
    UNION ALL
    -- `{{lowest}}` is the lowest of those seqs, again a constant for the scans
    SELECT o.* FROM ({_OBSERVATIONS}) o JOIN _last_before l USING (namespace, tier, item_id, seq) WHERE o.seq >= {{lowest}}
),
snaps AS (
    -- events join their snapshot at seq >= from_seq - 1 only (`changes` keeps nothing before from_seq)
    SELECT s.namespace, s.seq, s.session_id, s.snapshot_id, s.schema_version, s.format
    FROM snapshots s JOIN derive_from d USING (namespace) WHERE s.seq >= d.from_seq - 1 AND s.seq >= {{floor}}
),
bounds AS (
    SELECT namespace, min(seq) AS min_seq, max(seq) AS max_seq
    FROM snapshots JOIN derive_from d USING (namespace) GROUP BY namespace
),
w AS (
    SELECT obs.*,
        lag(seq) OVER item AS prev_seq,
        lead(seq) OVER item AS next_seq,
        last_value(status IGNORE NULLS) OVER before AS prev_status,
        last_value(cnt IGNORE NULLS) OVER before AS prev_cnt,
        last_value(defer IGNORE NULLS) OVER before AS prev_defer,
        last_value(priority IGNORE NULLS) OVER before AS prev_priority,
        last_value(source_tier IGNORE NULLS) OVER before AS prev_tier,
        last_value(until IGNORE NULLS) OVER before AS prev_until
    FROM obs
    WINDOW item AS (PARTITION BY namespace, tier, item_id ORDER BY seq),
           before AS (PARTITION BY namespace, tier, item_id ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
changes AS (
    SELECT w.namespace, w.tier, w.item_id, w.seq, 'created' AS event, NULL AS from_value, w.status AS to_value,
           NULL::BIGINT AS delta, NULL AS disposition, w.seq = b.min_seq AS left_truncated
    FROM w JOIN bounds b USING (namespace)
    -- no observation before it in the window, which holds the latest one before from_seq - 1: the first ever
    -- (rows before from_seq are not kept below)
    WHERE w.prev_seq IS NULL
  UNION ALL
    SELECT w.namespace, w.tier, w.item_id, w.seq, 'reappeared', w.prev_status, w.status, NULL, NULL, false
    FROM w JOIN snaps s ON s.namespace = w.namespace AND s.seq = w.seq
    LEFT JOIN format_rules r ON r.format = s.format AND r.schema_version = s.schema_version AND r.tier = w.tier
    WHERE w.prev_seq IS NOT NULL AND w.seq > w.prev_seq + 1 AND r.absence IS DISTINCT FROM 'partial'
  UNION ALL
    SELECT w.namespace, w.tier, w.item_id, w.seq + 1, 'disappeared', w.status, NULL, NULL,
        CASE
          WHEN r.absence IN ('ambiguous', 'archived', 'silent_drop') THEN r.absence
          WHEN list_contains(coalesce(r.terminal, {_sql_array(vocab.TERMINAL_STATUSES)}), lower(w.status)) THEN 'archived'
          WHEN r.absence = 'by_status_ambiguous' THEN 'ambiguous'
          ELSE 'silent_drop'
        END,
        false
    FROM w JOIN bounds b USING (namespace) JOIN snaps s ON s.namespace = w.namespace AND s.seq = w.seq
    LEFT JOIN format_rules r ON r.format = s.format AND r.schema_version = s.schema_version AND r.tier = w.tier
    WHERE ((w.next_seq IS NULL AND w.seq < b.max_seq) OR w.next_seq > w.seq + 1)
      AND r.absence IS DISTINCT FROM 'partial'  -- one ADR per file: the next file not holding it says nothing
  UNION ALL
    SELECT namespace, tier, item_id, seq, 'status_changed', prev_status, status, NULL, NULL, false
    FROM w WHERE prev_seq IS NOT NULL AND status IS NOT NULL AND prev_status IS NOT NULL AND status <> prev_status
  UNION ALL
    SELECT namespace, tier, item_id, seq, 'count_changed', prev_cnt::VARCHAR, cnt::VARCHAR, cnt - prev_cnt, NULL, false
    FROM w WHERE prev_seq IS NOT NULL AND cnt IS NOT NULL AND prev_cnt IS NOT NULL AND cnt <> prev_cnt
  UNION ALL
    SELECT namespace, tier, item_id, seq, 'deferred', prev_defer::VARCHAR, defer::VARCHAR, defer - prev_defer, NULL, false
    FROM w WHERE prev_seq IS NOT NULL AND defer IS NOT NULL AND prev_defer IS NOT NULL AND defer > prev_defer
  UNION ALL
    -- a defer-until date moved later (Beads) is a deferral too
    SELECT namespace, tier, item_id, seq, 'deferred', prev_until, until, NULL, NULL, false
    FROM w WHERE prev_seq IS NOT NULL AND until IS NOT NULL AND prev_until IS NOT NULL
      AND coalesce(try_cast(until AS TIMESTAMPTZ) > try_cast(prev_until AS TIMESTAMPTZ), until > prev_until)
  UNION ALL
    SELECT namespace, tier, item_id, seq, 'priority_changed', prev_priority, priority, NULL, NULL, false
    FROM w WHERE prev_seq IS NOT NULL AND priority IS NOT NULL AND prev_priority IS NOT NULL AND priority <> prev_priority
  UNION ALL
    SELECT namespace, tier, item_id, seq, 'tier_changed', prev_tier, source_tier, NULL, NULL, false
    FROM w WHERE prev_seq IS NOT NULL AND source_tier IS NOT NULL AND prev_tier IS NOT NULL AND source_tier <> prev_tier
)
SELECT c.namespace, c.tier, c.item_id, c.seq, s.session_id, s.snapshot_id, c.event, c.from_value, c.to_value,
       c.delta, c.disposition, c.left_truncated
FROM changes c
JOIN derive_from d USING (namespace)
JOIN snaps s ON s.namespace = c.namespace AND s.seq = c.seq
WHERE c.seq >= d.from_seq
"""


def derive_events(con: duckdb.DuckDBPyConnection, from_seq: dict[str, int]) -> int:
    """Replace the events of each namespace from its `from_seq` on; returns the number of events written."""
    if not from_seq:
        return 0
    derive_from = pl.DataFrame({"namespace": list(from_seq), "from_seq": list(from_seq.values())},
                               schema={"namespace": pl.String, "from_seq": pl.Int64})
    con.register("derive_from", derive_from)
    con.register("format_rules", _format_rules(con))
    try:
        con.execute("DELETE FROM events USING derive_from d WHERE events.namespace = d.namespace AND events.seq >= d.from_seq")
        before = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        floor = str(int(max(min(from_seq.values()) - 1, 0)))
        con.register("_recent", con.sql(_RECENT.replace("{floor}", floor)).pl())
        last_before = latest_before(con, _LAST_BEFORE, "_recent", "namespace, tier, item_id", int(floor))
        con.register("_last_before", last_before)
        lowest = last_before["seq"].min() or 0
        con.execute(f"INSERT INTO events BY NAME {_DERIVE.replace('{floor}', floor).replace('{lowest}', str(int(lowest)))}")
        return con.execute("SELECT count(*) FROM events").fetchall()[0][0] - before
    finally:
        for name in ("derive_from", "format_rules", "_recent", "_last_before"):
            try:
                con.unregister(name)
            except duckdb.Error:
                pass
