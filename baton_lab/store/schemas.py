"""The pandera models: the one place where every table's columns, types and allowed values are declared.

The DuckDB DDL (`store.ddl`), the `baton-lab schema` output and the import-time validation are all
derived from these classes. Columns named in concepts.md §2 are public API.
"""

from __future__ import annotations

import polars as pl
import pandera.polars as pa
from pandera.engines import polars_engine

from .. import vocab

UTC = polars_engine.DateTime(time_zone="UTC")


def _json(description: str, nullable: bool = True) -> object:
    """A column holding a JSON document (stored as DuckDB JSON)."""
    return pa.Field(nullable=nullable, description=description, metadata={"json": True})


def _text(description: str, nullable: bool = True, **checks: object) -> object:
    return pa.Field(nullable=nullable, description=description, **checks)


class _Table(pa.DataFrameModel):
    class Config:
        # Extra columns in a frame are an error: the model is the whole table.
        strict = True
        coerce = False


class Sources(_Table):
    """One row per imported source: a file, a directory member, a git version, a transcript, a server read."""

    source_id: str = _text("Stable id: hash of format, uri and content.", nullable=False, unique=True)
    format: str = _text("Importer that read it (see `baton-lab formats`).", nullable=False)
    format_version: str = _text("Version of that importer's format rules.", nullable=False)
    uri: str = _text("Where it was read from (path, path#Lline, git:sha:path, http URL).", nullable=False)
    sha256: str = _text("SHA-256 of the source bytes.", nullable=False)
    size_bytes: pl.Int64 = pa.Field(nullable=True, ge=0, description="Size of the source in bytes.")
    importer_version: str = _text("baton_lab version that imported it.", nullable=False)
    imported_at: UTC = pa.Field(nullable=False, description="When it was imported (UTC).")
    import_id: str = _text("The import run that brought it in.", nullable=False)


class Snapshots(_Table):
    """One observed baton state; the append-only history of each namespace."""

    snapshot_id: str = _text("Stable id: hash of namespace and content hash.", nullable=False, unique=True)
    namespace: str = _text("Baton namespace.", nullable=False)
    seq: pl.Int64 = pa.Field(nullable=False, ge=1, description="1.. per namespace, in history order.")
    session_id: str = _text("Session that wrote the baton (v1 session_id, v2 session_bridge.last_session).")
    parent_session: str = _text("Session the writer started from (v1 lineage).")
    written_at: UTC = pa.Field(nullable=True, description="Time the document claims (v1 updated_at, v2 _meta.last_written_at), UTC.")
    written_at_raw: str = _text("The claimed time exactly as written.")
    observed_at: UTC = pa.Field(nullable=True, description="When the state was observed: capture, server, commit, transcript or file time.")
    observed_kind: str = _text("How observed_at was obtained.", isin=list(vocab.OBSERVED_KINDS))
    schema_version: str = _text("Document schema version: Session Baton '1' or '2.0'; other formats 'NAME/VERSION' "
                                "(e.g. 'beads-issues/1').", nullable=False)
    revision: pl.Int64 = pa.Field(nullable=True, ge=0, description="v2/memhall revision counter.")
    writer: str = _text("Who wrote it (v2 _meta.last_written_by).")
    content_sha256: str = _text("SHA-256 of the canonical baton JSON without transport fields.", nullable=False)
    source_id: str = _text("Source it was first read from.", nullable=False)
    location: str = _text("Where in the source (JSON pointer or line).")
    format: str = _text("Importer that read it.", nullable=False)
    sync_status: str = _text("Local cache `_sync_status` at observation time.")
    context: str = _text("Narrative: v1 context or v2 session_bridge.last_session.summary.")
    raw: str = _json("The document as JSON (lossless, secrets redacted).", nullable=False)
    extra: str = _json("Top-level fields not mapped to a column.")
    provenance: str = _json("Where the state was seen beyond the source: commit, transcript session, cwd, branch, hook session.")


