"""Rework triggered by failing test runs in transcripts: the follow-up commits that touch the failure's files.

Repository, Claude Code transcript and Codex rollout are built in the test; the expected chains are written by hand
from the scenario's timeline (every follow-up commit only adds lines, so no self-undo chain exists without the
transcripts: the chains below come from the test failures alone).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

import baton_lab as bl
from baton_lab.repos import test_failures
from baton_lab.repos.importer import import_repository

from repo_builders import CLAUDE_COAUTHOR, HOUR, T0, RepoBuilder
from transcript_builders import ClaudeTranscript, CodexRollout

BOB = ("Bob Dev", "bob@example.com")
CODEX = ("chatgpt-codex-connector[bot]", "199175422+chatgpt-codex-connector[bot]@users.noreply.github.com")
COPILOT = ("Copilot", "175728472+Copilot@users.noreply.github.com")
MIN = 60


def _stamp(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M")


def _claude_session(path, cwd: str, start: int):
    """Edit cart.py, run pytest (1 failed) at start+10', rerun it green at start+40'."""
    t = ClaudeTranscript(session="sess-claude", cwd=cwd, start=_stamp(start))
    t.tool_use("toolu_e", "Edit", {"file_path": f"{cwd}/cart.py", "old_string": "a", "new_string": "b"})
    t.tool_result("toolu_e", "edited", bash=False)
    t.start, t.minute = _stamp(start + 10 * MIN), 0   # the builder's stamps are start + seconds
    t.bash("toolu_1", "cd /home/dev/shop && python -m pytest -q", "tests/test_cart.py::test_total FAILED\n1 failed, 3 passed",
           is_error=True)
    t.start, t.minute = _stamp(start + 40 * MIN), 0
    t.bash("toolu_2", "cd /home/dev/shop && python -m pytest -q", "4 passed in 0.12s")
    return t.write(path)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("tf")
    r = RepoBuilder(root / "shop")
    claude = {"author": BOB}
    c = {}
    c["base"] = r.commit("initial", {"README.md": "shop\n"}, when=T0)
    c["under_test"] = r.commit(f"add cart\n\n{CLAUDE_COAUTHOR}", {"cart.py": "a\n", "tests/test_cart.py": "t1\n"},
                               **claude, when=T0 + HOUR)
    c["fix_1"] = r.commit(f"adjust totals\n\n{CLAUDE_COAUTHOR}", {"cart.py": "a\nb\n"}, **claude, when=T0 + HOUR + 20 * MIN)
    c["copilot"] = r.commit("tweak", {"cart.py": "a\nb\nc\n"}, author=COPILOT, when=T0 + HOUR + 25 * MIN)
    c["docs"] = r.commit(f"docs\n\n{CLAUDE_COAUTHOR}", {"docs.md": "d\n"}, **claude, when=T0 + HOUR + 30 * MIN)
    c["fix_2"] = r.commit(f"test data\n\n{CLAUDE_COAUTHOR}", {"tests/test_cart.py": "t1\nt2\n"}, **claude,
                          when=T0 + HOUR + 35 * MIN)
    c["after_green"] = r.commit(f"tidy\n\n{CLAUDE_COAUTHOR}", {"cart.py": "a\nb\nc\nd\n"}, **claude,
                                when=T0 + HOUR + 50 * MIN)                # green at 1:40, within 1 h after
    c["later"] = r.commit(f"more\n\n{CLAUDE_COAUTHOR}", {"cart.py": "a\nb\nc\nd\ne\n"}, **claude, when=T0 + 3 * HOUR)
    c["pay"] = r.commit("add pay", {"pay/pay.go": "p\n", "pay/pay_test.go": "q\n"}, author=CODEX, when=T0 + 5 * HOUR)
    c["pay_fix"] = r.commit("fix pay", {"pay/pay_test.go": "q\nr\n"}, author=CODEX, when=T0 + 5 * HOUR + 20 * MIN)
    c["pay_late"] = r.commit("pay docs", {"pay/pay_test.go": "q\nr\ns\n"}, author=CODEX, when=T0 + 12 * HOUR)
    transcripts = root / "transcripts"
    _claude_session(transcripts / "claude.jsonl", "/home/dev/shop", T0 + HOUR)
    _claude_session(transcripts / "elsewhere.jsonl", "/home/dev/other", T0 + HOUR)   # another checkout
    rollout = CodexRollout(cwd="/home/dev/shop")
    rollout.lines[0]["timestamp"] = rollout.lines[0]["payload"]["timestamp"] = _stamp(T0 + 5 * HOUR) + ":00.000Z"
    rollout.item({"type": "function_call", "name": "shell", "call_id": "call_1",
                  "arguments": json.dumps({"command": ["bash", "-lc", "go test ./..."]})})
    rollout.item({"type": "function_call_output", "call_id": "call_1",
                  "output": json.dumps({"output": "--- FAIL: TestPay (0.00s)\n    pay/pay_test.go:12: want 2",
                                        "metadata": {"exit_code": 1}})})
    for line in rollout.lines[2:]:
        line["timestamp"] = _stamp(T0 + 5 * HOUR + 10 * MIN) + ":00.000Z"
    rollout.write(transcripts / "rollout.jsonl")
    lab = bl.open(root / "store.duckdb")
    lab.import_transcripts(transcripts)      # the store knows the transcripts: the repository import reads them
    with lab.connect() as con:
        import_repository(con, r.path)
    return {"lab": lab, "c": c, "transcripts": transcripts}


def test_test_runs_are_read_with_their_outcome_and_files(scenario):
    runs = test_failures.read_runs(scenario["transcripts"] / "claude.jsonl")
    assert [(r.failed, r.session_id, r.tool) for r in runs] == [(True, "sess-claude", "claude"), (False, "sess-claude", "claude")]
    assert runs[0].files == {"cart.py", "tests/test_cart.py"} and runs[1].files == set()
    assert (runs[1].at - runs[0].at).total_seconds() == 30 * 60
    codex = test_failures.read_runs(scenario["transcripts"] / "rollout.jsonl")
    assert [(r.failed, r.tool, r.files) for r in codex] == [(True, "codex", {"pay/pay_test.go"})]


def test_follow_up_commits_after_a_failing_run_are_rework(scenario):
    lab, c = scenario["lab"], scenario["c"]
    rows = {row["first_commit"]: row for row in lab.table("rework").iter_rows(named=True)}
    claude = rows[c["under_test"]]
    assert json.loads(claude["commits"]) == [c["under_test"], c["fix_1"], c["fix_2"], c["after_green"]]
    assert (claude["loop"], claude["trigger"], claude["length"], claude["duration_s"]) == (
        "claude:bobdev", "test_failure", 4, 50 * 60)
    codex = rows[c["pay"]]   # no green run: follow-ups within 6 h of the failure
    assert json.loads(codex["commits"]) == [c["pay"], c["pay_fix"]] and codex["trigger"] == "test_failure"
    assert len(rows) == 2


@pytest.mark.parametrize("words,failed", [
    ("1 failed, 3 passed", True), ("FAILED tests/test_a.py::test_b", True), ("--- FAIL: TestX", True),
    ("Tests:       2 failed, 10 passed", True), ("test result: FAILED. 3 passed; 1 failed", True), ("2/8 FAIL", True),
    ("4 passed in 0.12s", False), ("0 failed, 5 passed", False), ("ok  \tshop/pay\t0.01s", False),
    ("0 failed, 1 error", True),
])
def test_failure_wording(words: str, failed: bool) -> None:
    assert test_failures._failed(words, False) is failed


def test_test_failure_chains_fold_into_the_self_undo_chains_they_share_a_commit_with() -> None:
    schema = {"loop": pl.String, "first_commit": pl.String, "last_commit": pl.String, "length": pl.Int64,
              "duration_s": pl.Int64, "trigger": pl.String, "commits": pl.List(pl.String)}

    def chain(loop: str, commits: list[str], trigger: str) -> dict:
        return {"loop": loop, "first_commit": commits[0], "last_commit": commits[-1], "length": len(commits),
                "duration_s": 0, "trigger": trigger, "commits": commits}

    existing = pl.DataFrame([chain("L", ["a", "b"], "self_undo"), chain("L", ["e", "f"], "ci_status"),
                             chain("M", ["x", "y"], "fix_subject")], schema=schema)
    triggered = pl.DataFrame([chain("L", ["b", "c"], "test_failure"), chain("L", ["f", "g"], "test_failure")], schema=schema)
    order = {c: i for i, c in enumerate("abcdefgxy")}
    times = {c: 60 * i for i, c in enumerate("abcdefgxy")}
    merged = {tuple(r["commits"]): (r["trigger"], r["length"], r["duration_s"])
              for r in test_failures.merge(existing, triggered, order, times).iter_rows(named=True)}
    assert merged == {("a", "b", "c"): ("test_failure", 3, 120), ("e", "f", "g"): ("ci_status", 3, 120),
                      ("x", "y"): ("fix_subject", 2, 0)}

