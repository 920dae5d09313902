"""Cheap hostile documents: realistic documents mutated with plain seeded `random`.

The long fuzz run (bench/fuzz_bench.py) needs ≥ 100,000 inputs; hypothesis spends ~0.7 s drawing each of
tests/hostile.py's documents, this module a few milliseconds. It starts from real-shaped documents of every
JSON format the importer reads (the bundled demo's v1/v2 batons and cache files, the golden cases' API
envelopes, patch proposals, Beads and lessons JSONL, Claude Code and Codex transcripts, the real handoff
file), walks each one and replaces
values, keys and ids with the same hostile value families as tests/hostile.py (secrets of every shape in
every field and key, near misses, markup, CJK, surrogates, BOMs, NUL bytes, huge/negative/NaN numbers, deep
nesting), then writes it as tests/hostile.py does (ASCII or not, indented or not, letters as `\\u` escapes,
torn writes, BOMs). Every secret planted is returned with the document, as in tests/hostile.py.

Same seed, same documents: `documents(seed, n)` is reproducible.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hostile
from hostile import Document, Planted, Secret

ROOT = Path(__file__).resolve().parents[1]
DIGITS = "0123456789"
CORE_LEADS = "QZXJVW"

# Fields read as metadata before the body (ids, namespaces, writers, claimed times): mutated far more often,
# since that is where issue 17 found secrets stored unredacted.
METADATA_KEYS = {"session_id", "parent_session", "namespace", "last_written_by", "last_written_at", "written_by",
                 "written_at", "submitted_by", "submitted_at", "updated_at", "id", "closed_by_session", "created_by",
                 "owner", "assignee", "created", "closed_at", "revision"}


@dataclass(frozen=True)
class Seed:
    """A realistic document to mutate: its parsed value (a list of lines for JSONL) and file suffix."""

    name: str
    value: Any
    jsonl: bool
    group: str  # the format it was written in (a golden case's folder name, baton-v1, transcript, …)


def _seed_files() -> Iterator[tuple[str, Path]]:
    """(format group, path) of every seed document."""
    demo = ROOT / "baton_lab" / "data" / "demo"
    for folder, group in (("v1", "baton-v1"), ("v2", "baton-v2"), ("cache", "local-cache")):
        yield from ((group, path) for path in sorted((demo / folder).rglob("*.json")))
    for path in sorted((ROOT / "tests" / "golden").rglob("input/**/*")):
        if path.suffix in (".json", ".jsonl") and path.is_file():
            yield path.relative_to(ROOT / "tests" / "golden").parts[0], path
    real = ROOT / "tests" / "fixtures" / "real"
    yield "beads-issues", real / "beads-issues-head15.jsonl"
    yield "other", real / "Aycrith__gemDirect1__agent__.state__session-handoff.json"
    yield from (("transcript", path) for path in sorted(set(real.glob("*transcript*.jsonl")) | set(real.glob("*session.jsonl"))))
    # The demo's three smallest Claude Code transcripts (baton reads and writes through curl and MCP).
    yield from (("transcript", path) for path in sorted((demo / "transcripts").rglob("*.jsonl"), key=lambda p: p.stat().st_size)[:3])


@dataclass(frozen=True)
class RawLine:
    """A JSONL line that is not JSON in the seed (a merge-conflict marker, a torn line): written back as is."""

    text: str


def _line(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return RawLine(line)


def load_seeds() -> list[Seed]:
    seeds = []
    for group, path in _seed_files():
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix == ".jsonl":
            seeds.append(Seed(path.stem, [_line(line) for line in text.splitlines() if line.strip()], True, group))
        else:
            # A demo loop's sessions share their folder's name, so mutated sessions of one loop meet in one
            # namespace (history-wide derivation — events, occurrences — runs over hostile values too).
            name = path.parent.name if path.parent.parent.name == "v1" else path.stem
            seeds.append(Seed(name, json.loads(text), False, group))
    return seeds


class Mutator:
    """Draws hostile values with one `random.Random`; mirrors tests/hostile.py's strategies."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def chars(self, alphabet: str, n: int, m: int | None = None) -> str:
        return "".join(self.rng.choices(alphabet, k=self.rng.randint(n, m or n + 12)))

    def core(self, alphabet: str, n: int, m: int | None = None) -> str:
        # As hostile._core: a leading letter and a digit somewhere, never all digits.
        return self.rng.choice(CORE_LEADS) + self.chars(alphabet, n, m) + self.rng.choice(DIGITS)

    def secret(self, shapes: tuple[str, ...] | None = None) -> Secret:
        shape = self.rng.choice(shapes or SHAPE_NAMES)
        if shape in hostile.PREFIXED_SHAPES:
            prefixes, alphabet, n = hostile.PREFIXED_SHAPES[shape]
            core = self.core(alphabet, n)
            return Secret(self.rng.choice(prefixes) + core, core, shape)
        if shape == "aws":
            core = "Q7" + "".join(self.rng.choices(hostile.UPPER_DIGITS, k=14))
            return Secret(self.rng.choice(hostile.AWS_PREFIXES) + core, core, shape)
        if shape == "jwt":
            core = f"{self.core(hostile.ALNUM, 16)}.{self.core(hostile.ALNUM, 16)}"
            return Secret(hostile.JWT_HEADER + core, core, shape)
        if shape == "private_key":
            core = self.core(hostile.B64, 40, 80)
            return Secret(hostile.pem(self.rng.choice(hostile.PEM_KINDS), core, self.rng.random() < 0.5), core, shape)
        core = self.core(hostile.ALNUM, 12)
        return Secret(hostile.URL_WITH_PASSWORD.format(core=core), core, shape)

    def planted_secret(self, planted: Planted) -> str:
        s = self.secret()
        planted.cores.append(s.core)
        return s.text

    def words(self) -> str:
        return self.chars(hostile.string.ascii_letters + " .,-", 0, 20)

    def cjk(self) -> str:
        return self.chars(hostile.CJK, 1, 8)

    def text_with_secret(self, planted: Planted) -> str:
        s = self.secret()
        planted.cores.append(s.core)
        before = self.rng.choice([self.words() + " ", self.cjk(), self.rng.choice(hostile.NEAR_MISSES) + " ", ""])
        after = "" if s.shape == "private_key" else self.rng.choice([" " + self.words(), self.cjk(), ""])
        return before + s.text + after

    def text(self, planted: Planted) -> str:
        kind = self.rng.randint(0, 9)
        if kind <= 2:
            return self.text_with_secret(planted)
        if kind == 3:
            return self.rng.choice(hostile.MARKUP)
        if kind == 4:
            return self.rng.choice(hostile.NEAR_MISSES)
        if kind == 5:
            parts = [self.rng.choice([self.rng.choice(hostile.WEIRD), self.words(), self.cjk()])
                     for _ in range(self.rng.randint(0, 5))]
            return "".join(parts)
        if kind == 6:
            return self.cjk()
        return self.words()

    def number(self) -> Any:
        return self.rng.randint(0, 50) if self.rng.random() < 0.5 else self.rng.choice(hostile.HOSTILE_NUMBERS)

    def value(self, planted: Planted, depth: int = 0) -> Any:
        kind = self.rng.randint(0, 6 if depth < 2 else 3)
        if kind <= 1:
            return self.text(planted)
        if kind == 2:
            return self.number()
        if kind == 3:
            return self.rng.choice([None, True, False, [], {}])
        if kind == 4:
            return [self.value(planted, depth + 1) for _ in range(self.rng.randint(0, 3))]
        if kind == 5:
            return self.extra_fields(planted, depth + 1)
        # Deep nesting, rarer than in tests/hostile.py: a realistic document has many more values to replace,
        # and json.dumps with an indent is quadratic in the depth.
        return hostile.nested(self.rng.randint(50, 400)) if self.rng.random() < 0.1 else self.text(planted)

    def extra_fields(self, planted: Planted, depth: int = 0) -> dict[str, Any]:
        """As hostile.extra_fields: secret-named keys, secrets as keys, hostile keys and values."""
        out: dict[str, Any] = {}
        for _ in range(self.rng.randint(1, 3)):
            kind = self.rng.randint(0, 3)
            if kind == 0:
                core = self.core(hostile.ALNUM + "!#%", 10)
                planted.cores.append(core)
                out[self.rng.choice(hostile.SECRET_KEYS)] = core
            elif kind == 1:
                out[self.planted_secret(planted).replace("\n", " ")] = self.rng.randint(0, 3)
            else:
                out[self.text(planted)] = self.value(planted, depth)
        return out

    def like(self, original: Any, planted: Planted) -> Any:
        """A hostile replacement for a value, mostly of the same JSON type (numbers stay number-like)."""
        if isinstance(original, bool) or original is None or self.rng.random() < 0.15:
            return self.value(planted)
        if isinstance(original, (int, float)):
            return self.number()
        if isinstance(original, str):
            return self.text(planted)
        return self.value(planted)

    def mutate(self, doc: Any, planted: Planted, rate: float) -> Any:
        """A copy of `doc` with each value replaced with probability `rate` (metadata far more often),
        keys replaced or added, and lists extended."""
        if isinstance(doc, dict):
            out: dict[str, Any] = {}
            for key, item in doc.items():
                p = min(1.0, rate * 5) if key in METADATA_KEYS else rate
                if not isinstance(item, (dict, list)) or self.rng.random() < p / 4:
                    item = self.like(item, planted) if self.rng.random() < p else item
                else:
                    item = self.mutate(item, planted, rate)
                if self.rng.random() < rate / 4:  # a hostile key, or a secret used as a key
                    key = self.text(planted) if self.rng.random() < 0.7 else self.planted_secret(planted)
                out[key] = item
            if self.rng.random() < rate * 2:
                out |= self.extra_fields(planted, 1)
            return out
        if isinstance(doc, list):
            out_list = [self.mutate(item, planted, rate) if isinstance(item, (dict, list)) else
                        (self.like(item, planted) if self.rng.random() < rate else item) for item in doc]
            if self.rng.random() < rate:
                out_list.append(self.value(planted, 1))
            return out_list
        return self.like(doc, planted) if self.rng.random() < rate else doc

    def render(self, doc: Any, indent: bool = True) -> str:
        return hostile.render_json(doc, self.rng.random() < 0.5, self.rng.choice([None, 2]) if indent else None,
                                   self.rng.random() < 0.3)


