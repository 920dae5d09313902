"""A Beads history replayed from git, built in code: the old file name renamed to the new one, commits in the same
second with author dates stepping backwards, a committed merge conflict, a torn last line, a 0-byte version.
Then `baton-lab import --git … -n NS` and `baton-lab report` give follow-up numbers with intervals."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from test_git_history import Repo


def _issue(i: int, status: str, **extra: object) -> dict:
    return {"id": f"bd-{i}", "title": f"task {i}", "status": status, "priority": i % 5, "issue_type": "task",
            "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-01T10:00:00Z", "created_by": "maki", **extra}


def _jsonl(issues: list[dict]) -> str:
    return "".join(json.dumps(i) + "\n" for i in issues)


def _history(root: Path, sessions: int = 24) -> tuple[Repo, list[str]]:
    """`sessions` versions: each closes one issue and opens the next; the file starts as .beads/beads.jsonl."""
    repo = Repo(root)
    shas = []
    issues = [_issue(i, "open") for i in range(1, 9)]
    for k in range(sessions):
        issues[k % len(issues)] = _issue(k % len(issues) + 1, "closed", closed_by_session=f"s{k}")
        issues.append(_issue(len(issues) + 1, "open"))
        moves = {".beads/beads.jsonl": ".beads/issues.jsonl"} if k == 3 else None
        name = ".beads/beads.jsonl" if k < 3 else ".beads/issues.jsonl"
        files = {} if moves and k == 3 else {name: _jsonl(issues)}
        if k == 3:
            repo.commit({}, "rename beads.jsonl", moves=moves)
            files = {name: _jsonl(issues)}
        # commit dates step backwards (then stay in one second): only the graph orders these versions
        repo.day = max(0, 15 - k)
        shas.append(repo.commit(files, f"bd sync {k}"))
    return repo, shas


def test_beads_git_history_follows_the_graph_and_quarantines_bad_lines(tmp_path: Path) -> None:
    repo, shas = _history(tmp_path / "repo", sessions=6)
    good = (repo.root / ".beads" / "issues.jsonl").read_text()
    lines = good.splitlines()
    conflict = "\n".join([*lines[:-1], "<<<<<<< HEAD", lines[-1], "=======", lines[-1], ">>>>>>> other"]) + "\n"
    repo.commit({".beads/issues.jsonl": conflict}, "committed conflict")
    repo.commit({".beads/issues.jsonl": good + '{"id": "bd-99", "title": "torn'}, "torn")
    repo.commit({".beads/issues.jsonl": ""}, "emptied")

    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_git(repo.root, ".beads/issues.jsonl", namespace="tracker")

    # 6 sessions, the rename commit (same content: a duplicate), conflict, torn, empty
    assert (summary.read, summary.duplicates, summary.quarantined) == (6 + 1 + 3, 1, 0)
    assert summary.partial == 2  # the conflict and the torn version imported without their bad lines
    snaps = lab.snapshots().sort("seq")
    commits = [json.loads(p)["commit"] for p in snaps["provenance"]]
    assert commits[:6] == shas  # graph order, although every commit has the same time
    assert snaps["format"].unique().to_list() == ["beads-issues"]
    assert lab.follow_ups().filter(pl.col("seq") == snaps.height).height == 0  # the 0-byte version: empty snapshot
    q = lab.quarantine()
    assert all(u.startswith("git:") for u in q["uri"])
    assert q.filter(pl.col("reason").str.starts_with("merge-conflict")).height == 3
    assert q.filter(pl.col("reason").str.starts_with("duplicate id")).height == 1
    assert q.filter(pl.col("reason").str.starts_with("truncated JSON"))["json_path"].to_list() == [f"line {len(lines) + 1}"]
    closed = lab.events().filter((pl.col("event") == "status_changed") & (pl.col("to_value") == "closed"))
    assert closed.height == 6 - 1  # the first version's closure is its creation
    gone = lab.events().filter(pl.col("event") == "disappeared")
    assert set(gone["disposition"]) == {"ambiguous"}


def test_cli_import_git_then_report_gives_followup_numbers(tmp_path: Path) -> None:
    repo, _ = _history(tmp_path / "repo", sessions=24)
    db, out = str(tmp_path / "s.duckdb"), tmp_path / "report"
    runner = CliRunner()
    result = runner.invoke(app, ["import", "--git", str(repo.root), "--path", ".beads/issues.jsonl", "-n", "tracker",
                                 "--db", db])
    assert result.exit_code == 0, result.output
    assert "beads-issues" in result.stdout or "git-history" in result.stdout
    report = runner.invoke(app, ["report", "--db", db, "--out", str(out), "--no-png"] if _has_no_png() else
                           ["report", "--db", db, "--out", str(out)])
    assert report.exit_code == 0, report.output
    md = (out / "report.md").read_text(encoding="utf-8")
    f2 = next(line for line in md.splitlines() if line.startswith("| **F2**") and "resolution median" in line)
    assert "[" in f2 and "not supported" not in f2  # a real median with its interval
    assert "Cannot be answered from this data" in md  # loops and patterns: Beads has neither


def _has_no_png() -> bool:
    result = CliRunner().invoke(app, ["report", "--help"])
    return "--no-png" in result.stdout


def test_a_lessons_only_store_says_which_questions_it_cannot_answer(tmp_path: Path) -> None:
    from baton_lab.report import answer_questions

    lab = bl.open(tmp_path / "store.duckdb")
    lab.import_(Path(__file__).parent / "golden" / "lessons-jsonl" / "last-line-wins" / "input", namespace="lessons")
    questions = answer_questions(lab.metrics(window=2))
    graduation, regressions = questions[1], questions[2]
    assert graduation.answer.startswith("Cannot be answered from this data") and "occurrences" in graduation.answer
    assert regressions.answer.startswith("Cannot be answered from this data") and "open-loop" in regressions.answer
    rows = lab.metrics(window=2).rows
    assert set(rows.filter(pl.col("metric_id") == "caught_regressions")["status"]) == {"not_supported"}
