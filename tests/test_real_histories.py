"""The real histories in ../shared/examples/histories/ replayed from git: the test derives what the store must
hold from the raw JSON lines of every version with plain `json` and `git`, never with baton_lab's readers."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

import baton_lab as bl
from conftest import shared_path

BEADS = ("Nathandela__compound-agent__.beads__issues.jsonl.bundle", ".beads/issues.jsonl")
LESSONS = ("Nathandela__compound-agent__.claude__lessons__index.jsonl.bundle", ".claude/lessons/index.jsonl")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _versions(tmp_path: Path, bundle: str, path: str) -> tuple[Path, list[list[dict]], int]:
    """Clone the bundle; every version of `path`, parents first, as its list of parsed JSON-object lines."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(shared_path("examples", "histories", bundle)), str(repo)], check=True,
                   capture_output=True)
    out = []
    for line in _git(repo, "log", "--topo-order", "--reverse", "--follow", "--name-only", "--format=@%H", "--", path).split("@")[1:]:
        commit, *names = [x for x in line.splitlines() if x.strip()]
        blob = subprocess.run(["git", "-C", str(repo), "show", f"{commit}:{names[-1]}"], check=True,
                              capture_output=True).stdout.decode("utf-8")
        rows = []
        for text in blob.splitlines():
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, dict):
                rows.append(value)
        out.append((blob, rows))
    distinct, seen = [], set()
    for blob, rows in out:
        key = json.dumps(rows, sort_keys=True)
        if key not in seen:  # the store keeps one snapshot per distinct content
            seen.add(key)
            distinct.append(rows)
    return repo, distinct, len(out)


def _transitions(states: list[dict[str, str]]) -> Counter:
    """(old, new) status pairs: an item's status compared with the last status it had, version by version."""
    last: dict[str, str] = {}
    pairs: Counter = Counter()
    for state in states:
        for item_id, status in state.items():
            if item_id in last and last[item_id] != status:
                pairs[(last[item_id], status)] += 1
            last[item_id] = status
    return pairs


def _first_per_id(rows: list[dict], status) -> dict[str, str]:  # noqa: ANN001
    state: dict[str, str] = {}
    for row in rows:
        state.setdefault(row["id"], status(row))
    return state


def _last_per_id(rows: list[dict], status) -> dict[str, str]:  # noqa: ANN001
    state: dict[str, str] = {}
    for row in rows:
        state.pop(row["id"], None)
        state[row["id"]] = status(row)
    return state


def _store_transitions(lab: bl.Lab, tier: str) -> Counter:
    changed = lab.events().filter((pl.col("tier") == tier) & (pl.col("event") == "status_changed"))
    return Counter(zip(changed["from_value"], changed["to_value"]))


def test_beads_history_of_239_versions(tmp_path: Path) -> None:
    repo, versions, commits = _versions(tmp_path, *BEADS)
    assert commits == 239
    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_git(repo, BEADS[1], namespace="compound-agent")

    issues = [[r for r in rows if "status" in r and r.get("issue_type") != "decision"] for rows in versions]
    states = [_first_per_id(rows, lambda r: r["status"]) for rows in issues]
    assert summary.read == 239 and summary.stored == len(versions) == lab.snapshots().height
    # no secret in this history: the old pattern set redacted 168 strings here ("Tier 1 (30+ days): Basic
    # summarization" read as Basic credentials); every one was a false positive
    assert summary.redactions == 0
    last = lab.follow_ups().filter(pl.col("seq") == pl.col("seq").max())
    assert last.height == len(states[-1])
    assert dict(zip(last["item_id"], last["status"])) == states[-1]
    want = _transitions(states)
    got = _store_transitions(lab, "follow_up")
    for pair in [("open", "closed"), ("in_progress", "closed"), ("closed", "open")]:
        assert got[pair] == want[pair], pair
    assert got == want
    assert want[("open", "closed")] > 50  # the history is real work, not a handful of edits
    # An export cannot express deletion: every disappearance is ambiguous, and returns are reappearances.
    gone = lab.events().filter(pl.col("event") == "disappeared")
    assert gone.height > 0 and set(gone["disposition"]) == {"ambiguous"}
    counts = [len(s) for s in states]
    drops = sum(1 for a, b in zip(counts, counts[1:]) if b < a / 2)
    assert drops >= 1 and lab.events().filter(pl.col("event") == "reappeared").height > 0


def test_lessons_history_of_48_versions(tmp_path: Path) -> None:
    repo, versions, commits = _versions(tmp_path, *LESSONS)
    assert commits == 48
    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_git(repo, LESSONS[1], namespace="lessons")

    status = lambda r: "dismissed" if r.get("invalidatedAt") or r.get("deleted") else "observing"  # noqa: E731
    states = [_last_per_id([r for r in rows if isinstance(r.get("id"), str)], status) for rows in versions]
    assert summary.stored == len(versions) == lab.snapshots().height and summary.redactions == 0
    last = lab.patterns().filter(pl.col("seq") == pl.col("seq").max())
    assert dict(zip(last["item_id"], last["status"])) == states[-1]
    assert _store_transitions(lab, "pattern") == _transitions(states)
    # the 86 -> 63 line rewrite dropped ids: each is a disappearance the format cannot explain
    sizes = [len(s) for s in states]
    assert any(b < a for a, b in zip(sizes, sizes[1:]))
    gone = lab.events().filter((pl.col("event") == "disappeared"))
    assert gone.height > 0 and set(gone["disposition"]) == {"ambiguous"}
    confirmed = lab.patterns().filter(pl.col("source_tier") == "human_confirmed")["item_id"].unique().to_list()
    raw_confirmed = {r["id"] for rows in versions for r in rows if r.get("confirmed") is True}
    assert set(confirmed) == raw_confirmed