class _Item(_Table):
    snapshot_id: str = _text("Snapshot the item was observed in.", nullable=False)
    namespace: str = _text("Baton namespace.", nullable=False)
    seq: pl.Int64 = pa.Field(nullable=False, ge=1, description="Snapshot's position in its namespace history.")
    item_id: str = _text("Item id as written (`id`).", nullable=False)
    source_tier: str = _text("Trust tier of the item.", isin=list(vocab.SOURCE_TIERS))
    extra: str = _json("Item fields not mapped to a column.")
    invalid_values: str = _json("Values outside the vocabulary or of the wrong type, kept raw: {column: value}.")


class OpenLoops(_Item):
    """Impact tier: an action, its expected outcome and how to verify it; one row per loop per snapshot."""

    action: str = _text("What was done.")
    expected_outcome: str = _text("What should now be true.")
    verify_method: str = _text("verify.method ('none' when no verify spec).", isin=[*vocab.VERIFY_METHODS, "none"])
    verify: str = _json("The verify spec as written.")
    status: str = _text("Loop status (v2 'pending' is 'open').", isin=list(vocab.OPEN_LOOP_STATUSES))
    status_raw: str = _text("The format's own status word, unchanged (formats other than Session Baton).")
    created_at_raw: str = _text("created_at as written (v1 date, v2 ISO time).")
    created_by: str = _text("v2 created_by.")
    ttl_days: pl.Int64 = pa.Field(nullable=True, ge=0, description="v1 ttl_days.")
    stale_after_hours: pl.Int64 = pa.Field(nullable=True, ge=0, description="v2 stale_after_hours.")
    decision_ref: str = _text("Decision this loop belongs to.")


class FollowUps(_Item):
    """Deferred work; one row per follow-up per snapshot."""

    title: str = _text("v1 item / v2 title.")
    reason: str = _text("Why it exists.")
    defer_count: pl.Int64 = pa.Field(nullable=True, ge=0, description="v1 defer_count / v2 postponed_count.")
    priority: str = _text("v1 normal/elevated/escalated, v2 high/medium/low, Beads 0-4.", isin=list(vocab.FOLLOW_UP_PRIORITIES))
    status: str = _text("v2 status as written; 'open' for v1 items that are present; Beads' own word (open, in_progress, closed, ...).")
    status_raw: str = _text("The format's own status word, unchanged (formats other than Session Baton).")
    defer_until: str = _text("Beads defer_until as written: a later date in the next version is a deferral.")
    first_seen_raw: str = _text("v1 first_seen / v2 created_at as written.")
    last_deferred_raw: str = _text("v1 last_deferred / v2 last_postponed_at as written.")
    linked_pattern: str = _text("v1 linked_pattern.")
    blocked_by: str = _text("v2 blocked_by.")
    suggested_agent: str = _text("v2 suggested_agent.")
    created_by: str = _text("v2 created_by.")


class Patterns(_Item):
    """Experience tier: a recurring failure mode (v1 patterns, v2 anti_patterns); one row per pattern per snapshot."""

    text: str = _text("v1 what / v2 pattern.")
    count: pl.Int64 = pa.Field(nullable=True, ge=0, description="v1 count / v2 occurrences.")
    threshold: pl.Int64 = pa.Field(nullable=True, ge=0, description="v1 threshold (v2: candidate at 2 or severity high).")
    status: str = _text("v1 status; v2 derived (graduated if promoted_to_rule, candidate if occurrences>=2 or severity high).", isin=list(vocab.PATTERN_STATUSES))
    status_raw: str = _text("The format's own status word, unchanged (formats other than Session Baton).")
    rule_ref: str = _text("v1 graduated_to / v2 promoted_to_rule.")
    proposed_rule: str = _text("v1 proposed_rule.")
    category: str = _text("v2 category.", isin=list(vocab.ANTI_PATTERN_CATEGORIES))
    severity: str = _text("v2 severity.", isin=list(vocab.SEVERITIES))
    first_seen_raw: str = _text("v1 first_seen as written.")
    last_seen_raw: str = _text("v1 last_seen / v2 last_occurred_at as written.")
    last_occurred_by: str = _text("v2 last_occurred_by.")
    recent_occurrences: str = _json("v1 recent_occurrences (at most 5 kept by the writer).")
    context: str = _text("v2 context.")
    remedy: str = _text("v2 remedy.")


