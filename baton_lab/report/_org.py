"""The report section "Loops across the repository": one part per imported repository, from the org metrics."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from ..metrics.org import OrgResult, org_metrics
from . import _format

if TYPE_CHECKING:
    from ..charts import Figure

TITLE = "Loops across the repository"
INTRO = ("Which loop changed what, and where loops undo each other: every commit is a change with the loop that made "
         "it (the rule that placed it is kept; commits no rule places are 'unassigned'), conflicts are explicit "
         "reverts, identity reverts (a file back to an earlier state) and line-level undo, and rework chains are a "
         "loop changing its own lines again after a failing check. Shares carry Wilson intervals; thin loops say "
         "'insufficient data'.")
TOP_LOOPS = 20


@dataclass
class RepoPart:
    repo: str
    facts: dict[str, int]
    figures: list["Figure"]
    loops: pl.DataFrame          # formatted per-loop table
    kinds: pl.DataFrame          # conflicts by class and context
    pairs: pl.DataFrame          # top loop pairs


@dataclass
class OrgSection:
    key: str = "org"
    title: str = TITLE
    intro: str = INTRO
    repos: list[RepoPart] = field(default_factory=list)
    result: OrgResult | None = None

    @property
    def figures(self) -> list["Figure"]:
        return [f for part in self.repos for f in part.figures]


def _cell(row: dict, name: str) -> str:
    metric_row = {"estimate": row[name], "ci_low": row[f"{name}_low"], "ci_high": row[f"{name}_high"],
                  "status": row[f"{name}_status"]}
    return _format.estimate(metric_row)


def _loop_table(result: OrgResult, repo: str) -> pl.DataFrame:
    loops = result.loops.filter(pl.col("repo") == repo).head(TOP_LOOPS)
    undone = result.rows.filter((pl.col("repo") == repo) & (pl.col("metric_id") == "undone_by_other_loop")
                                & (pl.col("variant") == "any")).select("loop", "numerator", "denominator")
    records = []
    for row in loops.join(undone, on="loop", how="left").iter_rows(named=True):
        records.append({
            "loop": row["loop"], "changes": int(row["changes"] or 0), "lines added": int(row["lines_added"] or 0),
            "files": int(row["files"] or 0),
            "undone by another loop": f"{_cell(row, 'undone_share')} ({_format.number(row['numerator'])}/"
                                      f"{_format.number(row['denominator'])})",
            "median line survival, days": (_cell(row, "survival_days") if row["survival_days"] is not None
                                           else "not reached: most of its lines are still present"),
            "rework rate": _cell(row, "rework_rate"),
        })
    return pl.DataFrame(records)


def repositories(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """What was read, for provenance.json: each repository's path, ref, tip commit and import time."""
    return con.sql("SELECT repo, uri, ref, tip, commits, imported_at, import_id FROM repositories ORDER BY repo").pl().to_dicts()


def section(con: duckdb.DuckDBPyConnection) -> OrgSection | None:
    """None when the store holds no repository (the report then has no org section)."""
    if not con.execute("SELECT count(*) FROM changes").fetchall()[0][0]:
        return None
    result = org_metrics(con)
    facts = con.sql("""SELECT repo, count(*) AS commits, count(*) FILTER (WHERE is_merge) AS merges,
                              count(DISTINCT loop) FILTER (WHERE loop <> 'unassigned') AS loops,
                              count(*) FILTER (WHERE loop = 'unassigned') AS unassigned
                       FROM changes GROUP BY repo ORDER BY repo""").pl()
    counts = con.sql("""SELECT repo, count(*) FILTER (WHERE kind = 'explicit') AS explicit_reverts,
                               count(*) FILTER (WHERE kind = 'identity') AS identity_reverts,
                               count(*) FILTER (WHERE kind = 'line_undo') AS line_undo,
                               count(*) FILTER (WHERE cross_loop) AS between_loops,
                               count(*) FILTER (WHERE cross_loop AND off_hours) AS off_hours_between_loops
                        FROM conflicts GROUP BY repo""").pl()
    chains = con.sql("SELECT repo, count(*) AS rework_chains FROM rework GROUP BY repo").pl()
    facts = facts.join(counts, on="repo", how="left").join(chains, on="repo", how="left").fill_null(0)
    return _parts(result, facts)


def _parts(result: OrgResult, facts: pl.DataFrame) -> OrgSection:
    from .. import charts

    out = OrgSection(result=result)
    for row in facts.iter_rows(named=True):
        repo = row["repo"]
        slug = re.sub(r"[^A-Za-z0-9]+", "-", repo).strip("-") or "repo"
        figures = [dataclasses.replace(f, key=f"{f.key}-{slug}") for f in charts.org(result, repo)]
        kinds = (result.kinds.filter(pl.col("repo") == repo).drop("repo")
                 .with_columns(pl.col("cross_loop").map_elements(lambda v: "unknown" if v is None else ("yes" if v else "no"),
                                                                 return_dtype=pl.String)))
        pairs = result.pairs.filter(pl.col("repo") == repo).drop("repo").head(15).rename(
            {"loop": "undoing loop", "undone_loop": "undone loop"})
        out.repos.append(RepoPart(repo, {k: int(v) for k, v in row.items() if k != "repo"}, figures,
                                  _loop_table(result, repo), kinds, pairs))
    return out
