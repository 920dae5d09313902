"""v1 baton text that reuses the encoding of unchanged items: byte-identical to `json.dumps`.

Most items are unchanged from one session to the next, and the model then hands out the very same
(never mutated) item dict again. A `V1Renderer` remembers the text of each item dict it encoded in
the previous snapshot, so a snapshot's text is mostly a join of strings; only the top-level scalars
and the changed items are encoded per session. The four list sections are spliced in where
placeholders were encoded.
"""

from __future__ import annotations

import json
from typing import Any

SECTIONS = ("open_loops", "follow_ups", "patterns", "active_decisions")
_MARKS = {name: f"\x00{name}\x00" for name in SECTIONS}
_ENCODED_MARKS = {name: json.dumps(mark) for name, mark in _MARKS.items()}


class V1Renderer:
    """Encodes successive v1 batons of one namespace, as `json.dumps(indent=2) + "\\n"` or compact."""

    def __init__(self, *, pretty: bool) -> None:
        self.pretty = pretty
        # id(item dict) -> (the dict, its text). Holding the dict keeps its id from being reused.
        self._seen: dict[int, tuple[dict[str, Any], str]] = {}

    def _encode_item(self, item: dict[str, Any]) -> str:
        if self.pretty:
            return "    " + json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        return json.dumps(item, ensure_ascii=False, separators=(",", ":"))

    def text(self, baton: dict[str, Any]) -> str:
        seen, now = self._seen, {}
        skeleton = {**baton, **_MARKS}
        if self.pretty:
            out = json.dumps(skeleton, indent=2, ensure_ascii=False)
        else:
            out = json.dumps(skeleton, ensure_ascii=False, separators=(",", ":"))
        for name in SECTIONS:
            texts = []
            for item in baton[name]:
                key = id(item)
                hit = seen.get(key)
                if hit is None or hit[0] is not item:
                    hit = (item, self._encode_item(item))
                now[key] = hit
                texts.append(hit[1])
            if not texts:
                body = "[]"
            elif self.pretty:
                body = "[\n" + ",\n".join(texts) + "\n  ]"
            else:
                body = "[" + ",".join(texts) + "]"
            out = out.replace(_ENCODED_MARKS[name], body, 1)
        self._seen = now
        return out + "\n" if self.pretty else out
