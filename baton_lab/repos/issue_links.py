"""Changes linked to sessions through the Beads issues they name: `fix login race (bd-a1b2)` → the session that
closed bd-a1b2 (`closed_by_session`, a Claude Code session id) — "which loop changed what", for the loops that
track their work in Beads.

The issues are the store's Beads imports (`follow_ups` and `decisions` of `beads-issues` snapshots; the latest
snapshot that records a closing session wins). A commit names an issue when a token of its message equals an
issue id (whole tokens: `bd-12` is not in `bd-123`, nor in `bd-12-notes`; prefixes vary per project — `bd-`,
`gt-`, `learning_agent-` — so no prefix is assumed). When several of the store's trackers hold ids the repository
names, the one whose ids its messages name most is the repository's tracker (ties: the first namespace by
name); only its issues link. A link needs the commit to fall near the closure: from `BEFORE_H` hours before
`closed_at` (the session's work) to `AFTER_H` hours after it (the commit that syncs the closed state); an
issue without a readable `closed_at` links whatever the time. A commit naming several closed issues takes the
closure nearest in time.
"""

from __future__ import annotations

import duckdb
import polars as pl

from .._timeparse import parse_time

BEFORE_H = 24
AFTER_H = 6
# A token: a maximal run of word characters, dots and hyphens, trailing dots (a sentence's end) dropped. It names
# an issue when it has a Beads id's shape — a prefix, a hyphen, a base-36 hash or number, optional `.N` child
# numbers (`bd-a1b2.3`) — so `bd-a1b2-notes` and `docs.bd-a1b2` name nothing.
TOKEN = r"[A-Za-z0-9_.-]+"
ISSUE_ID = r"^[A-Za-z][A-Za-z0-9_]*-[A-Za-z0-9]+(?:\.[0-9]+)*$"

CLOSURES_SQL = """
    WITH items AS (
        SELECT snapshot_id, item_id, extra FROM follow_ups
        UNION ALL SELECT snapshot_id, item_id, extra FROM decisions)
    SELECT s.namespace, i.item_id AS issue_id,
           arg_max(i.extra->>'closed_by_session', s.seq) AS closed_by_session,
           arg_max(i.extra->>'closed_at', s.seq) AS closed_at_raw
    FROM items i JOIN snapshots s USING (snapshot_id)
    WHERE s.format = 'beads-issues' AND i.extra->>'closed_by_session' IS NOT NULL
    GROUP BY 1, 2"""


def closures(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """namespace, issue_id, closed_by_session, closed_at (UTC, null when unreadable) of every closed Beads issue."""
    frame = con.sql(CLOSURES_SQL).pl()
    times = {raw: parse_time(raw) for raw in frame["closed_at_raw"].drop_nulls().unique()}
    return frame.with_columns(closed_at=pl.col("closed_at_raw").replace_strict(
        times, default=None, return_dtype=pl.Datetime("us", "UTC"))).drop("closed_at_raw")


def issue_references(changes: pl.DataFrame) -> pl.DataFrame:
    """commit, issue_id for every issue-id-shaped token of a commit's message (deduplicated)."""
    return (changes.select("commit", issue_id=pl.col("message").fill_null("").str.extract_all(TOKEN))
            .explode("issue_id").with_columns(pl.col("issue_id").str.strip_chars_end("."))
            .filter(pl.col("issue_id").str.contains(ISSUE_ID)).unique())


def link(changes: pl.DataFrame, closed: pl.DataFrame) -> pl.DataFrame:
    """commit, closed_by_session, issue_namespace, issue_id for the changes that name a closed issue of the
    repository's tracker, near its closure."""
    empty = pl.DataFrame(schema={"commit": pl.String, "closed_by_session": pl.String, "issue_namespace": pl.String,
                                 "issue_id": pl.String})
    if closed.height == 0 or changes.height == 0:
        return empty
    named = issue_references(changes).join(closed, on="issue_id")
    if named.height == 0:
        return empty
    tracker = (named.group_by("namespace").agg(n=pl.col("commit").n_unique())
               .sort(["n", "namespace"], descending=[True, False])["namespace"][0])
    delay_h = (pl.col("committed_at") - pl.col("closed_at")).dt.total_seconds() / 3600
    return (named.filter(pl.col("namespace") == tracker)
            .join(changes.select("commit", "committed_at"), on="commit")
            .filter(pl.col("closed_at").is_null() | delay_h.is_between(-BEFORE_H, AFTER_H))
            .sort(delay_h.abs().fill_null(float("inf")), "issue_id")
            .group_by("commit", maintain_order=True).first()
            .select("commit", "closed_by_session", issue_namespace="namespace", issue_id="issue_id"))
