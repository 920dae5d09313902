"""Item identity across versions of a prose handoff, on hand-written version pairs: carry-over, small rewording,
moves between headings, ticked boxes, deletions and a heading rename — through the whole import (dated handoff
files, one per session), and the matcher alone (explainable per pair, sub-quadratic blocking)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from baton_lab.prose.identity import THRESHOLD, explain, match, normal_text
from baton_lab.store.prose_identity import resolve_chain

V1 = """# Handoff

## Next Steps
- Fix the flaky login test in CI
- Write the migration for the users table
- Update the README install section
- [ ] Benchmark the importer on the 2,000-version history
- Ask Dana about the staging credentials

## Key Decisions
- Use DuckDB for the store, not SQLite
"""

# carried over: the flaky test (unchanged) and the migration (reworded a little);
# moved: the README item moves under Done; ticked: the benchmark box; deleted: Dana;
# heading rename: "Next Steps" -> "TODO" (the items under it keep their ids); a new item appears.
V2 = """# Handoff

## TODO
- Fix the flaky login test in CI
- Write the migration for the `users` table (add the index too)
- [x] Benchmark the importer on the 2,000-version history
- Add a --dry-run flag to import

## Done
- Update the README install section

## Decisions
- Use DuckDB for the store, not SQLite
"""

V3 = """# Handoff

