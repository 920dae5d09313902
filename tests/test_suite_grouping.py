"""The Makefile's `--dist loadgroup` keeps tests sharing an expensive session fixture (demo report, notebooks) on
one worker (tests/conftest.py marks them). pytest 9.2 silently broke that grouping (pytest-xdist#1386); this
guards the pinned combination so an upgrade that breaks it again fails here rather than doubling the suite's time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_loadgroup_keeps_a_group_on_one_worker(tmp_path: Path):
    (tmp_path / "test_grouped.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.xdist_group('shared')\n"
        "@pytest.mark.parametrize('i', range(6))\n"
        "def test_grouped(i):\n    pass\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup", "-v",
         "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    passed = re.findall(r"\[(gw\d+)\].*PASSED (\S+)", run.stdout)
    assert len(passed) == 6, run.stdout
    assert {worker for worker, _ in passed} == {passed[0][0]}, run.stdout
    assert all(nodeid.endswith("@shared") for _, nodeid in passed), run.stdout