class Decisions(_Item):
    """Decision tier (v1 active_decisions); one row per decision per snapshot."""

    what: str = _text("The decision.")
    why: str = _text("Its rationale.")
    status: str = _text("Decision status.", isin=list(vocab.DECISION_STATUSES))
    status_raw: str = _text("The format's own status word, unchanged (formats other than Session Baton).")
    superseded_by: str = _text("Id of the decision that replaced it.")
    evidence: str = _json("Evidence list.")
    rejected: str = _json("Rejected alternatives.")
    created_at_raw: str = _text("created_at as written.")


class InfraState(_Item):
    """v2 infra_state machines and services; one row per entry per snapshot (item_id = 'machines/NAME')."""

    kind: str = _text("'machines' or 'services'.", isin=["machines", "services"])
    status: str = _text("Entry status.", isin=list(vocab.INFRA_STATUSES))
    verified_at_raw: str = _text("verified_at as written.")
    verified_by: str = _text("Who verified it.")
    stale_after_hours: pl.Int64 = pa.Field(nullable=True, ge=0, description="Staleness horizon.")
    check_command: str = _text("Command that re-verifies it (secrets redacted).")


class DiscoveryCache(_Item):
    """v2 discovery_cache entries; one row per entry per snapshot."""

    target: str = _text("What was explored.")
    discovered_at_raw: str = _text("discovered_at as written.")
    discovered_by: str = _text("Who explored it.")
    stale_after_hours: pl.Int64 = pa.Field(nullable=True, ge=0, description="Staleness horizon.")
    verified_still_valid: pl.Boolean = pa.Field(nullable=True, description="Whether it was re-verified.")
    findings: str = _json("The findings object.")


class SessionBridge(_Table):
    """v2 session_bridge.last_session; one row per snapshot that has one."""

    snapshot_id: str = _text("Snapshot it belongs to.", nullable=False, unique=True)
    namespace: str = _text("Baton namespace.", nullable=False)
    seq: pl.Int64 = pa.Field(nullable=False, ge=1, description="Snapshot's position in its namespace history.")
    bridge_session_id: str = _text("last_session.session_id.")
    session_date: str = _text("last_session.session_date.")
    summary: str = _text("last_session.summary.")
    completed: str = _json("last_session.completed.")
    in_progress: str = _json("last_session.in_progress.")
    next_action: str = _text("last_session.next_action.")
    written_by: str = _text("last_session.written_by.")
    written_at_raw: str = _text("last_session.written_at as written.")
    extra: str = _json("Fields not mapped to a column.")


class PatchProposals(_Table):
    """v2 `_patch_proposal` documents: proposed ops from agents without tools, recorded, never applied."""

    proposal_id: str = _text("Hash of the proposal document.", nullable=False)
    source_id: str = _text("Source it was read from.", nullable=False)
    namespace: str = _text("Target namespace, when known.")
    submitted_by: str = _text("Proposing agent.")
    submitted_at_raw: str = _text("submitted_at as written.")
    op_index: pl.Int64 = pa.Field(nullable=False, ge=0, description="Position of the op in `patches`.")
    op: str = _text("increment, append or update.", isin=["increment", "append", "update"])
    path: str = _text("Target path, e.g. anti_patterns.entries[id=ap-001].occurrences.")
    by: pl.Int64 = pa.Field(nullable=True, description="Increment amount.")
    value: str = _json("Value for append/update.")
    extra: str = _json("Op fields not mapped to a column.")


