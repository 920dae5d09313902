"""The support matrix: `baton-lab formats` (and --json) and the README table come from the formats' and metrics'
declarations."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from baton_lab.cli import app
from baton_lab.support import matrix_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_shows_the_generated_matrix() -> None:
    assert matrix_markdown() in README.read_text(encoding="utf-8")


def test_formats_json_lists_capabilities_absence_and_supported_metrics() -> None:
    result = CliRunner().invoke(app, ["formats", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    beads = rows["beads-issues"]
    assert beads["unit"] == "file" and beads["absence"] == {"decision": "ambiguous", "follow_up": "ambiguous"}
    assert "follow_ups" in beads["capabilities"] and "defer_counts" not in beads["capabilities"]
    assert "time_to_followup_resolution" in beads["metrics"]["followups"]
    assert "deferral_distribution" in beads["unsupported"] and "loops" not in beads["metrics"]
    assert rows["baton-v1"]["absence"]["follow_up"] == "ambiguous"
    assert rows["api-envelope"]["absence"]["follow_up"] == "v1: ambiguous, v2: by_status"
    assert {"git-history", "claude-code-transcript", "capture-http", "ndjson"} <= set(rows)


def test_formats_text_names_every_format() -> None:
    result = CliRunner().invoke(app, ["formats"])
    assert result.exit_code == 0
    for name in ("beads-issues", "lessons-jsonl", "baton-v1", "git-history"):
        assert name in result.stdout
