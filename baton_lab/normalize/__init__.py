"""Normalisation: the sections of observed documents to canonical item rows, collected per table and column
spec for bulk (columnar) frames. Which columns a format fills is the format's `Section`; this module only
checks items (an object, with an id, once per snapshot) and builds the frames."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .._jsonutil import dumps, fragment
from .columns import Col, extract
from .tables import PATCH_OP, SESSION_BRIDGE


@dataclass(slots=True)
class Finding:
    """Something in the input that could not be stored as data (becomes a `quarantine` row)."""

    uri: str
    json_path: str | None
    kind: str  # document | item | value
    reason: str
    fragment: str | None
    source_id: str
    namespace: str | None = None
    snapshot_id: str | None = None
    item_id: str | None = None


@dataclass(slots=True)
class _Pending:
    items: list[dict[str, Any]] = field(default_factory=list)
    keys: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))


@dataclass(slots=True)
class SnapshotContext:
    snapshot_id: str
    namespace: str
    source_id: str
    uri: str


class ItemCollector:
    """Gathers items from many batons, then builds one polars frame per table (columnar, not row by row)."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], _Pending] = defaultdict(_Pending)
        self._columns: dict[tuple[str, str], list[Col]] = {}
        self._bridges: _Pending = _Pending()
        self.findings: list[Finding] = []

    def __len__(self) -> int:
        return sum(len(p.items) for p in self._pending.values())

    def _add(self, key: tuple[str, str], item: dict[str, Any], path: str, ctx: SnapshotContext) -> None:
        pending = self._pending[key]
        pending.items.append(item)
        pending.keys["snapshot_id"].append(ctx.snapshot_id)
        pending.keys["namespace"].append(ctx.namespace)
        pending.keys["_path"].append(path)
        pending.keys["_uri"].append(ctx.uri)
        pending.keys["_source_id"].append(ctx.source_id)

    def _finding(self, ctx: SnapshotContext, path: str, kind: str, reason: str, value: Any, item_id: str | None = None) -> None:
        self.findings.append(Finding(ctx.uri, path, kind, reason, fragment(dumps(value)), ctx.source_id, ctx.namespace,
                                     ctx.snapshot_id if kind == "value" else None, item_id))

    def add_section(self, table: str, spec: str, columns: list[Col], entries: Any, path: str, ctx: SnapshotContext,
                    locations: list[str] | None = None) -> None:
        """Items of one table from one document; `locations` names each item when it is not `path[index]`."""
        if entries is None:
            return
        if not isinstance(entries, list):
            self._finding(ctx, path, "item", f"expected a list of items, got {type(entries).__name__}", entries)
            return
        key = (table, spec)
        self._columns.setdefault(key, columns)
        if not entries:
            return
        ids = [item.get("id") if type(item) is dict else None for item in entries]
        if set(map(type, ids)) == {str} and len(unique := set(ids)) == len(ids) and "" not in unique:
            # Every item an object with its own text id (a tracker export's 1,000+ issues per version): stored as
            # they are, column by column, without the per-item checks below.
            n = len(entries)
            pending = self._pending[key]
            pending.items.extend(entries)
            pending.keys["snapshot_id"].extend([ctx.snapshot_id] * n)
            pending.keys["namespace"].extend([ctx.namespace] * n)
            pending.keys["_path"].extend(locations if locations is not None else [f"{path}[{i}]" for i in range(n)])
            pending.keys["_uri"].extend([ctx.uri] * n)
            pending.keys["_source_id"].extend([ctx.source_id] * n)
            return
        seen: set[str] = set()
        for index, item in enumerate(entries):
            item_path = locations[index] if locations is not None else f"{path}[{index}]"
            if not isinstance(item, dict):
                self._finding(ctx, item_path, "item", f"expected an object, got {type(item).__name__}", item)
                continue
            item_id = item.get("id")
            if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or str(item_id) == "":
                self._finding(ctx, item_path, "item", "item has no id, so it cannot be followed across snapshots", item)
                continue
            item_id = str(item_id)
            if item_id in seen:
                self._finding(ctx, item_path, "item", f"duplicate id {item_id!r} in this snapshot; the first one is kept", item, item_id)
                continue
            seen.add(item_id)
            self._add(key, item if isinstance(item.get("id"), str) else {**item, "id": item_id}, item_path, ctx)

    def add_bridge(self, last_session: dict[str, Any], ctx: SnapshotContext) -> None:
        self._bridges.items.append(last_session)
        self._bridges.keys["snapshot_id"].append(ctx.snapshot_id)
        self._bridges.keys["namespace"].append(ctx.namespace)

    def add_finding(self, ctx: SnapshotContext, location: str, reason: str, fragment_text: str | None) -> None:
        """A part of the document the format could not read (a JSON path, or a line of the file)."""
        self.findings.append(Finding(ctx.uri, location, "item", reason, fragment_text, ctx.source_id, ctx.namespace))

    def frames(self) -> tuple[dict[str, pl.DataFrame], list[Finding]]:
        """One frame per table (columns as the schema names them, `seq` still missing) and the value findings."""
        by_table: dict[str, list[pl.DataFrame]] = defaultdict(list)
        findings = list(self.findings)
        for (table, spec), pending in self._pending.items():
            cols = self._columns[(table, spec)]
            frame, problems = _frame(pending, cols)
            for problem in problems:
                keys = pending.keys
                findings.append(Finding(keys["_uri"][problem.row], f"{keys['_path'][problem.row]}.{_source_key(cols, problem.column)}",
                                        "value", problem.reason, fragment(dumps(problem.value)), keys["_source_id"][problem.row],
                                        keys["namespace"][problem.row], keys["snapshot_id"][problem.row],
                                        frame["item_id"][problem.row]))
            by_table[table].append(frame)
        if self._bridges.items:
            columns, extras, _ = extract(self._bridges.items, SESSION_BRIDGE)
            by_table["session_bridge"].append(pl.DataFrame({**self._bridges.keys, **columns, "extra": extras}))
        return {table: pl.concat(parts, how="diagonal_relaxed") for table, parts in by_table.items()}, findings


def _source_key(cols: list[Col], column: str) -> str:
    for col in cols:
        if col.name == column and isinstance(col.path, str):
            return col.path
    return column


def _frame(pending: _Pending, cols: list[Col]) -> tuple[pl.DataFrame, list[Any]]:
    columns, extras, problems = extract(pending.items, cols)
    invalid: list[str | None] = [None] * len(pending.items)
    by_row: dict[int, dict[str, Any]] = defaultdict(dict)
    for problem in problems:
        by_row[problem.row][problem.column] = problem.value
    for row, values in by_row.items():
        invalid[row] = dumps(values)
    data = {**pending.keys, **columns, "extra": extras, "invalid_values": invalid}
    return pl.DataFrame(data, strict=False), problems


def patch_ops(proposal: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, list[Any]], list[str | None], list[str]]:
    """The ops of a patch proposal as columns; returns (ops, columns, extras, reasons for ops that are not objects)."""
    patches = proposal.get("patches")
    ops = [op for op in patches if isinstance(op, dict)] if isinstance(patches, list) else []
    bad = [] if isinstance(patches, list) else ["`patches` is not a list"]
    if isinstance(patches, list):
        bad += [f"patches[{i}] is not an object" for i, op in enumerate(patches) if not isinstance(op, dict)]
    columns, extras, _ = extract(ops, PATCH_OP)
    return ops, columns, extras, bad
