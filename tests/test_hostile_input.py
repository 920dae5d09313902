"""Hostile input: no document crashes an import, nothing is lost, no secret reaches any table or output file.

Regression tests for every crash and leak of issue 17's adversarial harness, then property-based tests
over generated hostile documents of every format (tests/hostile.py; bench/fuzz_bench.py is the long run).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import baton_lab as bl
from baton_lab.importers import Record, SourceInfo
from baton_lab.redact import Redactor
from baton_lab.store.occurrences import MAX_INFERRED_PER_STEP
from baton_lab.store.redaction import clean_record

import hostile
from builders import loop, pattern, v1, v2, write, write_sequence

GH = "ghp_" + "Zq3" * 12  # a GitHub token shape
SK = "sk-ant-" + "Wv7" * 8


def _dump(lab: bl.Lab) -> dict[str, str]:
    return hostile.store_texts(lab.path)


def _assert_no_leak(lab: bl.Lab, *secrets: str) -> None:
    assert hostile.leaks(list(secrets), _dump(lab)) == []


def _ok_file(folder: Path) -> Path:
    return write(folder / "zz-ok.json", v1("ok-session", loops=[loop("OL-1")]))


# -- crashes (each used to take every other file of the call down with it) -------------------------

@pytest.mark.parametrize("field,make", [
    ("count", lambda n: v1("s", patterns=[pattern("P", count=n)])),
    ("defer_count", lambda n: v1("s", follow_ups=[{"id": "F", "item": "x", "defer_count": n}])),
    ("ttl_days", lambda n: v1("s", loops=[loop("L", ttl_days=n)])),
    ("threshold", lambda n: v1("s", patterns=[{**pattern("P"), "threshold": n}])),
    ("stale_after_hours", lambda n: v2("ns", 1, machines={"m": {"status": "ok", "stale_after_hours": n}})),
])
def test_integers_beyond_64_bits_are_kept_raw_and_flagged(lab: bl.Lab, tmp_path: Path, field: str, make) -> None:
    for i, n in enumerate([9223372036854775808, 2**64 + 5, -(2**63) - 1, 10**40]):
        write(tmp_path / "in" / f"{i}.json", make(n))
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert summary.stored == 5 and summary.quarantined == 0
    flags = lab.quarantine().filter(bl_col("json_path").str.ends_with(field) & bl_col("reason").str.contains("64-bit"))
    assert flags.height >= 4 and set(flags["kind"]) == {"value"}
    raw = "".join(str(v) for t in ("patterns", "follow_ups", "open_loops", "infra_state") for v in lab.table(t)["invalid_values"])
    assert "9223372036854775808" in raw and str(10**40) in raw


def bl_col(name: str):  # noqa: ANN201 - a polars expression
    import polars as pl

    return pl.col(name)


def test_the_issue_example_with_a_64_bit_count(lab: bl.Lab, tmp_path: Path) -> None:
    text = '{"schema_version":1,"session_id":"s","patterns":[{"id":"P","what":"x","count":9223372036854775808}]}'
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text(text)
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert (summary.stored, summary.value_findings) == (2, 1)
    assert json.loads(lab.patterns()["invalid_values"][0]) == {"count": 9223372036854775808}


def test_an_integer_too_long_for_python_is_a_quarantined_document(lab: bl.Lab, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    digits = "9" * 5000  # json.loads raises ValueError (not JSONDecodeError) past 4,300 digits
    (tmp_path / "in" / "a.json").write_text('{"schema_version":1,"session_id":"s","patterns":[{"id":"P","count":%s}]}' % digits)
    (tmp_path / "in" / "b.ndjson").write_text('{"schema_version":1,"session_id":"t","x":%s}\n{"schema_version":1,"session_id":"u"}\n'
                                              % digits)
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert (summary.read, summary.stored, summary.quarantined) == (4, 2, 2)
    assert set(lab.quarantine()["reason"].str.slice(0, 13)) == {"invalid JSON:"}


def test_a_date_that_overflows_in_utc_is_kept_raw(lab: bl.Lab, tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.json", v1("s", updated_at="9999-12-31T23:59:59-05:00"))
    write(tmp_path / "in" / "b.json", v1("t", updated_at="0001-01-01T00:00:00+05:00"))
    _ok_file(tmp_path / "in")
    assert lab.import_(tmp_path / "in", namespace="ns").stored == 3
    rows = {r["written_at_raw"]: r["written_at"] for r in lab.snapshots().iter_rows(named=True)}
    assert rows["9999-12-31T23:59:59-05:00"] is None and rows["0001-01-01T00:00:00+05:00"] is None


def test_a_lone_surrogate_is_replaced_and_flagged(lab: bl.Lab, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text('{"schema_version":1,"session_id":"s\\ud800","context":"x\\udfff y",'
                                            '"open_loops":[{"id":"L\\ud800","action":"a"}],"\\udc00k":1}')
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert summary.stored == 2
    snap = lab.snapshots().filter(bl_col("session_id").str.starts_with("s"))
    assert snap["session_id"][0] == "s\ufffd" and lab.open_loops()["item_id"].to_list().count("L\ufffd") == 1
    flags = lab.quarantine().filter(bl_col("reason").str.contains("lone surrogate"))
    assert flags.height == 4 and "\\ud800" in "".join(flags["fragment"])


def test_a_pattern_count_jump_is_flagged_not_expanded(lab: bl.Lab, tmp_path: Path) -> None:
    batons = [v1("s1", patterns=[pattern("P", count=1)]), v1("s2", "s1", patterns=[pattern("P", count=2_000_000)]),
              v1("s3", "s2", patterns=[pattern("P", count=2_000_000 + 2**32)]),
              v1("s4", "s3", patterns=[pattern("P", count=2**63 - 1), pattern("Q", count=3)])]
    write_sequence(tmp_path / "in", batons)
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert summary.stored == 4
    occ = lab.pattern_occurrences()
    assert occ.height == 1 + 3 and occ.height <= MAX_INFERRED_PER_STEP  # P's first one and Q's three
    flags = lab.quarantine().filter(bl_col("reason").str.starts_with("implausible count jump"))
    assert flags.height == 3 and set(flags["item_id"]) == {"P"}
    # a later import into the namespace rebuilds occurrences: the flags are replaced, not repeated
    write(tmp_path / "more" / "5.json", v1("s5", "s4", patterns=[pattern("Q", count=4)]))
    lab.import_(tmp_path / "more", namespace="ns")
    assert lab.quarantine().filter(bl_col("reason").str.starts_with("implausible count jump")).height == 3


def test_a_patch_proposal_with_non_text_submitter_is_stored(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by the mutation fuzzer (bench/fuzz_bench.py): `submitted_by: [1.5, 2.0]` crashed the whole call
    (polars cannot cast a list to the text column)."""
    for i, (by, at) in enumerate([([1.5, 2.0], 17), ({"agent": "gpt"}, None), (7, ["2026-06-18"])]):
        write(tmp_path / "in" / f"p{i}.json", {"_patch_proposal": {"namespace": "ns", "submitted_by": by, "submitted_at": at,
                                                                   "patches": [{"op": "increment", "path": "a.b", "by": 1}]}})
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert (summary.stored, summary.proposals) == (1, 3)
    rows = lab.table("patch_proposals").sort("submitted_by")
    assert rows["submitted_by"].to_list() == ["7", "[1.5, 2.0]", "{'agent': 'gpt'}"]
    assert rows["submitted_at_raw"].to_list() == ["['2026-06-18']", "17", None]


