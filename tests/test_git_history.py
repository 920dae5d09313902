"""Replaying the git history of a baton file (or directory): one snapshot per commit, incremental."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from builders import follow_up, loop, v1
from conftest import SHARED, SHARED_MISSING

HISTORIES = SHARED / "examples" / "histories"


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.day = 0

    def git(self, *args: str, date: str | None = None) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "Maki", "GIT_AUTHOR_EMAIL": "maki@example.org",
               "GIT_COMMITTER_NAME": "Maki", "GIT_COMMITTER_EMAIL": "maki@example.org"}
        if date:
            env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        return subprocess.run(["git", "-C", str(self.root), *args], env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def commit(self, files: dict[str, object], message: str, *, moves: dict[str, str] | None = None) -> str:
        for old, new in (moves or {}).items():
            (self.root / new).parent.mkdir(parents=True, exist_ok=True)
            self.git("mv", old, new)
        for name, content in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2, ensure_ascii=False),
                            encoding="utf-8")
            self.git("add", name)
        self.day += 1
        self.git("commit", "-q", "-m", message, date=f"2026-06-{10 + self.day:02d}T12:00:00+08:00")
        return self.git("rev-parse", "HEAD")


def _history(tmp_path: Path) -> tuple[Repo, list[str], list[dict]]:
    s1 = v1("s1", loops=[loop("OL-1")], follow_ups=[follow_up("FU-1")])
    s2 = v1("s2", "s1", loops=[loop("OL-1", status="verified")], follow_ups=[follow_up("FU-1", defer=1)])
    s3 = v1("s3", "s2", follow_ups=[follow_up("FU-1", defer=2)])
    s4 = v1("s4", "s3", follow_ups=[follow_up("FU-1", defer=3, priority="elevated")])
    repo = Repo(tmp_path / "repo")
    shas = [
        repo.commit({"batons/home.json": s1}, "baton: first session"),
        repo.commit({"batons/home.json": s2}, "baton: verify OL-1"),
        repo.commit({"batons/home.json": '{"schema_version": 1, "session_id": "s3", "open_loops": ['}, "baton: torn write"),
        repo.commit({"batons/home.json": s3}, "baton: fix"),
        repo.commit({}, "move the baton", moves={"batons/home.json": "state/baton.json"}),
        repo.commit({"README.md": "# unrelated\n"}, "docs"),
        repo.commit({"state/baton.json": s4}, "baton: defer again"),
    ]
    return repo, shas, [s1, s2, s3, s4]


def test_git_history_follows_renames_and_quarantines_bad_versions(lab: bl.Lab, tmp_path: Path) -> None:
    repo, shas, batons = _history(tmp_path)

    summary = lab.import_git(repo.root, "state/baton.json", namespace="home")

    # 6 commits touched the file (the docs commit did not); the pure rename repeats s3's content
    assert (summary.sources, summary.read, summary.stored, summary.duplicates, summary.quarantined) == (6, 6, 4, 1, 1)
    snaps = lab.snapshots("home")
    assert snaps["session_id"].to_list() == ["s1", "s2", "s3", "s4"]
    assert snaps["observed_kind"].unique().to_list() == ["commit"]
    assert [t.isoformat() for t in snaps["observed_at"]] == [
        "2026-06-11T04:00:00+00:00", "2026-06-12T04:00:00+00:00", "2026-06-14T04:00:00+00:00", "2026-06-17T04:00:00+00:00"]
    provenance = [json.loads(p) for p in snaps["provenance"]]
    assert [p["commit"] for p in provenance] == [shas[0], shas[1], shas[3], shas[6]]
    assert [p["path"] for p in provenance] == ["batons/home.json"] * 3 + ["state/baton.json"]
    assert provenance[0]["subject"] == "baton: first session" and provenance[0]["author"] == "Maki"
    assert json.loads(snaps["raw"][3]) == batons[3]

    bad = lab.quarantine().row(0, named=True)
    assert bad["uri"] == f"git:{shas[2]}:batons/home.json"
    assert bad["reason"].startswith("truncated JSON") and shas[2] in bad["reason"]
    assert set(lab.sources()["format"]) == {"git-history"}
    assert lab.sources().height == 6

    events = {(e["item_id"], e["event"], e["from_value"], e["to_value"]) for e in lab.events("home").iter_rows(named=True)}
    assert ("OL-1", "status_changed", "open", "verified") in events
    assert ("FU-1", "priority_changed", "normal", "elevated") in events


def test_git_history_is_incremental(lab: bl.Lab, tmp_path: Path) -> None:
    repo, shas, batons = _history(tmp_path)
    lab.import_git(repo.root, "state/baton.json", namespace="home")
    s5 = v1("s5", "s4", follow_ups=[])
    new_sha = repo.commit({"state/baton.json": s5}, "baton: FU-1 gone")

    second = lab.import_git(repo.root, "state/baton.json", namespace="home")

    assert (second.sources_unchanged, second.sources, second.read, second.stored) == (6, 1, 1, 1)
    snaps = lab.snapshots("home")
    assert snaps["session_id"].to_list() == ["s1", "s2", "s3", "s4", "s5"]
    assert json.loads(snaps["provenance"][4])["commit"] == new_sha
    gone = lab.events("home").filter(item_id="FU-1", event="disappeared")
    assert gone.select("seq", "disposition").rows() == [(5, "ambiguous")]
    third = lab.import_git(repo.root, "state/baton.json", namespace="home")
    assert (third.sources, third.read, third.sources_unchanged) == (0, 0, 7)


def test_git_history_missing_object_is_quarantined_with_the_sha(lab: bl.Lab, tmp_path: Path) -> None:
    repo, shas, _ = _history(tmp_path)
    blob = repo.git("rev-parse", f"{shas[1]}:batons/home.json")
    (repo.root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()

    summary = lab.import_git(repo.root, "state/baton.json", namespace="home")

    assert (summary.read, summary.stored, summary.quarantined) == (6, 3, 2)
    reasons = lab.quarantine()["reason"].to_list()
    assert f"git object missing for batons/home.json at commit {shas[1]}" in reasons


def test_git_history_of_a_directory_of_cache_files(lab: bl.Lab, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "dots")
    home1 = {**v1("h1", loops=[loop("OL-1")]), "_sync_status": "synced"}
    work1 = {**v1("w1", follow_ups=[follow_up("FU-9")]), "_sync_status": "pending_upload"}
    repo.commit({"batons/home.json": home1, "batons/project_alpha.json": work1, "batons/notes.txt": "hi"}, "add batons")
    repo.commit({"batons/home.json": {**v1("h2", "h1", loops=[loop("OL-1", status="failed")]), "_sync_status": "synced"}},
                "home: failed")

    summary = lab.import_git(repo.root, "batons")

    assert (summary.read, summary.stored) == (3, 3)
    assert summary.skipped_files and summary.skipped_files[0].endswith(":batons/notes.txt")
    assert sorted(summary.namespaces) == ["home", "project_alpha"]
    assert lab.snapshots("home")["session_id"].to_list() == ["h1", "h2"]
    assert lab.snapshots("home")["format"].to_list() == ["local-cache", "local-cache"]


def _clone(bundle: str, tmp_path: Path) -> Path:
    target = tmp_path / bundle.removesuffix(".bundle")
    subprocess.run(["git", "clone", "-q", str(HISTORIES / bundle), str(target)], check=True, capture_output=True)
    return target


@pytest.mark.skipif(not HISTORIES.exists(), reason=SHARED_MISSING)
def test_real_json_handoff_history_without_a_namespace(lab: bl.Lab, tmp_path: Path) -> None:
    # a JSON session handoff names no namespace (issue 12 reads it: tests/test_prose_histories.py); without
    # --namespace each version is quarantined with the hint, and the two invalid versions with their commit
    repo = _clone("Aycrith__gemDirect1__agent__.state__session-handoff.json.bundle", tmp_path)

    summary = lab.import_git(repo, "agent/.state/session-handoff.json")

    assert (summary.sources, summary.read, summary.stored, summary.quarantined) == (19, 19, 0, 19)
    reasons = lab.quarantine()["reason"].to_list()
    assert sum(r.startswith("no namespace") for r in reasons) == 17
    invalid = [r for r in reasons if r.startswith("invalid JSON") or r.startswith("truncated JSON")]
    assert len(invalid) == 2 and all("(commit " in r for r in invalid)
    assert all(uri.startswith("git:") for uri in lab.quarantine()["uri"])


@pytest.mark.skipif(not HISTORIES.exists(), reason=SHARED_MISSING)
@pytest.mark.parametrize(("bundle", "path", "versions"), [
    ("Anguijm__sportsdata__SESSION_HANDOFF.md.bundle", "SESSION_HANDOFF.md", 9),
])
def test_real_non_json_histories_report_each_version(lab: bl.Lab, tmp_path: Path, bundle: str, path: str, versions: int) -> None:
    # markdown handoffs are read since issue 12, and name no namespace: without --namespace every version is
    # reported with the hint (with one, tests/test_prose_histories.py)
    repo = _clone(bundle, tmp_path)
    summary = lab.import_git(repo, path)
    assert (summary.read, summary.stored, summary.quarantined) == (versions, 0, versions)
    assert all(r.startswith("no namespace") for r in lab.quarantine()["reason"])
    assert lab.quarantine()["uri"].n_unique() == versions


def test_cli_import_git(tmp_path: Path) -> None:
    repo, shas, _ = _history(tmp_path)
    runner = CliRunner()
    db = str(tmp_path / "cli.duckdb")
    result = runner.invoke(app, ["import", "--git", str(repo.root), "--path", "state/baton.json", "-n", "home", "--db", db,
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stored"] == 4
    missing = runner.invoke(app, ["import", "--git", str(repo.root), "--path", "nope.json", "--db", db])
    assert missing.exit_code == 1 and "nope.json has no history" in missing.stderr
    both = runner.invoke(app, ["import", str(tmp_path), "--git", str(repo.root), "--path", "x", "--db", db])
    assert both.exit_code == 1 and both.stderr.startswith("error:") and "--git REPO --path FILE" in both.stderr  # usage mistake
    not_repo = runner.invoke(app, ["import", "--git", str(tmp_path / "nowhere"), "--path", "x", "--db", db])
    assert not_repo.exit_code == 1 and "no such repository" in not_repo.stderr
