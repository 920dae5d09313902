"""JSON helpers shared by importers and the store: tolerant decoding and canonical hashing."""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import re
from typing import Any

import orjson

BOM = "\ufeff"


def decode_text(data: bytes) -> str:
    """UTF-8 text with a leading BOM removed; undecodable bytes become U+FFFD rather than aborting."""
    text = data.decode("utf-8", errors="replace")
    return text[1:] if text.startswith(BOM) else text


# The stdlib encoders, built once (json.dumps with arguments builds a new encoder on every call): the reference
# output, and the fallback for what orjson writes differently or refuses.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# datetime and dataclass values make orjson raise (so the stdlib raises its TypeError, as before) instead of being
# written in orjson's own way; subclasses of str/int/dict/list go to the stdlib too, which may write them otherwise
# (an int subclass's repr, a dict subclass's items()). orjson still writes uuid.UUID and plain Enum members, which
# the stdlib refuses; no caller passes them (they are not JSON values).
_ORJSON_PLAIN = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
_ORJSON_SORTED = _ORJSON_PLAIN | orjson.OPT_SORT_KEYS


def _has_odd_float(doc: Any) -> bool:
    """True when a float in `doc` is one orjson may write unlike `json.dumps`: NaN and ±Infinity (orjson writes
    null), magnitudes below 1e-4 (orjson writes `1e-7`/`0.00001` where repr writes `1e-07`/`1e-05`) and, to be
    safe, those of 1e16 and more (exponent form; orjson before 3.11.7 wrote `1e16` for repr's `1e+16`)."""
    if type(doc) not in (dict, list):
        doc = [doc]
    stack = [doc]
    pop, push = stack.pop, stack.append
    while stack:
        container = pop()
        for value in container.values() if isinstance(container, dict) else container:
            kind = type(value)
            if kind is str or value is None or kind is int or kind is bool:
                continue  # the common cases first, without isinstance
            if kind is dict or kind is list:
                push(value)
            elif isinstance(value, float):
                if not math.isfinite(value) or (value and -1e-4 < value < 1e-4) or not -1e16 < value < 1e16:
                    return True
            elif isinstance(value, (dict, list, tuple)):
                push(value)
    return False


_PICKLE_FROM = 4096  # bytes of output
_DIGITS = b"0123456789"


# `e-5`/`e+16`: found by the literal `e`, which `re` searches fast; the digit before it is checked per match.
_EXPONENT = re.compile(rb"e[-+][0-9]")


def _exponent(out: bytes) -> bool:
    """Whether `out` holds `<digit>e-<digit>` (or `e+`): an exponent, and not prose such as "re-run"."""
    return any(match.start() and out[match.start() - 1] in _DIGITS for match in _EXPONENT.finditer(out))


def _may_differ(out: bytes, doc: Any) -> bool:
    """Whether orjson's output `out` of `doc` may hold a float written unlike `json.dumps` (`_has_odd_float` tells).
    Tiny and huge floats show as `1e-7`, `1e+16` or `0.0000…`. NaN and ±Infinity show as `null`, like every None — so
    where `null` occurs, the document's pickle is searched for them instead (cheaper than walking it): pickle writes
    every float as BINFLOAT `G` + its 8 big-endian bytes, and a non-finite one starts 7f f0-ff or ff f0-ff."""
    if b"0.0000" in out or _exponent(out):
        return True
    if b"null" not in out:
        return False
    if len(out) < _PICKLE_FROM:
        return True  # a small value is walked faster than it is pickled
    data = pickle.dumps(doc, 4)
    return b"G\x7f" in data or b"G\xff" in data


def _encode(doc: Any, option: int, fallback: json.JSONEncoder) -> str:
    """orjson's output where it is byte-identical to the stdlib encoder's, the stdlib's everywhere else.

    orjson (6-10x faster here; the store serialises every baton, item and `extra` object) writes JSON values as
    `json.dumps(..., ensure_ascii=False, separators=(",", ":"))` does — the same escapes, shortest float repr and
    key order (OPT_SORT_KEYS orders by UTF-8 bytes, which is code point order) — except for the floats
    `_has_odd_float` finds; only output where `_may_differ` says they may be is walked. What orjson refuses (lone surrogates, integers beyond 64 bits, non-string keys, nesting deeper than
    254, types that are not JSON) goes to the stdlib, which writes it or raises as it always did.
    tests/test_jsonutil.py proves the equality over generated JSON values, hostile ones included."""
    try:
        out = orjson.dumps(doc, option=option)
    except TypeError:  # orjson.JSONEncodeError
        return fallback.encode(doc)
    if _may_differ(out, doc) and _has_odd_float(doc):
        return fallback.encode(doc)
    return out.decode()


def canonical(doc: Any) -> str:
    """Key-sorted, compact JSON: equal documents give equal strings whatever their formatting."""
    return _encode(doc, _ORJSON_SORTED, _CANONICAL)