def test_a_jsonl_file_whose_type_field_is_not_text_is_not_a_crash(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by the mutation fuzzer: a first line `{"type": [...]}` crashed transcript sniffing (unhashable list)."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"type": ["user"], "sessionId": "x", "uuid": "u"}\n'
                                             '{"type": {"k": 1}, "timestamp": "t", "payload": {}}\n')
    (tmp_path / "in" / "b.jsonl").write_text('{"timestamp": "t", "type": ["session_meta"], "payload": {}}\n')
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert summary.stored == 1 and summary.read == summary.stored + summary.quarantined == 4


def test_a_beads_line_with_a_secret_and_a_lone_surrogate_is_not_a_crash(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by the mutation fuzzer: redacting the line re-wrote `\\udfff` as a character, which the quarantine
    fragment could not store as UTF-8 (UnicodeEncodeError took the whole call down)."""
    line = {"id": "bd-1", "title": "x\udfff " + GH, "status": "open", "priority": 2, "issue_type": "task",
            "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-01T10:00:00Z"}
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "issues.jsonl").write_text(json.dumps(line) + "\n")
    summary = lab.import_(tmp_path / "in")  # no namespace: quarantined whole, with its fragment
    assert (summary.read, summary.quarantined) == (1, 1)
    fragment = lab.quarantine().filter(bl_col("kind") == "document")["fragment"][0]
    assert "\ufffd" in fragment and "\\udfff" not in fragment and "[REDACTED:" in fragment  # decoded view: secrets
    _assert_no_leak(lab, GH)


@pytest.mark.parametrize("escape", ["\\udfff", "\\ud800", "\\ud83d"])   # a lone low, a lone high, a pair cut in half
def test_a_lone_surrogate_escape_in_a_jsonl_document_is_stored_as_ufffd(lab: bl.Lab, tmp_path: Path,
                                                                         escape: str) -> None:
    """Found by seed 3's run (one batch crashed on `\\udfff`): a format that parses a whole JSONL file itself (Beads,
    lessons) read the lone surrogate escape from the file's text, which was never repaired (only the parsed
    document was), so the item's text could not be encoded as UTF-8 and the snapshot's raw JSON was rejected by
    DuckDB ("invalid high surrogate"); the whole import rolled back. The text is now made storable where every
    record enters the store (`clean_record`): U+FFFD in place of the surrogate, flagged once."""
    base = {"status": "open", "priority": 2, "issue_type": "task", "created_at": "2026-03-01T10:00:00Z",
            "updated_at": "2026-03-01T10:00:00Z"}
    lines = [json.dumps({**base, "id": "bd-1", "title": "x@y"}).replace("@", escape),
             json.dumps({**base, "id": "bd-2", "title": "fine \U0001F600"}),          # a valid pair is kept
             json.dumps({**base, "id": "bd-3", "title": "a \\udfff b"})]              # an escaped backslash: text
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "issues.jsonl").write_text("\n".join(lines) + "\n")
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert (summary.stored, summary.value_findings) == (2, 1)
    titles = dict(lab.follow_ups().select("item_id", "title").iter_rows())
    assert titles == {"bd-1": "x\ufffdy", "bd-2": "fine \U0001F600", "bd-3": "a \\udfff b"}
    assert lab.quarantine()["reason"].to_list() == [
        "text holds lone surrogates (\\ud800-\\udfff: not valid Unicode); stored with U+FFFD in their place"]


def test_a_beads_decision_whose_id_is_not_text_is_not_a_crash(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by the mutation fuzzer: a decision issue with `"id": [...]` crashed the supersession lookup."""
    base = {"status": "open", "priority": 2, "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-01T10:00:00Z"}
    lines = [{**base, "id": "bd-4", "title": "g", "issue_type": "decision"},  # three good lines: sniffed as Beads
             {**base, "id": "bd-3", "title": "f", "issue_type": "decision",
              "dependencies": [{"type": "supersedes", "depends_on_id": "bd-4"}]},
             {**base, "id": "bd-5", "title": "h", "issue_type": "task"},
             {**base, "id": ["bd-1"], "title": "d", "issue_type": "decision"},
             {**base, "id": {"k": 1}, "title": "e", "issue_type": "decision"}]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "issues.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert summary.stored == 1 and summary.read == 1
    assert lab.decisions().filter(bl_col("item_id") == "bd-4")["status"].to_list() == ["superseded"]


