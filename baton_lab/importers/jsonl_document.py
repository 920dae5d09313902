"""A JSONL file read as ONE document (a Beads export, a lessons index): its lines, and the lines that are not
records — merge-conflict markers committed inside the file, torn last lines, values that are not objects —
each reported with its line number while the rest of the version imports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from .._jsonutil import describe_decode_error, fragment
from .._timeparse import parse_time
from .contract import Observation, Section, Unreadable

CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


@dataclass(slots=True)
class Lines:
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)   # (line number, object)
    raw: list[Any] = field(default_factory=list)          # every non-blank line: its object, or its text when unreadable
    unreadable: list[Unreadable] = field(default_factory=list)
    json_texts: list[str] = field(default_factory=list)   # each entry of `raw` as JSON text

    @property
    def json(self) -> str:
        """`raw` as a JSON array, from the lines' own text (not serialised again)."""
        return "[" + ",".join(self.json_texts) + "]"

    def observation(self, schema_version: str, sections: list[Section], claimed: list[Any],
                    extra: dict[str, Any] | None = None) -> Observation:
        """The file as one snapshot. It claims no time of its own: the latest of its records' times (`claimed`,
        as written) is when it last changed."""
        # A claimed time can be any JSON value (a list, an object): only strings are times.
        times = [(t, raw) for raw in claimed if isinstance(raw, str) and (t := _time(raw))]
        return Observation(document=self.raw, schema_version=schema_version,
                           written_at_raw=max(times)[1] if times else None, extra=extra, sections=sections,
                           unreadable=self.unreadable, document_json=self.json)


@lru_cache(maxsize=1 << 14)
def _time(raw: str) -> Any:
    """`parse_time`, remembered: the records of consecutive versions repeat most of their times."""
    return parse_time(raw)


# Consecutive versions of a state file share most of their lines: each distinct line that is a JSON object is parsed
# once and remembered with its stripped text, and the same (never mutated) object is returned for it, which also lets
# `normalize.columns.extract` reuse its row. A version then costs one dict look-up per unchanged line.
_OBJECTS: dict[str, tuple[dict[str, Any], str]] = {}
_OBJECTS_LIMIT = 1 << 14


def _parse(line: str) -> Any:
    return json.loads(line)


def read_lines(text: str) -> Lines:
    out = Lines()
    raw, texts, records = out.raw, out.json_texts, out.records
    known = _OBJECTS.get
    for number, line in enumerate(text.split("\n"), start=1):
        hit = known(line)
        if hit is not None:
            raw.append(hit[0])
            texts.append(hit[1])
            records.append((number, hit[0]))
            continue
        key = line
        line = line.rstrip("\r")
        if number == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        if line.startswith(CONFLICT_MARKERS):
            out.raw.append(line)
            out.json_texts.append(json.dumps(line, ensure_ascii=False))
            out.unreadable.append(Unreadable(f"line {number}", "merge-conflict marker committed inside the file",
                                             fragment(line)))
            continue
        try:
            value = _parse(line)
        except json.JSONDecodeError as exc:
            out.raw.append(line)
            out.json_texts.append(json.dumps(line, ensure_ascii=False))
            out.unreadable.append(Unreadable(f"line {number}", describe_decode_error(exc, line), fragment(line)))
            continue
        except (ValueError, RecursionError) as exc:  # a 4,300+-digit integer, or nesting too deep
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
            out.raw.append(line)
            out.json_texts.append(json.dumps(line, ensure_ascii=False))
            out.unreadable.append(Unreadable(f"line {number}", f"invalid JSON: {reason}", fragment(line)))
            continue
        out.raw.append(value)
        out.json_texts.append(line.strip())
        if not isinstance(value, dict):
            out.unreadable.append(Unreadable(f"line {number}", f"expected an object, got {type(value).__name__}",
                                             fragment(line)))
            continue
        out.records.append((number, value))
        if key is line or not key.startswith("\ufeff"):  # a byte-order mark is dropped on line 1 only
            if len(_OBJECTS) >= _OBJECTS_LIMIT:
                _OBJECTS.clear()
            _OBJECTS[key] = (value, texts[-1])
    return out


def sniff_records(head: bytes, looks_like: Callable[[dict[str, Any]], bool], lines: int = 3) -> bool:
    """True when the first complete JSON lines of `head` are objects `looks_like` accepts (conflict markers and a
    line cut by the end of the head are skipped)."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    complete = text.split("\n")
    if not text.endswith("\n"):
        complete = complete[:-1]  # the last line may be cut by the head's end
    seen = 0
    for line in complete:
        line = line.strip()
        if not line or line.startswith(CONFLICT_MARKERS):
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):  # not JSON, a 4,300+-digit integer, nesting too deep
            return False
        if not isinstance(value, dict) or not looks_like(value):
            return False
        seen += 1
        if seen >= lines:
            break
    return seen > 0
