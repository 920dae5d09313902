"""Where every line came from and where it went: file identities across renames, file versions, line fates.

* A *file* keeps its identity across renames (`R` entries of `git log --raw`); deleting a path and adding it
  again starts a new file.
* A *version* is a file's content (blob id) after a commit: the input of identity-revert detection.
* A *fate* pairs each removed line with the commit that added it. Within one file and one line text,
  additions and removals form a stack (the last live copy of a line is the one removed, as `git blame`
  would attribute it): with `depth` the running count of live copies, a removal taking the count from L to
  L - 1 removes the addition that last raised it to L — an as-of join on (file, text, level), no loop over
  lines. Removals of lines older than the history (the count drops below its start) have no origin.
"""

from __future__ import annotations

import polars as pl

from .gitread import Changes


def file_ids(files: pl.DataFrame, order: dict[str, int]) -> pl.DataFrame:
    """`files` plus `order` (commit position) and `file_id`, following renames in history order."""
    frame = files.with_columns(order=pl.col("commit").replace_strict(order, return_dtype=pl.Int64)).sort("order", "file_no")
    current: dict[str, int] = {}
    ids: list[int] = []
    next_id = 0
    for status, old_path, path in frame.select("status", "old_path", "path").iter_rows():
        if status == "R":
            fid = current.pop(old_path, None)
        elif status in ("A", "C"):
            fid = current.get(path) if status == "A" else None
        else:
            fid = current.get(path)
        if fid is None:
            fid, next_id = next_id, next_id + 1
        if status == "D":
            current.pop(path, None)
        else:
            current[path] = fid
        ids.append(fid)
    return frame.with_columns(file_id=pl.Series(ids, dtype=pl.Int64))


def versions(files: pl.DataFrame) -> pl.DataFrame:
    """file_id, version (1.. per file), commit, order, path, blob (null blob = deleted)."""
    return (files.select("file_id", "commit", "order", "path", blob="new_blob")
            .with_columns(version=pl.int_range(1, pl.len() + 1).over("file_id", order_by="order")))


def line_events(changes: Changes, files: pl.DataFrame) -> pl.DataFrame:
    """Every added/removed line with its file, path, commit position and a text hash."""
    return (changes.lines.join(files.select("commit", "file_no", "file_id", "path", "order"), on=["commit", "file_no"])
            .with_columns(key=pl.col("text").hash(), stripped=pl.col("text").str.strip_chars().hash(),
                          blank=pl.col("text").str.strip_chars() == ""))


def fates(events: pl.DataFrame) -> pl.DataFrame:
    """One row per removed line: removing commit/order, file, path, and the adding commit/order/path (null when
    the line predates the history), plus `moved` (its stripped text is added again in the same commit) and `blank`."""
    ev = events.with_columns(
        # within a commit removals come first: a line removed and added back by one commit is re-attributed to it
        pos=pl.col("order") * 2 + (pl.col("sign") > 0).cast(pl.Int64),
    ).sort("file_id", "key", "pos").with_row_index("row")
    # one group id per (file, text): running depth = global running sum minus the sum before the group began
    group = ((pl.col("file_id") != pl.col("file_id").shift()) | (pl.col("key") != pl.col("key").shift())).fill_null(True)
    running = pl.col("sign").cast(pl.Int64).cum_sum()
    ev = ev.with_columns(gid=group.cum_sum(), running=running)
    ev = ev.with_columns(depth=pl.col("running") - (pl.col("running") - pl.col("sign")).first().over("gid"))
    is_add = pl.col("sign") > 0
    ev = ev.with_columns(level=pl.when(is_add).then(pl.col("depth")).otherwise(pl.col("depth") + 1))
    # the addition a removal takes back: the latest addition at the same level (rows are in `pos` order)
    ev = ev.with_columns(origin=pl.when(is_add).then(pl.col("row")).forward_fill().over("gid", "level"))
    adds = ev.filter(is_add).select(origin="row", added_in="commit", added_order="order", added_path="path")
    removes = ev.filter(~is_add).join(adds, on="origin", how="left")
    readded = ev.filter(is_add).select("commit", "stripped").unique().with_columns(moved=pl.lit(True))
    removes = removes.join(readded, on=["commit", "stripped"], how="left").with_columns(pl.col("moved").fill_null(False))
    return removes.select(removed_in="commit", removed_order="order", file_id="file_id", path="path",
                          added_in="added_in", added_order="added_order", added_path="added_path", moved="moved",
                          blank="blank")


def additions(events: pl.DataFrame) -> pl.DataFrame:
    """Lines added per (commit, file): the denominator of 'share of a change undone' and of line survival."""
    return (events.filter((pl.col("sign") > 0) & ~pl.col("blank"))
            .group_by("commit", "file_id", "path").agg(added=pl.len()))

