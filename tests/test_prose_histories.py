"""The real prose histories in ../shared/examples/histories/ replayed from git. What the store must hold is derived
here from the raw text of every version with plain line scanning and `git`, never with baton_lab's readers:
STATE.md's decision bullets per version, SESSION_HANDOFF.md's "Key decisions" bullets, NEXT_SESSION.md's next-session
table rows; and `baton-lab report` renders on them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from conftest import shared_path

STATE = ("Enriquefft__post-shit-now__.planning__STATE.md.bundle", ".planning/STATE.md")
HANDOFF = ("Anguijm__sportsdata__SESSION_HANDOFF.md.bundle", "SESSION_HANDOFF.md")
NEXT = ("MakiDevelop__agent-memory-hall__NEXT_SESSION.md.bundle", "NEXT_SESSION.md")
LEARNINGS = ("Anguijm__sportsdata__learnings.md.bundle", "learnings.md")
JSON_HANDOFF = ("Aycrith__gemDirect1__agent__.state__session-handoff.json.bundle", "agent/.state/session-handoff.json")


def _clone(tmp: Path, bundle: str) -> Path:
    repo = tmp / bundle.removesuffix(".bundle")
    subprocess.run(["git", "clone", "-q", str(shared_path("examples", "histories", bundle)), str(repo)], check=True,
                   capture_output=True)
    return repo


def _versions(repo: Path, path: str) -> list[str]:
    """Every version's text, parents first (the order the store must give them)."""
    commits = subprocess.run(["git", "-C", str(repo), "log", "--topo-order", "--reverse", "--format=%H", "--", path],
                             check=True, capture_output=True, text=True).stdout.split()
    return [subprocess.run(["git", "-C", str(repo), "show", f"{c}:{path}"], check=True, capture_output=True).stdout
            .decode("utf-8") for c in commits]


def _per_seq(frame, heading: str | None = None) -> dict[int, int]:  # noqa: ANN001
    import json

    out: dict[int, int] = {}
    for seq, extra in zip(frame["seq"], frame["extra"]):
        if heading is None or json.loads(extra).get("heading") == heading:
            out[seq] = out.get(seq, 0) + 1
    return out


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> tuple[bl.Lab, dict[str, list[str]]]:
    tmp = tmp_path_factory.mktemp("prose")
    lab = bl.open(tmp / "store.duckdb")
    texts = {}
    for namespace, (bundle, path) in {"gsd": STATE, "handoff": HANDOFF, "next": NEXT, "learn": LEARNINGS,
                                      "gem": JSON_HANDOFF}.items():
        repo = _clone(tmp, bundle)
        summary = lab.import_git(repo, path, namespace=namespace)
        texts[namespace] = _versions(repo, path)
        if namespace != "gem":
            assert summary.quarantined == 0 and summary.stored == len(set(texts[namespace]))
    return lab, texts


def test_state_md_decision_bullets_per_version(histories) -> None:  # noqa: ANN001
    lab, texts = histories
    expected = {}
    for seq, text in enumerate(texts["gsd"], start=1):
        inside, n = False, 0
        for line in text.splitlines():
            if line.startswith("#"):
                inside = "decisions" in line.lower()
            elif inside and re.match(r"[-*] ", line) and line[2:].strip().lower().rstrip(".") not in ("none", "none yet"):
                n += 1
        if n:
            expected[seq] = n
    assert len(texts["gsd"]) == 143
    decisions = lab.decisions(namespace="gsd")
    assert _per_seq(decisions) == expected
    assert max(expected.values()) >= 200 and min(expected.values()) <= 10   # grows to 200+, then reset
    # the [NN-MM] plan tag is kept, and a decision carried over keeps its id (most rows match exactly)
    tags = [t for t in decisions["extra"] if '"plan":' in t]
    assert len(tags) >= 0.9 * decisions.height
    assert decisions["item_id"].n_unique() < decisions.height / 10
    # disappearance is never supersession: GSD moves decisions to PROJECT.md
    events = lab.events(namespace="gsd")
    gone = events.filter((events["tier"] == "decision") & (events["event"] == "disappeared"))
    assert gone.height > 0 and set(gone["disposition"]) == {"ambiguous"}


def test_state_md_front_matter_appears_late(histories) -> None:  # noqa: ANN001
    lab, texts = histories
    first_with = next(i for i, text in enumerate(texts["gsd"], start=1) if text.startswith("---\n"))
    assert first_with > 1
    snaps = lab.snapshots(namespace="gsd").sort("seq")
    claimed = snaps["written_at_raw"].to_list()
    assert all(c is None for c in claimed[:first_with - 1]) and claimed[first_with - 1] is not None


