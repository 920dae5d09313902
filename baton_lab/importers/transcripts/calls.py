"""Pairing baton calls with their results, and turning each pair into a `Record` for the import pipeline.

A successful write stores the payload's baton (with the server's `updated_at` and `revision` from the
response); a read stores the returned envelope (`baton: null` is an empty read); a 409 conflict body
stores the `current_baton` it carries. Everything else — a failed call, an unrecoverable payload, a call
whose result never arrived — becomes a Record with `error` set, which the pipeline quarantines and counts.
Secrets are redacted from anything kept as a fragment; the command itself is never stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..._jsonutil import dumps, fragment
from ..._timeparse import parse_time
from ...redact import redact, redact_text
from .._shape import is_baton
from ..base import Record, SourceInfo


def call_id(value: Any) -> str:
    """A tool call id as text. Ids are strings in real transcripts; anything else (a number, an object) is written
    as JSON, so a secret-named key inside it is still redacted and the id can be looked up (a dict is unhashable)."""
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def stored_id(call_id: str) -> str:
    """A call id as the store keeps it (provenance, quarantine excerpts), redacted. An id that was an object or a
    list (`call_id` wrote it as JSON) is redacted as that value, on its decoded strings: as JSON text, a
    `Bearer<TAB>…` inside it reads `Bearer\\t…`, which no text pattern takes for a credential (issue 17's seed-3
    run stored four such ids). Pairing keeps using the id as written: its bytes are looked for in the transcript."""
    if call_id[:1] in ("{", "["):
        try:
            value = json.loads(call_id)
        except ValueError:
            value = None
        if value is not None:
            return json.dumps(redact(value)[0], ensure_ascii=False, sort_keys=True, default=str)
    return redact_text(call_id)[0]


def id_markers(call_id: str) -> tuple[bytes, ...]:
    """How a tool call id can appear in a transcript's bytes: as UTF-8, or JSON-escaped (`\\u00e9`, `\\ud800`: a
    lone surrogate has no UTF-8 form at all)."""
    return tuple(sorted({call_id.encode("utf-8", "surrogatepass"), json.dumps(call_id)[1:-1].encode()}))


@dataclass(slots=True)
class BatonCall:
    """A baton read or write found in a transcript, waiting for its result."""

    call_id: str
    op: str  # read | write
    via: str  # curl | mcp | script
    payload: dict[str, Any] | None
    problem: str | None
    line: int
    timestamp: str | None
    provenance: dict[str, Any]
    index: int = 0  # position among the calls of one command
    siblings: int = 1  # calls made by the same command (their outputs share one result)


@dataclass(slots=True)
class CallResult:
    text: str
    is_error: bool
    line: int
    timestamp: str | None
    exit_code: int | None = None


def json_values(text: str) -> list[Any]:
    """Every JSON object or array in a tool's output, in order (curl may print several, or text around them);
    an output that is only a status code (`curl -w '%{http_code}'`) gives that number."""
    values: list[Any] = []
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        starts = [i for i in (text.find("{", pos), text.find("[", pos)) if i >= 0]
        if not starts:
            break
        brace = min(starts)
        try:
            value, pos = decoder.raw_decode(text, brace)
        except (ValueError, RecursionError):  # not JSON, a 4,300+-digit integer, nesting too deep
            pos = brace + 1
            continue
        values.append(value)
    if not values and re.fullmatch(r"\s*\d{3}\s*", text):
        values.append(int(text))
    return values


def _conflict(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    detail = value.get("detail") if isinstance(value.get("detail"), dict) else value
    return value if str(detail.get("error", "")).endswith("revision_conflict") else None


def _short(text: str, limit: int = 300) -> str:
    clean, _ = redact_text(" ".join(text.split()))
    return clean if len(clean) <= limit else clean[:limit] + "…"


@dataclass
class Pairing:
    """Keeps calls until their results arrive; emits Records. `pending` is what a line scanner must watch for."""

    info: SourceInfo
    kind: str  # claude-code | codex
    pending: dict[str, list[BatonCall]] = field(default_factory=dict)
    calls: int = 0

    def add(self, call: BatonCall) -> None:
        self.calls += 1
        self.pending.setdefault(call.call_id, []).append(call)

    def result(self, call_id: str, result: CallResult) -> Iterator[Record]:
        calls = self.pending.pop(call_id, [])
        values = json_values(result.text) if result.text else []
        for call in calls:
            if len(calls) == 1:
                value = values[0] if len(values) == 1 else _pick(values, call.op)
            else:
                value = values[call.index] if len(values) == len(calls) else None
                if value is None and values:
                    yield self._finding(call, result, f"baton {call.op} result ambiguous: {len(calls)} calls in one command, "
                                                      f"{len(values)} JSON values in its output")
                    continue
            yield self._record(call, result, value)

    def finish(self) -> Iterator[Record]:
        """Calls whose result never came (the session ended, or the transcript was cut)."""
        for calls in self.pending.values():
            for call in calls:
                yield self._finding(call, None, f"baton {call.op} without a result in the transcript"
                                                + (f"; {call.problem}" if call.problem else ""))
        self.pending.clear()

    # -- records -------------------------------------------------------------------------------
    def _record(self, call: BatonCall, result: CallResult, value: Any) -> Record:
        failed = result.is_error or (result.exit_code not in (None, 0))
        conflict = _conflict(value)
        if conflict is not None:
            # memhall's 409 carries the current baton: a free snapshot, whatever the call's own payload was.
            return self._snapshot(call, result, conflict, outcome="conflict")
        if call.op == "read":
            if isinstance(value, dict) and "baton" in value and (value["baton"] is None or isinstance(value["baton"], dict)):
                envelope = dict(value)
                if not envelope.get("namespace") and call.payload and call.payload.get("namespace"):
                    envelope["namespace"] = call.payload["namespace"]
                return self._snapshot(call, result, envelope, outcome="read")
            if is_baton(value):
                namespace = (call.payload or {}).get("namespace")
                return self._snapshot(call, result, {"baton": value, "namespace": namespace}, outcome="read")
            return self._finding(call, result, "baton read failed: " + self._why(result, value, failed))
        # write
        ok = (isinstance(value, dict) and value.get("ok") is True) or (isinstance(value, int) and 200 <= value < 300)
        if not ok or failed and not isinstance(value, dict):
            return self._finding(call, result, "baton write failed: " + self._why(result, value, failed)
                                 + (f" (and {call.problem})" if call.problem else ""))
        if call.payload is None or not isinstance(call.payload.get("baton"), dict):
            reason = call.problem or "unrecoverable payload: the request body carries no baton object"
            return self._finding(call, result, f"baton write succeeded but {reason}")
        response = value if isinstance(value, dict) else {}
        envelope = {"baton": call.payload["baton"],
                    "namespace": response.get("namespace") or call.payload.get("namespace"),
                    "updated_at": response.get("updated_at")}
        if response.get("revision") is not None:
            envelope["revision"] = response["revision"]
        return self._snapshot(call, result, envelope, outcome="write")

    def _why(self, result: CallResult, value: Any, failed: bool) -> str:
        if isinstance(value, dict):
            return "response " + _short(dumps(value))
        if isinstance(value, int):
            return f"HTTP status {value}"
        if not result.text.strip():
            return "empty output" + (" (the tool reported an error)" if failed else "")
        return ("error: " if failed else "output is not JSON: ") + _short(result.text)

    def _provenance(self, call: BatonCall, result: CallResult | None, outcome: str) -> dict[str, Any]:
        out = {"transcript": self.kind, **call.provenance, "call_id": stored_id(call.call_id), "op": call.op, "via": call.via,
               "outcome": outcome, "call_line": call.line}
        if result is not None:
            out["result_line"] = result.line
        if call.payload and call.payload.get("expected_revision") is not None:
            out["expected_revision"] = call.payload["expected_revision"]
        return out

    def _snapshot(self, call: BatonCall, result: CallResult, doc: dict[str, Any], outcome: str) -> Record:
        stamp = result.timestamp or call.timestamp
        observed = parse_time(stamp)
        return Record(self.info, f"line {result.line}", dumps(doc), doc=doc,
                      observed_at=observed, observed_kind="transcript" if observed else None,
                      provenance=self._provenance(call, result, outcome))

    def _finding(self, call: BatonCall, result: CallResult | None, reason: str) -> Record:
        line = result.line if result is not None else call.line
        shown = {"call_id": stored_id(call.call_id), "op": call.op, "via": call.via, "call_line": call.line}
        if result is not None and result.text:
            shown["output"] = _short(result.text, 1000)
        # Redacted as a value, then written: a string id or output holding `Bearer<TAB>…` would be escaped by `dumps`
        # and missed by text patterns.
        clean, _ = redact(shown)
        text = fragment(dumps(clean))
        return Record(self.info, f"line {line}", text, error=reason,
                      observed_at=parse_time((result.timestamp if result else None) or call.timestamp),
                      observed_kind="transcript", provenance=self._provenance(call, result, "finding"))


def _pick(values: list[Any], op: str) -> Any:
    """One call, several JSON values in the output (e.g. `| jq` plus a status line): the first that fits."""
    for value in values:
        if isinstance(value, dict) and (("baton" in value) if op == "read" else ("ok" in value or _conflict(value))):
            return value
    return next((v for v in values if isinstance(v, dict)), values[0] if values else None)
