"""The org family: loops across a repository (concepts.md §2c), with the catalogue's statistics rules.

The unit is a loop in a repository, not a baton namespace, so these metrics have their own small registry
and their own long table (`OrgResult.rows`): one row per (repo, loop, metric, variant) with numerator,
denominator, estimate, 95% interval, method, `min_n_met` and `status` (`ok`, `insufficient`, `no_data`).

    result = org_metrics(con)            # or lab.org()
    result.rows                          # long table
    result.loops                         # one wide row per loop: changes, lines, files, undone share, survival, rework
    result.pairs / result.files / result.timeline / result.survival

"Undone by another loop" counts a change once however many rows undo it; `self` undo is rework, not a
conflict. A loop's line survival is a Kaplan-Meier median over its added lines (removal = event, still
present at the tip = censored) whose interval resamples whole changes (lines of one change are not
independent): `stats.km_median_cluster_bootstrap`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import duckdb
import numpy as np
import polars as pl

from . import stats

ROW_COLUMNS: dict[str, pl.DataType] = {
    "repo": pl.String, "loop": pl.String, "metric_id": pl.String, "variant": pl.String,
    "numerator": pl.Float64, "denominator": pl.Float64, "estimate": pl.Float64, "ci_low": pl.Float64,
    "ci_high": pl.Float64, "ci_method": pl.String, "unit": pl.String, "min_n_met": pl.Boolean, "status": pl.String,
    "note": pl.String, "computed_at": pl.Datetime("us", "UTC"),
}
ALL = "(all loops)"
TOP_FILES = 15
SURVIVAL_CURVES = 6


@dataclass(frozen=True)
class OrgMetric:
    id: str
    title: str
    unit: str
    func: Callable[["OrgContext"], list[dict]]


ORG_METRICS: dict[str, OrgMetric] = {}


def org_metric(id: str, *, title: str, unit: str) -> Callable[[Callable], Callable]:  # noqa: A002 - the metric id
    """Register `f(ctx) -> list of row dicts` (repo, loop, variant, numerator, denominator, estimate, ...)."""

    def register(func: Callable) -> Callable:
        if id in ORG_METRICS:
            raise ValueError(f"org metric {id!r} registered twice")
        ORG_METRICS[id] = OrgMetric(id, title, unit, func)
        return func

    return register


class OrgContext:
    """The repositories' changes, conflicts and rework, read once."""

    def __init__(self, con: duckdb.DuckDBPyConnection, repo: str | None = None) -> None:
        where, params = (" WHERE repo = ?", [repo]) if repo else ("", [])
        self.changes = con.sql("SELECT repo, commit, loop, is_merge, committed_at, files_changed, lines_added, "
                               "lines_removed FROM changes" + where, params=params).pl()
        self.conflicts = con.sql("SELECT * FROM conflicts" + where, params=params).pl()
        self.rework = con.sql("SELECT repo, loop, first_commit, length, duration_s, trigger FROM rework" + where,
                              params=params).pl()
        self.fates = con.sql("SELECT f.repo, f.added_in, c.loop, f.lines, f.survival_s, f.removed FROM line_fates f "
                             "JOIN changes c ON c.repo = f.repo AND c.commit = f.added_in"
                             + where.replace("repo", "f.repo"), params=params).pl()
        self.files = con.sql("SELECT repo, commit, path FROM change_files" + where, params=params).pl()
        self.loops = self.changes.filter(~pl.col("is_merge")).select("repo", "loop").unique().sort("repo", "loop")


def _share_rows(frame: pl.DataFrame, k: str, n: str, variant: str) -> list[dict]:
    rows = []
    for r in frame.iter_rows(named=True):
        est = stats.proportion(int(r[k]), int(r[n]))
        rows.append({"repo": r["repo"], "loop": r["loop"], "variant": variant, "numerator": float(r[k]),
                     "denominator": float(r[n]), "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
                     "ci_method": "wilson", "min_n_met": est.min_n_met})
    return rows