def test_session_handoff_key_decisions_per_version(histories) -> None:  # noqa: ANN001
    lab, texts = histories
    expected = {}
    for seq, text in enumerate(texts["handoff"], start=1):
        n, inside = 0, False
        for line in text.splitlines():
            if line.strip().lower().startswith("**key decisions"):
                inside = True
            elif inside and line.startswith("- "):
                n += 1
            elif inside and not line.strip().startswith("-") and line.strip():
                inside = False
        if n:
            expected[seq] = n
    assert len(texts["handoff"]) == 9 and expected
    assert _per_seq(lab.decisions(namespace="handoff")) == expected


def test_next_session_table_rows_are_follow_ups_with_priority(histories) -> None:  # noqa: ANN001
    lab, texts = histories
    expected = {}
    for seq, text in enumerate(texts["next"], start=1):
        inside, rows = False, 0
        for line in text.splitlines():
            if line.startswith("## "):
                inside = line.strip() == "## Next Session"
            elif inside and line.startswith("|") and not re.match(r"^\|[\s:|-]+\|$", line.strip()):
                rows += 1
        if rows:
            expected[seq] = rows - 1  # the header row
    assert len(texts["next"]) == 12 and expected
    follow = lab.follow_ups(namespace="next")
    assert _per_seq(follow, "Next Session") == expected
    assert {"high", "medium", "low"} <= set(follow["priority"].drop_nulls())


def test_report_renders_on_the_prose_histories(histories, tmp_path: Path) -> None:  # noqa: ANN001
    lab, _ = histories
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--db", str(lab.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = (out / "index.html").read_text(encoding="utf-8")
    for namespace in ("gsd", "handoff", "next", "learn", "gem"):
        assert namespace in html
    # per-format confidence: items followed across versions, near-threshold matches, metrics supported
    assert "Prose handoffs: items followed across versions" in html
    import polars as pl

    prose = pl.read_csv(out / "tables" / "prose_identity.csv")
    gsd = prose.filter((pl.col("namespace") == "gsd") & (pl.col("tier") == "decisions")).row(0, named=True)
    decisions = lab.decisions(namespace="gsd")
    assert gsd["item_rows"] == decisions.height and gsd["versions"] == decisions["seq"].n_unique()
    assert gsd["carried_over"] + gsd["reappeared"] + gsd["first_seen"] == gsd["item_rows"]
    assert gsd["first_seen"] == decisions["item_id"].n_unique() and "decisions" in gsd["metrics_supported"]


def test_learnings_md_session_bullets_and_principles_per_version(histories) -> None:  # noqa: ANN001
    lab, texts = histories
    expected, principles = {}, {}
    for seq, text in enumerate(texts["learn"], start=1):
        section, session, n, p = "", False, 0, 0
        for line in text.splitlines():
            if line.startswith("## "):
                section, session = line[3:].strip().lower(), False
            elif line.startswith("### "):
                session = section.startswith("per-session")
            elif re.match(r"(- |\d+\. )", line) and section == "accumulated principles":
                p += 1
            elif re.match(r"(- |\d+\. )", line) and session:   # bulleted and numbered items
                n += 1
        expected[seq], principles[seq] = n + p, p
    assert len(texts["learn"]) == 28
    patterns = lab.patterns(namespace="learn")
    assert _per_seq(patterns) == expected
    graduated = patterns.filter(patterns["status_raw"] == "principle")
    assert _per_seq(graduated) == {seq: n for seq, n in principles.items() if n}
    # tagged bullets keep their tag; the same bullet in every later version keeps its id
    assert {"keep", "improve", "insight"} <= set(patterns["status_raw"].drop_nulls())
    first = patterns.filter(patterns["seq"] == 1)["item_id"].to_list()
    last = set(patterns.filter(patterns["seq"] == 28)["item_id"])
    assert sum(item in last for item in first) >= 0.8 * len(first)


def test_json_handoff_items_and_the_two_invalid_versions(histories) -> None:  # noqa: ANN001
    import json

    lab, texts = histories
    expected_follow, expected_decisions, invalid = {}, {}, 0
    seq = 0
    seen = set()
    for text in texts["gem"]:
        try:
            doc = json.loads(text)
        except ValueError:
            invalid += 1
            continue
        key = json.dumps(doc, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        seq += 1
        steps = [s for s in doc.get("nextSteps") or [] if isinstance(s, str) and s.strip()]
        blockers = [b for b in doc.get("blockers") or [] if b]
        if steps or blockers:
            expected_follow[seq] = len(steps) + len(blockers)
        if doc.get("decisions"):
            expected_decisions[seq] = len(doc["decisions"])
    assert len(texts["gem"]) == 19 and invalid == 2
    assert _per_seq(lab.follow_ups(namespace="gem")) == expected_follow
    assert _per_seq(lab.decisions(namespace="gem")) == expected_decisions
    quarantined = lab.quarantine()
    reasons = [r for r in quarantined["reason"] if "extra data" in r]
    assert len(reasons) == 2 and all("commit " in r for r in reasons)
    snaps = lab.snapshots(namespace="gem")
    assert snaps["writer"].n_unique() >= 4   # several agents write one file
