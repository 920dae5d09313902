"""`_jsonutil.dumps`/`canonical` write orjson's output only where it is byte-identical to the stdlib encoder the
store was built with (stored `raw`, `extra` and the canonical text snapshot ids are hashed from must not change),
and the stdlib's everywhere else. The reference here is `json.dumps` called as the store always called it."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton_lab._jsonutil import canonical, canonical_and_dumps, dumps

import hostile


def reference_dumps(doc: object) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def reference_canonical(doc: object) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# Floats where orjson and repr part ways (below 1e-4, non-finite) and around them; integers at the 64-bit edges.
EDGE_FLOATS = [1e-4, 9.999999999999999e-05, 1e-5, -1e-5, 1e-7, 5e-324, -5e-324, 2.2250738585072014e-308, 1e16, 1e15,
               9007199254740993.0, 1.7976931348623157e308, -0.0, 0.0, 0.1, float("nan"), float("inf"), float("-inf")]
EDGE_INTS = [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30, -(10**40)]
# Text: every code point class (controls, U+007F, U+2028, lone surrogates, astral), escapes' own characters, and
# text that looks like orjson's float output (`e-`, `0.0000`, `null`) without being a float.
text = st.one_of(st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=12),
                 st.sampled_from(["null", "1e-7", "0.00001", "re-run", "\u2028\u2029\x7f", "\\u0000", '"\\/']),
                 st.sampled_from(hostile.WEIRD))
scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(EDGE_INTS),
                   st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(EDGE_FLOATS), text)
json_value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                          st.dictionaries(text, inner, max_size=5)), max_leaves=30)
FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(json_value)
def test_dumps_and_canonical_write_what_json_dumps_writes(doc: object) -> None:
    # Padded, the same value takes the path of large outputs (non-finite floats found in its pickle, not by a walk).
    for value in (doc, [doc, "x" * 5000], {"pad": "y" * 5000, "value": doc, "none": None}):
        assert dumps(value) == reference_dumps(value)
        assert canonical(value) == reference_canonical(value)
        assert canonical_and_dumps(value) == (reference_canonical(value), reference_dumps(value))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hostile_documents_serialise_as_json_dumps_does(data: st.DataObject) -> None:
    planted = hostile.Planted()
    doc = data.draw(hostile.v2_baton(planted) if data.draw(st.booleans()) else hostile.v1_baton(planted))
    doc["extra"] = hostile.extra_fields(data.draw, planted)
    assert dumps(doc) == reference_dumps(doc)
    assert canonical(doc) == reference_canonical(doc)
    assert canonical_and_dumps(doc) == (reference_canonical(doc), reference_dumps(doc))


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_every_float_alone_and_nested(x: float) -> None:
    for doc in (x, [x], {"k": [None, {"v": x}]}, {"pad": "z" * 5000, "k": [None, {"v": x}]}):
        assert dumps(doc) == reference_dumps(doc)
        assert canonical_and_dumps(doc) == (reference_canonical(doc), reference_dumps(doc))


def test_what_neither_can_write_raises_as_before() -> None:
    for doc in ({1: 2, "a": 1}, [object()], {"when": __import__("datetime").date(2026, 1, 1)}):
        try:
            expected: object = reference_canonical(doc)
        except TypeError as exc:
            expected = type(exc)
        try:
            got: object = canonical(doc)
        except TypeError as exc:
            got = type(exc)
        assert got == expected


def test_deep_nesting_beyond_orjsons_limit_and_non_string_keys() -> None:
    deep: object = "x"
    for _ in range(600):
        deep = [deep]
    assert dumps(deep) == reference_dumps(deep)
    assert dumps({1: "a", "b": math.pi, None: True}) == reference_dumps({1: "a", "b": math.pi, None: True})
