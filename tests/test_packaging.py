"""The wheel is what `pip install baton-lab` gives a user: build it, install it into a fresh venv outside the
repository, and run `baton-lab report --demo` there — the demo data must come from the package itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from baton_lab.simulate.demo import DEFAULT_OUT

REPO = Path(__file__).resolve().parent.parent
# what a build must not see: local environments and outputs
IGNORED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                 "reports", "artifacts", "out", "*.duckdb", "*.duckdb.wal")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline (no build isolation: the backend is in the test extra) from a copy of the sources."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(REPO, source, ignore=IGNORED)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
        "-w", root / "dist", source, cwd=root)
    (built,) = (root / "dist").glob("baton_lab-*.whl")
    return built


def test_the_wheel_carries_the_demo_data_license_and_type_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(REPO).as_posix() for p in DEFAULT_OUT.rglob("*") if p.is_file()}
    assert shipped and shipped <= names, sorted(shipped - names)[:5]
    assert "baton_lab/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert {"baton_lab/report/templates/report.html.j2", "baton_lab/report/templates/report.md.j2"} <= names
    metadata = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata and "Project-URL:" in metadata


@pytest.mark.slow
def test_the_installed_wheel_runs_the_demo_report_outside_the_repository(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel,
        cwd=tmp_path)
    # The dependencies are already installed in the project's venv; reuse them rather than download them again.
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip())
    ours = [p for p in sys.path if p.endswith("site-packages")]   # this venv's, and any it reuses in turn
    (site / "project-dependencies.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    scratch = tmp_path / "tmp"   # the temporary demo store goes here, and must be gone afterwards
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BATON_LAB_DB", "VIRTUAL_ENV")}
    env["TMPDIR"] = str(scratch)
    where = run(python, "-c", "import baton_lab, baton_lab.demo as d; print(baton_lab.__file__); print(d.demo_dir())",
                cwd=elsewhere, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    assert run(venv / "bin" / "baton-lab", "--version", cwd=elsewhere, env=env).stdout.strip() == f"baton-lab {version('baton-lab')}"

    result = run(venv / "bin" / "baton-lab", "report", "--demo", "--json", cwd=elsewhere, env=env)
    written = json.loads(result.stdout)
    out = elsewhere / "reports" / "demo"
    assert Path(written["out"]) == Path("reports/demo") and (out / "index.html").is_file()
    assert written["temporary_store_removed"] is True and written["store"] is None
    provenance = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["store"]["path"] is None and provenance["store"]["temporary"] is True
    assert provenance["sources"]["count"] > 0
    assert list(scratch.iterdir()) == [], "the temporary demo store was left behind"