class PatternOccurrences(_Table):
    """Distinct pattern occurrences reconstructed across snapshots (recent_occurrences keeps only 5)."""

    namespace: str = _text("Baton namespace.", nullable=False)
    item_id: str = _text("Pattern id.", nullable=False)
    session_id: str = _text("Session the occurrence was recorded in (null when only a count increase shows it).")
    context: str = _text("Occurrence context as written.")
    first_seen_seq: pl.Int64 = pa.Field(nullable=False, ge=1, description="First snapshot showing the occurrence.")
    after_seq: pl.Int64 = pa.Field(nullable=True, ge=0, description="Last snapshot before it (the occurrence happened in between).")
    inferred: pl.Boolean = pa.Field(nullable=False, description="True when only a count increase shows it (no session/context recoverable).")


class Events(_Table):
    """Changes derived by comparing consecutive snapshots of a namespace."""

    namespace: str = _text("Baton namespace.", nullable=False)
    tier: str = _text("Item tier.", nullable=False, isin=list(vocab.TIERS))
    item_id: str = _text("Item id.", nullable=False)
    seq: pl.Int64 = pa.Field(nullable=False, ge=1, description="Snapshot in which the change is first seen.")
    session_id: str = _text("session_id of that snapshot.")
    snapshot_id: str = _text("That snapshot.", nullable=False)
    event: str = _text("Kind of change.", nullable=False, isin=list(vocab.EVENTS))
    from_value: str = _text("Old value (for disappeared: the last status seen).")
    to_value: str = _text("New value.")
    delta: pl.Int64 = pa.Field(nullable=True, description="count_changed / deferred: change of the count.")
    disposition: str = _text("disappeared: archived (after a terminal status), silent_drop, or ambiguous (no status in the format).", isin=list(vocab.DISPOSITIONS))
    left_truncated: pl.Boolean = pa.Field(nullable=False, description="created: the item was already in the namespace's first snapshot.")


class Quarantine(_Table):
    """Input that could not be stored as data, with where and why."""

    source_id: str = _text("Source it came from.", nullable=False)
    location: str = _text("File (and line) plus JSON path.", nullable=False)
    uri: str = _text("File, URL or git path.", nullable=False)
    json_path: str = _text("JSON path inside the document.")
    kind: str = _text("document (nothing stored), item (row not stored) or value (row stored, value kept raw).", nullable=False, isin=list(vocab.QUARANTINE_KINDS))
    reason: str = _text("Why.", nullable=False)
    fragment: str = _text("The offending input, truncated.")
    namespace: str = _text("Namespace, when known.")
    snapshot_id: str = _text("Snapshot the value belongs to, for value findings.")
    item_id: str = _text("Item id, when known.")
    recorded_at: UTC = pa.Field(nullable=False, description="When it was recorded.")


class NamespaceOrder(_Table):
    """How each namespace's history was put in order (shown in the import summary)."""

    namespace: str = _text("Baton namespace.", nullable=False, unique=True)
    order_rule: str = _text("Ordering rule used: lineage, observed time, claimed time or name.", nullable=False)
    snapshots: pl.Int64 = pa.Field(nullable=False, ge=0, description="Snapshots in the namespace.")
    updated_at: UTC = pa.Field(nullable=False, description="When the order was last computed.")


