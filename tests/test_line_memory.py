"""What the Beads replay remembers between versions of a state file (a line's redaction, its parsed object) must give
the same result as reading each version afresh: expectations here come from reading the text directly."""

from __future__ import annotations

import json

from baton_lab.importers import jsonl_document
from baton_lab.importers.jsonl_document import read_lines
from baton_lab.redact import Redactor, using
from baton_lab.store.ingest import _LineRedactor

CLEAN = [json.dumps({"id": f"bd-{n}", "title": f"issue {n}", "status": "open", "priority": 2}) for n in range(5)]
TOKEN = "ghp_" + "x1" * 18
SECRET = json.dumps({"id": "bd-9", "title": f"uses {TOKEN}", "status": "open"})


def test_remembered_lines_redact_as_a_fresh_reading_does() -> None:
    with using(Redactor(b"k" * 32)):
        memory = _LineRedactor()
        first = "\n".join(CLEAN) + "\n"
        assert memory.redact(first) == (first, 0)
        assert memory.redact(first)[0] is first  # every line clean and seen: the version is returned as it is
        # The next version repeats a secret line twice among seen clean lines: both copies redacted and counted,
        # the first time and again when the lines are remembered.
        second = "\n".join([CLEAN[0], SECRET, CLEAN[1], SECRET]) + "\n"
        for _ in range(2):
            text, count = memory.redact(second)
            lines = text.split("\n")
            assert count == 2 and TOKEN not in text
            assert lines[0] == CLEAN[0] and lines[2] == CLEAN[1] and lines[1] == lines[3] != SECRET
            assert json.loads(lines[1])["id"] == "bd-9"
        fresh = _LineRedactor().redact(second)
        assert fresh == memory.redact(second)


def test_a_byte_order_mark_is_dropped_on_line_one_only_even_when_remembered() -> None:
    line = json.dumps({"id": "bd-1", "title": "t", "status": "open"})
    jsonl_document._OBJECTS.clear()
    first = read_lines("\ufeff" + line + "\n")
    assert [n for n, _ in first.records] == [1] and not first.unreadable
    # The same bytes on line 2 are not valid JSON (the mark is only dropped at the start of the file), whether or
    # not line 1 of an earlier version was remembered.
    later = read_lines(line + "\n" + "\ufeff" + line + "\n")
    assert [n for n, _ in later.records] == [1]
    assert [u.location for u in later.unreadable] == ["line 2"]
    # An unchanged line is the same object in the next version (what lets rows be reused), and equal to a fresh parse.
    again = read_lines(line + "\n")
    assert again.records[0][1] is later.records[0][1] and again.records[0][1] == json.loads(line)
    assert again.json_texts == [line]


def test_an_import_runs_without_vacuum_tasks_and_restores_the_setting(tmp_path) -> None:  # noqa: ANN001
    from baton_lab.store import connection, ingest

    path = tmp_path / ".beads" / "issues.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(CLEAN) + "\n")
    con = connection.connect(tmp_path / "store.duckdb")
    con.execute("SET max_vacuum_tasks = 7")
    during: list[int] = []

    def setting(_uri: str) -> None:
        during.append(int(con.execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0]))

    summary = ingest.import_paths(con, [path], namespace="ns", on_source=setting)
    assert summary.stored == 1 and summary.items == len(CLEAN)
    assert during == [0]  # each chunk commit keeps its own row group (no merge-and-rewrite at every checkpoint)
    assert con.execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0] == 7
    con.close()
