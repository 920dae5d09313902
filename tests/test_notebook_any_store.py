"""notebooks/07_what_your_data_can_answer.ipynb on a store that holds only Beads namespaces (built from the golden
Beads cases, not ../shared): it runs top to bottom on the store named by BATON_LAB_STORE and says plainly which
questions the data cannot answer and why."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import baton_lab as bl
from test_notebooks import CELL_TIMEOUT, NOTEBOOKS, Executed

NAME = "07_what_your_data_can_answer"
GOLDEN = Path(__file__).parent / "golden" / "beads-issues"


def test_notebook_is_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOKS / f"{NAME}.ipynb", as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_runs_on_a_beads_only_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "beads.duckdb"
    lab = bl.open(store)
    lab.import_(GOLDEN / "conflict-torn-empty" / "input", namespace="tracker")
    lab.import_(GOLDEN / "real-head15" / "input", namespace="compound-agent")
    assert set(lab.snapshots()["format"]) == {"beads-issues"}
    monkeypatch.setenv("BATON_LAB_STORE", str(store))
    nb = nbformat.read(NOTEBOOKS / f"{NAME}.ipynb", as_version=4)
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = Executed(nb, 0.0).text()
    assert f"Store: your store {store}" in text
    assert "beads-issues" in text
    # Beads has neither open loops nor pattern counts: two questions cannot be answered, and the reason is given.
    assert text.count("Cannot be answered from this data") >= 2
    assert "open-loop tier" in text and "occurrences" in text
    assert "the data cannot answer **graduation**, **regressions** (for " in text
