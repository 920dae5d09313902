"""One change undoing another, three ways, with the evidence kept (concepts.md §2c `conflicts`).

* `explicit` — the message says so: `This reverts commit <7–40 hex>` (every such line: squashes carry
  several), or a subject `Revert "…"` whose quoted subject names an earlier commit. A target that is not in
  the history (a pull-request commit that never reached the branch) is kept with `undone_commit` null.
  Conventional `revert: …` subjects are not explicit reverts: only line-level undo can find their target.
* `identity` — a file returns to the exact content (blob) it had at most `radius` versions earlier; every
  change to the file in between is undone (the Wikipedia identity-revert method). A return to "absent"
  (deleting a new file) is left to line-level undo.
* `line_undo` — a commit removes lines another commit added, `0 ≤ delay ≤ window`. Not counted: blank lines,
  lines whose stripped text the same commit adds again (moves, re-indentation), generated and vendored paths,
  and files where the commit removes more than `bulk_lines` lines.

Each (commit, undone commit, path) is reported once, under the strongest class (explicit > identity >
line_undo). `context` classifies instead of counting raw reverts: `self` (a loop undoing itself),
`dependency_bump`, `formatting`, else `other`. `off_hours`: both changes outside the working hours of
the repository's human writers (the UTC hours holding 80% of their commits; null with < 20 such commits).
`share_of_undone` (lines undone ÷ lines the undone commit added there) ranks targeted undo above the
incidental damage of a large refactor (`share_of_commit` small).
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

import polars as pl

from .attribution import UNASSIGNED
from .gitread import NULL_BLOB

SKIP_PATH = (r"(?i)(^|/)(node_modules|vendor|dist|\.beads)/|\.(jsonl|lock|sum|svg|map|snap)$|\.min\.(js|css)$|"
             r"(^|/)(package-lock\.json|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|uv\.lock|Cargo\.lock|go\.sum)$")
DEPENDENCY_PATH = (r"(?i)(^|/)(go\.mod|go\.sum|package(-lock)?\.json|yarn\.lock|pnpm-lock\.yaml|requirements[^/]*\.txt|"
                   r"pyproject\.toml|poetry\.lock|uv\.lock|Cargo\.(toml|lock)|Gemfile(\.lock)?|pom\.xml|build\.gradle)$")
DEPENDENCY_SUBJECT = r"(?i)^(build|chore|fix)\(deps[^)]*\)|\bbump\b.*\b(from|to)\b|\b(update|upgrade) (dependenc|deps?\b|module )"
DEPENDENCY_AUTHOR = r"(?i)dependabot|renovate|snyk-bot|greenkeeper"
FORMATTING_SUBJECT = r"(?i)\b(fmt|format(ting)?|reformat|lint(ing)?|prettier|black|gofmt|ruff|whitespace|style)\b"
REVERTS_COMMIT = r"(?i)This reverts commit ([0-9a-f]{7,40})"
REVERT_SUBJECT = r'^Revert "(.*)"'
WORKING_SHARE = 0.8
MIN_HUMAN_COMMITS = 20


@dataclass(frozen=True)
class Rules:
    radius: int = 3                 # identity reverts: versions of the file looked back
    window_s: int = 7 * 86400       # line-level undo: longest delay
    bulk_lines: int = 2000          # a file where one commit removes more lines is a rewrite, not an undo


def explicit(commits: pl.DataFrame) -> pl.DataFrame:
    """commit, undone_commit (null when unresolved), matched_by (sha | subject), ref."""
    ids = sorted(commits["commit"].to_list())   # sorted: a hex prefix is a contiguous run (bisect)
    order = dict(zip(commits["commit"].to_list(), commits["order"].to_list()))
    by_sha = commits.select("commit", ref=pl.col("message").str.extract_all(REVERTS_COMMIT)).explode("ref").drop_nulls()
    by_sha = by_sha.with_columns(pl.col("ref").str.extract(REVERTS_COMMIT, 1).str.to_lowercase()).unique(maintain_order=True)
    rows = []
    for commit, ref in by_sha.iter_rows():
        at = bisect.bisect_left(ids, ref)
        found = list(itertools.takewhile(lambda c: c.startswith(ref), ids[at:]))
        found = [c for c in found if order[c] < order[commit]]
        rows.append((commit, found[-1] if len(found) == 1 else None, "sha", ref))
    with_sha = set(by_sha["commit"])
    quoted = commits.filter(~pl.col("commit").is_in(list(with_sha))).select(
        "commit", "order", quoted=pl.col("subject").str.extract(REVERT_SUBJECT, 1)).drop_nulls("quoted")
    subjects = commits.select("commit", "order", "subject")
    for commit, pos, text in quoted.iter_rows():
        earlier = subjects.filter((pl.col("order") < pos) & (pl.col("subject") == text))
        rows.append((commit, earlier["commit"][-1] if earlier.height else None, "subject", text))
    return pl.DataFrame(rows, schema={"commit": pl.String, "undone_commit": pl.String, "matched_by": pl.String,
                                      "ref": pl.String}, orient="row")


def identity(versions: pl.DataFrame, radius: int) -> pl.DataFrame:
    """commit, undone_commit, path: the changes between a file's earlier state and its restoration."""
    live = versions.filter((pl.col("blob") != NULL_BLOB) & ~pl.col("path").str.contains(SKIP_PATH))
    pairs = (live.join(live.select("file_id", "blob", back="version"), on=["file_id", "blob"])
             .filter((pl.col("back") < pl.col("version") - 1) & (pl.col("version") - pl.col("back") <= radius))
             .group_by("file_id", "version").agg(back=pl.col("back").max()))
    restored = pairs.join(versions.select("file_id", "version", "commit", "path"), on=["file_id", "version"])
    between = versions.select("file_id", mid="version", undone_commit="commit")
    return (restored.join(between, on="file_id")
            .filter((pl.col("mid") > pl.col("back")) & (pl.col("mid") < pl.col("version")))
            .filter(pl.col("undone_commit") != pl.col("commit"))
            .select("commit", "undone_commit", "path").unique())