class Captures(_Table):
    """One row per namespace per `baton-lab capture` run (and one per failed run): what was seen, when, and
    the revision gaps (writes the capture never saw). Tokens are never recorded."""

    capture_id: str = _text("The capture run (one run may capture several namespaces).", nullable=False)
    captured_at: UTC = pa.Field(nullable=False, description="When the capture ran (UTC); the snapshot's observed_at.")
    kind: str = _text("What was read.", nullable=False, isin=["http", "sqlite", "cache"])
    target: str = _text("Server URL, SQLite file or cache directory (never a token).", nullable=False)
    namespace: str = _text("Namespace captured (null when the run failed before reading any).")
    tenant_id: str = _text("memhall tenant, for SQLite captures of a memhall store.")
    ok: pl.Boolean = pa.Field(nullable=False, description="False when the source could not be read (server down, bad token, ...).")
    error: str = _text("Why the capture failed.")
    revision: pl.Int64 = pa.Field(nullable=True, ge=0, description="memhall revision seen (null for session-baton).")
    previous_revision: pl.Int64 = pa.Field(nullable=True, ge=0, description="Revision seen by the previous capture of the namespace.")
    unseen_revisions: pl.Int64 = pa.Field(nullable=True, ge=0, description="Writes between the two captures that no capture saw (revision gap - 1).")
    new_snapshot: pl.Boolean = pa.Field(nullable=True, description="True when the content changed and a snapshot was added.")
    empty: pl.Boolean = pa.Field(nullable=True, description="True when the namespace had no baton yet.")
    session_id: str = _text("Agent session that triggered the capture (hook stdin session_id).")
    hook_event: str = _text("Hook event name (SessionEnd, Stop, ...).")
    transcript_path: str = _text("Transcript path given to the hook.")
    import_id: str = _text("The import run that stored the snapshot.")


# -- the org view (concepts.md §2c): a git repository's commits, their loops, and loops undoing each other --
ORG_KINDS = ("explicit", "identity", "line_undo")
ORG_CONTEXTS = ("self", "dependency_bump", "formatting", "other")
LOOP_RULES = ("user_mapping", "agent_account", "orchestrator_role", "co_author_trailer", "footer", "branch_name",
              "bot_account", "none")
REWORK_TRIGGERS = ("ci_status", "test_failure", "failing_check", "fix_subject", "self_undo")


class Repositories(_Table):
    """One row per imported repository: where and what was read, and the detection rules used."""

    repo: str = _text("Repository name (the directory name unless given).", nullable=False, unique=True)
    uri: str = _text("Path it was read from.", nullable=False)
    ref: str = _text("Ref whose history was read.", nullable=False)
    tip: str = _text("Commit id of the ref at import time.", nullable=False)
    commits: pl.Int64 = pa.Field(nullable=False, ge=0, description="Commits read (merges included).")
    working_hours_utc: str = _json("UTC hours holding 80% of the human writers' commits (null when fewer than 20).")
    rules: str = _json("Detection settings: identity radius, undo window, bulk limit, rework window, mapping rules.")
    imported_at: UTC = pa.Field(nullable=False, description="When it was imported (UTC).")
    import_id: str = _text("The import run.", nullable=False)