def test_transcript_tool_ids_with_lone_surrogates_or_non_ascii_are_paired(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by the mutation fuzzer: a tool_use id holding `\\udfff` crashed the line scanner (it watches for the
    pending ids' bytes, and a lone surrogate has no UTF-8 form); a non-ASCII id written escaped was never found."""
    from transcript_builders import ClaudeTranscript, compact, curl_read

    t = ClaudeTranscript()
    for i, tool_id in enumerate(["toolu_\udfff", "toolu_é"]):
        t.bash(tool_id, curl_read(f"ns{i}"), compact({"baton": v1(f"s{i}", loops=[loop("L")]), "namespace": f"ns{i}",
                                                       "updated_at": "2026-06-17T09:05:00Z"}))
    path = tmp_path / "proj" / "session.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(line) + "\n" for line in t.lines))  # ASCII: ids written as escapes
    summary = lab.import_(path)
    assert summary.stored == 2 and set(lab.snapshots()["namespace"]) == {"ns0", "ns1"}


def test_a_transcript_tool_output_with_a_lone_surrogate_is_quarantined_not_a_crash(lab: bl.Lab, tmp_path: Path) -> None:
    """Seed 3's crashed batch (153 of its 100,000-input run, located by re-running its `\\udfff` documents): a baton
    write whose tool output is not JSON and starts with `\\udfff` is quarantined with the output quoted in its
    reason, and the reason, never made storable, took the whole import down when the quarantine table was
    written (UnicodeEncodeError). A reader's reason is now cleaned with the rest of the record."""
    from transcript_builders import ClaudeTranscript, curl_write

    t = ClaudeTranscript()
    t.bash("ID-1", curl_write("ns1", v1("s1", loops=[loop("L")])), "\udfff\u0130 not json " + GH)
    path = tmp_path / "proj" / "session.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(line) + "\n" for line in t.lines))   # ASCII: the surrogate as `\\udfff`
    summary = lab.import_(path)
    assert (summary.read, summary.quarantined) == (1, 1)
    (reason,) = lab.quarantine().filter(bl_col("kind") == "document")["reason"].to_list()
    assert reason.startswith("baton write failed: output is not JSON: \ufffd\u0130 not json [REDACTED:"), reason
    _assert_no_leak(lab, GH)


def test_transcript_tool_ids_that_are_objects_are_not_crashes_or_leaks(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by the mutation fuzzer: a tool_use id written as an object was stored as its Python repr in the
    quarantine fragment of an unanswered read, where `'cookie': '…'` escaped redaction; as a tool_result's
    tool_use_id it was unhashable."""
    from transcript_builders import ClaudeTranscript, compact, curl_read

    t = ClaudeTranscript()
    t.bash("ID-1", curl_read("ns1"), None)                       # a read without a result: quarantined
    t.bash("ID-2", curl_read("ns2"), compact({"baton": v1("s2", loops=[loop("L")]), "namespace": "ns2",
                                              "updated_at": "2026-06-17T09:05:00Z"}))
    secret = "Vpis9gJPkgI%AMo1mSci3"
    for line in t.lines:
        for block in line["message"]["content"] if isinstance(line["message"]["content"], list) else []:
            for key in ("id", "tool_use_id"):
                if block.get(key) in ("ID-1", "ID-2"):
                    block[key] = {"cookie": secret, "n": block[key]}
    path = tmp_path / "proj" / "session.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(line) + "\n" for line in t.lines))
    summary = lab.import_(path)
    assert summary.stored == 1 and summary.quarantined == 1     # the answered read pairs with its result
    _assert_no_leak(lab, secret)


def test_a_beads_issue_whose_updated_at_is_not_text_is_not_a_crash(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by re-running seed 3's batch 78 after the JSONL-document formats were merged: the latest claimed time
    of a Beads file was looked up in a cache keyed by the value, and `"updated_at": [...]` is unhashable."""
    base = {"status": "open", "priority": 2, "issue_type": "task", "created_at": "2026-03-01T10:00:00Z"}
    lines = [{**base, "id": "bd-1", "title": "a", "updated_at": "2026-03-01T10:00:00Z"},
             {**base, "id": "bd-2", "title": "b", "updated_at": ["2026-03-02T10:00:00Z"]},
             {**base, "id": "bd-3", "title": "c", "updated_at": {"at": "2026-03-03T10:00:00Z"}}]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "issues.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert (summary.stored, summary.reader_errors) == (1, 0)
    assert lab.snapshots()["written_at_raw"].to_list() == ["2026-03-01T10:00:00Z"]  # the only time written as text


def _memhall_page() -> dict:
    golden = Path(__file__).parent / "golden"
    return json.loads(next((golden / "memhall-entries").glob("*/input/memory-page.json")).read_text())


def test_a_memhall_writer_or_tenant_that_is_not_text_is_not_a_crash(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by the 100,000-input run's batches after the memory-hall format was merged: an entry whose
    `created_by_principal` is a list became a snapshot `writer` that was a list (the snapshot batch could not be
    built: the whole import rolled back), and a `tenant_id` that is a list was unhashable. Every metadata field a
    format sets on an observation is now made to fit its column where the observation is built (`Observation`)."""
    page = _memhall_page()
    for entry in page["entries"]:
        entry["created_by_principal"] = []
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "memory-page.json").write_text(json.dumps(page))
    page["entries"][0]["tenant_id"] = ["t"]
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "memory-page.json").write_text(json.dumps(page))
    summary = lab.import_([tmp_path / "a", tmp_path / "b"])
    assert summary.reader_errors == 0 and summary.stored >= 2 and summary.read == summary.stored + summary.quarantined \
        + summary.duplicates
    assert "[]" in set(lab.snapshots()["writer"])   # the list, written as text


def test_a_reader_that_fails_on_a_document_quarantines_only_that_document(lab: bl.Lab, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A format reader's bug (an exception other than NotThisFormat) quarantines its document with the error and
    is counted; it no longer takes the other documents of the import down (issue 17: one bad document never stops
    the others). The fuzz harness counts these as crashes all the same."""
    from baton_lab.importers import baton_v1

    real = baton_v1.v1_observation

    def observation(doc):  # noqa: ANN001, ANN202 - stands in for a reader with a bug
        if doc.get("session_id") == "bad":
            raise TypeError("unhashable type: 'dict'")
        return real(doc)

    monkeypatch.setattr(baton_v1, "v1_observation", observation)
    (tmp_path / "in").mkdir()
    write(tmp_path / "in" / "bad.json", v1("bad", loops=[loop("L")]))
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert (summary.stored, summary.quarantined, summary.reader_errors) == (1, 1, 1)
    assert summary.read == summary.stored + summary.quarantined
    (reason,) = lab.quarantine()["reason"].to_list()
    assert re.fullmatch(r"the baton-v1 reader failed on this document \(TypeError: unhashable type: 'dict' at "
                        r"test_hostile_input\.py:\d+\); a baton_lab bug, please report it", reason), reason
    assert any("format reader failed" in line for line in summary.lines())


def test_a_figure_label_with_a_nul_character_is_rendered_not_an_abort() -> None:
    """Found by the 100,000-input run (the report of batch 0): a namespace named with a NUL character reached a
    figure's labels; vl-convert lays text out as SVG, failed to parse it, and its Rust side panicked and aborted
    the process. Characters XML cannot hold are shown as U+FFFD in figures. Rendered in a subprocess: without the
    fix the interpreter itself aborts."""
    import subprocess
    import sys

    code = ("import altair as alt, polars as pl; from baton_lab import charts; "
            "df = pl.DataFrame({'namespace': ['a\\x00b', 'c\\x1fd'], 'v': [1, 2]}); "
            "svg = charts.to_svg(alt.Chart(df).mark_bar().encode(x='namespace:N', y='v:Q')); "
            "print(len(svg), '\\x00' in svg, '\\ufffd' in svg)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[1:] == ["False", "True"]


# -- secrets stored ----------------------------------------------------------------------------------

def test_a_document_quarantined_whole_keeps_a_redacted_fragment(lab: bl.Lab, tmp_path: Path) -> None:
    text = json.dumps(v1("s", context=f"deploy with {GH}", loops=[loop("L", token=SK)]) | {"password": "hunter2hunter2"})
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "torn.json").write_text(text[: len(text) - 3])
    escaped = json.dumps({"schema_version": 1, "note": "s\u006b-ant-" + "Wv7" * 8})[:-2].replace("sk-", "\\u0073k-")
    (tmp_path / "in" / "escaped.json").write_text(escaped)
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert summary.quarantined == 2
    fragments = "".join(lab.quarantine()["fragment"].drop_nulls())
    assert "[REDACTED:" in fragments and "deploy with" in fragments
    _assert_no_leak(lab, GH, SK, "hunter2hunter2", "Wv7Wv7Wv7")


def test_an_escaped_key_without_end_in_a_quarantined_fragment_is_redacted(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by the mutation fuzzer: in a torn document written with `\\u` escapes, an END-less private key hidden
    by the escapes swallowed a later URL password when decoded, so the decoded view had no more matches than the
    raw one and the raw fragment — key included — was kept."""
    key = "QraAdYRY5Ly4UhMaydudkcE2FC4yGEtI9mAsH9FDlSPvYz2"
    text = json.dumps({"a": "https://deploy:Zp4pass9@git.example.com/repo", "monkey -----BEGIN PRIVATE KEY-----\n"
                       + key + "\n": True, "b": "https://deploy:Zp5pass9@git.example.com/repo"})
    text = text.replace("BEGIN", "\\u0042E\\u0047IN").replace("Q", "\\u0051")[:-3]   # escaped letters, torn
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "torn.json").write_text(text)
    _ok_file(tmp_path / "in")
    assert lab.import_(tmp_path / "in", namespace="ns").quarantined == 1
    _assert_no_leak(lab, key, "Zp4pass9", "Zp5pass9")


@pytest.mark.parametrize("tool_id", [
    # seed 3, batches 78, 101, 116, 124: ids written as a list or an object holding `Bearer<TAB>…`/`Basic<TAB>…`
    [[False, "bearer\tZmOIJmDxuBU-7JKt5d5 C.KNP"], None],
    {"MZQ": {"bearer\tXCtsMV2.sc7m-dkI5gcogqaY7kNP7": 2}, "J": {"password": "ZJHmO7wZ3UEheJqAZl3AU1"}},
    {"k": ["AzEviLVSpozqV", "the token expired Basic\tZi0xOVoFaqt8tK5FpZ5q412"]},
    {"ieI": "們密Basic\tXANnAOiTAvLvYyYoCfiDca8wxNwE0密"},
    "toolu Bearer\tQv9Rm2Lx8Kp3Wz7Tn",   # a string id: escaped by the fragment's JSON just the same
])
def test_a_transcript_tool_id_holding_a_tab_separated_credential_is_redacted(lab: bl.Lab, tmp_path: Path,
                                                                            tool_id: object) -> None:
    """Found by seed 3's 100,000-input run (4 of its 6 stored secrets): a tool call id that is not a string was
    written as JSON before it was redacted, so the tab after `Bearer`/`Basic` became the two characters `\\t` and no
    pattern saw a credential; the unanswered call's quarantine fragment kept it. Ids are now redacted as values."""
    from transcript_builders import ClaudeTranscript, curl_read

    t = ClaudeTranscript()
    t.bash("ID-1", curl_read("ns1"), None)   # a read without a result: quarantined, its call id in the fragment
    for line in t.lines:
        for block in line["message"]["content"] if isinstance(line["message"]["content"], list) else []:
            if block.get("id") == "ID-1":
                block["id"] = tool_id
    path = tmp_path / "proj" / "session.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(line) + "\n" for line in t.lines))
    summary = lab.import_(path)
    assert summary.quarantined == 1 and summary.reader_errors == 0
    assert "[REDACTED:" in lab.quarantine()["fragment"][0]
    _assert_no_leak(lab, "ZmOIJmDxuBU-7JKt5d5", "XCtsMV2.sc7m-dkI5gcogqaY7kNP7", "ZJHmO7wZ3UEheJqAZl3AU1",
                    "Zi0xOVoFaqt8tK5FpZ5q412", "XANnAOiTAvLvYyYoCfiDca8wxNwE0", "Qv9Rm2Lx8Kp3Wz7Tn")


def test_a_url_password_cut_short_by_a_torn_write_is_redacted(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by seed 3's batch 90: a document torn inside a URL's credentials (`https://deploy:WUSn…`, the `@` never
    written) kept the password in its quarantine fragment. A port at the cut (`:8080`) is not taken for one."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "torn.json").write_text('{"baton": null, "namespace": " https://deploy:WUSnHjzJdnlqZmf56AXZR43')
    (tmp_path / "in" / "port.json").write_text('{"baton": null, "namespace": "https://example.com:8080')
    _ok_file(tmp_path / "in")
    summary = lab.import_(tmp_path / "in", namespace="ns")
    assert summary.quarantined == 2
    fragments = sorted(lab.quarantine()["fragment"].to_list())
    assert any(f.startswith('{"baton": null, "namespace": " https://deploy:[REDACTED:') for f in fragments)
    assert any(f.endswith('"https://example.com:8080') for f in fragments)
    _assert_no_leak(lab, "WUSnHjzJdnlqZmf56AXZR43")


def test_a_key_before_an_escape_cut_short_is_redacted_in_the_fragment(lab: bl.Lab, tmp_path: Path) -> None:
    """Found by seed 3's batch 109: a lessons JSONL file torn in the middle of a `\\u` escape right after an AWS key
    written with escaped letters. Resolving escapes read the cut `\\u` as the letter `u`, so the key looked like a
    longer word in the decoded view, which was the one kept (another secret was only visible decoded)."""
    lines = ['{"id": "L1", "type": "quick", "insight": "x", "k": "z xoxp-Vpi85aFIXuMg28IfF9gxDgnZ9 q"}',
             '{"i\\u0064": "L2", "A\\u004bIAQ7\\u0058IAJLYL6LM1F\\u0058\\u0042\\u']
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "index.jsonl").write_text("\n".join(lines))
    summary = lab.import_(tmp_path / "in")
    assert summary.quarantined >= 1
    _assert_no_leak(lab, "Q7XIAJLYL6LM1FXB", "Vpi85aFIXuMg28IfF9gxDgnZ9")


def test_no_secret_in_metadata_keys_or_private_keys(lab: bl.Lab, tmp_path: Path) -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq7BFUAkGmLcz\nVyW0mW9tPXdLbZP1rn6h"
    doc = v2(f"team-{GH}", 3, written_at=f"2026-06-18T10:30:00Z {SK}", session_id=f"sess-{GH}")
    doc["_meta"]["last_written_by"] = f"claude Bearer {'Tk9' * 7}"
    doc["notes"] = {GH: "a token as a key", "k": pem, "authorization": "abcdef123456", "h": "Basic\tdXNlcjpwYXNzd29yZA=="}
    doc["open_loops"]["entries"] = [{"id": f"L-{SK}", "action": "x", "status": "pending", "ghu": "ghu_" + "a1" * 18}]
    write(tmp_path / "a.json", doc)
    v1_doc = v1(f"s-{GH}", f"p-{GH}", updated_at=f"2026-06-17 {SK}", loops=[loop("L")])
    write(tmp_path / f"cache-{GH}.json", v1_doc | {"_sync_status": "synced", "ghr": "ghr_" + "b2" * 18})
    lab.import_([tmp_path / "a.json", tmp_path / f"cache-{GH}.json"])
    _assert_no_leak(lab, GH, SK, "Tk9Tk9Tk9", "MIIEowIBAAKCAQEAq7BFUAkGmLcz", "VyW0mW9tPXdLbZP1rn6h", "abcdef123456",
                    "dXNlcjpwYXNzd29yZA==", "a1a1a1a1", "b2b2b2b2")
    namespaces = set(lab.snapshots()["namespace"])
    assert all("[REDACTED:" in ns for ns in namespaces)
    # identity: the v1 session id and its parent were the same token with different prefixes; events join on ids
    snap = lab.snapshots().filter(bl_col("schema_version") == "1").row(0, named=True)
    assert snap["session_id"].removeprefix("s-") == snap["parent_session"].removeprefix("p-")
    assert set(lab.events()["session_id"].drop_nulls()) <= set(lab.snapshots()["session_id"].drop_nulls())


def test_a_file_name_with_undecodable_bytes_is_stored(lab: bl.Lab, tmp_path: Path) -> None:
    import os

    (tmp_path / "in").mkdir()
    with open(os.path.join(os.fsencode(tmp_path / "in"), b"bad\xff.json"), "w") as handle:
        handle.write('{"schema_version":1,"session_id":"s"}')
    _ok_file(tmp_path / "in")
    assert lab.import_(tmp_path / "in", namespace="ns").stored == 2
    assert any(uri.endswith("bad\ufffd.json") for uri in lab.sources()["uri"])


def test_paths_and_provenance_are_redacted() -> None:
    info = SourceInfo(uri=f"/tmp/{GH}/a.json", sha256="0", size_bytes=1, container="json-file")
    record = Record(info, None, '{"a": 1}', doc={"a": 1}, provenance={"cwd": f"/home/{GH}", "branch": f"fix-{SK}"})
    cleaned = clean_record(record, Redactor(b"k"), "src")
    assert GH not in cleaned.record.where and GH not in json.dumps(cleaned.record.provenance)
    assert SK not in json.dumps(cleaned.record.provenance) and cleaned.redactions == 3


def test_capture_log_keeps_no_secret_and_matches_the_redacted_namespace(lab: bl.Lab, tmp_path: Path) -> None:
    cache = tmp_path / "batons"
    write(cache / f"team-{GH}.json", {**v1("c1", loops=[loop("OL-1")]), "_sync_status": "synced"})
    result = lab.capture(cache)
    assert result.ok and result.namespaces[0].new_snapshot and GH not in result.namespaces[0].namespace
    assert lab.table("captures")["namespace"].to_list() == lab.snapshots()["namespace"].to_list()
    _assert_no_leak(lab, GH)


# -- property-based: generated hostile documents of every format ----------------------------------

CI_EXAMPLES = settings(max_examples=8, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                       suppress_health_check=list(HealthCheck))


@CI_EXAMPLES
@given(st.lists(hostile.hostile_document(), min_size=1, max_size=8))
def test_hostile_batches_import_without_crash_loss_or_leak(docs: list[hostile.Document]) -> None:
    for i, doc in enumerate(docs):
        doc.name = f"{i:05d}-{doc.name.split('-', 1)[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        outcome = hostile.import_batch(docs, Path(tmp))
    assert outcome.crash is None, outcome.crash
    assert outcome.reader_errors == [], outcome.reader_errors
    assert outcome.lost == 0, outcome.summary
    assert outcome.leaks == []


@pytest.mark.slow
@settings(max_examples=1, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
@given(st.lists(hostile.hostile_document(), min_size=6, max_size=10))
def test_reports_and_exports_of_hostile_stores_leak_and_inject_nothing(docs: list[hostile.Document]) -> None:
    """One example (reports are slow): every file the report and the export write (HTML, Markdown, SVG, LaTeX,
    CSV/Parquet tables, provenance). PNG export is off: pixels are not text to scan."""
    from baton_lab.report import build, write as write_report

    # and always a namespace named by the document after a secret (it used to reach every output file)
    fixed = v2(f"team-{GH}", 1, session_id=f"s-{SK}", anti_patterns=[{"id": "AP", "pattern": "x", "occurrences": 2}])
    docs = [*docs, hostile.Document("fixed.json", json.dumps(fixed).encode(), "baton-v2", hostile.Planted([GH, SK]))]
    for i, doc in enumerate(docs):
        doc.name = f"{i:05d}-{doc.name.split('-', 1)[1] if '-' in doc.name else doc.name}"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        outcome = hostile.import_batch(docs, root)
        assert outcome.crash is None, outcome.crash
        write_report(build(bl.open(outcome.db)), root / "out", html=True, latex=True, png=False)
        texts = hostile.file_texts(root / "out")
    assert any(name.endswith(".html") for name in texts) and any(name.endswith(".tex") for name in texts)
    assert hostile.leaks([c for d in docs for c in d.planted.cores], texts) == []
    assert hostile.unescaped_markup(texts) == []


def test_mutated_realistic_documents_import_without_crash_loss_or_leak(tmp_path: Path) -> None:
    """A seeded sample of the long fuzz run's generator (tests/hostile_mutate.py: realistic documents of every JSON
    format, mutated with the same hostile value families); bench/fuzz_bench.py runs 100,000 of them."""
    import hostile_mutate

    docs = list(hostile_mutate.documents(seed=20261203, n=40))
    assert {d.format for d in docs} >= {"baton-v1", "baton-v2", "beads-issues", "transcript", "patch-proposal"}
    outcome = hostile.import_batch(docs, tmp_path)
    assert outcome.crash is None, outcome.crash
    assert outcome.reader_errors == [], outcome.reader_errors
    assert outcome.lost == 0 and outcome.leaks == []
    assert sum(len(d.planted.cores) for d in docs) > 100