def line_undo(fates: pl.DataFrame, committed: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """commit, undone_commit, path, lines: removals of other commits' lines within the window."""
    bulk = fates.group_by("removed_in", "file_id").agg(n=pl.len()).filter(pl.col("n") > rules.bulk_lines)
    f = (fates.filter(pl.col("added_in").is_not_null() & ~pl.col("moved") & ~pl.col("blank")
                      & ~pl.col("path").str.contains(SKIP_PATH))
         .join(bulk, on=["removed_in", "file_id"], how="anti"))
    t = committed.select("commit", "committed_s")
    f = (f.join(t.rename({"commit": "removed_in", "committed_s": "t1"}), on="removed_in")
         .join(t.rename({"commit": "added_in", "committed_s": "t0"}), on="added_in")
         .filter((pl.col("t1") - pl.col("t0")).is_between(0, rules.window_s)))
    return f.group_by(commit="removed_in", undone_commit="added_in", path="path").agg(lines=pl.len())


def working_hours(commits: pl.DataFrame) -> list[int] | None:
    """UTC hours holding WORKING_SHARE of the human writers' commits (the busiest first), or None when thin."""
    humans = commits.filter(pl.col("agent_class") == "human")
    if humans.height < MIN_HUMAN_COMMITS:
        return None
    hours = (humans.select(hour=(pl.col("authored_s") // 3600) % 24).group_by("hour").agg(n=pl.len())
             .sort(["n", "hour"], descending=[True, False]))
    keep = hours.with_columns(cum=pl.col("n").cum_sum() - pl.col("n")).filter(pl.col("cum") < WORKING_SHARE * humans.height)
    return sorted(keep["hour"].to_list())


def assemble(commits: pl.DataFrame, files: pl.DataFrame, found: dict[str, pl.DataFrame],
             added: pl.DataFrame) -> pl.DataFrame:
    """The `conflicts` rows from the three detectors' pairs: strongest class per (commit, undone, path),
    loops, delay, context, off-hours and the ranking shares."""
    touched = files.group_by("commit", "path").agg(lines=(pl.col("added") + pl.col("removed")).sum())
    ex = found["explicit"]
    resolved = ex.filter(pl.col("undone_commit").is_not_null())
    shared = (resolved.join(touched, on="commit")
              .join(files.select(undone_commit="commit", path="path").unique(), on=["undone_commit", "path"]))
    no_path = resolved.join(shared.select("commit", "undone_commit").unique(), on=["commit", "undone_commit"], how="anti")
    totals = touched.group_by("commit").agg(lines=pl.col("lines").sum())
    explicit_rows = pl.concat([
        shared.select("commit", "undone_commit", "path", "lines", "matched_by"),
        no_path.join(totals, on="commit", how="left").select("commit", "undone_commit", pl.lit(None, pl.String).alias("path"),
                                                            "lines", "matched_by"),
        ex.filter(pl.col("undone_commit").is_null()).join(totals, on="commit", how="left")
        .select("commit", "undone_commit", pl.lit(None, pl.String).alias("path"), "lines", "matched_by"),
    ], how="vertical_relaxed").with_columns(kind=pl.lit("explicit"))
    ident = (found["identity"].join(explicit_rows.select("commit", "undone_commit").unique(), on=["commit", "undone_commit"],
                                    how="anti")
             .join(touched, on=["commit", "path"], how="left")
             .with_columns(kind=pl.lit("identity"), matched_by=pl.lit("blob")))
    stronger = pl.concat([explicit_rows.select("commit", "undone_commit"), ident.select("commit", "undone_commit")]).unique()
    undo = (found["line_undo"].join(stronger, on=["commit", "undone_commit"], how="anti")
            .with_columns(kind=pl.lit("line_undo"), matched_by=pl.lit("line")))
    cols = ["kind", "commit", "undone_commit", "path", "lines", "matched_by"]
    rows = pl.concat([explicit_rows.select(cols), ident.select(cols), undo.select(cols)], how="vertical_relaxed")
    return _describe(rows, commits, files, added)


def _describe(rows: pl.DataFrame, commits: pl.DataFrame, files: pl.DataFrame, added: pl.DataFrame) -> pl.DataFrame:
    hours = working_hours(commits)
    actor = pl.when(pl.col("loop") == UNASSIGNED).then(pl.col("writer")).otherwise(pl.col("loop"))
    meta = commits.select("commit", "loop", "writer", "committed_s", "authored_s", "subject", "author",
                          actor=actor)
    dep_commit = commits.filter(pl.col("subject").str.contains(DEPENDENCY_SUBJECT)
                                | pl.col("author").str.contains(DEPENDENCY_AUTHOR))["commit"]
    removed_total = files.group_by("commit").agg(removed_total=pl.col("removed").sum())
    out = (rows.join(meta, on="commit", how="left")
           .join(meta.rename({c: f"u_{c}" for c in meta.columns}), left_on="undone_commit", right_on="u_commit", how="left")
           .join(added.group_by("commit", "path").agg(pl.col("added").sum()).rename({"commit": "undone_commit"}),
                 on=["undone_commit", "path"], how="left")
           .join(removed_total, on="commit", how="left"))
    dep = (pl.col("commit").is_in(dep_commit.implode()) | pl.col("undone_commit").is_in(dep_commit.implode())
           | pl.col("path").fill_null("").str.contains(DEPENDENCY_PATH))
    off = (pl.lit(None, pl.Boolean) if hours is None else
           (~((pl.col("authored_s") // 3600) % 24).is_in(hours) & ~((pl.col("u_authored_s") // 3600) % 24).is_in(hours)))
    return out.with_columns(
        undone_loop=pl.col("u_loop"),
        undone_writer=pl.col("u_writer"),
        delay_s=pl.col("committed_s") - pl.col("u_committed_s"),
        cross_loop=pl.when(pl.col("undone_commit").is_null()).then(None).otherwise(pl.col("actor") != pl.col("u_actor")),
        context=pl.when(pl.col("undone_commit").is_not_null() & (pl.col("actor") == pl.col("u_actor"))).then(pl.lit("self"))
        .when(dep).then(pl.lit("dependency_bump"))
        .when(pl.col("subject").str.contains(FORMATTING_SUBJECT)).then(pl.lit("formatting"))
        .otherwise(pl.lit("other")),
        off_hours=pl.when(pl.col("undone_commit").is_null()).then(None).otherwise(off),
        share_of_undone=pl.when(pl.col("kind") == "line_undo").then(pl.col("lines") / pl.col("added")),
        share_of_commit=pl.when(pl.col("kind") == "line_undo").then(pl.col("lines") / pl.col("removed_total")),
    ).select("kind", "commit", "loop", "writer", "undone_commit", "undone_loop", "undone_writer", "path", "lines",
             "delay_s", "cross_loop", "context", "off_hours", "matched_by", "share_of_undone", "share_of_commit")