@org_metric("loop_activity", title="Changes, lines and files per loop", unit="count")
def activity(ctx: OrgContext) -> list[dict]:
    """Non-merge changes of each loop, the lines they added and removed, and the distinct files they touched
    (counts, no interval). `unassigned` is a loop here: commits no rule places are counted, never dropped."""
    own = ctx.changes.filter(~pl.col("is_merge"))
    files = ctx.files.join(own.select("repo", "commit", "loop"), on=["repo", "commit"]).group_by("repo", "loop").agg(
        files=pl.col("path").n_unique())
    per = own.group_by("repo", "loop").agg(changes=pl.len(), lines_added=pl.col("lines_added").sum(),
                                           lines_removed=pl.col("lines_removed").sum()).join(
        files, on=["repo", "loop"], how="left")
    rows = []
    for r in per.iter_rows(named=True):
        for variant in ("changes", "lines_added", "lines_removed", "files"):
            value = float(r[variant] or 0)
            rows.append({"repo": r["repo"], "loop": r["loop"], "variant": variant, "numerator": value,
                         "estimate": value, "min_n_met": True})
    return rows


@org_metric("undone_by_other_loop", title="Share of a loop's changes later undone by another loop", unit="share")
def undone_share(ctx: OrgContext) -> list[dict]:
    """k = the loop's non-merge changes that some other loop undid (any class: explicit, identity, line-level;
    `cross_loop` rows only), n = its non-merge changes; Wilson interval; insufficient below n = 10.
    Variant `targeted` counts only line-level undo that took back at least half of what the change added to a
    file, plus explicit and identity reverts: the incidental damage of large refactors is left out."""
    own = ctx.changes.filter(~pl.col("is_merge")).group_by("repo", "loop").agg(n=pl.len())
    cross = ctx.conflicts.filter(pl.col("cross_loop").fill_null(False))
    targeted = cross.filter((pl.col("kind") != "line_undo") | (pl.col("share_of_undone") >= 0.5))
    rows = []
    for variant, frame in (("any", cross), ("targeted", targeted)):
        k = frame.group_by("repo", loop="undone_loop").agg(k=pl.col("undone_commit").n_unique())
        rows += _share_rows(own.join(k, on=["repo", "loop"], how="left").with_columns(pl.col("k").fill_null(0)),
                            "k", "n", variant)
    return rows


@org_metric("rework_rate", title="Share of a loop's changes that start a rework chain", unit="share")
def rework_rate(ctx: OrgContext) -> list[dict]:
    """k = rework chains of the loop (a change followed by its own further changes to the same lines, see
    `rework`), n = its non-merge changes; Wilson interval. Variant `after_failing_check` counts only chains
    with evidence of a failing check (CI status, failing tests, a fix subject)."""
    own = ctx.changes.filter(~pl.col("is_merge")).group_by("repo", "loop").agg(n=pl.len())
    rows = []
    for variant, frame in (("any", ctx.rework), ("after_failing_check", ctx.rework.filter(pl.col("trigger") != "self_undo"))):
        k = frame.group_by("repo", "loop").agg(k=pl.len())
        rows += _share_rows(own.join(k, on=["repo", "loop"], how="left").with_columns(pl.col("k").fill_null(0)),
                            "k", "n", variant)
    return rows


@org_metric("rework_time_to_green", title="Median time from a rework chain's first to its last change", unit="hours")
def time_to_green(ctx: OrgContext) -> list[dict]:
    """Median duration_s of the loop's rework chains, in hours, with a bootstrap percentile interval over
    chains (insufficient below 5 chains); numerator = chains, denominator = mean chain length."""
    rows = []
    for (repo, loop), frame in ctx.rework.group_by("repo", "loop", maintain_order=True):
        hours = frame["duration_s"].to_numpy() / 3600
        median = float(np.median(hours))
        low = high = None
        if len(hours) >= stats.MIN_SURVIVAL_N:
            rng = np.random.default_rng(stats.BOOTSTRAP_SEED)
            boots = np.median(rng.choice(hours, size=(stats.BOOTSTRAP_RESAMPLES, len(hours))), axis=1)
            low, high = (float(x) for x in np.quantile(boots, [0.025, 0.975]))
        rows.append({"repo": repo, "loop": loop, "variant": "median_hours", "numerator": float(len(hours)),
                     "denominator": float(frame["length"].mean()), "estimate": median, "ci_low": low, "ci_high": high,
                     "ci_method": "bootstrap-percentile", "min_n_met": len(hours) >= stats.MIN_SURVIVAL_N})
    return rows


