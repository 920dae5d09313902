"""Shared per-item lifecycles, computed once per suite run in DuckDB and cached on a `Context`.

Every family module reads these frames instead of re-scanning the item tables, so the full suite
scans each table a small, fixed number of times whatever the number of metrics.

Conventions (metrics.md §1):
- time axis = session index `seq`; a duration is a difference of seqs;
- an item's entry is its first snapshot; items in a namespace's first snapshot are *left-truncated*
  (they entered before history began) — survival estimators here have no delayed entry, so they
  exclude them and say how many;
- vanishing without a terminal status is an outcome (`dropped`), never censoring;
- still present at the last snapshot = right-censored at that snapshot.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property

import duckdb
import polars as pl

from .. import vocab

MACHINE_METHODS = ("http", "file_exists", "process_running")
LOOP_TERMINAL = ("verified", "failed", "escalated")


def _list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Context:
    """One suite run: a connection, the namespace selection, the window width and the cached frames."""

    def __init__(self, con: duckdb.DuckDBPyConnection, namespaces: list[str] | None = None, window: int = 10) -> None:
        if window < 1:
            raise ValueError("window must be >= 1 session")
        self.con = con
        self.window = int(window)
        self.computed_at = datetime.now(timezone.utc)
        known = [r[0] for r in con.execute("SELECT DISTINCT namespace FROM snapshots ORDER BY 1").fetchall()]
        self.namespaces = known if namespaces is None else [ns for ns in namespaces if ns in known]
        self.missing = [] if namespaces is None else [ns for ns in namespaces if ns not in known]
        con.register("_bl_sel", pl.DataFrame({"namespace": self.namespaces}, schema={"namespace": pl.String}))

    def sql(self, query: str) -> pl.DataFrame:
        return self.con.sql(query).pl()

    # -- sessions ----------------------------------------------------------------------------------
    @cached_property
    def sessions(self) -> pl.DataFrame:
        return self.sql("""
            SELECT s.namespace, s.seq, s.session_id, s.parent_session, s.schema_version, s.format, s.revision,
                   s.writer, s.written_at, s.observed_at
            FROM snapshots s JOIN _bl_sel USING (namespace) ORDER BY s.namespace, s.seq""")

    @cached_property
    def bounds(self) -> pl.DataFrame:
        """namespace, min_seq, max_seq, n_sessions, schema_version_mix."""
        return (self.sessions.group_by("namespace")
                .agg(min_seq=pl.col("seq").min(), max_seq=pl.col("seq").max(), n_sessions=pl.len(),
                     schema_version_mix=pl.col("schema_version").unique().sort().str.join(","))
                .sort("namespace"))

    @cached_property
    def grid(self) -> pl.DataFrame:
        """One row per (namespace, seq) with its window index: the skeleton every windowed metric fills."""
        return self.sessions.select("namespace", "seq").with_columns(w=(pl.col("seq") - 1) // self.window)

    # -- open loops --------------------------------------------------------------------------------
    @cached_property
    def loops(self) -> pl.DataFrame:
        """Per loop: created_seq, last_seq, verify_method, first terminal (seq, status), failed/verified seqs,
        outcome (verified | failed | escalated | dropped | censored), event_seq, duration, left_truncated."""
        frame = self.sql(f"""
            WITH b AS (SELECT namespace, min(seq) AS min_seq, max(seq) AS max_seq
                       FROM snapshots JOIN _bl_sel USING (namespace) GROUP BY 1)
            SELECT o.namespace, o.item_id,
                   min(o.seq) AS created_seq, max(o.seq) AS last_seq,
                   arg_min(o.verify_method, o.seq) AS verify_method,
                   arg_min(o.source_tier, o.seq) AS source_tier,
                   arg_min(o.action, o.seq) AS action,
                   arg_min(o.decision_ref, o.seq) AS decision_ref,
                   arg_max(o.status, o.seq) AS last_status,
                   min(o.seq) FILTER (WHERE o.status IN {_list(LOOP_TERMINAL)}) AS terminal_seq,
                   arg_min(o.status, o.seq) FILTER (WHERE o.status IN {_list(LOOP_TERMINAL)}) AS terminal_status,
                   min(o.seq) FILTER (WHERE o.status = 'failed') AS failed_seq,
                   max(o.seq) FILTER (WHERE o.status = 'verified') AS last_verified_seq,
                   max(o.seq) FILTER (WHERE o.status = 'failed') AS last_failed_seq,
                   any_value(b.min_seq) AS min_seq, any_value(b.max_seq) AS max_seq
            FROM open_loops o JOIN _bl_sel USING (namespace) JOIN b USING (namespace)
            GROUP BY o.namespace, o.item_id""")
        machine = pl.col("verify_method").is_in(MACHINE_METHODS)
        outcome = (pl.when(pl.col("terminal_seq").is_not_null()).then(pl.col("terminal_status"))
                   .when(pl.col("last_seq") < pl.col("max_seq")).then(pl.lit("dropped"))
                   .otherwise(pl.lit("censored")))
        return frame.with_columns(
            left_truncated=pl.col("created_seq") == pl.col("min_seq"),
            method_class=pl.when(machine).then(pl.lit("machine"))
            .when(pl.col("verify_method") == "manual").then(pl.lit("manual")).otherwise(pl.lit("none")),
            outcome=outcome,
        ).with_columns(
            event_seq=pl.when(pl.col("outcome") == "dropped").then(pl.col("last_seq") + 1)
            .when(pl.col("outcome") == "censored").then(pl.col("max_seq")).otherwise(pl.col("terminal_seq")),
            # caught regression (headline): reached `failed` and not later `verified`
            caught=pl.col("failed_seq").is_not_null()
            & (pl.col("last_verified_seq").is_null() | (pl.col("last_verified_seq") < pl.col("failed_seq"))),
        ).with_columns(duration=pl.col("event_seq") - pl.col("created_seq"))

    _LOOP_PREVALENCE_CELLS = """
            SELECT o.namespace, o.item_id, o.seq,
                   o.status = 'stale'
                       OR coalesce(o.ttl_days IS NOT NULL AND date_diff('day', TRY_CAST(left(o.created_at_raw, 10) AS DATE),
                                                               CAST(s.written_at AS DATE)) > o.ttl_days, false)
                       OR coalesce(o.stale_after_hours IS NOT NULL AND date_diff('hour', TRY_CAST(o.created_at_raw AS TIMESTAMPTZ),
                                                                        s.written_at) > o.stale_after_hours, false) AS is_stale,
                   o.ttl_days IS NULL AND o.stale_after_hours IS NULL AS no_ttl
            FROM open_loops o JOIN _bl_sel USING (namespace)
            JOIN snapshots s ON s.namespace = o.namespace AND s.seq = o.seq
            WHERE o.status IN ('open', 'stale')"""

    @cached_property
    def loop_prevalence(self) -> pl.DataFrame:
        """Per (namespace, seq): open loops and those past their ttl (v1 days from created_at to the
        snapshot's claimed time; v2 hours) or marked `stale` — L7's point prevalence."""
        return self.sql(f"""
            SELECT namespace, seq, count(*) AS n_open, count(*) FILTER (WHERE is_stale) AS n_stale,
                   count(*) FILTER (WHERE no_ttl) AS n_no_ttl
            FROM ({self._LOOP_PREVALENCE_CELLS}) GROUP BY ALL""")

    @cached_property
    def loop_prevalence_cells(self) -> pl.DataFrame:
        """`loop_prevalence` per open loop and snapshot (the loop-snapshot clusters baton_lab.compare needs)."""
        return self.sql(self._LOOP_PREVALENCE_CELLS)

    # -- follow-ups --------------------------------------------------------------------------------
    @cached_property
    def followups(self) -> pl.DataFrame:
        """Per follow-up: created/last seq, max defer, elevated/escalated seqs, closed_seq (v2 status),
        outcome (resolved | resolved_inferred | dropped | censored), duration."""
        frame = self.sql(f"""
            WITH b AS (SELECT namespace, min(seq) AS min_seq, max(seq) AS max_seq
                       FROM snapshots JOIN _bl_sel USING (namespace) GROUP BY 1),
            o AS (SELECT f.namespace, f.item_id, f.seq, f.defer_count, f.priority, f.status, s.schema_version
                  FROM follow_ups f JOIN _bl_sel USING (namespace)
                  JOIN snapshots s ON s.namespace = f.namespace AND s.seq = f.seq)
            SELECT o.namespace, o.item_id, min(o.seq) AS created_seq, max(o.seq) AS last_seq,
                   max(o.defer_count) AS max_defer, arg_max(o.defer_count, o.seq) AS last_defer,
                   arg_min(o.priority, o.seq) AS first_priority,
                   min(o.seq) FILTER (WHERE o.priority IN ('elevated', 'escalated') OR o.defer_count >= 3) AS elevated_seq,
                   min(o.seq) FILTER (WHERE o.priority = 'escalated' OR o.defer_count >= 5) AS escalated_seq,
                   min(o.seq) FILTER (WHERE lower(o.status) IN {_list(vocab.FOLLOW_UP_CLOSED)}) AS closed_seq,
                   bool_and(o.schema_version = '1') AS v1_only,
                   any_value(b.min_seq) AS min_seq, any_value(b.max_seq) AS max_seq
            FROM o JOIN b USING (namespace) GROUP BY o.namespace, o.item_id""")
        outcome = (pl.when(pl.col("closed_seq").is_not_null()).then(pl.lit("resolved"))
                   .when(pl.col("last_seq") < pl.col("max_seq"))
                   .then(pl.when(pl.col("v1_only")).then(pl.lit("resolved_inferred")).otherwise(pl.lit("dropped")))
                   .otherwise(pl.lit("censored")))
        return frame.with_columns(left_truncated=pl.col("created_seq") == pl.col("min_seq"), outcome=outcome).with_columns(
            event_seq=pl.when(pl.col("outcome") == "resolved").then(pl.col("closed_seq"))
            .when(pl.col("outcome").is_in(["resolved_inferred", "dropped"])).then(pl.col("last_seq") + 1)
            .otherwise(pl.col("max_seq"))
        ).with_columns(duration=pl.col("event_seq") - pl.col("created_seq"))

    @cached_property
    def followup_sessions(self) -> pl.DataFrame:
        """One row per open follow-up observation that has a next snapshot: its defer band at the start of the
        next session and whether it was resolved in that session (F3's person-time), plus F4's zombie flag."""
        return self.sql(f"""
            WITH b AS (SELECT namespace, max(seq) AS max_seq FROM snapshots JOIN _bl_sel USING (namespace) GROUP BY 1),
            o AS (
                SELECT f.namespace, f.item_id, f.seq, f.defer_count, f.priority, f.status, s.schema_version,
                       lead(f.seq) OVER w AS next_seq, lead(f.status) OVER w AS next_status
                FROM follow_ups f JOIN _bl_sel USING (namespace)
                JOIN snapshots s ON s.namespace = f.namespace AND s.seq = f.seq
                WINDOW w AS (PARTITION BY f.namespace, f.item_id ORDER BY f.seq)
            ),
            changes AS (
                SELECT namespace, item_id, seq AS change_seq FROM events JOIN _bl_sel USING (namespace)
                WHERE tier = 'follow_up' AND event IN ('created', 'deferred', 'priority_changed', 'status_changed', 'reappeared')
            )
            SELECT o.namespace, o.item_id, o.seq,
                   CASE WHEN coalesce(o.defer_count, 0) >= 5 OR o.priority = 'escalated' THEN 'ge5'
                        WHEN coalesce(o.defer_count, 0) >= 3 OR o.priority = 'elevated' THEN '3_4' ELSE 'lt3' END AS band,
                   o.seq < b.max_seq AS has_next,
                   (o.next_seq IS NULL AND o.seq < b.max_seq AND o.schema_version = '1')
                   OR lower(o.next_status) IN {_list(vocab.FOLLOW_UP_CLOSED)} AS resolved_next,
                   coalesce(o.defer_count, 0) >= 5 AND o.seq - c.change_seq >= 5 AS zombie
            FROM o JOIN b USING (namespace)
            ASOF LEFT JOIN changes c ON c.namespace = o.namespace AND c.item_id = o.item_id AND c.change_seq <= o.seq
            WHERE lower(coalesce(o.status, 'open')) NOT IN {_list(vocab.FOLLOW_UP_CLOSED)}""")

    # -- patterns ----------------------------------------------------------------------------------
    @cached_property
    def patterns(self) -> pl.DataFrame:
        """Per pattern: first/last seq, crossing seq (count reached its threshold; v2: became a candidate),
        candidate, confirmation (tier -> human_confirmed), graduation and dismissal seqs, the gate
        violation flags, and end_seq = end of occurrence exposure (dismissal, removal or last snapshot)."""
        frame = self.sql("""
            WITH b AS (SELECT namespace, min(seq) AS min_seq, max(seq) AS max_seq
                       FROM snapshots JOIN _bl_sel USING (namespace) GROUP BY 1),
            o AS (SELECT p.namespace, p.item_id, p.seq, p.source_tier, p.status, p.category, p.count, p.threshold,
                         p.rule_ref
                  FROM patterns p JOIN _bl_sel USING (namespace))
            SELECT o.namespace, o.item_id, min(o.seq) AS first_seq, max(o.seq) AS last_seq,
                   arg_min(o.source_tier, o.seq) AS initial_tier, arg_max(o.source_tier, o.seq) AS last_tier,
                   arg_max(o.status, o.seq) AS last_status, arg_max(o.category, o.seq) AS category,
                   arg_min(o.count, o.seq) AS first_count, max(o.count) AS max_count,
                   min(o.seq) FILTER (WHERE (o.threshold IS NOT NULL AND o.count >= o.threshold)
                                         OR (o.threshold IS NULL AND o.status IN ('rule_candidate', 'graduated'))) AS crossing_seq,
                   min(o.seq) FILTER (WHERE o.status IN ('rule_candidate', 'graduated')) AS candidate_seq,
                   min(o.seq) FILTER (WHERE o.source_tier = 'human_confirmed') AS confirmed_seq,
                   min(o.seq) FILTER (WHERE o.status = 'graduated' OR o.rule_ref IS NOT NULL) AS graduated_seq,
                   min(o.seq) FILTER (WHERE o.status = 'dismissed') AS dismissed_seq,
                   min(o.seq) FILTER (WHERE (o.status = 'graduated' OR o.rule_ref IS NOT NULL)
                                         AND o.source_tier = 'llm_derived') AS violation_seq,
                   any_value(b.min_seq) AS min_seq, any_value(b.max_seq) AS max_seq
            FROM o JOIN b USING (namespace) GROUP BY o.namespace, o.item_id""")
        # laundering suspicion (P7 b): the tier flips llm_derived -> human_confirmed in the very snapshot that
        # graduates (tiers only move up, so: first human_confirmed snapshot == graduation snapshot), written by
        # an agent. The writer comes from the snapshot; v1 snapshots have none.
        writers = self.sessions.select("namespace", graduated_seq="seq", writer="writer")
        frame = frame.join(writers, on=["namespace", "graduated_seq"], how="left").with_columns(
            laundering_suspect=(pl.col("initial_tier") == "llm_derived") & (pl.col("confirmed_seq") == pl.col("graduated_seq"))
            & pl.col("writer").is_not_null() & ~pl.col("writer").str.to_lowercase().str.contains("human"),
        )
        return frame.with_columns(
            left_truncated=pl.col("first_seq") == pl.col("min_seq"),
            end_seq=pl.min_horizontal(
                pl.col("dismissed_seq").fill_null(pl.col("max_seq")),
                pl.when(pl.col("last_seq") < pl.col("max_seq")).then(pl.col("last_seq")).otherwise(pl.col("max_seq"))),
        )

    @cached_property
    def tier_audit(self) -> pl.DataFrame:
        """The Anti-Ouroboros audit a tier-gated store's import keeps (AMH: the last version's
        `extra.anti_ouroboros`), one row per namespace that has one and per audited act: namespace, seq (the session
        the act falls in: the last one written at or before it, else the auditing snapshot), act (`upgrade` to
        `human_confirmed` | `supersession`), flagged (upgrade: no human confirmer — none named, or an agent;
        supersession: llm_derived replacing llm_derived). A namespace audited with no act has one row with act null."""
        return self.sql("""
            WITH audit AS (
                SELECT namespace, seq, extra::JSON -> '$.anti_ouroboros' AS a
                FROM snapshots JOIN _bl_sel USING (namespace)
                WHERE json_exists(extra, '$.anti_ouroboros')
                QUALIFY row_number() OVER (PARTITION BY namespace ORDER BY seq DESC) = 1),
            acts AS (
                SELECT namespace, seq AS audit_seq, 'upgrade' AS act, u ->> 'at' AS at_raw,
                       u ->> 'confirmed_by' IS NULL OR coalesce((u ->> 'by_agent')::BOOLEAN, false) AS flagged
                FROM audit, unnest(CAST(a -> '$.tier_upgrades' AS JSON[])) AS t(u)
                WHERE u ->> 'to' = 'human_confirmed'
              UNION ALL
                SELECT namespace, seq, 'supersession', s ->> 'at',
                       coalesce(s ->> 'tier' = 'llm_derived' AND s ->> 'supersedes_tier' = 'llm_derived', false)
                FROM audit, unnest(CAST(a -> '$.supersessions' AS JSON[])) AS t(s)
              UNION ALL
                SELECT namespace, seq, NULL, NULL, NULL FROM audit)
            SELECT a.namespace, coalesce(
                       (SELECT max(s.seq) FROM snapshots s WHERE s.namespace = a.namespace
                        AND s.written_at <= TRY_CAST(a.at_raw AS TIMESTAMPTZ)), a.audit_seq) AS seq,
                   a.act, a.flagged
            FROM acts a ORDER BY a.namespace, seq""")

    @cached_property
    def occurrences(self) -> pl.DataFrame:
        """pattern_occurrences of the selection: namespace, item_id, seq (first snapshot showing it), after_seq, inferred."""
        return self.sql("""
            SELECT o.namespace, o.item_id, o.first_seen_seq AS seq, o.after_seq, o.inferred
            FROM pattern_occurrences o JOIN _bl_sel USING (namespace)""")

    # -- decisions ---------------------------------------------------------------------------------
    @cached_property
    def decisions(self) -> pl.DataFrame:
        """Per decision: created/last/superseded seqs, successor, evidence and rejected counts, reversal flag."""
        frame = self.sql("""
            WITH b AS (SELECT namespace, min(seq) AS min_seq, max(seq) AS max_seq
                       FROM snapshots JOIN _bl_sel USING (namespace) GROUP BY 1),
            per AS (
                SELECT d.namespace, d.item_id, min(d.seq) AS created_seq, max(d.seq) AS last_seq,
                       arg_min(d.what, d.seq) AS what,
                       min(d.seq) FILTER (WHERE d.status = 'superseded') AS superseded_seq,
                       arg_max(d.superseded_by, d.seq) FILTER (WHERE d.superseded_by IS NOT NULL) AS superseded_by,
                       arg_min(d.evidence, d.seq) AS evidence, arg_min(d.rejected, d.seq) AS rejected,
                       any_value(b.min_seq) AS min_seq, any_value(b.max_seq) AS max_seq
                FROM decisions d JOIN _bl_sel USING (namespace) JOIN b USING (namespace)
                GROUP BY d.namespace, d.item_id
            )
            SELECT p.* EXCLUDE (evidence, rejected),
                   coalesce(json_array_length(p.evidence), 0) AS n_evidence,
                   coalesce(json_array_length(p.rejected), 0) AS n_rejected,
                   s.item_id IS NOT NULL AS successor_resolves,
                   s.created_seq AS successor_seq,
                   coalesce(list_bool_or([position(r IN s.what) > 0
                       FOR r IN from_json(p.rejected, '["VARCHAR"]')]), false) AS restores_rejected
            FROM per p LEFT JOIN per s ON s.namespace = p.namespace AND s.item_id = p.superseded_by""")
        return frame.with_columns(left_truncated=pl.col("created_seq") == pl.col("min_seq"))

    # -- whole-baton flow --------------------------------------------------------------------------
    def _flow_cells_sql(self) -> str:
        """One row per (namespace, tier, item, seq ≥ 2) for every item present in snapshot seq-1, with its flags:
        open at the start of session seq, touched (B2), acted on (B2 `acted`), carried over unchanged (B3)."""
        closed = _list(vocab.TERMINAL_STATUSES + vocab.FOLLOW_UP_CLOSED)
        return f"""
            WITH obs AS (
                SELECT namespace, 'open_loop' AS tier, item_id, seq, status FROM open_loops JOIN _bl_sel USING (namespace)
                UNION ALL SELECT namespace, 'follow_up', item_id, seq, status FROM follow_ups JOIN _bl_sel USING (namespace)
                UNION ALL SELECT namespace, 'pattern', item_id, seq, status FROM patterns JOIN _bl_sel USING (namespace)
                UNION ALL SELECT namespace, 'decision', item_id, seq, status FROM decisions JOIN _bl_sel USING (namespace)
            ),
            ev AS (
                SELECT namespace, tier, item_id, seq,
                       bool_or(event IN ('status_changed', 'count_changed', 'deferred', 'priority_changed')
                               OR (event = 'disappeared' AND disposition = 'ambiguous')) AS touched,
                       bool_or(event <> 'disappeared') AS changed,
                       bool_or(event = 'status_changed' OR (event = 'disappeared' AND disposition = 'ambiguous')) AS acted
                FROM events JOIN _bl_sel USING (namespace)
                WHERE tier IN ('open_loop', 'follow_up', 'pattern', 'decision') GROUP BY ALL
            ),
            b AS (SELECT namespace, max(seq) AS max_seq FROM snapshots JOIN _bl_sel USING (namespace) GROUP BY 1),
            nxt AS (SELECT *, lead(seq) OVER (PARTITION BY namespace, tier, item_id ORDER BY seq) AS next_seq FROM obs)
            SELECT p.namespace, p.tier, p.item_id, p.seq + 1 AS seq,
                   lower(coalesce(p.status, 'open')) NOT IN {closed} AS is_open,
                   lower(coalesce(p.status, 'open')) NOT IN {closed} AND coalesce(e.touched, false) AS is_touched,
                   lower(coalesce(p.status, 'open')) NOT IN {closed} AND coalesce(e.acted, false) AS is_acted,
                   p.next_seq = p.seq + 1 AND NOT coalesce(e.changed, false) AS is_carried
            FROM nxt p JOIN b USING (namespace)
            LEFT JOIN ev e ON e.namespace = p.namespace AND e.tier = p.tier AND e.item_id = p.item_id AND e.seq = p.seq + 1
            WHERE p.seq < b.max_seq"""

    @cached_property
    def flow(self) -> pl.DataFrame:
        """Per (namespace, tier, seq ≥ 2): items open at the start of the session (present and not closed in
        snapshot seq-1), how many of those were touched in it (B2) and how many acted on (a status change, or
        a v1 follow-up leaving: B2 `acted`), items in seq-1 and how many were carried over unchanged to seq (B3)."""
        return self.sql(f"""
            SELECT namespace, tier, seq, count(*) FILTER (WHERE is_open) AS n_open,
                   count(*) FILTER (WHERE is_touched) AS n_touched, count(*) FILTER (WHERE is_acted) AS n_acted,
                   count(*) AS n_prev, count(*) FILTER (WHERE is_carried) AS n_carried
            FROM ({self._flow_cells_sql()}) GROUP BY ALL""")

    @cached_property
    def flow_cells(self) -> pl.DataFrame:
        """`flow` before it is summed over items: one row per item and session (the item-session clusters that
        baton_lab.compare needs for B2/B3's between-arm effects; the suite itself only reads `flow`)."""
        return self.sql(self._flow_cells_sql())

    @cached_property
    def inventory(self) -> pl.DataFrame:
        """Per (namespace, tier, seq): items in the snapshot (B5)."""
        return self.sql("""
            SELECT namespace, 'open_loop' AS tier, seq, count(*) AS n FROM open_loops JOIN _bl_sel USING (namespace) GROUP BY ALL
            UNION ALL SELECT namespace, 'follow_up', seq, count(*) FROM follow_ups JOIN _bl_sel USING (namespace) GROUP BY ALL
            UNION ALL SELECT namespace, 'pattern', seq, count(*) FROM patterns JOIN _bl_sel USING (namespace) GROUP BY ALL
            UNION ALL SELECT namespace, 'decision', seq, count(*) FROM decisions JOIN _bl_sel USING (namespace) GROUP BY ALL""")

    @cached_property
    def events(self) -> pl.DataFrame:
        """The selection's events without text columns (for counting closures, openings, rework)."""
        return self.sql("""
            SELECT namespace, tier, item_id, seq, event, from_value, to_value, delta, disposition, left_truncated
            FROM events JOIN _bl_sel USING (namespace) WHERE tier IN ('open_loop', 'follow_up', 'pattern', 'decision')""")
