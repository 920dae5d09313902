"""baton_lab.vega.export: figures render in worker processes only, so a renderer that fails — or aborts the
process, as vl-convert did on a NUL in a label (issue 17) — ends in a BatonLabError, never in the caller."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import vl_convert

from baton_lab import vega
from baton_lab.errors import BatonLabError

BAR = {"data": {"values": [{"k": "a", "v": 1}, {"k": "b", "v": 2}]}, "mark": "bar",
       "encoding": {"x": {"field": "k", "type": "nominal"}, "y": {"field": "v", "type": "quantitative"}}}


def test_the_caller_never_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("rendered in the calling process")

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", refuse)
    monkeypatch.setattr(vl_convert, "svg_to_png", refuse)
    written = vega.export([("one", BAR), ("two", BAR)], tmp_path, png=True)
    assert sorted(p.name for p in written) == ["one.png", "one.svg", "two.png", "two.svg"]
    assert (tmp_path / "one.svg").read_text().startswith("<svg")
    assert (tmp_path / "two.png").read_bytes().startswith(b"\x89PNG")


def test_a_renderer_that_aborts_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose vl-convert aborts the process (as on the NUL of issue 17) ends in a BatonLabError naming
    the signal; the caller lives on."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text("import os, vl_convert\n"
                                           "vl_convert.vegalite_to_svg = lambda *a, **k: os.abort()\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])))
    with pytest.raises(BatonLabError, match=r"renderer exit code -6"):
        vega.export([("one", BAR)], tmp_path / "figures", png=False)


def test_a_failing_renderer_is_a_clean_error(tmp_path: Path) -> None:
    broken = {"mark": "bar", "encoding": {"x": {"field": "k", "type": "no-such-type"}}}
    with pytest.raises(BatonLabError, match="a figure could not be exported"):
        vega.export([("good", BAR), ("bad", broken)], tmp_path, png=False)


def test_text_xml_cannot_hold_is_replaced_not_fatal(tmp_path: Path) -> None:
    nul = {**BAR, "title": "ns\x00with\x1fcontrols\ud800"}
    (svg,) = vega.export([("nul", nul)], tmp_path, png=False)
    text = svg.read_text()
    assert "\x00" not in text and "ns\ufffdwith\ufffdcontrols\ufffd" in text


@pytest.mark.parametrize("pairs", [1, 2, 3, 4, 6])
def test_a_shortened_label_never_splits_an_emoji(tmp_path: Path, pairs: int) -> None:
    """Vega shortens long labels by UTF-16 units; cutting an emoji's surrogate pair made vl-convert fail on the
    half (fuzz seed 7). Outside the Basic Multilingual Plane the figure shows U+FFFD instead."""
    label = "ab" * pairs + "\U0001F600" * 6
    spec = {"data": {"values": [{"k": label, "v": 1}]}, "mark": "bar",
            "encoding": {"y": {"field": "k", "type": "nominal", "axis": {"labelLimit": 40}},
                         "x": {"field": "v", "type": "quantitative"}}}
    (svg,) = vega.export([("emoji", spec)], tmp_path, png=False)
    assert "ab" in svg.read_text()


def test_a_worker_imports_only_the_renderer() -> None:
    """The isolation costs a process start, not an import of altair, polars or the metric code."""
    probe = ("import sys, baton_lab.vega._export; "
             "print(sorted(m for m in ('altair', 'polars', 'pandera', 'scipy', 'duckdb', 'baton_lab.charts') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_worker_that_cannot_write_raises_the_os_error(tmp_path: Path) -> None:
    """Disk full or permission denied in a worker is the caller's OSError (the CLI maps it), not a renderer error."""
    folder = tmp_path / "figures"
    folder.mkdir()
    (folder / "one.svg").mkdir()          # writing one.svg now fails with IsADirectoryError in the worker
    with pytest.raises(IsADirectoryError) as caught:
        vega.export([("one", BAR)], folder, png=False)
    assert caught.value.filename == str(folder / "one.svg")


def test_workers_started_before_one_that_cannot_start_are_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """No processes left: the workers already started are killed and reaped, not left blocking on their stdin."""
    import subprocess

    from baton_lab.vega import _export

    started: list[subprocess.Popen] = []
    real = subprocess.Popen

    def popen(*args, **kwargs):
        if started:
            raise OSError(11, "Resource temporarily unavailable")
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(_export.subprocess, "Popen", popen)
    with pytest.raises(OSError):
        _export.Renderers(png=False, workers=2)
    assert len(started) == 1 and started[0].poll() is not None
