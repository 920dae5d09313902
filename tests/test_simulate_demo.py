"""baton_lab/data/demo is exactly what `python -m baton_lab.simulate.demo` writes, and stays small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baton_lab.simulate.demo import DEFAULT_OUT, SEED, demo_formats, demo_simulation, write_demo
from baton_lab.simulate.writers.git import bundle_head

GENERATED = ("v1", "v2", "transcripts", "git", "sqlite", "cache", "truth")


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for sub in GENERATED
        for p in sorted((root / sub).rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_demo(out)
    return out


def test_demo_is_reproducible_byte_for_byte(regenerated: Path) -> None:
    shipped, fresh = files(DEFAULT_OUT), files(regenerated)
    assert sorted(shipped) == sorted(fresh)
    differing = [name for name in shipped if shipped[name] != fresh[name]]
    assert differing == []
    for bundle in sorted((DEFAULT_OUT / "git").glob("*.bundle")):
        assert bundle_head(bundle) == bundle_head(regenerated / "git" / bundle.name)


def test_demo_is_small_and_documented() -> None:
    size = sum(p.stat().st_size for p in DEFAULT_OUT.rglob("*") if p.is_file())
    assert size < 5_000_000
    readme = (DEFAULT_OUT / "README.md").read_text(encoding="utf-8")
    assert "python -m baton_lab.simulate.demo" in readme


def test_demo_keeps_each_loop_in_one_format_family() -> None:
    sim = demo_simulation()
    params = json.loads((DEFAULT_OUT / "truth" / "params.json").read_text(encoding="utf-8"))
    assert params["seed"] == SEED and params["formats"] == demo_formats(sim)
    assert sorted(p.name for p in (DEFAULT_OUT / "v1").iterdir()) == sorted(demo_formats(sim)["v1"])
    assert [p.name for p in (DEFAULT_OUT / "v2").iterdir()] == demo_formats(sim)["v2"]
    summary = json.loads((DEFAULT_OUT / "truth" / "summary.json").read_text(encoding="utf-8"))
    assert list(summary) == sim.namespaces
    assert sum(ns["headline"]["sessions"] for ns in summary.values()) == 250
