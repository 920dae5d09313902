"""`import_repository(con, path)`: a git repository's history into the org tables, in one transaction.

Re-importing a repository replaces its rows (idempotent): the history is re-read from git, which is the
source of truth, so a rewritten history never leaves stale changes behind.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ..redact import redact_text
from ..store.schemas import TABLES
from ..store.validate import conform
from . import attribution, conflicts, gitread, issue_links, lineage, rework, test_failures
from .conflicts import Rules

ORG_TABLES = ("repositories", "changes", "change_files", "conflicts", "rework", "line_fates")
SQUASH_SUBJECT = r"\(#\d+\)$"
TRAILER = r"(?m)^([A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]): (\S.*)$"


@dataclass
class RepositoryImport:
    """What `baton-lab import --repo` read and found."""

    repo: str
    uri: str
    ref: str
    tip: str
    commits: int
    merges: int
    loops: dict[str, int]
    unassigned: int
    conflicts: dict[str, int]
    cross_loop_conflicts: int
    rework_chains: int
    sessions_linked: int
    seconds: float
    import_id: str
    rules: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        top = ", ".join(f"{loop} {n:,}" for loop, n in list(self.loops.items())[:6])
        kinds = ", ".join(f"{k} {n:,}" for k, n in self.conflicts.items()) or "none"
        return "\n".join([
            f"repository {self.repo} ({self.uri} @ {self.ref} {self.tip[:12]}): {self.commits:,} commits "
            f"({self.merges:,} merges) in {self.seconds:.1f} s",
            f"loops: {len(self.loops):,} ({top}); unassigned commits: {self.unassigned:,}",
            f"conflicts: {kinds}; {self.cross_loop_conflicts:,} between different loops",
            f"rework chains: {self.rework_chains:,}; commits linked to a stored baton session: {self.sessions_linked:,}",
        ])


@dataclass
class Analysis:
    """Every org table of one repository, before it is stored (the simulator's benchmark reads this directly)."""

    changes: pl.DataFrame
    change_files: pl.DataFrame
    conflicts: pl.DataFrame
    rework: pl.DataFrame
    line_fates: pl.DataFrame
    working_hours: list[int] | None


def analyse(head: gitread.Head, *, mapping: list[dict[str, str]] | None = None, rules: Rules = Rules(),
            rework_window_s: int = 3 * 86400) -> Analysis:
    """Read the history (two `git log` runs) and derive changes, conflicts, rework chains and line fates."""
    commits = attribution.attribute(gitread.commits(head), mapping)
    notes = gitread.check_notes(head)
    commits = commits.join(notes, on="commit", how="left").with_columns(
        check_status=rework.check_status(pl.col("message"), pl.col("note"))).rename({"note": "check_note"})
    read = gitread.changes(head)
    order = dict(zip(commits["commit"], commits["order"].cast(pl.Int64)))
    counts = (read.lines.group_by("commit", "file_no")
              .agg(added=(pl.col("sign") > 0).sum().cast(pl.Int64), removed=(pl.col("sign") < 0).sum().cast(pl.Int64)))
    files = lineage.file_ids(read.files, order).join(counts, on=["commit", "file_no"], how="left").with_columns(
        pl.col("added", "removed").fill_null(0))
    events = lineage.line_events(read, files)
    fates = lineage.fates(events)
    added = lineage.additions(events)
    found = {
        "explicit": conflicts.explicit(commits),
        "identity": conflicts.identity(lineage.versions(files), rules.radius),
        "line_undo": conflicts.line_undo(fates, commits, rules),
    }
    found_conflicts = conflicts.assemble(commits, files, found, added)
    chains = rework.chains(found_conflicts, commits, rework_window_s)
    return Analysis(_changes(commits, files), files, found_conflicts, chains, _line_fates(fates, added, commits),
                    conflicts.working_hours(commits))


def _changes(commits: pl.DataFrame, files: pl.DataFrame) -> pl.DataFrame:
    per_commit = files.group_by("commit").agg(files_changed=pl.len().cast(pl.Int64), lines_added=pl.col("added").sum(),
                                              lines_removed=pl.col("removed").sum(),
                                              binary_files=pl.col("is_binary").sum().cast(pl.Int64))
    trailers = commits.select("commit", t=pl.col("message").str.split("\n").list.slice(1).list.join("\n")
                              .str.extract_all(TRAILER))
    as_json = {c: (json.dumps(_trailer_dict(t)) if t else None) for c, t in trailers.iter_rows()}
    is_merge = pl.col("parents").list.len() > 1
    frame = commits.join(per_commit, on="commit", how="left").with_columns(
        pl.col("files_changed", "lines_added", "lines_removed", "binary_files").fill_null(0),
        parents=pl.when(pl.col("parents").list.len() == 0).then(pl.lit("[]"))
        .otherwise('["' + pl.col("parents").list.join('","') + '"]'),
        position=pl.col("order").cast(pl.Int64),
        is_merge=is_merge,
        is_squash=~is_merge & pl.col("subject").str.contains(SQUASH_SUBJECT)
        & (pl.col("committer_email") == "noreply@github.com"),
        authored_at=pl.from_epoch("authored_s", time_unit="s").dt.replace_time_zone("UTC"),
        committed_at=pl.from_epoch("committed_s", time_unit="s").dt.replace_time_zone("UTC"),
        author_utc_offset=pl.col("authored_iso").str.extract(r"([+-]\d\d:\d\d|Z)$", 1),
        # secrets are redacted before anything is stored: agents paste tokens into messages and CI notes
        **{col: pl.col(col).map_elements(lambda m: redact_text(m)[0], return_dtype=pl.String)
           for col in ("message", "subject", "check_note")},
        trailers=pl.col("commit").replace_strict(as_json, default=None, return_dtype=pl.String),
    )
    return frame


def _trailer_dict(pairs: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in pairs:
        key, _, value = pair.partition(": ")
        out.setdefault(key, []).append(redact_text(value)[0])
    return out


def _line_fates(fates: pl.DataFrame, added: pl.DataFrame, commits: pl.DataFrame) -> pl.DataFrame:
    t = commits.select("commit", "committed_s")
    tip_s = commits["committed_s"].max() if commits.height else 0
    removed = (fates.filter(pl.col("added_in").is_not_null() & ~pl.col("blank"))
               .group_by("added_in", path="added_path", removed_in="removed_in").agg(lines=pl.len().cast(pl.Int64)))
    gone = removed.group_by("added_in", "path").agg(gone=pl.col("lines").sum())
    live = (added.group_by(added_in="commit", path="path").agg(pl.col("added").sum())
            .join(gone, on=["added_in", "path"], how="left")
            .select("added_in", "path", pl.lit(None, pl.String).alias("removed_in"),
                    lines=(pl.col("added") - pl.col("gone").fill_null(0)).cast(pl.Int64))
            .filter(pl.col("lines") > 0))
    both = pl.concat([removed.select("added_in", "path", "removed_in", "lines"), live])
    both = (both.join(t.rename({"commit": "added_in", "committed_s": "t0"}), on="added_in")
            .join(t.rename({"commit": "removed_in", "committed_s": "t1"}), on="removed_in", how="left"))
    return both.with_columns(
        removed=pl.col("removed_in").is_not_null(),
        survival_s=pl.max_horizontal(pl.col("t1").fill_null(tip_s) - pl.col("t0"), pl.lit(0)).cast(pl.Int64),
    ).drop("t0", "t1")


TRANSCRIPT_WINDOW_H = 6   # a commit links to the latest transcript snapshot of the same checkout at most this much earlier


def _linked_sessions(con: duckdb.DuckDBPyConnection, changes: pl.DataFrame, checkout: str, branch: str) -> pl.DataFrame:
    """Link a change to the baton session that made it: by the session id its message names (`trailer`), else by
    the session that closed the Beads issue it names (`closed_by_session`, see issue_links), else by a transcript
    snapshot of the same checkout (cwd's last directory), on the change's branch, by the same tool, in the hours
    before the commit (`transcript`; the branch is the merged branch's name, else the imported branch)."""
    ids = changes.filter(pl.col("session_id").is_not_null()).select("session_id").unique()
    # a Claude Code transcript can only have made a Claude (or Gas Town) change, a Codex rollout a Codex one
    tool = pl.col("agent_class").replace_strict({"claude": "claude", "gastown": "claude", "codex": "codex"}, default=None)
    probe = changes.select("commit", "committed_at", dir=pl.lit(checkout), tool=tool,
                           branch=pl.coalesce(pl.col("branch"), pl.lit(branch)))
    con.register("_bl_session_ids", ids)
    con.register("_bl_change_probe", probe)
    try:
        by_id = con.sql("SELECT s.session_id, min(s.namespace) AS session_namespace FROM snapshots s "
                        "JOIN _bl_session_ids USING (session_id) GROUP BY 1").pl()
        by_transcript = con.sql(f"""
            WITH t AS (
                SELECT namespace, provenance->>'sessionId' AS sid, provenance->>'gitBranch' AS branch,
                       CASE WHEN provenance->>'transcript' LIKE 'codex%' THEN 'codex' ELSE 'claude' END AS tool,
                       regexp_extract(rtrim(provenance->>'cwd', '/'), '[^/]+$') AS dir, observed_at
                FROM snapshots
                WHERE observed_kind = 'transcript' AND provenance->>'cwd' IS NOT NULL AND observed_at IS NOT NULL)
            SELECT c.commit, t.sid AS t_session, t.namespace AS t_namespace
            FROM _bl_change_probe c ASOF JOIN t
              ON t.dir = c.dir AND t.branch = c.branch AND t.tool = c.tool AND c.committed_at >= t.observed_at
            WHERE c.committed_at - t.observed_at <= INTERVAL {TRANSCRIPT_WINDOW_H} HOUR""").pl()
    finally:
        con.unregister("_bl_session_ids")
        con.unregister("_bl_change_probe")
    by_issue = _closing_sessions(con, changes)
    out = (changes.join(by_id, on="session_id", how="left").join(by_issue, on="commit", how="left")
           .join(by_transcript, on="commit", how="left"))
    # strongest evidence first: the message names the session, then the issue it closed, then time and place
    via_issue = pl.col("session_namespace").is_null() & pl.col("closed_by_session").is_not_null()
    via_transcript = pl.col("session_namespace").is_null() & ~via_issue & pl.col("t_namespace").is_not_null()
    return out.with_columns(
        session_link=pl.when(pl.col("session_namespace").is_not_null()).then(pl.lit("trailer"))
        .when(via_issue).then(pl.lit("closed_by_session"))
        .when(via_transcript).then(pl.lit("transcript")),
        session_id=pl.when(via_issue).then(pl.col("closed_by_session"))
        .when(via_transcript).then(pl.col("t_session")).otherwise(pl.col("session_id")),
        session_namespace=pl.when(via_issue).then(pl.col("issue_session_namespace"))
        .otherwise(pl.coalesce("session_namespace", "t_namespace")),
    ).drop("t_session", "t_namespace", "closed_by_session", "issue_session_namespace")


def _closing_sessions(con: duckdb.DuckDBPyConnection, changes: pl.DataFrame) -> pl.DataFrame:
    """commit, closed_by_session, issue_session_namespace: the session that closed the Beads issue a change names
    (issue_links), and the namespace it is known in — a baton or transcript snapshot of that session, else the
    Beads tracker's own namespace."""
    linked = issue_links.link(changes, issue_links.closures(con))
    con.register("_bl_closing", linked.select("closed_by_session").unique())
    try:
        known = con.sql("""
            SELECT c.closed_by_session, min(s.namespace) AS known_namespace
            FROM _bl_closing c JOIN snapshots s
              ON s.session_id = c.closed_by_session OR s.provenance->>'sessionId' = c.closed_by_session
            GROUP BY 1""").pl()
    finally:
        con.unregister("_bl_closing")
    return linked.join(known, on="closed_by_session", how="left").select(
        "commit", "closed_by_session", issue_session_namespace=pl.coalesce("known_namespace", "issue_namespace"))


def _with_test_failures(con: duckdb.DuckDBPyConnection, result: Analysis, checkout: str,
                        transcripts: list[str | os.PathLike[str]] | None) -> pl.DataFrame:
    """The rework chains with those triggered by failing test runs in the loops' transcripts folded in (see
    test_failures): the given transcript files, else the transcripts the store has imported that are still on disk."""
    if transcripts is None:
        uris = con.sql("SELECT DISTINCT uri FROM sources WHERE format IN ('claude-code-transcript', 'codex-rollout')").pl()
        transcripts = [uri for uri in uris["uri"] if Path(uri).is_file()]
    failed = test_failures.failures(transcripts)
    triggered = test_failures.chains(failed, result.changes, result.change_files, checkout)
    order = dict(zip(result.changes["commit"], result.changes["position"]))
    times = dict(zip(result.changes["commit"], result.changes["committed_s"]))
    return test_failures.merge(result.rework, triggered, order, times)


def _store(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    data = conform(table, frame)
    TABLES[table].validate(data, lazy=True)
    con.register("_bl_org_rows", data.to_arrow())
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _bl_org_rows")
    finally:
        con.unregister("_bl_org_rows")


def import_repository(con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str], *, name: str | None = None,
                      ref: str | None = None, mapping: str | os.PathLike[str] | None = None, rules: Rules = Rules(),
                      rework_window_s: int = 3 * 86400,
                      transcripts: list[str | os.PathLike[str]] | None = None) -> RepositoryImport:
    """Read a repository through git and store its changes, conflicts, rework chains and line fates. `transcripts`
    (Claude Code / Codex .jsonl files) are read for failing test runs that trigger rework; by default, the
    transcripts the store has imported."""
    start = time.perf_counter()
    head = gitread.resolve(path, ref)
    mapping_rules = attribution.read_mapping(mapping)
    result = analyse(head, mapping=mapping_rules, rules=rules, rework_window_s=rework_window_s)
    repo = name or Path(path).resolve().name
    import_id = uuid.uuid4().hex[:12]
    now = datetime.now(timezone.utc)
    changes = _linked_sessions(con, result.changes, Path(path).resolve().name, head.branch)
    result.rework = _with_test_failures(con, result, Path(path).resolve().name, transcripts)
    settings = {**asdict(rules), "rework_window_s": rework_window_s, "mapping": mapping_rules}
    with_repo = pl.lit(repo).alias("repo")
    frames = {
        "repositories": pl.DataFrame([{
            "repo": repo, "uri": str(Path(path).resolve()), "ref": head.ref, "tip": head.tip, "commits": changes.height,
            "working_hours_utc": None if result.working_hours is None else json.dumps(result.working_hours),
            "rules": json.dumps(settings), "imported_at": now, "import_id": import_id}]),
        "changes": changes.with_columns(with_repo),
        "change_files": result.change_files.with_columns(with_repo, lines_added=pl.col("added"),
                                                         lines_removed=pl.col("removed")),
        "conflicts": result.conflicts.with_columns(with_repo),
        "rework": result.rework.with_columns(with_repo, commits=pl.col("commits").map_elements(
            lambda c: json.dumps(list(c)), return_dtype=pl.String)),
        "line_fates": result.line_fates.with_columns(with_repo),
    }
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ORG_TABLES:
            con.execute(f"DELETE FROM {table} WHERE repo = ?", [repo])
            _store(con, table, frames[table])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    cf = result.conflicts
    return RepositoryImport(
        repo=repo, uri=str(Path(path).resolve()), ref=head.ref, tip=head.tip, commits=changes.height,
        merges=int(changes["is_merge"].sum()),
        loops=dict(changes.filter(pl.col("loop") != attribution.UNASSIGNED)["loop"].value_counts(sort=True).iter_rows()),
        unassigned=int((changes["loop"] == attribution.UNASSIGNED).sum()),
        conflicts=dict(cf["kind"].value_counts(sort=True).iter_rows()) if cf.height else {},
        cross_loop_conflicts=int(cf["cross_loop"].fill_null(False).sum()) if cf.height else 0,
        rework_chains=result.rework.height,
        sessions_linked=int(changes["session_namespace"].is_not_null().sum()),
        seconds=time.perf_counter() - start, import_id=import_id, rules=settings)
