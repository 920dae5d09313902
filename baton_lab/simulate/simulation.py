"""`simulate(...)` -> `Simulation`, and writing a simulation to disk with its ground truth.

A Simulation is a recipe (namespaces, their parameters, seeds, session counts); running it is cheap
and deterministic, so nothing is kept in memory between uses: `write` streams every session straight
into the writers, which is what lets scale mode run 100k sessions in constant memory.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import polars as pl

from . import truth
from .model import NamespaceRun, SessionSnapshot
from .params import SimParams, SimulationError, resolve
from .writers import DATASET_FORMATS, FORMAT_DIRS, FORMATS, namespace_writer
from .writers.files import write_cache
from .writers.sqlite import write_sqlite

MODEL_VERSION = "1"
DEFAULT_FORMATS = ("v1", "v2", "sqlite", "git", "transcript")

LAYOUT = {
    "v1": "v1/<namespace-safe>/<seq:05d>-<session_id>.json (one v1 baton per session)",
    "v2": "v2/<namespace-safe>/<seq:05d>-r<revision:05d>.json (one v2 baton per session; revisions in between were never on disk)",
    "ndjson": "ndjson/<namespace-safe>.ndjson (one compact v1 baton per line, session order)",
    "sqlite": "sqlite/batons.db (the server's table `batons`: latest write per namespace)",
    "cache": "cache/<namespace-safe>.json (~/.claude/loop/batons: final baton + _sync_status)",
    "git": "git/<namespace-safe>/ (repository of baton.json, one commit per session)",
    "git-bundle": "git/<namespace-safe>.bundle (the same history as a git bundle)",
    "transcript": "transcripts/<-home-dev-namespace-safe>/<sessionId>.jsonl (Claude Code sessions only)",
    "truth": "truth/params.json, truth/summary.json, truth/<table>.parquet",
}
KEYING = (
    "seq / *_seq = 1-based session index within a namespace = snapshot order in every format; "
    "item_id = the item's `id`, the same in every format; namespace = the baton namespace "
    "(`<namespace-safe>` replaces / and : with _)."
)


@dataclass(frozen=True)
class NamespaceSpec:
    index: int
    namespace: str
    preset: str
    params: SimParams
    sessions: int
    seed: int

    def seed_sequence(self) -> np.random.SeedSequence:
        # spawn_key by index: a namespace's stream does not depend on how many namespaces there are.
        return np.random.SeedSequence(self.seed, spawn_key=(self.index,))

    def run(self, *, with_v2: bool = True) -> NamespaceRun:
        return NamespaceRun(self.namespace, self.preset, self.params, self.seed_sequence(), self.sessions, with_v2=with_v2)


@dataclass
class WriteReport:
    """What `Simulation.write` produced."""

    out_dir: Path
    files: dict[str, int]
    truth_dir: Path
    headline: dict[str, dict[str, int]]
    hidden: dict[str, dict[str, int]]
    sessions: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "files": self.files,
            "truth_dir": str(self.truth_dir),
            "sessions": self.sessions,
            "seconds": round(self.seconds, 3),
            "headline": self.headline,
            "hidden": self.hidden,
        }


class Simulation:
    """A seeded set of simulated loops. Iterate `snapshots()` or `write()` them to disk."""

    def __init__(self, specs: Sequence[NamespaceSpec], seed: int, preset: str) -> None:
        self.specs = tuple(specs)
        self.seed = seed
        self.preset = preset
        self._rows: dict[str, list[dict[str, Any]]] | None = None

    @property
    def namespaces(self) -> list[str]:
        return [spec.namespace for spec in self.specs]

    def spec(self, namespace: str) -> NamespaceSpec:
        for spec in self.specs:
            if spec.namespace == namespace:
                return spec
        raise SimulationError(f"no namespace {namespace!r} in this simulation")

    def snapshots(self, namespace: str | None = None, *, with_v2: bool = True) -> Iterator[SessionSnapshot]:
        """Every session's snapshot, namespace by namespace, in session order."""
        for spec in self.specs:
            if namespace is None or spec.namespace == namespace:
                yield from spec.run(with_v2=with_v2)

    def truth_rows(self) -> dict[str, list[dict[str, Any]]]:
        if self._rows is None:
            parts = []
            for spec in self.specs:
                run = spec.run(with_v2=False)
                for _ in run:
                    pass
                parts.append(_rows(run, self.seed))
            self._rows = truth.merge(parts)
        return self._rows

    def truth(self) -> dict[str, pl.DataFrame]:
        """Ground-truth tables (see `truth.py` for columns and keying)."""
        return truth.frames(self.truth_rows())

    def headline(self) -> dict[str, dict[str, int]]:
        by_namespace = truth.split(self.truth_rows())
        return {ns: truth.headline(by_namespace[ns]) for ns in self.namespaces}

    def _select(self, formats: Iterable[str] | Mapping[str, Sequence[str] | None]) -> dict[str, list[str]]:
        if isinstance(formats, str):
            formats = [formats]
        mapping = dict(formats) if isinstance(formats, Mapping) else {fmt: None for fmt in formats}
        _check_formats(mapping)
        selection = {}
        for fmt, names in mapping.items():
            if names is None:
                names = self.namespaces
            unknown = [n for n in names if n not in self.namespaces]
            if unknown:
                raise SimulationError(f"format {fmt!r} names unknown namespaces: {', '.join(unknown)}")
            selection[fmt] = [n for n in self.namespaces if n in names]
        return selection

    def params_document(self, formats: Mapping[str, list[str]] | Iterable[str] = ()) -> dict[str, Any]:
        if not isinstance(formats, Mapping):
            formats = {fmt: self.namespaces for fmt in formats}
        return {
            "generator": "baton_lab.simulate",
            "model_version": MODEL_VERSION,
            "seed": self.seed,
            "preset": self.preset,
            "sessions": sum(spec.sessions for spec in self.specs),
            "formats": {fmt: list(names) for fmt, names in formats.items()},
            "keying": KEYING,
            "layout": {fmt: LAYOUT[fmt] for fmt in [*formats, "truth"]},
            "namespaces": [
                {
                    "namespace": spec.namespace,
                    "preset": spec.preset,
                    "sessions": spec.sessions,
                    "seed": spec.seed,
                    "spawn_key": [spec.index],
                    "params": spec.params.to_json(),
                }
                for spec in self.specs
            ],
        }

    def write(
        self,
        out_dir: str | os.PathLike[str],
        formats: Iterable[str] | Mapping[str, Sequence[str] | None] = DEFAULT_FORMATS,
        *,
        overwrite: bool = False,
        workers: int = 1,
    ) -> WriteReport:
        """Write the chosen formats and `truth/` under `out_dir`; return counts and headline truth.

        `formats` is a list of format names (every namespace in each), or a mapping format ->
        namespaces (None = all) when different loops should be kept in different formats (the demo).
        Truth always covers every namespace.
        """
        started = time.perf_counter()
        out = Path(out_dir)
        selection = self._select(formats)
        formats = tuple(selection)
        _prepare(out, formats, overwrite)
        jobs = [
            (spec, tuple(f for f in formats if spec.namespace in selection[f]), out, self.seed) for spec in self.specs
        ]
        if workers > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(_write_namespace, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
        else:
            results = [_write_namespace(job) for job in jobs]

        files = {fmt: 0 for fmt in formats}
        finals = []
        for counts, _, final in results:
            for fmt, n in counts.items():
                files[fmt] += n
            finals.append(final)
        if "sqlite" in formats:
            chosen = [f for f in finals if f.namespace in selection["sqlite"]]
            files["sqlite"] = write_sqlite(out / "sqlite" / "batons.db", chosen)
        if "cache" in formats:
            files["cache"] = write_cache(out / "cache", [f for f in finals if f.namespace in selection["cache"]])
        rows = truth.merge([part for _, part, _ in results])
        self._rows = rows
        truth_dir = out / "truth"
        truth_files = truth.write(truth_dir, rows, self.params_document(selection))
        files["truth"] = len(truth_files)
        return WriteReport(
            out_dir=out,
            files=files,
            truth_dir=truth_dir,
            headline={spec.namespace: truth.headline(part) for spec, (_, part, _) in zip(self.specs, results)},
            hidden={spec.namespace: truth.hidden_truth(part) for spec, (_, part, _) in zip(self.specs, results)},
            sessions=sum(spec.sessions for spec in self.specs),
            seconds=time.perf_counter() - started,
        )


def simulate(
    params_or_preset: str | SimParams | Mapping[str, SimParams] = "default",
    *,
    seed: int = 0,
    sessions: int = 300,
    namespaces: int = 1,
) -> Simulation:
    """A simulation of `namespaces` loops sharing `sessions` sessions in total (split evenly).

    `params_or_preset` is a preset name (`PRESETS`), a mix name (`demo`: one namespace per preset),
    a `SimParams`, or a mapping label -> SimParams; namespaces take them round-robin.
    """
    if namespaces < 1:
        raise SimulationError("--namespaces must be at least 1")
    if sessions < namespaces:
        raise SimulationError(f"--sessions ({sessions}) must be at least --namespaces ({namespaces})")
    if seed < 0:
        raise SimulationError("--seed must be a non-negative integer")
    cycle = resolve(params_or_preset)
    label = params_or_preset if isinstance(params_or_preset, str) else "custom"
    base, extra = divmod(sessions, namespaces)
    specs = []
    for i in range(namespaces):
        label, preset, params = cycle[i % len(cycle)]
        specs.append(NamespaceSpec(i, f"{label}-{i + 1:03d}", preset, params, base + (i < extra), seed))
    return Simulation(specs, seed, label)


def generate(
    out_dir: str | os.PathLike[str],
    preset: str | SimParams = "default",
    *,
    seed: int = 0,
    sessions: int = 300,
    namespaces: int = 1,
    formats: Iterable[str] = DEFAULT_FORMATS,
    overwrite: bool = False,
    workers: int = 1,
) -> WriteReport:
    """`simulate(...).write(...)` in one call (what `baton-lab simulate` runs)."""
    if workers < 1:
        raise SimulationError(f"--workers must be at least 1 (got {workers})")
    sim = simulate(preset, seed=seed, sessions=sessions, namespaces=namespaces)
    return sim.write(out_dir, formats, overwrite=overwrite, workers=workers)


# -- internals ------------------------------------------------------------------------------------
def _check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    chosen: list[str] = []
    for fmt in formats:
        if fmt not in FORMATS:
            raise SimulationError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        if fmt not in chosen:
            chosen.append(fmt)
    if "git" in chosen and "git-bundle" in chosen:
        raise SimulationError("choose one of --write git and --write git-bundle (both write git/)")
    if not chosen:
        raise SimulationError("no --format given")
    return tuple(chosen)


def _prepare(out: Path, formats: tuple[str, ...], overwrite: bool) -> None:
    targets = sorted({out / FORMAT_DIRS[fmt] for fmt in formats} | {out / "truth"})
    busy = [t for t in targets if t.exists() and any(t.iterdir())]
    if busy and not overwrite:
        names = ", ".join(str(t) for t in busy)
        raise SimulationError(f"output already exists: {names}", hint="pass --force to replace those directories")
    for target in busy:
        shutil.rmtree(target)
    out.mkdir(parents=True, exist_ok=True)


def _rows(run: NamespaceRun, seed: int) -> dict[str, list[dict[str, Any]]]:
    from .writers.transcript import claude_session_id

    rows = truth.rows_from_run(run)
    for row in rows["sessions"]:
        row["claude_session_id"] = (
            claude_session_id(str(seed), run.namespace, row["seq"]) if row["writer"] == "claude-code" else None
        )
    return rows


def _write_namespace(job: tuple[NamespaceSpec, tuple[str, ...], Path, int]):  # noqa: ANN202
    spec, formats, out, seed = job
    run = spec.run(with_v2="v2" in formats)
    writers = {fmt: namespace_writer(fmt, out, spec.namespace, str(seed)) for fmt in formats if fmt not in DATASET_FORMATS}
    final = None
    for snap in run:
        for writer in writers.values():
            writer.add(snap)
        final = snap
    counts = {fmt: writer.close() for fmt, writer in writers.items()}
    if final is not None:
        # Only what the dataset writers need crosses the process boundary.
        final = SessionSnapshot(
            final.namespace, final.seq, final.session_id, final.parent_session, final.started_at, final.written_at,
            final.writer, final.revision, [], final.v1, None, final.server_updated_at, final.payload_recoverable,
        )
    return counts, _rows(run, seed), final