@org_metric("line_survival", title="Median survival of a loop's added lines", unit="days")
def line_survival(ctx: OrgContext) -> list[dict]:
    """Kaplan-Meier median time (days) until a line the loop added is removed by anyone; lines still present
    at the tip are censored there. Interval: cluster bootstrap over the adding changes (lines of one change
    live and die together). No median when fewer than half the lines were ever removed (estimate null, note says so)."""
    rows = []
    for (repo, loop), frame in ctx.fates.group_by("repo", "loop", maintain_order=True):
        counts = frame["lines"].to_numpy()
        durations = np.repeat(frame["survival_s"].to_numpy() / 86400, counts)
        observed = np.repeat(frame["removed"].to_numpy(), counts)
        clusters = np.repeat(frame["added_in"].to_numpy(), counts)
        if frame["added_in"].n_unique() >= stats.MIN_SURVIVAL_N:
            est = stats.km_median_cluster_bootstrap(durations, observed, clusters)
        else:   # too few changes for an interval: the point estimate only, marked insufficient
            median = stats.kaplan_meier(durations, observed).median
            est = stats.Estimate(median, None, None, "cluster-bootstrap", float(observed.sum()), 0, False)
        note = None if est.estimate is not None else "fewer than half of the lines were removed: median not reached"
        rows.append({"repo": repo, "loop": loop, "variant": "median_days", "numerator": float(observed.sum()),
                     "denominator": float(len(durations)), "estimate": est.estimate, "ci_low": est.ci_low,
                     "ci_high": est.ci_high, "ci_method": est.method, "min_n_met": est.min_n_met
                     and frame["added_in"].n_unique() >= stats.MIN_SURVIVAL_N, "note": note})
    return rows


@dataclass
class OrgResult:
    rows: pl.DataFrame                       # long: one row per (repo, loop, metric, variant)
    loops: pl.DataFrame                      # wide: one row per (repo, loop)
    pairs: pl.DataFrame                      # repo, loop (undoing), undone_loop, conflicts, changes_undone, lines
    files: pl.DataFrame                      # the files where loops fight most, ranked
    timeline: pl.DataFrame                   # repo, loop, week, changes
    survival: pl.DataFrame                   # KM curves of the busiest loops: repo, loop, time (days), value, lower, upper
    kinds: pl.DataFrame                      # repo, kind, context, cross_loop, conflicts, lines
    window: int = 7                          # line-undo window (days), shown in titles
    computed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def empty(self) -> bool:
        return self.loops.height == 0

    def _repr_html_(self) -> str:
        if self.empty:
            return "<div><strong>baton_lab org view</strong>: no repository imported (baton-lab import --repo PATH)</div>"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.loops.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else (f'{v:.3g}' if isinstance(v, float) else str(v)))}</td>"
                                        for v in r) + "</tr>" for r in self.loops.head(30).iter_rows())
        return f"<div><strong>baton_lab org view</strong><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _status(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(status=pl.when(pl.col("estimate").is_null() & (pl.col("denominator").fill_null(1) == 0))
                              .then(pl.lit("no_data")).when(~pl.col("min_n_met")).then(pl.lit("insufficient"))
                              .otherwise(pl.lit("ok")))


def _wide(rows: pl.DataFrame, loops: pl.DataFrame) -> pl.DataFrame:
    def pick(metric: str, variant: str, name: str, ci: bool = False) -> pl.DataFrame:
        sel = rows.filter((pl.col("metric_id") == metric) & (pl.col("variant") == variant))
        cols = [pl.col("estimate").alias(name)]
        if ci:
            cols += [pl.col("ci_low").alias(f"{name}_low"), pl.col("ci_high").alias(f"{name}_high"),
                     pl.col("status").alias(f"{name}_status")]
        return sel.select("repo", "loop", *cols)

    wide = loops
    for part in (pick("loop_activity", "changes", "changes"), pick("loop_activity", "lines_added", "lines_added"),
                 pick("loop_activity", "lines_removed", "lines_removed"), pick("loop_activity", "files", "files"),
                 pick("undone_by_other_loop", "any", "undone_share", ci=True),
                 pick("line_survival", "median_days", "survival_days", ci=True),
                 pick("rework_rate", "any", "rework_rate", ci=True)):
        wide = wide.join(part, on=["repo", "loop"], how="left")
    return wide.sort("changes", descending=True, nulls_last=True)


