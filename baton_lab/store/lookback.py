"""The latest earlier observation of each key of a history's tail, searched near first.

Events and pattern occurrences are derived for the snapshots an import added, and each needs, per item of that
tail, the last time the item was seen before it. An aggregate over the whole history grows with the history on every
capture; most items were seen just before the tail, so the LOOKBACK snapshots before it are searched first (a
constant bound DuckDB prunes row groups by), and the whole history only for the keys not found there (new items, or
items back after a long gap).
"""

from __future__ import annotations

import duckdb
import polars as pl

LOOKBACK = 64


def latest_before(con: duckdb.DuckDBPyConnection, query: str, keys: str, key_columns: str, floor: int) -> pl.DataFrame:
    """`query` (with `{keys}`: a relation of the tail's keys, and `{since}`: the lowest seq searched) run near the
    tail first, then over the whole history for the keys of `keys` (joined on `key_columns`) it did not find."""
    since = max(floor - LOOKBACK, 0)
    near = con.sql(query.replace("{keys}", keys).replace("{since}", str(since))).pl()
    if since == 0:
        return near   # the near search already covered the whole history
    con.register("_lookback_near", near)
    try:
        missing = f"(SELECT * FROM {keys} ANTI JOIN _lookback_near USING ({key_columns}))"
        far = con.sql(query.replace("{keys}", missing).replace("{since}", "0")).pl()
    finally:
        con.unregister("_lookback_near")
    return pl.concat([near, far])
