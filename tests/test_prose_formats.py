"""Prose formats beyond the handoff: an ADR's status edits over its git history, a decision log's inferred
reversal, dated session logs carrying next steps over, and detection by name and content."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import baton_lab as bl
from baton_lab.importers import sniff_whole_file

ADR_V1 = """# 3. Use PostgreSQL for the event store

* Status: accepted
* Date: 2026-01-10

## Context and Problem Statement

We need durable events.

## Considered Options

* PostgreSQL
* Kafka

## Decision Outcome

Chosen option: "PostgreSQL", because we already run it.
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin", "HOME": str(repo)})


def test_adr_status_edits_over_its_git_history(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs" / "adr").mkdir(parents=True)
    _git(repo, "init", "-q")
    adr = repo / "docs" / "adr" / "0003-use-postgresql.md"
    adr.write_text(ADR_V1, encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "ADR 3 accepted")
    adr.write_text(ADR_V1.replace("* Status: accepted", "* Status: superseded by [ADR-0007](0007-kafka.md)"), encoding="utf-8")
    _git(repo, "commit", "-qam", "ADR 3 superseded")
    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_git(repo, "docs/adr", namespace="adrs")
    assert summary.stored == 2 and summary.quarantined == 0
    rows = lab.decisions().sort("seq").select("item_id", "status", "superseded_by", "rejected").rows()
    assert rows == [("ADR-0003", "active", None, '["Kafka"]'), ("ADR-0003", "superseded", "ADR-0007", '["Kafka"]')]
    events = lab.events().sort("seq").select("event", "from_value", "to_value").rows()
    assert events == [("created", None, "active"), ("status_changed", "active", "superseded")]


def test_decision_log_reversal_points_at_the_revert() -> None:
    golden = Path(__file__).parent / "golden" / "decision-log" / "real-resonance" / "input"
    import tempfile

    lab = bl.open(Path(tempfile.mkdtemp()) / "s.duckdb")
    lab.import_(golden, namespace="res")
    by_what = {r["what"]: r for r in lab.decisions().iter_rows(named=True)}
    revert = by_what["Revert Job ID Type from UUID to String with Validation"]
    assert by_what["Job ID Type Change from String to UUID"]["superseded_by"] == revert["item_id"]
    assert "MongoDB" in (revert["why"] or "")


def test_dated_session_logs_carry_next_steps_over(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    folder.mkdir()
    base = {"schemaVersion": "1.0", "protocolCompliance": {"sessionStart": {
        "handoffRead": {"level": "MUST", "complete": True, "evidence": "read HANDOFF.md"}}}, "workLog": []}
    steps = [["Fix the login flake", "Write the migration"], ["Fix the login flake (still failing on CI)"]]
    for n, s in enumerate(steps, start=1):
        doc = {**base, "session": {"number": n, "date": f"2026-08-0{n}", "objective": "x"}, "nextSteps": s}
        (folder / f"2026-08-0{n}-session-{n}.json").write_text(json.dumps(doc), encoding="utf-8")
    lab = bl.open(tmp_path / "store.duckdb")
    assert lab.import_(folder, namespace="agents").stored == 2
    follow = lab.follow_ups().sort("seq")
    flake = follow.filter(follow["title"].str.starts_with("Fix the login flake"))
    assert flake["item_id"].n_unique() == 1 and flake["defer_count"].to_list() == [0, 1]
    assert lab.snapshots().sort("seq")["session_id"].to_list() == ["1", "2"]
    assert set(lab.open_loops()["status"]) == {"verified"}


def test_detection_by_name_and_content() -> None:
    md = b"# Notes\n\n## Next Steps\n- a\n"
    cases = {
        "repo/SESSION_HANDOFF.md": "handoff-markdown", "x/.claude/handoffs/2026-05-01-topic.md": "handoff-markdown",
        "p/.planning/STATE.md": "gsd-state", "p/.planning/.continue-here.md": "gsd-state",
        "learnings.md": "lessons-markdown", "memory-bank/decisionLog.md": "decision-log",
        "docs/adr/0001-use-x.md": "adr", "m/pr-review-observations.md": "serena-observations",
    }
    for name, expected in cases.items():
        fmt = sniff_whole_file(md, name)
        assert fmt is not None and fmt.name == expected, name
    assert sniff_whole_file(md, "README.md") is None           # a markdown file no prose format claims
    assert sniff_whole_file(b'{"a": 1}', "HANDOFF.md") is None  # JSON named like a handoff is not markdown


def test_a_huge_handoff_replaced_by_a_short_notice(tmp_path: Path) -> None:
    folder = tmp_path / "handoffs"
    folder.mkdir()
    big = "# Handoff\n\n## Next Steps\n" + "".join(f"- follow up on module {i} and its flaky test {i * 7}\n"
                                                   for i in range(2500))
    assert len(big.encode()) > 100_000
    (folder / "2026-05-01-big.md").write_text(big, encoding="utf-8")
    (folder / "2026-05-02-moved.md").write_text("# Handoff\n\nThis file is frozen; see docs/handoff/.\n", encoding="utf-8")
    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_(folder, namespace="frozen")
    assert summary.stored == 2 and summary.quarantined == 0
    events = lab.events()
    gone = events.filter(events["event"] == "disappeared")
    assert gone.height == 2500 and set(gone["disposition"]) == {"ambiguous"} and set(gone["seq"]) == {2}


def test_secrets_in_a_handoff_are_redacted_before_storing(tmp_path: Path) -> None:
    folder = tmp_path / "handoffs"
    folder.mkdir()
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    (folder / "2026-05-01-creds.md").write_text(f"# Handoff\n\n## Next Steps\n- rotate the token {token} today\n",
                                                encoding="utf-8")
    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_(folder, namespace="s")
    assert summary.redactions >= 1
    title = lab.follow_ups()["title"].item()
    assert token not in title and "[REDACTED:" in title
    assert token not in lab.snapshots()["raw"].item()


def test_gsd_continue_here_sections_from_the_xml_ish_blocks() -> None:
    import re

    from conftest import shared_path

    from baton_lab.importers.base import Record, SourceInfo
    from baton_lab.importers.gsd_state import read

    path = shared_path("examples", "files", "gsd-planning", "Enriquefft__post-shit-now__.planning__.continue-here.md")
    text = path.read_text(encoding="utf-8")

    def block(tag: str) -> list[str]:   # the raw lines between <tag> and </tag>
        return text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0].splitlines()

    obs = read(None, Record(SourceInfo(".planning/.continue-here.md", "", None, "x"), None, text))
    tiers = {s.table: s.entries for s in obs.sections}
    decided = [line for line in block("decisions_made") if line.startswith("- ")]
    remaining = [line for line in block("remaining_work") if re.match(r"\d+\. ", line)]
    assert [d["text"][:20] for d in tiers["decisions"] if d.get("heading") == "decisions made"] == [
        re.sub(r"[*`]", "", d[2:])[:20] for d in decided]
    open_items = [f for f in tiers["follow_ups"] if f["status"] == "open"]
    assert len(open_items) == len(remaining) + 1          # + the <next_action> paragraph
    assert open_items[-1]["heading"] == "next action" and open_items[-1]["text"].startswith("Resume with")
    assert not [f for f in tiers["follow_ups"] if f["status"] == "blocked"]   # "<blockers> None. …" is no item
    assert obs.written_at_raw == "2026-02-27T13:55:14.724Z" and obs.extra["status"] == "in_progress"