def _survival_curves(ctx: OrgContext, loops: pl.DataFrame) -> pl.DataFrame:
    frames = []
    for repo, loop in loops.group_by("repo", maintain_order=True).head(SURVIVAL_CURVES).select("repo", "loop").iter_rows():
        f = ctx.fates.filter((pl.col("repo") == repo) & (pl.col("loop") == loop))
        counts = f["lines"].to_numpy()
        if counts.sum() == 0:
            continue
        curve = stats.kaplan_meier(np.repeat(f["survival_s"].to_numpy() / 86400, counts), np.repeat(f["removed"].to_numpy(), counts))
        frames.append(pl.DataFrame({"repo": repo, "loop": loop, "time": curve.time, "value": curve.value,
                                    "lower": curve.lower, "upper": curve.upper, "at_risk": curve.at_risk.astype(float)}))
    return pl.concat(frames) if frames else pl.DataFrame(schema={"repo": pl.String, "loop": pl.String, "time": pl.Float64,
                                                                 "value": pl.Float64, "lower": pl.Float64, "upper": pl.Float64,
                                                                 "at_risk": pl.Float64})


def org_metrics(con: duckdb.DuckDBPyConnection, repo: str | None = None) -> OrgResult:
    """Every org metric over the stored repositories (or one), plus the matrix, file, timeline and curve tables."""
    ctx = OrgContext(con, repo)
    computed_at = datetime.now(timezone.utc)
    parts = []
    for m in ORG_METRICS.values():
        rows = m.func(ctx)
        if rows:
            parts.append(pl.DataFrame(rows, infer_schema_length=None).with_columns(
                metric_id=pl.lit(m.id), unit=pl.lit(m.unit)))
    rows = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame(schema=ROW_COLUMNS)
    rows = rows.with_columns(*(pl.lit(None, dtype=t).alias(c) for c, t in ROW_COLUMNS.items() if c not in rows.columns))
    rows = _status(rows.with_columns(computed_at=pl.lit(computed_at), min_n_met=pl.col("min_n_met").fill_null(False))
                   .select(*(pl.col(c).cast(t) for c, t in ROW_COLUMNS.items() if c != "status"), "status")
                   .select(list(ROW_COLUMNS)))
    # an unassigned commit is shown by its writer (human:name), so two people stay two actors
    cross = ctx.conflicts.filter(pl.col("cross_loop").fill_null(False)).with_columns(
        loop=pl.when(pl.col("loop") == "unassigned").then(pl.col("writer")).otherwise(pl.col("loop")),
        undone_loop=pl.when(pl.col("undone_loop") == "unassigned").then(pl.col("undone_writer"))
        .otherwise(pl.col("undone_loop")))
    pairs = (cross.group_by("repo", "loop", "undone_loop")
             .agg(conflicts=pl.len(), changes_undone=pl.col("undone_commit").n_unique(), lines=pl.col("lines").sum())
             .sort("conflicts", descending=True))
    files = (cross.filter(pl.col("path").is_not_null()).group_by("repo", "path")
             .agg(conflicts=pl.len(), loops=pl.concat_list("loop", "undone_loop").explode().n_unique(),
                  changes_undone=pl.col("undone_commit").n_unique(), lines=pl.col("lines").sum(),
                  median_share_of_undone=pl.col("share_of_undone").median())
             .sort(["changes_undone", "loops", "lines"], descending=True)
             .group_by("repo", maintain_order=True).head(TOP_FILES))
    timeline = (ctx.changes.filter(~pl.col("is_merge"))
                .group_by("repo", "loop", week=pl.col("committed_at").dt.truncate("1w")).agg(changes=pl.len())
                .sort("repo", "week", "loop"))
    kinds = (ctx.conflicts.group_by("repo", "kind", "context", "cross_loop")
             .agg(conflicts=pl.len(), lines=pl.col("lines").sum()).sort("repo", "kind", "context"))
    wide = _wide(rows, ctx.loops)
    return OrgResult(rows, wide, pairs, files, timeline, _survival_curves(ctx, wide), kinds, computed_at=computed_at)
