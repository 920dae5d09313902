"""Hypothesis strategies for hostile input: secret shapes, hostile text, and whole documents of every format.

Shared by tests/test_redact.py, tests/test_hostile_input.py and bench/fuzz_bench.py (the long run). Every
secret a strategy plants is returned beside the document, as the part that must never be stored (the
random core, so "Bearer " staying is fine and a leak is unambiguous).
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
UPPER_DIGITS = string.ascii_uppercase + string.digits


def _chars(alphabet: str, n: int, m: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=n, max_size=m or n + 12)


def _core(alphabet: str, n: int, m: int | None = None) -> st.SearchStrategy[str]:
    # A digit somewhere, and at least one letter: shapes that need one get one, and no core is all digits
    # (which could collide with counts printed in reports).
    return st.tuples(_chars(alphabet, n, m), st.sampled_from("0123456789"), st.sampled_from("QZXJVW")).map(
        lambda parts: parts[2] + parts[0] + parts[1])


@dataclass(frozen=True)
class Secret:
    text: str  # what is written (may include a kept prefix such as "Bearer ")
    core: str  # what must never be stored
    shape: str


def _shape(name: str, core: st.SearchStrategy[str], wrap: Any) -> st.SearchStrategy[Secret]:
    return core.flatmap(lambda c: wrap(c).map(lambda text: Secret(text, c, name)))


def _fixed(prefixes: list[str]) -> Any:
    return lambda core: st.sampled_from(prefixes).map(lambda p: p + core)


# Shapes written as a kept prefix + a random core: (prefixes, core alphabet, minimum core length). The
# hypothesis strategies below and tests/hostile_mutate.py's plain `random` generator both draw from these.
PREFIXED_SHAPES: dict[str, tuple[list[str], str, int]] = {
    "bearer": (["Bearer ", "bearer\t", "BEARER  "], ALNUM + "._-", 16),
    "basic": (["Basic ", "Basic\t", "basic "], B64, 16),
    "github": (["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"], ALNUM, 30),
    "openai": (["sk-", "sk-ant-", "sk-proj-"], ALNUM, 24),
    "stripe": (["sk_live_", "sk_test_", "rk_live_"], ALNUM, 20),
    "slack": (["xoxb-", "xoxp-", "xoxa-"], ALNUM, 16),
    "google": (["AIza"], ALNUM + "_-", 34),
    "gitlab": (["glpat-"], ALNUM, 22),
    "huggingface": (["hf_"], ALNUM, 32),
    "assignment": (["api_key=", "API-KEY: ", "token=", "MY_AUTH_TOKEN=", "client_secret: ", "authorization: ",
                    "private_key="], ALNUM, 12),
    "password": (["password=", "Passwd: ", "passphrase="], ALNUM, 10),
}
# The other shapes, as templates around the core (same strings in both generators).
AWS_PREFIXES = ["AKIA", "ASIA"]
JWT_HEADER = "eyJhbGciOiJIUzI1NiJ9."
PEM_KINDS = ["RSA ", "OPENSSH ", "EC ", ""]
URL_WITH_PASSWORD = "https://deploy:{core}@git.example.com/repo"


def pem(kind: str, core: str, with_end: bool) -> str:
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{core}\n" + (f"-----END {kind}PRIVATE KEY-----" if with_end else "")


# One strategy per shape redact.py knows (tests/test_redact.py checks the list is complete).
SECRET_SHAPES: dict[str, st.SearchStrategy[Secret]] = {
    **{name: _shape(name, _core(alphabet, n), _fixed(prefixes)) for name, (prefixes, alphabet, n) in PREFIXED_SHAPES.items()},
    "aws": _shape("aws", _chars(UPPER_DIGITS, 14, 14).map(lambda c: "Q7" + c), _fixed(AWS_PREFIXES)),
    "jwt": _shape("jwt", st.tuples(_core(ALNUM, 16), _core(ALNUM, 16)).map(lambda t: f"{t[0]}.{t[1]}"),
                  lambda c: st.just(JWT_HEADER + c)),
    "private_key": _shape("private_key", _core(B64, 40, 80),
                          lambda c: st.tuples(st.sampled_from(PEM_KINDS), st.booleans()).map(lambda t: pem(t[0], c, t[1]))),
    "url_password": _shape("url_password", _core(ALNUM, 12), lambda c: st.just(URL_WITH_PASSWORD.format(core=c))),
}
SECRET_KEYS = ["password", "authorization", "token", "api_key", "apiKey", "X-Api-Key", "GITHUB_TOKEN", "client_secret",
               "db.password", "secretKey", "credentials", "cookie"]

secret = st.one_of(*SECRET_SHAPES.values())
# Shapes that fit in a file name (a namespace named by a cache file's name).
NAME_SHAPES = ("github", "openai", "stripe", "slack", "aws", "google", "gitlab")
name_secret = st.one_of(*(SECRET_SHAPES[k] for k in NAME_SHAPES))

CJK = "令牌密钥是的了在我們日本語の문자열한국어"
words = st.text(string.ascii_letters + " .,-", max_size=20)
cjk = st.text(CJK, min_size=1, max_size=8)
# Text that looks like a secret marker but is not one: the old pre-check's false positives.
NEAR_MISSES = ["task-scope", "keychain", "monkey", "the token expired", "tokens: 1200", "api keys rotate",
               "Basic Authentication", "secret santa", "password reset flow", "$MH_API_TOKEN",
               "Bearer $TOKEN", "private key rotation", "ghp_short", "sk-short", "https://example.com/x"]
near_misses = st.sampled_from(NEAR_MISSES)
MARKUP = ["<script>alert('xss')</script>", "<img src=x onerror=alert(1)>", "**bold** [link](javascript:alert(1))",
          "\\input{/etc/passwd} $\\alpha$ \\end{document}", "{{ 'jinja' ~ '-evaluated-' ~ 7*1913 }}", "{% raw %}{% endraw %}", "| a | b |\n|---|---|",
          "&amp; &lt; \"quoted\" 'single'", "%s %d {0} ${HOME}", "# heading\n- item"]
# What must never appear literally in a rendered file (escaped forms are fine).
UNESCAPED = {".html": ["<script>alert('xss')", "<img src=x onerror"], ".svg": ["<script>alert('xss')", "<img src=x onerror"],
             ".md": ["<script>alert('xss')", "<img src=x onerror"], ".tex": ["\\input{/etc/passwd}", "\\end{document}"],
             # jinja evaluation of the probe above; a bare "13391" matched a file of 13,391 bytes in sources.csv
             "*": ["jinja-evaluated-13391"]}
markup = st.sampled_from(MARKUP)
WEIRD = ["\ufeff", "\x00", "\ud800", "\udfff", "\u202e", "\u0301", "\n\r\t", "\\", "\"", "İ", "\U0001f600"]
weird = st.sampled_from(WEIRD)


@dataclass
class Planted:
    """Secrets a generated document carries (their cores must never be stored)."""

    cores: list[str] = field(default_factory=list)

    def add(self, s: Secret) -> str:
        self.cores.append(s.core)
        return s.text


@st.composite
def text_with_secret(draw: st.DrawFn) -> tuple[str, Secret]:
    """A secret in surrounding text: plain, CJK (no spaces), near misses, markup."""
    s = draw(secret)
    before = draw(st.one_of(words.map(lambda w: w + " " if w else w), cjk, near_misses.map(lambda w: w + " "), st.just("")))
    after = draw(st.one_of(words.map(lambda w: " " + w if w else w), cjk, st.just("")))
    if s.shape == "private_key":
        after = ""  # a key without END is redacted to the end of its string, so any text after it goes too
    return before + s.text + after, s


@st.composite
def hostile_text(draw: st.DrawFn, planted: Planted) -> str:
    kind = draw(st.integers(0, 9))
    if kind <= 2:
        text, s = draw(text_with_secret())
        planted.cores.append(s.core)
        return text
    if kind == 3:
        return draw(markup)
    if kind == 4:
        return draw(near_misses)
    if kind == 5:
        return draw(st.lists(st.one_of(weird, words, cjk), max_size=5).map("".join))
    if kind == 6:
        return draw(cjk)
    return draw(words)


HOSTILE_NUMBERS = [2**63, 2**64 + 5, -(2**63) - 1, 10**30, -1, -(10**20), 0, 1e308, -1e308, 1.5, float("nan"),
                   float("inf"), float("-inf"), 10**200, "9223372036854775808", "²", True, None]


def number(draw: st.DrawFn) -> Any:
    return draw(st.one_of(st.integers(0, 50), st.sampled_from(HOSTILE_NUMBERS)))


def value(draw: st.DrawFn, planted: Planted, depth: int = 0) -> Any:
    kind = draw(st.integers(0, 6 if depth < 2 else 3))
    if kind <= 1:
        return draw(hostile_text(planted))
    if kind == 2:
        return number(draw)
    if kind == 3:
        return draw(st.sampled_from([None, True, False, [], {}]))
    if kind == 4:
        return [value(draw, planted, depth + 1) for _ in range(draw(st.integers(0, 3)))]
    if kind == 5:
        return extra_fields(draw, planted, depth + 1)
    return nested(draw(st.integers(50, 400)))


def nested(depth: int) -> Any:
    doc: Any = "deep"
    for _ in range(depth):
        doc = [doc]
    return doc


def extra_fields(draw: st.DrawFn, planted: Planted, depth: int = 0) -> dict[str, Any]:
    """Unknown fields (kept in `extra`): secret-named keys, secrets as keys, hostile values."""
    out: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            key = draw(st.sampled_from(SECRET_KEYS))
            core = draw(_core(ALNUM + "!#%", 10))
            planted.cores.append(core)
            out[key] = core
        elif kind == 1:
            out[planted.add(draw(secret)).replace("\n", " ")] = draw(st.integers(0, 3))
        else:
            out[draw(hostile_text(planted))] = value(draw, planted, depth)
    return out


def _text_or_secret(draw: st.DrawFn, planted: Planted) -> str:
    return draw(hostile_text(planted))


def _item(draw: st.DrawFn, planted: Planted, kind: str, index: int) -> dict[str, Any]:
    t = lambda: _text_or_secret(draw, planted)  # noqa: E731
    item_id = draw(st.one_of(st.just(f"{kind}-{index}"), hostile_text(planted)))
    base: dict[str, Any] = {"id": item_id}
    if kind == "loop":
        base |= {"action": t(), "expected_outcome": t(), "status": draw(st.sampled_from(["open", "verified", "wip", t()])),
                 "ttl_days": number(draw), "verify": {"method": "http", "url": t(), "headers": {"Authorization": t()}},
                 "created_at": draw(st.sampled_from(["2026-01-01", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", t()]))}
    elif kind == "follow":
        base |= {"item": t(), "reason": t(), "defer_count": number(draw), "priority": t()}
    elif kind == "pattern":
        base |= {"what": t(), "count": number(draw), "threshold": number(draw), "status": "observing",
                 "recent_occurrences": [{"session": t(), "context": t()} for _ in range(draw(st.integers(0, 2)))]}
    else:
        base |= {"what": t(), "why": t(), "status": "active", "evidence": [t()]}
    base |= extra_fields(draw, planted, 1)
    return base


@st.composite
def v1_baton(draw: st.DrawFn, planted: Planted) -> dict[str, Any]:
    t = lambda: _text_or_secret(draw, planted)  # noqa: E731
    return {
        "schema_version": 1, "session_id": t(), "parent_session": draw(st.one_of(st.none(), hostile_text(planted))),
        "updated_at": draw(st.sampled_from(["2026-03-01T10:00:00Z", "9999-12-31T23:59:59-05:00", "2026-13-45", t()])),
        "context": t(),
        "open_loops": [_item(draw, planted, "loop", i) for i in range(draw(st.integers(0, 2)))],
        "follow_ups": [_item(draw, planted, "follow", i) for i in range(draw(st.integers(0, 2)))],
        "patterns": [_item(draw, planted, "pattern", i) for i in range(draw(st.integers(0, 2)))],
        "active_decisions": [_item(draw, planted, "decision", i) for i in range(draw(st.integers(0, 1)))],
        **extra_fields(draw, planted),
    }


@st.composite
def v2_baton(draw: st.DrawFn, planted: Planted) -> dict[str, Any]:
    t = lambda: _text_or_secret(draw, planted)  # noqa: E731
    return {
        "_meta": {"schema_version": "2.0", "namespace": "ns-" + t(), "revision": number(draw), "last_written_by": t(),
                  "last_written_at": draw(st.sampled_from(["2026-03-01T10:00:00Z", "9999-12-31T23:59:59-05:00", t()]))},
        "open_loops": {"entries": [{"id": t(), "action": t(), "status": "pending", "stale_after_hours": number(draw),
                                    "created_by": t()} for _ in range(draw(st.integers(0, 2)))]},
        "follow_ups": {"entries": [{"id": t(), "title": t(), "postponed_count": number(draw), "status": "open"}
                                   for _ in range(draw(st.integers(0, 2)))]},
        "anti_patterns": {"entries": [{"id": t(), "pattern": t(), "occurrences": number(draw), "severity": "high",
                                       "context": t(), "remedy": t()} for _ in range(draw(st.integers(0, 2)))]},
        "infra_state": {"machines": {t(): {"status": "ok", "stale_after_hours": number(draw), "verified_by": t()}},
                        "services": {"svc": {"status": "ok", "check_command": t()}}},
        "discovery_cache": {"entries": [{"id": t(), "target": t(), "findings": [t()], "stale_after_hours": number(draw)}]},
        "session_bridge": {"last_session": {"session_id": t(), "summary": t(), "written_by": t(), "completed": [t()],
                                            "next_action": t(), "written_at": t()}},
        **extra_fields(draw, planted),
    }


FORMATS = ("baton-v1", "baton-v2", "api-envelope", "local-cache", "patch-proposal", "broken")


@dataclass
class Document:
    """One generated input file: its name, its bytes, the format it was built as and the secrets it carries."""

    name: str
    data: bytes
    format: str
    planted: Planted


# Letters never outside strings (not in true/false/null/NaN/Infinity/exponents), skipping existing escapes.
_SAFE_TO_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)|[bcdghkmopwxzBCDGHKOPWXZ]")


def render_json(doc: Any, ensure_ascii: bool, indent: int | None, escape_letters: bool) -> str:
    """JSON text, maybe ASCII-escaped, maybe with letters written as \\u escapes (secrets split by escapes)."""
    text = json.dumps(doc, ensure_ascii=ensure_ascii, indent=indent)
    if escape_letters:
        text = _SAFE_TO_ESCAPE.sub(lambda m: m.group() if len(m.group()) > 1 else f"\\u{ord(m.group()):04x}", text)
    return text


def _render(draw: st.DrawFn, doc: Any) -> str:
    return render_json(doc, draw(st.booleans()), draw(st.sampled_from([None, 2])), draw(st.booleans()))


@st.composite
def hostile_document(draw: st.DrawFn, index: int = 0) -> Document:
    planted = Planted()
    fmt = draw(st.sampled_from(FORMATS))
    name_part = draw(st.one_of(st.just("ns"), name_secret.map(planted.add)))
    if fmt in ("baton-v1", "local-cache", "broken"):
        doc: Any = draw(v1_baton(planted)) if draw(st.booleans()) or fmt == "broken" else draw(v2_baton(planted))
        if fmt == "local-cache" or "_meta" not in doc:
            doc["_sync_status"] = draw(st.sampled_from(["synced", "pending_upload"]))  # namespace from the file name
    elif fmt == "baton-v2":
        doc = draw(v2_baton(planted))
    elif fmt == "api-envelope":
        inner = draw(st.one_of(v1_baton(planted), v2_baton(planted), st.none()))
        doc = {"baton": inner, "namespace": "ns-" + draw(hostile_text(planted)), "updated_at": draw(hostile_text(planted)),
               "revision": number(draw)}
    else:
        doc = {"_patch_proposal": {"submitted_by": draw(hostile_text(planted)), "submitted_at": draw(hostile_text(planted)),
                                   "namespace": draw(hostile_text(planted)),
                                   "patches": [{"op": "increment", "path": draw(hostile_text(planted)), "by": number(draw),
                                                "value": value(draw, planted)} for _ in range(draw(st.integers(0, 2)))]}}
    text = _render(draw, doc)
    if fmt == "broken":  # a torn write: the document is quarantined whole and keeps a (redacted) fragment
        text = text[: draw(st.integers(1, max(1, len(text) - 1)))]
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    return Document(f"{index:05d}-{name_part}.json".replace("/", "_"), data, fmt, planted)


# -- checking what an import and a report kept ------------------------------------------------------

def store_texts(db: Path) -> dict[str, str]:
    """Every table of a store as text (CSV of all columns), keyed by table name."""
    import duckdb
    import polars as pl

    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        out = {}
        for table in tables:
            if table == "baton_lab_meta":
                continue  # the schema version and the store's redaction key, nothing read from input
            frame = con.sql(f'SELECT * FROM "{table}"').pl()
            out[table] = frame.select(pl.all().cast(pl.String)).write_csv()
        return out
    finally:
        con.close()


def file_texts(folder: Path) -> dict[str, str]:
    """Every file a report or export wrote, as text (Parquet read back as CSV; PNG pixels skipped)."""
    import polars as pl

    out = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix == ".png":
            continue
        if path.suffix == ".parquet":
            out[str(path)] = pl.read_parquet(path).select(pl.all().cast(pl.String)).write_csv()
        else:
            out[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return out


def leaks(cores: list[str], texts: dict[str, str]) -> list[tuple[str, str]]:
    """(where, core) for every planted secret found, in the text as stored or with its JSON escapes resolved.

    All cores are searched at once (polars' Aho-Corasick `extract_many`), so a batch's thousands of cores
    cost one pass over each text, not one pass per core."""
    import polars as pl

    from baton_lab.redact import unescaped

    patterns = sorted(set(cores))
    where = list(texts)
    if not patterns or not where:
        return []
    # Lone surrogates (from resolved \\ud800 escapes) cannot enter polars; cores are ASCII, so nothing is hidden.
    views = [view.encode("utf-8", "replace").decode() for w in where for view in (texts[w], unescaped(texts[w]))]
    found = pl.Series(views, dtype=pl.String).str.extract_many(patterns, overlapping=True).to_list()
    return sorted({(where[i // 2], core) for i, matches in enumerate(found) for core in matches or []})


def unescaped_markup(texts: dict[str, str]) -> list[tuple[str, str]]:
    """(file, text) for hostile markup that reached a rendered file unescaped (or a jinja expression evaluated)."""
    found = []
    for where, text in texts.items():
        suffix = Path(where).suffix
        for needle in UNESCAPED.get(suffix, []) + UNESCAPED["*"]:
            if needle in text:
                found.append((where, needle))
    return found


@dataclass
class Outcome:
    files: int
    db: Path | None = None
    summary: Any = None
    crash: str | None = None
    lost: int = 0
    leaks: list[tuple[str, str]] = field(default_factory=list)
    # (file, error) of documents a format reader failed on: the import goes on (the document is quarantined with
    # the error), but each is a crash of that reader all the same.
    reader_errors: list[tuple[str, str]] = field(default_factory=list)


def import_batch(docs: list[Document], root: Path) -> Outcome:
    """Write the documents as files, import them in one call, and check accounting and leaks."""
    import traceback

    import baton_lab as bl

    folder = root / "in"
    folder.mkdir(parents=True)
    names = set()
    for doc in docs:
        path = folder / doc.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(doc.data)
        names.add(path)
    db = root / "store.duckdb"
    outcome = Outcome(files=len(names), db=db)
    try:
        summary = bl.open(db).import_(folder)
    except Exception:  # noqa: BLE001 - the harness counts every exception as a crash
        outcome.crash = traceback.format_exc()
        return outcome
    outcome.summary = summary
    accounted = summary.stored + summary.duplicates + summary.proposals + summary.empty + summary.quarantined
    # Files with identical bytes are one source (skipped as unchanged): every distinct file is read once.
    distinct = len({doc.data for doc in docs})
    # A .jsonl file may hold one record per line: every such file is read as at least one.
    unread = summary.read + summary.sources_unchanged - outcome.files
    if any(doc.name.endswith(".jsonl") for doc in docs):
        unread = min(0, unread)
    outcome.lost = abs(summary.read - accounted) + abs(unread) + abs(summary.sources - distinct)
    outcome.leaks = leaks([c for doc in docs for c in doc.planted.cores], store_texts(db))
    if summary.reader_errors:
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            outcome.reader_errors = con.execute("SELECT uri, reason FROM quarantine WHERE kind = 'document' AND "
                                                "reason LIKE '% reader failed on this document %'").fetchall()
    return outcome
