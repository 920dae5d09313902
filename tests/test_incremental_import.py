"""Adding history piece by piece gives the same store as importing it all at once.

History derivation is incremental (ordering appends, events and pattern occurrences from the first changed
snapshot, a grown NDJSON file read from where it was read last time); these tests import built histories session
by session, line by line, and out of order, and compare every derived table with one full import into a fresh
store. Only what names the import itself (source ids, import ids, times of import) may differ.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import baton_lab as bl
from baton_lab.store import ingest, ordering
from builders import decision, follow_up, loop, pattern, v1, write

TABLES = ("snapshots", "open_loops", "follow_ups", "patterns", "decisions", "events", "pattern_occurrences",
          "quarantine", "namespace_order")
# what names the import rather than the history
VOLATILE = {"source_id", "import_id", "imported_at", "recorded_at", "updated_at", "observed_at", "observed_kind"}


def history(seed: int, sessions: int, namespace: str) -> list[dict[str, Any]]:
    """A v1 loop whose items change status, get deferred, recur (listed occurrences and counts beyond the last
    five), disappear and come back; one count jumps implausibly; sessions continue each other (parent_session)."""
    rng = random.Random(seed)
    loops: dict[str, str] = {}
    defers: dict[str, int] = {}
    counts: dict[str, int] = {}
    listed: dict[str, list[tuple[str, str]]] = {}
    out = []
    for n in range(sessions):
        session = f"{namespace}-s{n:03d}"
        for key in list(loops):
            loops[key] = rng.choice(["open", "open", "verified", "failed"])
            if loops[key] != "open" and rng.random() < 0.5:
                del loops[key]
        if rng.random() < 0.6:
            loops[f"L{n}"] = "open"
        if rng.random() < 0.5:
            defers[f"F{n}"] = 0
        for key in defers:
            defers[key] += rng.random() < 0.3
        if rng.random() < 0.3 or not counts:
            counts[f"P{n}"] = 0
            listed[f"P{n}"] = []
        for key in counts:
            if rng.random() < 0.4:
                step = rng.choice([1, 1, 2, 7])
                counts[key] += step
                listed[key] = (listed[key] + [(session, f"ctx {key} {n}")])[-5:]
        if n == sessions // 2:
            counts[next(iter(counts))] += 5000  # an implausible jump: flagged, nothing inferred
        hidden = {k for k in defers if rng.random() < 0.1}  # absent from this snapshot, back in a later one
        out.append(v1(session, out[-1]["session_id"] if out else None,
                      updated_at=f"2026-03-{1 + n // 24:02d}T{n % 24:02d}:00:00Z",
                      loops=[loop(k, status=s) for k, s in loops.items()],
                      follow_ups=[follow_up(k, defer=d) for k, d in defers.items() if k not in hidden],
                      patterns=[pattern(k, count=c, occurrences=listed[k]) for k, c in counts.items()],
                      decisions=[decision(f"D{n // 5}")]))
    return out


def tables(lab: bl.Lab) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name in TABLES:
        frame = lab.table(name)
        frame = frame.select([c for c in frame.columns if c not in VOLATILE])
        out[name] = sorted(frame.to_dicts(), key=lambda row: json.dumps(row, sort_keys=True, default=str))
    return out


def assert_same(incremental: bl.Lab, full: bl.Lab) -> None:
    got, want = tables(incremental), tables(full)
    for name in TABLES:
        assert got[name] == want[name], f"{name} differs after the incremental import"
    assert want["pattern_occurrences"] and want["events"]  # the comparison had something to compare


@pytest.fixture
def batons() -> list[dict[str, Any]]:
    return history(7, 16, "inc")


def test_session_by_session_equals_one_import(tmp_path: Path, batons: list[dict[str, Any]],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    appended = []

    def spy(*args: Any) -> Any:
        appended.append(ordering.append_order(*args))
        return appended[-1]

    monkeypatch.setattr(ingest, "append_order", spy)
    files = [write(tmp_path / "h" / f"{i:03d}.json", b) for i, b in enumerate(batons)]
    full = bl.open(tmp_path / "full.duckdb")
    full.import_(tmp_path / "h", namespace="inc")
    inc = bl.open(tmp_path / "inc.duckdb")
    for path in files:
        assert inc.import_(path, namespace="inc").stored == 1
    assert_same(inc, full)
    assert len(appended) == len(files) - 1 and all(appended)  # each later session took the append path


def test_out_of_order_arrivals_equal_one_import(tmp_path: Path, batons: list[dict[str, Any]]) -> None:
    """Sessions that arrive late land mid-history: everything from there on is derived again."""
    files = [write(tmp_path / "h" / f"{i:03d}.json", b) for i, b in enumerate(batons)]
    full = bl.open(tmp_path / "full.duckdb")
    full.import_(tmp_path / "h", namespace="inc")
    inc = bl.open(tmp_path / "inc.duckdb")
    order = files[::2] + files[1::2][::-1]
    for path in order:
        inc.import_(path, namespace="inc")
    assert_same(inc, full)
    assert "lineage" in tables(inc)["namespace_order"][0]["order_rule"]


def test_appended_ndjson_lines_equal_one_import(tmp_path: Path, batons: list[dict[str, Any]]) -> None:
    lines = [json.dumps(b, ensure_ascii=False) + "\n" for b in batons]
    history_file = tmp_path / "history.ndjson"
    inc = bl.open(tmp_path / "inc.duckdb")
    history_file.write_text("".join(lines[:10]), encoding="utf-8")
    inc.import_(history_file, namespace="inc")
    for line in lines[10:]:
        with history_file.open("a", encoding="utf-8") as handle:
            handle.write(line)
        summary = inc.import_(history_file, namespace="inc")
        assert (summary.read, summary.stored) == (1, 1)  # only the new line was read
        assert summary.lines_already_imported == lines.index(line)
    full = bl.open(tmp_path / "full.duckdb")
    full.import_(history_file, namespace="inc")
    assert_same(inc, full)


def test_a_rewritten_ndjson_file_is_read_whole(tmp_path: Path, batons: list[dict[str, Any]]) -> None:
    """Only a file that starts with the bytes imported before is read from where it ended."""
    history_file = tmp_path / "history.ndjson"
    lab = bl.open(tmp_path / "store.duckdb")
    history_file.write_text("".join(json.dumps(b) + "\n" for b in batons[:5]), encoding="utf-8")
    lab.import_(history_file, namespace="inc")
    history_file.write_text("".join(json.dumps(b) + "\n" for b in batons[1:8]), encoding="utf-8")  # first line gone
    summary = lab.import_(history_file, namespace="inc")
    assert (summary.read, summary.duplicates, summary.stored, summary.lines_already_imported) == (7, 4, 3, 0)
    other = bl.open(tmp_path / "other.duckdb")   # a different --namespace: the earlier lines are read again
    other.import_(history_file, namespace="inc")
    with history_file.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(batons[8]) + "\n")
    assert other.import_(history_file, namespace="other").lines_already_imported == 0


def test_several_namespaces_in_one_import_then_appends(tmp_path: Path) -> None:
    histories = {"a": history(1, 10, "a"), "b": history(2, 10, "b")}
    inc = bl.open(tmp_path / "inc.duckdb")
    for ns, docs in histories.items():
        for i, doc in enumerate(docs[:7]):
            write(tmp_path / ns / f"{i:03d}.json", doc)
    inc.import_(tmp_path / "a", namespace="a")
    inc.import_(tmp_path / "b", namespace="b")
    for i in range(7, 10):
        for ns, docs in histories.items():
            inc.import_(write(tmp_path / ns / f"{i:03d}.json", docs[i]), namespace=ns)
    full = bl.open(tmp_path / "full.duckdb")
    full.import_(tmp_path / "a", namespace="a")
    full.import_(tmp_path / "b", namespace="b")
    assert_same(inc, full)
    assert pl.DataFrame(tables(inc)["namespace_order"])["snapshots"].to_list() == [10, 10]


def _chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "FLUSH_EVERY", 3)   # a chunk is committed every 3 snapshots


def test_a_chunked_import_equals_one_transaction(tmp_path: Path, batons: list[dict[str, Any]],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for i, doc in enumerate(batons):
        write(tmp_path / "h" / f"{i:03d}.json", doc)
    full = bl.open(tmp_path / "full.duckdb")
    full.import_(tmp_path / "h", namespace="inc")
    _chunked(monkeypatch)
    chunked = bl.open(tmp_path / "chunked.duckdb")
    chunked.import_(tmp_path / "h", namespace="inc")
    assert_same(chunked, full)


def test_a_failed_chunked_import_leaves_the_store_as_it_was(tmp_path: Path, batons: list[dict[str, Any]],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for i, doc in enumerate(batons):
        write(tmp_path / ("early" if i < 4 else "late") / f"{i:03d}.json", doc)
    lab = bl.open(tmp_path / "store.duckdb")
    lab.import_(tmp_path / "early", namespace="inc")
    before = tables(lab)
    _chunked(monkeypatch)

    def boom(*_args: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(ingest, "derive_events", boom)
    with pytest.raises(RuntimeError, match="boom"):
        lab.import_(tmp_path / "late", namespace="inc")
    assert tables(lab) == before          # the committed chunks were removed again

    # A killed import cannot clean up: its chunks stay unsequenced until the next import removes them.
    monkeypatch.setattr(ingest._Importer, "remove_chunks", lambda self: None)
    with pytest.raises(RuntimeError, match="boom"):
        lab.import_(tmp_path / "late", namespace="inc")
    assert lab.sql("SELECT count(*) AS n FROM snapshots WHERE seq IS NULL")["n"][0] > 0
    monkeypatch.undo()
    lab.import_(tmp_path / "late", namespace="inc")
    full = bl.open(tmp_path / "full.duckdb")
    full.import_(tmp_path / "early", namespace="inc")
    full.import_(tmp_path / "late", namespace="inc")
    assert_same(lab, full)


def test_an_item_back_after_a_gap_longer_than_the_lookback_reappears(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from baton_lab.store import lookback

    monkeypatch.setattr(lookback, "LOOKBACK", 2)  # events and occurrences both look back through it
    sessions = []
    for n in range(8):
        back = n in (0, 6, 7)  # F-1 and P-1 gone for five sessions, then back
        sessions.append(v1(f"s{n}", f"s{n - 1}" if n else None, updated_at=f"2026-06-{n + 1:02d}T10:00:00Z",
                           loops=[loop("L-1")], follow_ups=[follow_up("F-1", defer=n)] if back else [],
                           patterns=[pattern("P-1", count=3 if n else 1, occurrences=[("s0", "a")])] if back else []))
    files = [write(tmp_path / "h" / f"{i:03d}.json", b) for i, b in enumerate(sessions)]
    inc = bl.open(tmp_path / "inc.duckdb")
    for path in files:
        inc.import_(path, namespace="gap")
    got = inc.events("gap").filter(pl.col("item_id").is_in(["F-1", "P-1"]))
    rows = sorted(zip(got["item_id"], got["seq"], got["event"], got["from_value"], got["to_value"]))
    assert ("F-1", 7, "reappeared", "open", "open") in rows and ("P-1", 7, "reappeared", "observing", "observing") in rows
    assert ("F-1", 7, "deferred", "0", "6") in rows  # compared with session 0, five snapshots back
    assert not any(seq == 7 and event == "created" for _, seq, event, _, _ in rows)
    # the count went 1 -> 3 across the gap with no new listed occurrence: two inferred, after seq 1
    occ = inc.pattern_occurrences("gap")
    assert sorted(zip(occ["inferred"], occ["first_seen_seq"], occ["after_seq"])) == [(False, 1, None), (True, 7, 1),
                                                                                    (True, 7, 1)]
    full = bl.open(tmp_path / "full.duckdb")
    full.import_(tmp_path / "h", namespace="gap")
    assert_same(inc, full)
