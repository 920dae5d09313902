"""Declarative column specs: how a canonical column is read from an item of a given format.

Like inspect_ai's column groups: a table's columns for a format are a list of `Col`s; a later spec
with the same name wins, so groups compose (`BASE + V1_LOOP`). Fields a format has and no spec
consumes are kept in the row's `extra` JSON.
"""

from __future__ import annotations

import pickle
from hashlib import blake2b
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from .._jsonutil import dumps

Kind = Literal["str", "int", "bool", "json"]


@dataclass(frozen=True, slots=True)
class Col:
    name: str
    path: str | Callable[[dict[str, Any]], Any]
    kind: Kind = "str"
    consumes: tuple[str, ...] = ()  # item keys a callable reads (so they stay out of `extra`)
    # The dotted path split once, not on every read (an import reads ~50 columns of every item).
    parts: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.path.split(".")) if isinstance(self.path, str) else ())

    def keys(self) -> tuple[str, ...]:
        return self.parts[:1] if isinstance(self.path, str) else self.consumes

    def read(self, item: dict[str, Any]) -> Any:
        if not self.parts:
            return self.path(item)  # type: ignore[operator]
        return _follow(item, self.parts)


def _follow(value: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def compose(*groups: list[Col]) -> list[Col]:
    merged: dict[str, Col] = {}
    for group in groups:
        for col in group:
            merged.pop(col.name, None)
            merged[col.name] = col
    return list(merged.values())


@dataclass(slots=True)
class Problem:
    """A value that could not be stored as its column's type; the row keeps the raw value in `invalid_values`."""

    row: int
    column: str
    value: Any
    reason: str


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _coerce(value: Any, kind: Kind) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if kind == "str":
        if isinstance(value, str):
            return value, None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value), None
        return None, f"expected text, got {type(value).__name__}"
    if kind == "int":
        if isinstance(value, bool):
            return None, "expected an integer, got a boolean"
        number = value if isinstance(value, int) else None
        if isinstance(value, float) and value.is_integer():
            number = int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            try:
                number = int(value.strip())
            except ValueError:  # Unicode digits int() refuses ("²"), or more digits than int() converts
                return None, f"expected an integer, got {value!r:.40}"
        if number is None:
            return None, f"expected an integer, got {value!r:.40}"
        if not _INT64_MIN <= number <= _INT64_MAX:
            return None, f"integer of {number.bit_length()} bits is outside the 64-bit range"
        return number, None
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        return None, f"expected true/false, got {value!r:.40}"
    return dumps(value), None  # json


# Rows already extracted, per column spec list, by item object: an item object seen again (an unchanged line of a
# state file, parsed once by `importers.jsonl_document`) is not read again. Items are never mutated after reading.
# And by content: in a history each version is parsed on its own, but most of its items are the previous version's
# unchanged (87 % of the items of a simulated 2,000-session NDJSON history). The key is the item's pickle, which
# tells every JSON value apart (1 from 1.0 and True, NaN from null, key order); its BLAKE2b digest is the key.
_Row = tuple[Any, tuple[Any, ...], str | None, tuple[tuple[str, Any, str], ...]]  # (item, values, extra, problems)
_ROWS: dict[int, tuple[list[Col], dict[int, _Row], "_Plan", dict[bytes, _Row]]] = {}
_ROWS_LIMIT = 1 << 14


# How each column is read, per column spec list: (name, kind, the one key of a single-part path or None, the
# parts of a dotted path or None, the callable or None). `Col.read` spelled out, without a call per value.
_Plan = tuple[tuple[str, Kind, str | None, tuple[str, ...] | None, Callable[[dict[str, Any]], Any] | None], ...]


def _plan(cols: list[Col]) -> _Plan:
    return tuple((col.name, col.kind, col.parts[0] if len(col.parts) == 1 else None,
                  col.parts if len(col.parts) > 1 else None, None if col.parts else col.path)  # type: ignore[misc]
                 for col in cols)


def _row(item: dict[str, Any], plan: _Plan, consumed: frozenset[str]) -> _Row:
    values: list[Any] = []
    problems: list[tuple[str, Any, str]] = []
    for name, kind, key, parts, read in plan:
        if key is not None:
            value = item.get(key)
        elif parts is not None:
            value = _follow(item, parts)
        else:
            value = read(item)  # type: ignore[misc]
        if kind == "str" and (value is None or type(value) is str):
            values.append(value)
        elif kind == "json":
            values.append(None if value is None else dumps(value))
        else:
            clean, reason = _coerce(value, kind)
            values.append(clean)
            if reason:
                problems.append((name, value, reason))
    if item.keys() <= consumed:
        return item, tuple(values), None, tuple(problems)
    rest = {k: v for k, v in item.items() if k not in consumed}
    return item, tuple(values), dumps(rest), tuple(problems)


def extract(items: list[dict[str, Any]], cols: list[Col]) -> tuple[dict[str, list[Any]], list[str | None], list[Problem]]:
    """Columns as lists, the `extra` JSON per row, and the values that did not fit their column type."""
    consumed = frozenset(key for col in cols for key in col.keys())
    entry = _ROWS.get(id(cols))
    if entry is None or entry[0] is not cols:
        if len(_ROWS) >= 64:  # column specs built per call (a mapping file's) are not kept forever
            _ROWS.clear()
        entry = _ROWS[id(cols)] = (cols, {}, _plan(cols), {})
    known, plan, same = entry[1], entry[2], entry[3]
    rows: list[_Row] = []
    for item in items:
        row = known.get(id(item))
        if row is None or row[0] is not item:
            try:
                # a 128-bit digest, not the pickle itself: the cache must not hold a second copy of every item
                key: bytes | None = blake2b(pickle.dumps(item, pickle.HIGHEST_PROTOCOL), digest_size=16).digest()
            except (RecursionError, pickle.PicklingError, TypeError, AttributeError):  # deep nesting, not JSON
                key = None
            row = same.get(key) if key is not None else None
            row = _row(item, plan, consumed) if row is None else (item, *row[1:])
            if len(known) >= _ROWS_LIMIT:
                known.clear()
                same.clear()
            known[id(item)] = row
            if key is not None:
                same[key] = row
        rows.append(row)
    values = list(zip(*[row[1] for row in rows])) if rows else [() for _ in cols]
    columns = {col.name: list(values[i]) for i, col in enumerate(cols)}
    problems = [Problem(n, name, value, reason) for n, row in enumerate(rows) if row[3] for name, value, reason in row[3]]
    return columns, [row[2] for row in rows], problems