class Changes(_Table):
    """One row per commit of a repository (merge commits included, flagged) and the loop that made it."""

    repo: str = _text("Repository name.", nullable=False)
    commit: str = _text("Commit id.", nullable=False)
    parents: str = _json("Parent commit ids (JSON array; two or more for a merge).", nullable=False)
    position: pl.Int64 = pa.Field(nullable=False, ge=0, description="Position in history order (parents first).")
    is_merge: pl.Boolean = pa.Field(nullable=False, description="Two or more parents. Its lines are counted on the merged commits, so its own counts are 0.")
    is_squash: pl.Boolean = pa.Field(nullable=False, description="A squash merge: one parent, committed by GitHub, subject ending '(#N)'.")
    author: str = _text("Author name (%an).", nullable=False)
    author_email: str = _text("Author e-mail (%ae).", nullable=False)
    committer: str = _text("Committer name (%cn); often another agent or GitHub.", nullable=False)
    committer_email: str = _text("Committer e-mail (%ce).")
    authored_at: UTC = pa.Field(nullable=False, description="Author time (UTC).")
    committed_at: UTC = pa.Field(nullable=False, description="Committer time (UTC): the order delays are measured in.")
    author_utc_offset: str = _text("The author's time zone offset as recorded, e.g. +02:00.")
    subject: str = _text("First line of the message.", nullable=False)
    message: str = _text("The full message (secrets redacted).")
    trailers: str = _json("Trailer lines of the message as {key: [values]} (Co-authored-by, Executed-By, ...).")
    loop: str = _text("The loop that made it; 'unassigned' when no rule places it.", nullable=False)
    loop_rule: str = _text("The rule that placed it (see baton_lab.repos.attribution).", nullable=False, isin=list(LOOP_RULES))
    writer: str = _text("<class>:<author name> even when unassigned (tells humans apart).", nullable=False)
    agent_class: str = _text("claude, copilot, codex, gastown, bot, human, ...", nullable=False)
    agents: str = _text("Every agent the commit names, comma-separated (several for multi-agent squashes).")
    branch: str = _text("Merged branch that brought the commit in (from merge subjects).")
    session_id: str = _text("Agent session named by the message (Claude-Session:, claude.ai/code/session_, Amp-Thread-ID:).")
    session_namespace: str = _text("Baton namespace of the session that made it (the link to the loop's baton).")
    session_link: str = _text("How the session was found: trailer (session id in the message), closed_by_session (the session that closed the Beads issue the message names) or transcript (same checkout and branch, in the hours before the commit).", isin=["trailer", "closed_by_session", "transcript"])
    check_status: str = _text("failed / passed when the repository records a check: a CI-Status: trailer or a git note under refs/notes/ci, checks, ...", isin=["failed", "passed"])
    check_note: str = _text("The check note(s) as recorded (git notes).")
    files_changed: pl.Int64 = pa.Field(nullable=False, ge=0, description="Files changed (renames count once).")
    lines_added: pl.Int64 = pa.Field(nullable=False, ge=0, description="Lines added (binary files count 0).")
    lines_removed: pl.Int64 = pa.Field(nullable=False, ge=0, description="Lines removed.")
    binary_files: pl.Int64 = pa.Field(nullable=False, ge=0, description="Binary files changed.")


class ChangeFiles(_Table):
    """One row per file a commit changed (`git log --raw` with renames), with its line counts and blobs."""

    repo: str = _text("Repository name.", nullable=False)
    commit: str = _text("Commit id.", nullable=False)
    path: str = _text("Path after the change.", nullable=False)
    old_path: str = _text("Path before the change (differs for renames and copies).", nullable=False)
    status: str = _text("A, M, D, R, C or T as git reports it.", nullable=False)
    file_id: pl.Int64 = pa.Field(nullable=False, ge=0, description="The file across renames (a re-added path is a new file).")
    lines_added: pl.Int64 = pa.Field(nullable=False, ge=0, description="Lines added.")
    lines_removed: pl.Int64 = pa.Field(nullable=False, ge=0, description="Lines removed.")
    is_binary: pl.Boolean = pa.Field(nullable=False, description="git treats the file as binary.")
    old_blob: str = _text("Blob before (zeros when added).", nullable=False)
    new_blob: str = _text("Blob after (zeros when deleted).", nullable=False)


