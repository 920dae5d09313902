from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import baton_lab as bl  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
# The real examples live beside the repository in ../shared (a developer's and CI's layout); a user's
# clone has none, so tests that need them skip with this message instead of failing.
SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_MISSING = f"../shared is not beside this clone ({SHARED}): real-example tests skipped"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test with a clear message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(SHARED_MISSING)
    return path


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """CI runs the suite once in a plain copy, then only what skipped there for want of ../shared, with it
    (.ci/run); this hook lists those tests when BATON_LAB_SHARED_SKIPS names a file."""
    log = os.environ.get("BATON_LAB_SHARED_SKIPS")
    if log and report.skipped and "../shared is not beside this clone" in str(report.longrepr):
        with open(log, "a", encoding="utf-8") as out:
            out.write(report.nodeid + "\n")


# Tests sharing an expensive session fixture run on one xdist worker (`--dist loadgroup` in the Makefile), so the
# demo report is built and each notebook executed once per run, not once per worker.
_SHARED_WORK = {"demo_report": "demo-report", "run_notebook": "notebooks", "demo_lab": "notebooks"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = next((g for fixture, g in _SHARED_WORK.items() if fixture in getattr(item, "fixturenames", ())), None)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def lab(tmp_path: Path) -> bl.Lab:
    return bl.open(tmp_path / "store.duckdb")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


XSS = "<script>alert(1)</script>"


def _xss_batons(folder: Path) -> None:
    """Three sessions of a namespace whose baton text is hostile HTML, as an agent might write it."""
    import json

    from builders import loop, pattern, v1

    folder.mkdir(parents=True)
    hostile = pattern("p-xss", count=4, status="rule_candidate", occurrences=[("s1", XSS), ("s2", XSS)], what=XSS)
    for i, count in enumerate((3, 9, 15), start=1):
        doc = v1(f"s{i}", f"s{i - 1}" if i > 1 else None, updated_at=f"2026-06-1{i}T10:00:00+00:00",
                 loops=[loop("l-xss", status="open", action=XSS)],
                 patterns=[dict(hostile, count=count)], context=XSS)
        (folder / f"baton-{i:03d}.json").write_text(json.dumps(doc), encoding="utf-8")


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory: pytest.TempPathFactory):
    """The demo data plus a hostile namespace, written once per test worker as a full report."""
    from baton_lab import demo, report

    root = tmp_path_factory.mktemp("demo_report")
    lab = bl.open(demo.run(root / "demo.duckdb")["db"])
    _xss_batons(root / "xss")
    lab.import_(root / "xss", namespace="xss-<b>ns</b>")
    built = report.build(lab)
    return built, built.write(root / "report", png=True)   # PNG is opt-in: written here so its path is tested