def canonical_and_dumps(doc: Any) -> tuple[str, str]:
    """`(canonical(doc), dumps(doc))`, the document's floats checked once for both (a stored snapshot needs both)."""
    try:
        ordered, compact = orjson.dumps(doc, option=_ORJSON_SORTED), orjson.dumps(doc, option=_ORJSON_PLAIN)
    except TypeError:  # orjson.JSONEncodeError
        return _CANONICAL.encode(doc), _COMPACT.encode(doc)
    if _may_differ(compact, doc) and _has_odd_float(doc):
        return _CANONICAL.encode(doc), _COMPACT.encode(doc)
    return ordered.decode(), compact.decode()


def dumps(doc: Any) -> str:
    """Compact JSON in the document's own key order (what the store keeps as `raw`)."""
    return _encode(doc, _ORJSON_PLAIN, _COMPACT)


def _utf8(text: str) -> bytes:
    # surrogatepass: a lone surrogate (from a `\ud800` escape) hashes deterministically instead of raising.
    return text.encode("utf-8", "surrogatepass")


def sha256_text(text: str) -> str:
    return hashlib.sha256(_utf8(text)).hexdigest()


def short_id(*parts: str) -> str:
    """A stable 16-hex id from its parts (deterministic across re-imports)."""
    return hashlib.sha256(_utf8("\x1f".join(parts))).hexdigest()[:16]


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate_escape(raw: str) -> bool:
    """Cheap check on JSON text: could a decoded string hold a lone surrogate? (pairs match too; the walk tells)"""
    # Most texts hold neither a `\u` escape nor a character beyond ASCII: C-speed scans, no regex; and a text holds a
    # surrogate character exactly when strict UTF-8 refuses it, which encoding finds faster than a regex search.
    return ("\\u" in raw and _SURROGATE_ESCAPE.search(raw) is not None) or (not raw.isascii() and not _utf8_ok(raw))


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def without_surrogates(text: str) -> str:
    """Text storable as UTF-8: a file name with undecodable bytes (surrogate-escaped by the OS layer) gets U+FFFD."""
    return text if text.isascii() else _LONE_SURROGATE.sub("\ufffd", text)


# In a text: an escaped backslash (skipped, so `\\\\udfff` stays text), a `\\u` surrogate escape with or without its
# pair, or a lone surrogate character.
_SURROGATE_IN_TEXT = re.compile(r"\\\\|\\u([dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
                                r"|\\u[dD][c-fC-F][0-9a-fA-F]{2}|[\ud800-\udfff]")


def _storable(match: re.Match[str]) -> str:
    whole = match.group(0)
    if whole == "\\\\" or match.group(2):  # an escaped backslash, or a valid pair (an astral character)
        return whole
    return "\\ufffd" if whole.startswith("\\u") else "\ufffd"


def storable_text(text: str) -> str:
    """The text as the store can keep it: lone surrogates — characters, or `\\ud800`-style escapes without their
    pair, which DuckDB's JSON type rejects and which decode to characters UTF-8 cannot encode — become U+FFFD
    (`\\ufffd` for an escape); valid pairs and escaped backslashes are kept."""
    if not has_lone_surrogate_escape(text):
        return text
    return _SURROGATE_IN_TEXT.sub(_storable, text)


def repair_surrogates(doc: Any, path: str = "$") -> tuple[Any, list[tuple[str, str]]]:
    """Lone surrogates in strings and keys replaced by U+FFFD; returns the document and (JSON path, the
    original string with escapes) for each repaired string. Text with them cannot be stored as UTF-8."""
    repairs: list[tuple[str, str]] = []

    def fix(text: str, where: str) -> str:
        if text.isascii() or _LONE_SURROGATE.search(text) is None:
            return text
        repairs.append((where, json.dumps(text)))  # ensure_ascii: the surrogate shows as its escape
        return _LONE_SURROGATE.sub("\ufffd", text)

    def walk(value: Any, where: str) -> Any:
        if isinstance(value, str):
            return fix(value, where)
        if isinstance(value, list):
            return [walk(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                key = fix(key, where) if isinstance(key, str) else key
                out[key] = walk(item, f"{where}.{key}")
            return out
        return value

    return walk(doc, path), repairs


def _ends_inside_a_value(text: str) -> bool:
    """True when the text stops inside a string, object or array: the signature of a torn write."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
    return in_string or depth > 0


def describe_decode_error(exc: json.JSONDecodeError, text: str) -> str:
    """A reason that says what went wrong and where, distinguishing torn writes from bad syntax."""
    if exc.pos >= len(text.rstrip()) or (exc.msg != "Extra data" and _ends_inside_a_value(text)):
        return f"truncated JSON (torn write?): input ends at line {exc.lineno} column {exc.colno}"
    if exc.msg == "Extra data":
        return f"invalid JSON: extra data after the document at line {exc.lineno} column {exc.colno} (concatenated objects?)"
    return f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


def fragment(text: str, limit: int = 2000) -> str:
    """The first `limit` characters, marked when cut (quarantine keeps a readable excerpt, not megabytes)."""
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"
