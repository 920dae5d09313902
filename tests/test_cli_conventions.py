"""CLI conventions a newcomer relies on: --version, completion, one meaning per option name, `error:` + `hint:`
for every mistake (usage mistakes included), read commands that never create a store, whole locations in
piped output, window rows in order."""

from __future__ import annotations

import json
import os
from importlib.metadata import version
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from builders import loop, v1, write, write_sequence

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def one_line_error(result, message: str, hint: str = "") -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "╭" not in result.output  # no traceback, no usage box
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error:") and message in lines[0], lines
    assert lines[1].startswith("hint:") and hint in lines[1], lines


@pytest.fixture
def store(tmp_path: Path) -> str:
    """Three sessions of one namespace, and one torn file quarantined under a long path."""
    write_sequence(tmp_path / "h", [v1("s1", loops=[loop("OL-1")]), v1("s2", "s1", loops=[loop("OL-1", status="failed")]),
                                    v1("s3", "s2")])
    deep = tmp_path / "a-rather-long-folder-name-that-a-terminal-would-cut" / "and-another-level-below-it"
    deep.mkdir(parents=True)
    (deep / "torn-file-with-a-long-name.json").write_text("{", encoding="utf-8")
    db = str(tmp_path / "s.duckdb")
    assert run("import", str(tmp_path / "h"), "-n", "home", "--db", db).exit_code == 0
    assert run("import", str(deep), "-n", "home", "--db", db).exit_code == 0
    return db


def test_version_comes_from_the_package_metadata() -> None:
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"baton-lab {version('baton-lab')}"
    import baton_lab

    assert baton_lab.__version__ == version("baton-lab")


def test_shell_completion_is_on() -> None:
    help_text = run("--help").stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text


READ_COMMANDS = [["info"], ["validate"], ["metrics"], ["report", "--out", "{tmp}/r"], ["export", "--out", "{tmp}/e"],
                 ["check"], ["info", "--output", "json"], ["metrics", "--output", "csv"]]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a))
def test_every_read_command_refuses_a_missing_store_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "typo.duckdb"
    result = run(*(a.replace("{tmp}", str(tmp_path)) for a in args), "--db", str(missing))
    one_line_error(result, f"no store at {missing}", "only `baton-lab import` and `baton-lab capture` create a store")
    assert not missing.exists()


