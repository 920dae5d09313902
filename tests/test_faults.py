"""Faults end as one `error:` line with a hint, and never damage a store: kill -9 during an import, two importers
at once, a full disk (`ulimit -f`), corrupted stores, another program's DuckDB file, a newer schema, and a
read-only store in a read-only folder (which read commands can still read)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import baton_lab as bl
from baton_lab.cli import app
from baton_lab.store.check import check_store
from builders import loop, v1, write_sequence

runner = CliRunner()
BATON_LAB = [str(Path(sys.executable).with_name("baton-lab"))]   # the installed command, as a user runs it


def history(folder: Path, prefix: str, sessions: int, loops: int) -> Path:
    """A lineage of `sessions` v1 batons with `loops` open loops each."""
    write_sequence(folder, [v1(f"{prefix}{i}", f"{prefix}{i - 1}" if i > 1 else None,
                               loops=[loop(f"OL-{j}") for j in range(loops)]) for i in range(1, sessions + 1)])
    return folder


def counts(db: Path) -> dict[str, int]:
    return bl.open(db, read_only=True).info()["tables"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_error(result, message: str, hint: str = "") -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0].startswith("error:") and message in lines[0], lines
    assert lines[1].startswith("hint:") and hint in lines[1], lines


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one namespace imported: the state every fault must leave intact."""
    root = tmp_path_factory.mktemp("faults")
    db = root / "before.duckdb"
    bl.open(db).import_(history(root / "a", "a", 12, 10), namespace="a")
    return db


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, larger namespace to import while faults strike."""
    return history(tmp_path_factory.mktemp("batch") / "b", "b", 150, 40)


def copy_of(before: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "store.duckdb"
    shutil.copy(before, db)
    return db


# -- corrupted and foreign stores (in process) --------------------------------------------------------
def test_a_truncated_store_is_reported_damaged_by_every_reader_and_by_check(before: Path, tmp_path: Path) -> None:
    db = copy_of(before, tmp_path)
    os.truncate(db, db.stat().st_size // 2)
    for args in (["info"], ["metrics"], ["validate"], ["report", "--out", str(tmp_path / "r")]):
        one_line_error(runner.invoke(app, [*args, "--db", str(db)]), "is damaged", "baton-lab check")
    check = runner.invoke(app, ["check", "--db", str(db)])
    # where the cut lands decides which check sees it first (the meta table or a data table); either is a FAIL
    assert check.exit_code == 1 and ("FAIL data readable" in check.stdout or "FAIL schema version" in check.stdout)
    assert "1 problem(s) found" in check.stdout


def test_scribbled_blocks_fail_their_checksum_cleanly(before: Path, tmp_path: Path) -> None:
    db = copy_of(before, tmp_path)
    data, rnd = bytearray(db.read_bytes()), random.Random(7)
    for offset in range(300_000, len(data) - 4096, 262_144):   # past the header: data blocks
        data[offset:offset + 512] = bytes(rnd.randrange(256) for _ in range(512))
    db.write_bytes(bytes(data))
    results = [runner.invoke(app, [*args, "--db", str(db)]) for args in (["info"], ["metrics"], ["check"])]
    for result in results[:2]:
        one_line_error(result, "is damaged", "baton-lab check")
    assert results[2].exit_code == 1 and "checksum" in results[2].output


def test_a_dropped_table_is_named(before: Path, tmp_path: Path) -> None:
    db = copy_of(before, tmp_path)
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE events")
    con.close()
    one_line_error(runner.invoke(app, ["metrics", "--db", str(db)]), "its table `events` is missing", "baton-lab check")
    check = runner.invoke(app, ["check", "--db", str(db)])
    assert check.exit_code == 1 and "FAIL table events: missing" in check.stdout
    assert "ok   table" not in check.stdout and "FAIL" not in check.stdout.replace("FAIL table events", "")


def test_a_newer_schema_version_is_refused_by_readers_and_writers(before: Path, tmp_path: Path, batch: Path) -> None:
    db = copy_of(before, tmp_path)
    con = duckdb.connect(str(db))
    con.execute("UPDATE baton_lab_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    kept = digest(db)
    one_line_error(runner.invoke(app, ["info", "--db", str(db)]), "schema version 99 is newer", "upgrade baton-lab")
    one_line_error(runner.invoke(app, ["import", str(batch), "-n", "b", "--db", str(db)]), "newer", "upgrade")
    assert digest(db) == kept


def test_a_foreign_duckdb_file_is_refused_and_never_modified(tmp_path: Path, batch: Path) -> None:
    db = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE invoices AS SELECT range AS id FROM range(10)")
    con.close()
    kept, mtime = digest(db), db.stat().st_mtime_ns
    for args in (["info"], ["metrics"], ["import", str(batch), "-n", "b"], ["capture", "--from", str(batch / "001-b1.json")]):
        one_line_error(runner.invoke(app, [*args, "--db", str(db)]), "another program's DuckDB database", "--db")
    check = runner.invoke(app, ["check", "--db", str(db)])
    assert check.exit_code == 1 and "another program's DuckDB database (tables: invoices)" in check.stdout
    assert digest(db) == kept and db.stat().st_mtime_ns == mtime
    assert not Path(f"{db}.wal").exists()


def test_a_sqlite_file_is_refused_without_fetching_an_extension(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "x.sqlite3"
    sqlite3.connect(db).execute("CREATE TABLE t (a)").connection.commit()
    home = tmp_path / "home"   # DuckDB would install extensions under ~/.duckdb
    result = runner.invoke(app, ["info", "--db", str(db)], env={"HOME": str(home)})
    one_line_error(result, "another database format", "--db")
    assert "nothing is fetched" in result.stderr and not home.exists()
    with duckdb.connect(":memory:") as con:   # the default would have auto-installed sqlite_scanner
        assert con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone()[0] in (True, False)
    lab_con = bl.open(tmp_path / "s.duckdb")
    with lab_con.connect(read_only=True) as con:
        assert con.execute("SELECT current_setting('autoinstall_known_extensions'), "
                           "current_setting('autoload_known_extensions')").fetchone() == (False, False)


def test_a_store_path_under_a_regular_file_is_a_clean_error(tmp_path: Path, batch: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    one_line_error(runner.invoke(app, ["import", str(batch), "-n", "b", "--db", str(tmp_path / "notes.txt" / "s.duckdb")]),
                   "notes.txt", "")
    one_line_error(runner.invoke(app, ["simulate", "--out", str(tmp_path / "notes.txt"), "--sessions", "3"]),
                   "notes.txt already exists and is not a folder", "name a folder")


# -- processes: kill -9, two importers, a full disk ------------------------------------------------------
def _holds_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def _wait_until_open(proc: subprocess.Popen, path: Path, timeout: float = 300) -> bool:
    """Wait until the child has the store open (it is importing), or has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if _holds_open(proc.pid, path):
            return True
        time.sleep(0.005)
    return False


needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see when a child holds the store")


@needs_proc
@pytest.mark.slow
def test_kill_9_during_an_import_leaves_the_before_or_the_after_state(before: Path, batch: Path, tmp_path: Path) -> None:
    # One uninterrupted run gives the after-state and how long the import holds the store (open → exit).
    after_db = copy_of(before, tmp_path / "after")
    proc = subprocess.Popen([*BATON_LAB, "import", str(batch), "-n", "b", "--db", str(after_db)])
    assert _wait_until_open(proc, after_db)
    opened = time.monotonic()
    assert proc.wait(timeout=900) == 0
    duration = time.monotonic() - opened
    before_state, after_state = counts(before), counts(after_db)
    assert before_state != after_state
    rnd = random.Random(20260603)
    seen = []
    for trial in range(5):
        db = copy_of(before, tmp_path / f"t{trial}")
        proc = subprocess.Popen([*BATON_LAB, "import", str(batch), "-n", "b", "--db", str(db)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert _wait_until_open(proc, db)
        if trial < 4:   # one random point in each quarter of the import (and a little past its end)
            time.sleep(rnd.uniform(trial / 4, (trial + 1) / 4) * 1.1 * duration)
        else:           # the moment the commit starts writing the log
            wal = Path(f"{db}.wal")
            while proc.poll() is None and not (wal.exists() and wal.stat().st_size > 0):
                time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = counts(db)
        assert state in (before_state, after_state), f"trial {trial}: a state between before and after: {state}"
        assert check_store(db).ok, str(check_store(db))
        seen.append("after" if state == after_state else "before")
        rerun = runner.invoke(app, ["import", str(batch), "-n", "b", "--db", str(db)])   # recovers by re-importing
        assert rerun.exit_code == 0 and counts(db) == after_state
    print(f"kill -9 at random points of a {duration:.1f} s import left: {seen}")


@needs_proc
@pytest.mark.slow
def test_a_second_importer_gets_the_in_use_error(before: Path, batch: Path, tmp_path: Path) -> None:
    db = copy_of(before, tmp_path)
    first = subprocess.Popen([*BATON_LAB, "import", str(batch), "-n", "b", "--db", str(db)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_until_open(first, db), "the first importer never opened the store"
        first.send_signal(signal.SIGSTOP)       # hold it mid-import while the second one tries
        second = runner.invoke(app, ["import", str(before.parent / "a"), "-n", "second", "--db", str(db)])
        one_line_error(second, "is in use by another process", "another baton-lab process is writing")
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=600) == 0, first.stderr.read() if first.stderr else ""
    namespaces = {ns["namespace"] for ns in bl.open(db, read_only=True).info()["namespaces"]}
    assert namespaces == {"a", "b"} and check_store(db).ok


DRIVER = """
import json, resource, sys
from typer.testing import CliRunner
from baton_lab.cli import app
limit = int(sys.argv[1])
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
out = []
for args in json.loads(sys.argv[2]):
    r = CliRunner().invoke(app, args)
    out.append({"exit": r.exit_code, "stdout": r.stdout, "stderr": r.stderr,
                "exception": None if r.exception is None or isinstance(r.exception, SystemExit) else repr(r.exception)})
print(json.dumps(out))
"""


def drive(commands: list[list[str]], *, file_limit: int = 0, prefix: list[str] = ()) -> list[dict]:
    """Run CLI commands in one child process (optionally with a file size limit, or fewer privileges)."""
    proc = subprocess.run([*prefix, sys.executable, "-c", DRIVER, str(file_limit), json.dumps(commands)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_one_line(result: dict, message: str) -> None:
    assert result["exit"] == 1 and result["exception"] is None, result
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0].startswith("error:") and message in lines[0] and lines[1].startswith("hint:"), lines


@pytest.mark.slow
def test_a_full_disk_changes_nothing_and_says_so(before: Path, batch: Path, tmp_path: Path) -> None:
    db = copy_of(before, tmp_path)
    fresh = tmp_path / "fresh" / "new.duckdb"
    kept = counts(db)
    limit = db.stat().st_size + 64 * 1024       # the batch needs megabytes more
    full, first = drive([["import", str(batch), "-n", "b", "--db", str(db)],
                         ["import", str(batch), "-n", "b", "--db", str(fresh)]], file_limit=limit)
    assert_one_line(full, "disk full")
    assert "nothing changed" in full["stderr"]
    assert counts(db) == kept and check_store(db).ok
    assert_one_line(first, "disk full")
    assert not fresh.exists(), "a failed first import left a store file behind"
    # writing a report: the store is only read, the output folder is what fills up
    (report,) = drive([["report", "--db", str(db), "--out", str(tmp_path / "report")]], file_limit=200_000)
    assert_one_line(report, f"disk full (or file size limit reached) while writing {tmp_path / 'report'}")
    assert counts(db) == kept


# -- a read-only store in a read-only folder -------------------------------------------------------------
def _unprivileged() -> list[str]:
    """As root, permissions are not enforced: drop the capabilities that bypass them (setpriv, util-linux)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a read-only store read-only")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


@pytest.mark.slow
def test_a_read_only_store_in_a_read_only_folder_can_be_read(before: Path, batch: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "store.duckdb"
    shutil.copy(before, db)
    kept = digest(db)
    db.chmod(0o444)
    folder.chmod(0o555)
    try:
        prefix = _unprivileged()
        probe = subprocess.run([*prefix, sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"],
                               capture_output=True)
        if probe.returncode == 0:
            pytest.skip("this file system lets the test write into a read-only folder")
        results = drive([["info", "--db", str(db), "--json"], ["validate", "--db", str(db)],
                         ["metrics", "--db", str(db), "-m", "L6", "--output", "csv"], ["check", "--db", str(db)],
                         ["report", "--db", str(db), "--out", str(tmp_path / "report")],
                         ["import", str(batch), "-n", "b", "--db", str(db)],
                         ["import", str(batch), "-n", "b", "--db", str(folder / "sub" / "new.duckdb")]], prefix=prefix)
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)
    info, validate, metrics, check, report, write_store, write_folder = results
    for result in (info, validate, metrics, check, report):
        assert result["exit"] == 0 and result["exception"] is None, result
    assert json.loads(info["stdout"])["tables"]["snapshots"] == 12
    assert "the store is sound" in check["stdout"]
    assert (tmp_path / "report" / "index.html").is_file()
    assert_one_line(write_store, "permission denied")
    assert str(db) in write_store["stderr"]
    assert_one_line(write_folder, f"permission denied: {folder / 'sub'}")
    assert digest(db) == kept and not Path(f"{db}.wal").exists()
