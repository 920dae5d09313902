"""Changes linked to the session that closed the Beads issue their message names (`closed_by_session`).

A repository and the Beads trackers are built in the test; expectations are written from the scenario by hand.
The real beads history is covered in tests/test_repos.py (it shares that file's imported store).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import baton_lab as bl
from baton_lab.repos.importer import import_repository

from builders import v1
from repo_builders import CLAUDE_COAUTHOR, HOUR, T0, RepoBuilder

BOB = ("Bob Dev", "bob@example.com")


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _issue(issue_id: str, *, session: str | None = None, closed_at: int | None = None) -> dict:
    line = {"id": issue_id, "title": f"work {issue_id}", "status": "closed" if session else "open", "priority": 2,
            "issue_type": "task", "created_at": _iso(T0 - 10 * HOUR), "updated_at": _iso(T0 - 10 * HOUR)}
    if session:
        line["closed_by_session"] = session
    if closed_at is not None:
        line["closed_at"] = _iso(closed_at)
    return line


def _tracker(lab: bl.Lab, folder: Path, namespace: str, issues: list[dict]) -> None:
    folder.mkdir(parents=True)
    (folder / "issues.jsonl").write_text("".join(json.dumps(i) + "\n" for i in issues))
    lab.import_(folder / "issues.jsonl", namespace=namespace)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("issues")
    r = RepoBuilder(root / "shop")
    c = {}
    c["base"] = r.commit("initial", {"app.py": "a\n"}, when=T0)
    c["named"] = r.commit(f"fix login race (bd-a1)\n\n{CLAUDE_COAUTHOR}", {"app.py": "a\nb\n"}, author=BOB, when=T0 + HOUR)
    c["late"] = r.commit("follow-up for bd-a1", {"app.py": "a\nb\nc\n"}, author=BOB, when=T0 + 3 * 24 * HOUR)
    c["longer_id"] = r.commit("work on bd-a12 and bd-a1x", {"app.py": "a\nc\n"}, author=BOB, when=T0 + 2 * HOUR)
    c["known_session"] = r.commit("chore: close bd-b2", {"b.py": "b\n"}, author=BOB, when=T0 + 5 * HOUR)
    c["trailer_wins"] = r.commit("fix bd-a1 again\n\nClaude-Session: sess-trailer", {"c.py": "c\n"}, author=BOB,
                                 when=T0 + 2 * HOUR)
    c["no_time"] = r.commit("gt-c3.1: tidy", {"d.py": "d\n"}, author=BOB, when=T0 + 40 * 24 * HOUR)
    c["two_issues"] = r.commit("close bd-a1 and bd-b2", {"e.py": "e\n"}, author=BOB, when=T0 + 4 * HOUR)
    lab = bl.open(root / "store.duckdb")
    _tracker(lab, root / "t1", "shop-beads", [
        _issue("bd-a1", session="sess-A", closed_at=T0 + 90 * 60),
        _issue("bd-b2", session="sess-B", closed_at=T0 + 4 * HOUR + 30 * 60),
        _issue("gt-c3.1", session="sess-C"),          # no closed_at: links whatever the time
        _issue("bd-open"),
    ])
    # another project's tracker holding one of the same ids: the repository names fewer of its issues
    _tracker(lab, root / "t2", "elsewhere", [_issue("bd-b2", session="sess-X", closed_at=T0 + 5 * HOUR)])
    # sess-B also wrote a baton: the change's session namespace is that loop's, not the tracker's
    (root / "baton.json").write_text(json.dumps(v1("sess-B", updated_at=_iso(T0 + 4 * HOUR))))
    lab.import_(root / "baton.json", namespace="loop-b")
    (root / "trailer.json").write_text(json.dumps(v1("sess-trailer", updated_at=_iso(T0 + 2 * HOUR))))
    lab.import_(root / "trailer.json", namespace="loop-t")
    with lab.connect() as con:
        summary = import_repository(con, r.path)
    return {"lab": lab, "c": c, "summary": summary}


def _links(scenario: dict) -> dict[str, tuple]:
    rows = scenario["lab"].sql("SELECT commit, session_id, session_namespace, session_link FROM changes")
    by_sha = {row[0]: row[1:] for row in rows.iter_rows()}
    return {key: by_sha[sha] for key, sha in scenario["c"].items()}


def test_a_commit_naming_a_closed_issue_links_to_the_closing_session(scenario):
    links = _links(scenario)
    assert links["named"] == ("sess-A", "shop-beads", "closed_by_session")      # 30 min before the closure
    assert links["known_session"] == ("sess-B", "loop-b", "closed_by_session")  # the session's own baton namespace
    assert links["no_time"] == ("sess-C", "shop-beads", "closed_by_session")    # child id, no closed_at
    assert links["two_issues"] == ("sess-B", "loop-b", "closed_by_session")     # bd-b2 closed 30 min later, bd-a1 2.5 h before


def test_no_link_outside_the_closure_window_or_on_a_longer_id(scenario):
    links = _links(scenario)
    assert links["late"] == (None, None, None)         # 3 days after bd-a1 was closed
    assert links["longer_id"] == (None, None, None)    # bd-a12 and bd-a1x are not bd-a1
    assert links["base"] == (None, None, None)


def test_a_session_named_by_the_message_wins_over_the_issue(scenario):
    assert _links(scenario)["trailer_wins"] == ("sess-trailer", "loop-t", "trailer")


def test_the_summary_counts_issue_links(scenario):
    assert scenario["summary"].sessions_linked == 5   # named, known_session, no_time, two_issues, trailer_wins
