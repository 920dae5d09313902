"""Rework chains: one loop changing its own lines again, the "2/8 FAIL → retry → 8/8 PASS" loop.

Two changes of one actor are linked when the later one undoes the earlier (any `conflicts` row with
context `self`) within `window_s`; a chain is a connected group of linked changes, from its first to its
last commit. `length` counts its commits, `duration_s` is first → last committer time (time to green when
the chain ends in a passing state). `trigger` names the evidence of a failing check, strongest first:
`ci_status` (a status the repository records for a change before the chain's last: a `CI-Status:` trailer or a
git note under refs/notes/ci, checks, … saying failure — `changes.check_status`),
`failing_check` (a message reporting failing tests, e.g. "2/8 FAIL", "tests failing"), `fix_subject` (a
later change's subject says fix/retry/address), else `self_undo` (only the undo itself).
"""

from __future__ import annotations

import polars as pl

CI_STATUS = r"(?im)^(ci|check|build)-status:\s*(fail|failure|failed|error|red)\b"
FAILED_NOTE = r"(?i)\b(fail|failed|failure|failing|error|red)\b"
PASSED_NOTE = r"(?i)\b(pass|passed|success|succeeded|green|ok)\b"


def check_status(message: pl.Expr, note: pl.Expr) -> pl.Expr:
    """'failed' / 'passed' / null: a `CI-Status:` trailer, else a check note (git notes) of the commit."""
    return (pl.when(message.str.contains(CI_STATUS) | note.fill_null("").str.contains(FAILED_NOTE)).then(pl.lit("failed"))
            .when(message.str.contains(r"(?im)^(ci|check|build)-status:\s*(pass|passed|success|green)\b")
                  | note.fill_null("").str.contains(PASSED_NOTE)).then(pl.lit("passed")))
FAILING_CHECK = r"(?i)\b\d+/\d+ (fail|failed|failing)\b|\btests? (are |were )?fail(ed|ing)?\b|\bfailing (tests?|checks?|ci)\b|\bci (failed|is red)\b"
FIX_SUBJECT = r"(?i)^(fix|hotfix|retry|re-?apply|address|repair|correct)\b|^\w+(\([^)]*\))?!?: (fix|retry|address)\b|\bfix(es|ed)?\b"


def chains(conflicts: pl.DataFrame, commits: pl.DataFrame, window_s: int) -> pl.DataFrame:
    """`rework` rows: loop, first_commit, last_commit, length, duration_s, trigger, commits (the members)."""
    links = (conflicts.filter((pl.col("context") == "self") & pl.col("undone_commit").is_not_null()
                              & (pl.col("delay_s") <= window_s))
             .select("commit", "undone_commit").unique())
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for a, b in links.iter_rows():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    if not parent:
        return pl.DataFrame(schema={"loop": pl.String, "first_commit": pl.String, "last_commit": pl.String,
                                    "length": pl.Int64, "duration_s": pl.Int64, "trigger": pl.String,
                                    "commits": pl.List(pl.String)})
    groups = pl.DataFrame({"commit": list(parent), "chain": [find(c) for c in parent]})
    members = groups.join(commits.select("commit", "order", "committed_s", "loop", "subject", "message", "check_status"),
                          on="commit")
    members = members.sort("order").with_columns(first=pl.col("order") == pl.col("order").min().over("chain"))
    later = ~pl.col("first")
    return (members.group_by("chain").agg(
        loop=pl.col("loop").first(),
        first_commit=pl.col("commit").first(), last_commit=pl.col("commit").last(),
        length=pl.len().cast(pl.Int64),
        duration_s=(pl.col("committed_s").max() - pl.col("committed_s").min()).cast(pl.Int64),
        ci=((pl.col("check_status") == "failed") & (pl.col("order") < pl.col("order").max())).any(),
        failing=pl.col("message").str.contains(FAILING_CHECK).any(),
        fix=(pl.col("subject").str.contains(FIX_SUBJECT) & later).any(),
        commits=pl.col("commit"),
        start=pl.col("order").min(),
    ).with_columns(
        trigger=pl.when("ci").then(pl.lit("ci_status")).when("failing").then(pl.lit("failing_check"))
        .when("fix").then(pl.lit("fix_subject")).otherwise(pl.lit("self_undo")),
    ).sort("start").select("loop", "first_commit", "last_commit", "length", "duration_s", "trigger", "commits"))