class Conflicts(_Table):
    """One change undoing another (explicit revert, identity revert or line-level undo), with its evidence."""

    repo: str = _text("Repository name.", nullable=False)
    kind: str = _text("explicit, identity or line_undo (strongest class per commit pair and path).", nullable=False, isin=list(ORG_KINDS))
    commit: str = _text("The undoing change.", nullable=False)
    loop: str = _text("Its loop.", nullable=False)
    writer: str = _text("Its writer.", nullable=False)
    undone_commit: str = _text("The undone change (null: an explicit revert whose target is not in the history).")
    undone_loop: str = _text("The undone change's loop.")
    undone_writer: str = _text("The undone change's writer.")
    path: str = _text("File (null for an explicit revert sharing no file with its target, or unresolved).")
    lines: pl.Int64 = pa.Field(nullable=True, ge=0, description="line_undo: lines undone; explicit/identity: lines the undoing change changed in the file.")
    delay_s: pl.Int64 = pa.Field(nullable=True, description="Committer-time delay from the undone change to the undoing one.")
    cross_loop: pl.Boolean = pa.Field(nullable=True, description="Different actors (loop, or writer when both are unassigned).")
    context: str = _text("self, dependency_bump, formatting or other.", nullable=False, isin=list(ORG_CONTEXTS))
    off_hours: pl.Boolean = pa.Field(nullable=True, description="Both changes outside the human writers' working hours (null: too few human commits).")
    matched_by: str = _text("sha or subject (explicit), blob (identity), line (line_undo).", nullable=False)
    share_of_undone: pl.Float64 = pa.Field(nullable=True, description="line_undo: lines undone / lines the undone change added to the file (targeted undo is near 1).")
    share_of_commit: pl.Float64 = pa.Field(nullable=True, description="line_undo: lines undone / lines the undoing change removed (a big refactor's incidental damage is small).")


class Rework(_Table):
    """A chain of one loop changing its own lines again after a failing check (see baton_lab.repos.rework)."""

    repo: str = _text("Repository name.", nullable=False)
    loop: str = _text("The loop.", nullable=False)
    first_commit: str = _text("First change of the chain.", nullable=False)
    last_commit: str = _text("Last change of the chain.", nullable=False)
    length: pl.Int64 = pa.Field(nullable=False, ge=2, description="Changes in the chain.")
    duration_s: pl.Int64 = pa.Field(nullable=False, ge=0, description="First to last committer time (time to green).")
    trigger: str = _text("Evidence of a failing check: ci_status, test_failure (a failing test run in the loop's transcript), failing_check, fix_subject or self_undo.", nullable=False, isin=list(REWORK_TRIGGERS))
    commits: str = _json("The chain's commit ids in history order.", nullable=False)


class LineFates(_Table):
    """Added lines grouped by (adding change, file, removing change): the survival of each loop's lines."""

    repo: str = _text("Repository name.", nullable=False)
    added_in: str = _text("Change that added the lines.", nullable=False)
    path: str = _text("File at the addition.", nullable=False)
    removed_in: str = _text("Change that removed them (null: still present at the tip).")
    lines: pl.Int64 = pa.Field(nullable=False, ge=1, description="Non-blank lines.")
    survival_s: pl.Int64 = pa.Field(nullable=False, description="Committer time from addition to removal, or to the tip's time when still present.")
    removed: pl.Boolean = pa.Field(nullable=False, description="False when censored at the tip.")


# Table name -> model, in creation order. Names are public API (concepts.md §2).
TABLES: dict[str, type[_Table]] = {
    "sources": Sources,
    "snapshots": Snapshots,
    "open_loops": OpenLoops,
    "follow_ups": FollowUps,
    "patterns": Patterns,
    "pattern_occurrences": PatternOccurrences,
    "decisions": Decisions,
    "events": Events,
    "quarantine": Quarantine,
    "infra_state": InfraState,
    "discovery_cache": DiscoveryCache,
    "session_bridge": SessionBridge,
    "patch_proposals": PatchProposals,
    "namespace_order": NamespaceOrder,
    "captures": Captures,
    "repositories": Repositories,
    "changes": Changes,
    "change_files": ChangeFiles,
    "conflicts": Conflicts,
    "rework": Rework,
    "line_fates": LineFates,
}

# Item tables: table -> tier name used in `events`.
ITEM_TABLES: dict[str, str] = {
    "open_loops": "open_loop",
    "follow_ups": "follow_up",
    "patterns": "pattern",
    "decisions": "decision",
    "infra_state": "infra",
    "discovery_cache": "discovery",
}