def test_a_read_command_in_an_empty_folder_creates_no_default_store(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATON_LAB_DB", raising=False)
    one_line_error(run("metrics"), "no store at baton_lab.duckdb")
    assert list(tmp_path.iterdir()) == []


def test_import_says_it_created_the_store_and_a_failed_first_import_leaves_no_file(tmp_path: Path) -> None:
    write(tmp_path / "v1.json", v1("s1"))
    db = tmp_path / "new.duckdb"
    failed = run("import", "--git", str(tmp_path), "--path", "v1.json", "-n", "home", "--db", str(db))  # not a repo
    one_line_error(failed, "not a git repository", "REPO is a git work tree")
    assert not db.exists() and not Path(f"{db}.wal").exists()
    # a document that cannot be placed is quarantined with a hint, and the rest of the import goes on (issue 14)
    unplaced = run("import", str(tmp_path / "v1.json"), "--db", str(tmp_path / "other.duckdb"))
    assert unplaced.exit_code == 0 and "quarantined 1" in unplaced.stdout and "--namespace" in unplaced.stdout
    ok = run("import", str(tmp_path / "v1.json"), "-n", "home", "--db", str(db))
    assert ok.exit_code == 0 and f"created the store {db}" in ok.stderr
    again = run("import", str(tmp_path / "v1.json"), "-n", "home", "--db", str(db))
    assert again.exit_code == 0 and "created the store" not in again.stderr


@pytest.mark.parametrize("args, message", [
    (["metrics", "--window", "0"], "Invalid value for '--window'"),
    (["report", "--window", "0"], "Invalid value for '--window'"),
    (["import", "--git", "{tmp}"], "--git REPO --path FILE"),
    (["import", "{tmp}/a.json", "--format", ""], "--format needs a format name"),
    (["import", "{tmp}/a.json", "--format", "  "], "--format needs a format name"),
    (["metrics", "--bogus"], "No such option: --bogus"),
    (["capture"], "Missing option '--from'"),
    (["simulate"], "Missing option '--out'"),
    (["metrics", "--output", "pdf"], "Invalid value for '--output'"),
    (["info", "--output", "csv"], "--output csv is not available"),
    (["info", "--output", "table", "--json"], "--json and --output table disagree"),
    (["capture", "--from", "{tmp}/notes.txt"], "neither a Session Baton SQLite file nor a local cache file"),
    # Found by trying every command's options (issue 17): tracebacks, silently ignored options, accepted nonsense.
    (["simulate", "--out", "{tmp}/sim", "--workers", "0"], "--workers must be at least 1"),
    (["simulate", "--out", "{tmp}/sim", "--practice-at", "5"], "--practice-at needs --practice"),
    (["simulate", "--out", "{tmp}/sim", "--write", "git", "--write", "git-bundle"],
     "choose one of --write git and --write git-bundle"),
    (["simulate", "--out", "{tmp}/sim", "--sessions", "2", "--namespaces", "3"], "--sessions (2) must be at least"),
    (["simulate", "--out", "{tmp}/sim", "--write", "pdf"], "unknown format 'pdf'"),
    (["simulate", "--out", "{tmp}/sim", "--seed", "-1"], "--seed must be a non-negative integer"),
    (["simulate-repo", "--out", "{tmp}/repo", "--files", "0"], "--commits and --files must be at least 1"),
    (["simulate-repo", "--out", "{tmp}/repo", "--commits", "-5"], "--commits and --files must be at least 1"),
    (["capture", "--from", "http://127.0.0.1:9", "-n", "x", "--timeout", "-1"], "--timeout must be a number of seconds"),
    (["capture", "--from", "http://127.0.0.1:9", "-n", "x", "--tenant", "t"], "--tenant selects a memhall tenant"),
    (["capture", "--from", "http://127.0.0.1:9"], "a server capture needs --namespace"),
    (["import", "{tmp}/a.json", "--ref", "main"], "--ref picks the commit --repo reads"),
    (["import", "--repo", "{tmp}", "-n", "x"], "--format and --namespace apply to PATH"),
    (["import", "--repo", "{tmp}", "--git", "{tmp}", "--path", "a.json"], "--repo imports a whole repository"),
    (["import", "{tmp}/a.json", "--git", "{tmp}", "--path", "a.json"], "give PATH... to import files, or --git"),
    (["import"], "give PATH... to import files, or --git"),
    (["import", "{tmp}/a.json", "--format", "nosuch"], "unknown format 'nosuch'"),
    (["metrics", "--window", "abc"], "Invalid value for '--window'"),
    (["metrics", "stray"], "unexpected extra argument"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["metrics", "--output", "csv", "--json"], "--json and --output csv disagree"),
    (["metrics", "--metric", "NOPE"], "unknown metric 'NOPE'"),
    (["report", "--output", "csv"], "--output csv is not available"),
])
def test_usage_mistakes_are_one_line_errors_with_exit_code_1(tmp_path: Path, args: list[str], message: str) -> None:
    write(tmp_path / "a.json", v1("s1"))
    (tmp_path / "notes.txt").write_text("remember the milk\n", encoding="utf-8")
    db = tmp_path / "s.duckdb"
    store_option = [] if args[0] in ("simulate", "simulate-repo") else ["--db", str(db)]
    result = run(*(a.replace("{tmp}", str(tmp_path)) for a in args), *store_option)
    one_line_error(result, message)
    assert not db.exists(), "a usage mistake created a store"


@pytest.mark.parametrize("args, message", [
    (["--a", "home"], "loop vs loop needs both --a and --b"),
    (["--a", "home", "--b", "x", "--before", "2026-01-01"], "choose loop vs loop (--a/--b) or a before/after split"),
    (["--a", "home", "--b", "x", "-n", "home"], "--namespace scopes a before/after split"),
    (["--split", "session:2", "--before", "2026-01-01"], "give either --split or --before/--after"),
    (["--before", "2026-01-01"], "needs both --before DATE and --after DATE"),
    (["--split", "bogus:1"], "expected KIND:VALUE"),
    (["--before", "notadate", "--after", "2026-01-01"], "'notadate' is not a date"),
    ([], "nothing to compare"),
    (["--split", "session:2", "--its-window", "0"], "Invalid value for '--its-window'"),
])
def test_compare_usage_mistakes_are_one_line_errors_before_the_store_is_read(tmp_path: Path, args: list[str],
                                                                             message: str) -> None:
    """The option mistakes are reported as such whatever the store holds (before, an empty store answered every
    one of them with "the store has no snapshots to compare", and `-n` beside --a/--b was ignored)."""
    write(tmp_path / "a.json", v1("s1"))
    db = str(tmp_path / "s.duckdb")
    assert run("import", str(tmp_path / "a.json"), "-n", "home", "--db", db).exit_code == 0
    with __import__("duckdb").connect(db) as con:  # an empty store: the checks must not depend on its content
        con.execute("DELETE FROM snapshots")
    one_line_error(run("compare", *args, "--db", db), message)


def test_markup_in_a_path_is_printed_not_interpreted(tmp_path: Path) -> None:
    odd = tmp_path / "a[/bold]b[red]c.duckdb"
    one_line_error(run("info", "--db", str(odd)), f"no store at {odd}")


def test_old_spellings_work_for_one_release_with_a_one_line_hint(store: str, tmp_path: Path) -> None:
    old = run("metrics", "--db", store, "--format", "csv", "-m", "L6")
    new = run("metrics", "--db", store, "--output", "csv", "-m", "L6")
    assert old.exit_code == 0 and old.stdout.splitlines()[0] == new.stdout.splitlines()[0]
    assert [line for line in old.stderr.splitlines() if line] == [
        "hint: --format csv is now --output csv (the old spelling goes away in the next release)"]
    sim = run("simulate", "--out", str(tmp_path / "sim"), "--sessions", "4", "--format", "v1", "--json")
    assert sim.exit_code == 0 and json.loads(sim.stdout)["files"]["v1"] == 4
    assert "--format is now --write" in sim.stderr


def test_output_means_the_same_on_every_command(store: str) -> None:
    assert json.loads(run("info", "--db", store, "--output", "json").stdout) == json.loads(
        run("info", "--db", store, "--json").stdout)
    assert [t["table"] for t in json.loads(run("schema", "--output", "json").stdout)][0] == "sources"
    check = json.loads(run("check", "--db", store, "--output", "json").stdout)
    assert check["ok"] is True
    sim = run("simulate", "--out", str(Path(store).parent / "sim"), "--sessions", "3", "--write", "v1", "--output", "json")
    assert sim.exit_code == 0 and json.loads(sim.stdout)["files"]["v1"] == 3
    one_line_error(run("report", "--db", store, "--output", "csv"), "--output csv is not available", "table, json")
    one_line_error(run("capture", "--from", store, "--output", "md", "--db", store), "--output md is not available")
    formats = json.loads(run("formats", "--output", "json").stdout)
    assert formats == json.loads(run("formats", "--json").stdout) and {"baton-v1", "beads-issues"} <= {f["name"] for f in formats}
    one_line_error(run("formats", "--output", "csv"), "--output csv is not available", "table, json")
    empty = Path(store).parent / "nothing-here"
    empty.mkdir()
    imported = run("import", str(empty), "-n", "x", "--db", str(Path(store).parent / "other.duckdb"), "--output", "json")
    assert imported.exit_code == 0 and json.loads(imported.stdout)["read"] == 0
    md = run("validate", "--db", store, "--output", "md").stdout
    assert md.startswith("| kind | location | reason |\n|---|---|---|\n") and "torn-file-with-a-long-name.json" in md


def test_piped_validate_keeps_every_location_whole(store: str) -> None:
    """CliRunner's output is not a terminal, as when piped: the location must not be cut or wrapped."""
    rows = json.loads(run("validate", "--db", store, "--json").stdout)
    location = rows[0]["location"]
    assert len(location) > 100
    text = run("validate", "--db", store).stdout
    assert location in text.splitlines()[1], text
    csv = pl.read_csv(run("validate", "--db", store, "--output", "csv").stdout.encode())
    assert csv["location"].to_list() == [location]


def test_metrics_csv_puts_window_rows_in_order(store: str, tmp_path: Path) -> None:
    sessions = [v1("s1", loops=[loop("OL-1")])] + [v1(f"s{i}", f"s{i - 1}") for i in range(2, 26)]
    write_sequence(tmp_path / "long", sessions)
    db = str(tmp_path / "long.duckdb")
    assert run("import", str(tmp_path / "long"), "-n", "home", "--db", db).exit_code == 0
    frame = pl.read_csv(run("metrics", "--db", db, "--output", "csv", "--window", "5").stdout.encode())
    seen_groups: list[tuple] = []
    for (ns, metric, variant), group in frame.group_by("namespace", "metric_id", "variant", maintain_order=True):
        seen_groups.append((ns, metric, variant))
        assert group["overall"][0] is True or group["overall"].all()
        starts = group.filter(~pl.col("overall"))["window_start_s"].to_list()
        assert starts == sorted(starts), (metric, variant, starts)
    assert len(seen_groups) == len(set(seen_groups)), "a metric's rows are split apart"
    assert frame.filter(~pl.col("overall"))["window_start_s"].n_unique() == 5


# rich.progress too: ~0.1 s, loaded only when a progress bar is shown
# rich.markdown (markdown-it-py) and rich.traceback: ~0.15 s that typer.rich_utils imports for features baton-lab does
# not use (see baton_lab/cli/_help_render.py)
HEAVY = ("pandas", "pandera", "scipy", "altair", "polars", "duckdb", "rich.progress", "rich.markdown", "markdown_it",
         "rich.traceback")
PROBE = """
import sys
from baton_lab.cli import app
try:
    app(sys.argv[1:], prog_name="baton-lab")
except SystemExit:
    pass
print("HEAVY", ",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["metrics", "--help"]], ids=" ".join)
def test_help_and_version_import_none_of_the_heavy_libraries(args: list[str]) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1] == "HEAVY", proc.stdout[-500:]
    assert ("Usage" in proc.stdout) or proc.stdout.startswith("baton-lab ")


HELP_PROBE = """
import sys
{preload}
from baton_lab.cli import app
try:
    app(sys.argv[1:], prog_name="baton-lab")
except SystemExit:
    pass
"""


@pytest.mark.parametrize("args", [["--help"], ["report", "--help"], []], ids=lambda a: " ".join(a) or "no arguments")
def test_help_without_the_unused_imports_reads_the_same(args: list[str]) -> None:
    """The stand-ins for rich.markdown and rich.traceback change nothing typer prints: the same help as with the real
    modules already imported (then typer uses them and no stand-in is involved)."""
    import subprocess
    import sys

    def help_text(preload: str) -> str:
        env = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
        proc = subprocess.run([sys.executable, "-c", HELP_PROBE.format(preload=preload), *args], capture_output=True,
                              text=True, timeout=600, env=env)
        return proc.stdout + proc.stderr

    light = help_text("")
    assert "Usage" in light and "Traceback" not in light
    assert light == help_text("import rich.markdown, rich.traceback")


def test_the_stand_ins_do_not_outlive_the_help_import() -> None:
    import subprocess
    import sys

    code = ("import sys\n"
            "from baton_lab.cli._help_render import load_rich_utils\n"
            "rich_utils = load_rich_utils()\n"
            "assert 'rich.markdown' not in sys.modules and 'rich.traceback' not in sys.modules\n"
            "import rich.markdown, rich.traceback\n"
            "assert hasattr(rich.markdown, 'Heading')\n"   # the real module, not the stand-in
            "assert type(rich_utils.Markdown('# x')) is rich.markdown.Markdown\n"
            "try:\n    1 / 0\nexcept ZeroDivisionError as exc:\n"
            "    tb = rich_utils.Traceback.from_exception(type(exc), exc, exc.__traceback__)\n"
            "assert type(tb) is rich.traceback.Traceback\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.stdout.strip() == "ok", proc.stderr


# capture reads formats, so it loads the format readers (markdown-it-py for the prose ones): only the analysis and
# report libraries must stay out
CAPTURE_HEAVY = ("pandas", "pandera", "scipy", "altair", "polars", "duckdb", "rich.progress")


def test_capture_hook_imports_neither_pandera_nor_pandas_nor_the_report_libraries(tmp_path: Path) -> None:
    """`capture --hook` runs at every session end: it stores a snapshot (polars and DuckDB are needed) but the
    pandera models, pandas, scipy and altair stay unloaded, into a new store and into one that exists."""
    import subprocess
    import sys

    db = tmp_path / "store.duckdb"
    for n in range(2):
        baton = write(tmp_path / "cache" / "ns.json", v1(f"s{n}", loops=[loop(f"L{n}")]))
        hook = json.dumps({"session_id": f"agent-{n}", "hook_event_name": "SessionEnd"})
        proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=CAPTURE_HEAVY), "capture", "--hook", "--from",
                               str(baton), "--namespace", "ns", "--db", str(db)],
                              input=hook, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert "new snapshot" in proc.stdout, (proc.stdout, proc.stderr)
        assert proc.stdout.rstrip().splitlines()[-1] == "HEAVY duckdb,polars", (n, proc.stdout[-500:])
    assert bl.open(db, read_only=True).snapshots("ns")["session_id"].to_list() == ["s0", "s1"]