SHAPE_NAMES = tuple(hostile.SECRET_SHAPES)
TORN = 0.06   # share of documents cut short (a torn write: quarantined whole, fragment redacted)
BOM = 0.1


def _addressed(rng: random.Random, seed: Seed) -> Any:
    """A bare baton names no namespace: mostly made a cache file (namespace = the file name, the seed's loop),
    sometimes an API envelope naming it, sometimes left bare (quarantined: no namespace)."""
    doc = seed.value
    if not isinstance(doc, dict) or doc.keys() & {"_meta", "_patch_proposal", "baton", "_sync_status", "namespace"}:
        return doc
    draw = rng.random()
    if draw < 0.8:
        return {**doc, "_sync_status": rng.choice(["synced", "pending_upload"])}
    if draw < 0.9:
        return {"baton": doc, "namespace": seed.name, "updated_at": doc.get("updated_at")}
    return doc


def document(mutator: Mutator, seeds: dict[str, list[Seed]], index: int) -> Document:
    """One hostile document made from a random realistic one: a format first (each as likely, so the few small
    golden cases weigh as much as the 150 demo batons), then one of its seeds."""
    rng = mutator.rng
    seed = rng.choice(seeds[rng.choice(sorted(seeds))])
    planted = Planted()
    rate = rng.choice([0.02, 0.05, 0.1, 0.25])
    name_part = seed.name
    if rng.random() < 0.1:  # a secret in the file name (a cache file's name is its namespace)
        s = mutator.secret(hostile.NAME_SHAPES)
        planted.cores.append(s.core)
        name_part = s.text
    if seed.jsonl:
        lines = [line.text if isinstance(line, RawLine) else mutator.render(mutator.mutate(line, planted, rate), indent=False)
                 for line in seed.value]
        if rng.random() < 0.2:
            lines.insert(rng.randint(0, len(lines)), mutator.text(planted).replace("\n", " "))  # a line that is not JSON
        text = "\n".join(lines) + "\n"
    else:
        text = mutator.render(mutator.mutate(_addressed(rng, seed), planted, rate))
    if rng.random() < TORN:
        text = text[: rng.randint(1, max(1, len(text) - 1))]
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < BOM:
        data = b"\xef\xbb\xbf" + data
    suffix = ".jsonl" if seed.jsonl else ".json"
    # One folder per document: the file name stays the seed's (a cache file's namespace) without clashing.
    name = f"{index:05d}/" + name_part.replace("/", "_").replace("\n", "_")[:150] + suffix
    return Document(name, data, seed.group, planted)


def documents(seed: int, n: int, start: int = 0) -> Iterator[Document]:
    """`n` hostile documents from `random.Random(seed)`, named from index `start` on."""
    mutator = Mutator(random.Random(seed))
    seeds: dict[str, list[Seed]] = {}
    for s in load_seeds():
        seeds.setdefault(s.group, []).append(s)
    for i in range(start, start + n):
        yield document(mutator, seeds, i)