## TODO
- Fix the flaky login test in CI
- Add a --dry-run flag to import
"""


def _import(tmp_path: Path, versions: list[str]) -> bl.Lab:
    folder = tmp_path / "handoffs"
    folder.mkdir()
    for day, text in enumerate(versions, start=1):
        (folder / f"2026-05-0{day}-session.md").write_text(text, encoding="utf-8")
    lab = bl.open(tmp_path / "store.duckdb")
    summary = lab.import_(folder, namespace="pairs")
    assert summary.stored == len(versions) and summary.quarantined == 0
    return lab


def _chains(lab: bl.Lab) -> dict[str, list[tuple[int, str, str, int]]]:
    """item id -> [(seq, title, status, defer_count)], from the store."""
    out: dict[str, list] = {}
    for row in lab.follow_ups().sort("seq").iter_rows(named=True):
        out.setdefault(row["item_id"], []).append((row["seq"], row["title"], row["status"], row["defer_count"]))
    return out


def _chain_of(chains: dict, title_start: str) -> list:
    found = [chain for chain in chains.values() if chain[0][1].startswith(title_start)]
    assert len(found) == 1, (title_start, found)
    return found[0]


def test_version_pairs_keep_identity_and_say_what_happened(tmp_path: Path) -> None:
    lab = _import(tmp_path, [V1, V2, V3])
    chains = _chains(lab)

    # carry-over: same id in all three versions, one deferral per carry-over while open
    assert _chain_of(chains, "Fix the flaky") == [
        (1, "Fix the flaky login test in CI", "open", 0), (2, "Fix the flaky login test in CI", "open", 1),
        (3, "Fix the flaky login test in CI", "open", 2)]
    # small rewording under a renamed heading: the same item, deferred once
    migration = _chain_of(chains, "Write the migration")
    assert [(seq, status, defer) for seq, _, status, defer in migration] == [(1, "open", 0), (2, "open", 1)]
    assert migration[1][1] == "Write the migration for the users table (add the index too)"
    # moved under Done: the same item, now done (no deferral counted for the move)
    assert [(seq, status, defer) for seq, _, status, defer in _chain_of(chains, "Update the README")] == [
        (1, "open", 0), (2, "done", 0)]
    # a ticked box: the same item, done
    assert [(seq, status) for seq, _, status, _ in _chain_of(chains, "Benchmark the importer")] == [(1, "open"), (2, "done")]
    # deleted while open
    assert [seq for seq, *_ in _chain_of(chains, "Ask Dana")] == [1]
    # a new item starts its own chain and is carried over
    assert [(seq, defer) for seq, _, _, defer in _chain_of(chains, "Add a --dry-run")] == [(2, 0), (3, 1)]

    events = lab.events().filter(lab.events()["tier"] == "follow_up")
    ids = {chain[0][1].split()[0]: item_id for item_id, chain in chains.items()}
    by_item = {}
    for row in events.iter_rows(named=True):
        by_item.setdefault(row["item_id"], []).append((row["seq"], row["event"], row["disposition"], row["to_value"]))
    assert (2, "status_changed", None, "done") in by_item[ids["Update"]]
    assert (2, "status_changed", None, "done") in by_item[ids["Benchmark"]]
    # vanished while open: ambiguous (done or dropped?); vanished after done: archived
    assert (2, "disappeared", "ambiguous", None) in by_item[ids["Ask"]]
    assert (3, "disappeared", "archived", None) in by_item[ids["Update"]]
    assert (3, "disappeared", "ambiguous", None) in by_item[ids["Write"]]
    assert [e for e in by_item[ids["Fix"]] if e[1] == "deferred"] == [(2, "deferred", None, "1"), (3, "deferred", None, "2")]

    # the decision under "Key Decisions" -> "Decisions" keeps its id too
    decisions = lab.decisions()
    assert decisions["item_id"].n_unique() == 1 and decisions.height == 2
    # how each row was matched is kept (explainable), fuzzy matches with their score
    rows = lab.follow_ups().filter((lab.follow_ups()["seq"] == 2)).sort("title")
    extra = {title: json.loads(x) for title, x in zip(rows["title"], rows["extra"])}
    assert extra["Write the migration for the users table (add the index too)"]["match"]["how"] == "fuzzy"
    assert extra["Fix the flaky login test in CI"]["match"] == {"how": "exact", "score": 100.0}
    assert extra["Fix the flaky login test in CI"]["heading"] == "TODO" and extra["Fix the flaky login test in CI"]["line"] == 4


def test_reimport_is_idempotent_and_identity_is_stable(tmp_path: Path) -> None:
    lab = _import(tmp_path, [V1, V2])
    before = lab.follow_ups().select("seq", "item_id", "defer_count").sort("seq", "item_id")
    (tmp_path / "handoffs" / "2026-05-03-session.md").write_text(V3, encoding="utf-8")
    summary = lab.import_(tmp_path / "handoffs", namespace="pairs")
    assert summary.stored == 1
    after = lab.follow_ups().filter(lab.follow_ups()["seq"] <= 2).select("seq", "item_id", "defer_count").sort("seq", "item_id")
    assert after.equals(before)


def test_matcher_pairs_are_explainable() -> None:
    same = explain("Write the migration for the users table",
                   "Write the migration for the `users` table (add the index too)")
    assert same["same_item"] and same["how"] == "fuzzy" and same["score"] >= THRESHOLD
    different = explain("Fix the flaky login test in CI", "Add a --dry-run flag to import")
    assert not different["same_item"] and different["score"] < THRESHOLD
    assert explain("**Fix** the `login` test.", "fix the login test")["how"] == "exact"
    assert bl.Lab.explain_identity("Fix the login test", "Fix the login test in CI") == explain(
        "Fix the login test", "Fix the login test in CI")
    # short items need a close rewording: a two-word item is not the same as a longer one that contains it
    assert not explain("readme updated", "readme updated for the v2 release notes and the changelog")["same_item"]


def test_matcher_is_one_to_one_and_prefers_exact() -> None:
    prev = [normal_text(t) for t in ["deploy the api", "deploy the api to staging", "write docs"]]
    cur = [normal_text(t) for t in ["deploy the api to staging", "deploy the api"]]
    got = {(m.previous, m.current, m.how) for m in match(prev, cur)}
    assert got == {(1, 0, "exact"), (0, 1, "exact")}


def test_large_remainders_are_blocked_not_compared_all_pairs() -> None:
    # 3,000 reworded items on each side: every item still finds its rewording through the shared rare words
    prev = [f"investigate ticket {i} flaky widget{i} timeout" for i in range(3000)]
    cur = [f"investigate ticket {i} flaky widget{i} timeout in ci" for i in range(3000)]
    found = match([normal_text(t) for t in prev], [normal_text(t) for t in cur])
    assert sorted((m.previous, m.current) for m in found) == [(i, i) for i in range(3000)]


def test_resolve_chain_reappearance_takes_the_old_id_back() -> None:
    versions = [[("alpha task one", "open"), ("beta task two", "open")], [("beta task two", "open")],
                [("alpha task one", "open"), ("beta task two", "open")]]
    out = resolve_chain(versions, count_defers=True)
    assert out[2][0]["id"] == out[0][0]["id"] and out[2][0]["how"] == "reappeared"
    assert [v[-1]["defer"] for v in out] == [0, 1, 2]


def test_mapping_file_overrides_the_shipped_mapping(tmp_path: Path) -> None:
    folder = tmp_path / "handoffs"
    folder.mkdir()
    (folder / "2026-05-01-a.md").write_text("# H\n\n## Parking lot\n- revisit the cache design\n\n## Next Steps\n- ship it\n",
                                            encoding="utf-8")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[[tier]]\ntier = "follow_ups"\nheadings = ["parking lot"]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(folder), "-n", "m", "--db", str(tmp_path / "a.duckdb")])
    assert result.exit_code == 0, result.output
    assert "'Parking lot'" in result.output and "not mapped" in result.output
    assert bl.open(tmp_path / "a.duckdb").follow_ups()["title"].to_list() == ["ship it"]
    result = CliRunner().invoke(app, ["import", str(folder), "-n", "m", "--db", str(tmp_path / "b.duckdb"),
                                      "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    assert bl.open(tmp_path / "b.duckdb").follow_ups()["title"].to_list() == ["revisit the cache design"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[tier]]\ntier = "wishes"\nheadings = ["x"]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(folder), "-n", "m", "--db", str(tmp_path / "c.duckdb"),
                                      "--mapping", str(bad)])
    assert result.exit_code != 0 and "wishes" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("older", "newer", "same"), [
    # real consecutive-version pairs from ../shared/examples/histories (docs/prose-identity.md), verdicts by hand
    ("GitHub repo public", "GitHub repo public — decide timing before or after blog", True),
    ("npm publish 0.6.5 (`npm publish --otp` from packages/core)",
     "npm publish 0.7.0 (`cd packages/core && npm publish --access public`, 需 OTP)", True),
    ("debt #22 coefficient change (NBA cold_coef 0.5→0.92) deferred — pending council review",
     "debt #22 coefficient change (NBA cold_coef 0.5→0.92) deferred — still needs council", True),
    ("找朋友試用 ACA adapter", "找朋友試用 ACA adapter（Documents: ACA-Friend-Onboarding.md）", True),
    ("Knowledge Pipeline ACA 整合", "Knowledge Pipeline L4 route + authority registry", False),
    ("README updated", "README 兩個 repo 都更新", False),
    ("34 conformance tests", "MCP governance proxy MVP (4 tests)", False),
])
def test_matcher_on_real_pairs(older: str, newer: str, same: bool) -> None:
    assert explain(older, newer)["same_item"] is same
