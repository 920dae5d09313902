"""Loops across a repository (the org view): who undoes whom, where loops fight, when they work, how long
their lines live. Builders take an `OrgResult` (baton_lab.metrics.org) and a repository name."""

from __future__ import annotations

import functools
from typing import Any

import altair as alt
import polars as pl

from . import _base
from ._base import Built, level_bars, step_curves
from ._data import ENOUGH, THIN, finite
from ._text import THIN_NOTE

figure = functools.partial(_base.figure, "org")
TOP_LOOPS = 15
MATRIX_ACTORS = 12
TIMELINE_LOOPS = 8


def _loops(result: Any, repo: str) -> pl.DataFrame:
    return result.loops.filter(pl.col("repo") == repo)


@figure("ORG-undone-share", ("ORG",), "Share of each loop's changes later undone by another loop")
def undone_share(result: Any, repo: str) -> Built:
    loops = _loops(result, repo).filter(pl.col("undone_share").is_not_null()).head(TOP_LOOPS)
    if not loops.height:
        return "No loop has changes in this repository."
    frame = finite(loops.select(label=pl.col("loop") + " (" + pl.col("changes").cast(pl.Int64).cast(pl.String) + ")",
                                estimate="undone_share", ci_low="undone_share_low", ci_high="undone_share_high",
                                evidence=pl.when(pl.col("undone_share_status") == "insufficient").then(pl.lit(THIN))
                                .otherwise(pl.lit(ENOUGH))), "estimate", "ci_low", "ci_high")
    chart = level_bars(frame, x_title="Share of changes undone by another loop (95% Wilson)", label_title="Loop (changes)",
                       order=frame["label"].to_list())
    thin = " " + THIN_NOTE if (frame["evidence"] == THIN).any() else ""
    return chart, (f"Bars: changes of the loop that another loop later undid (explicit revert, identity revert or "
                   f"line-level undo within {result.window} days), over its changes; whiskers: 95% Wilson interval. "
                   f"The {frame.height} busiest loops; `unassigned` holds commits no attribution rule placed." + thin)


@figure("ORG-conflict-matrix", ("ORG",), "Which loop undoes which: conflicts between loops")
def conflict_matrix(result: Any, repo: str) -> Built:
    pairs = result.pairs.filter(pl.col("repo") == repo)
    if not pairs.height:
        return "No change in this repository was undone by another loop."
    weight = pl.concat([pairs.select(actor="loop", n="conflicts"), pairs.select(actor="undone_loop", n="conflicts")])
    top = weight.group_by("actor").agg(pl.col("n").sum()).sort("n", descending=True).head(MATRIX_ACTORS)["actor"].to_list()
    shown = pairs.filter(pl.col("loop").is_in(top) & pl.col("undone_loop").is_in(top))
    base = alt.Chart(shown).encode(
        x=alt.X("undone_loop:N", title="Loop whose change was undone", sort=top, axis=alt.Axis(labelAngle=-40, labelLimit=160)),
        y=alt.Y("loop:N", title="Undoing loop", sort=top, axis=alt.Axis(labelLimit=200)))
    cells = base.mark_rect().encode(
        color=alt.Color("changes_undone:Q", title="Changes undone", scale=alt.Scale(scheme="oranges")),
        tooltip=[alt.Tooltip("loop:N", title="Undoing"), alt.Tooltip("undone_loop:N", title="Undone"),
                 alt.Tooltip("changes_undone:Q", title="Changes undone"), alt.Tooltip("conflicts:Q", title="Rows"),
                 alt.Tooltip("lines:Q", title="Lines")])
    text = base.mark_text(fontSize=10).encode(text=alt.Text("changes_undone:Q"))
    side = 26 * len(top) + 40
    chart = alt.layer(cells, text, width=max(200, side), height=max(120, side))
    return chart, (f"Cells: distinct changes of the column's loop undone by the row's loop (any class, a loop undoing "
                   f"itself excluded); the {len(top)} loops most involved. Unassigned commits are shown by writer "
                   f"(human:name) so two people stay two actors.")


@figure("ORG-fight-files", ("ORG",), "The files where loops undo each other most")
def fight_files(result: Any, repo: str) -> Built:
    files = result.files.filter(pl.col("repo") == repo)
    if not files.height:
        return "No file has changes undone by another loop."
    order = files["path"].to_list()
    chart = alt.Chart(files).mark_bar().encode(
        y=alt.Y("path:N", title=None, sort=order, axis=alt.Axis(labelLimit=320)),
        x=alt.X("changes_undone:Q", title="Changes undone by another loop"),
        color=alt.Color("loops:Q", title="Loops involved", scale=alt.Scale(scheme="blues")),
        tooltip=["path:N", "changes_undone:Q", "loops:Q", "lines:Q",
                 alt.Tooltip("median_share_of_undone:Q", format=".0%", title="Median share of the change undone")],
    ).properties(height=max(60, 22 * files.height))
    return chart, ("Ranked by distinct changes undone, then loops involved, then lines: a refactor that deletes many "
                   "lines once ranks below a file that loops keep taking back from each other. Median share of the "
                   "change undone near 100% means targeted undo; small shares are incidental damage.")


@figure("ORG-timeline", ("ORG",), "When each loop works: changes per week")
def timeline(result: Any, repo: str) -> Built:
    frame = result.timeline.filter(pl.col("repo") == repo)
    if not frame.height:
        return "No changes."
    top = (frame.group_by("loop").agg(pl.col("changes").sum()).sort("changes", descending=True)
           .head(TIMELINE_LOOPS)["loop"].to_list())
    frame = (frame.with_columns(loop=pl.when(pl.col("loop").is_in(top)).then(pl.col("loop")).otherwise(pl.lit("other loops")))
             .group_by("week", "loop").agg(pl.col("changes").sum()).sort("week"))
    order = [*top, "other loops"]
    chart = alt.Chart(frame).mark_bar().encode(
        x=alt.X("week:T", title="Week (UTC)"), y=alt.Y("changes:Q", title="Changes", stack=True),
        color=alt.Color("loop:N", title="Loop", sort=order, scale=alt.Scale(domain=order)),
        tooltip=[alt.Tooltip("week:T"), "loop:N", "changes:Q"],
    ).properties(height=220)
    return chart, f"Non-merge changes per week, stacked by loop (the {len(top)} busiest; the rest as 'other loops')."


@figure("ORG-line-survival", ("ORG",), "How long each loop's lines survive")
def line_survival(result: Any, repo: str) -> Built:
    curves = result.survival.filter(pl.col("repo") == repo)
    if not curves.height:
        return "No loop added lines."
    order = curves["loop"].unique(maintain_order=True).to_list()
    frame = curves.select(series="loop", time="time", value="value", lower="lower", upper="upper").with_columns(
        evidence=pl.lit(ENOUGH))
    chart = step_curves(frame, y_title="Share of added lines still present", x_title="Days since the line was added",
                        series_title="Loop", order=order)
    return chart, ("Kaplan-Meier curves over added lines (removal by anyone = event; lines present at the tip are "
                   "censored), with 95% log-log bands, for the busiest loops. The bands treat lines as independent; "
                   "the table's median interval resamples whole changes.")


BUILDERS = (undone_share, conflict_matrix, fight_files, timeline, line_survival)
