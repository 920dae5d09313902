from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import baton_lab as bl  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def lab(tmp_path: Path) -> bl.Lab:
    return bl.open(tmp_path / "store.duckdb")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
