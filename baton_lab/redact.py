"""Secret redaction applied to every text the store keeps, before anything is stored.

Batons and transcripts are written by agents, and agents paste tokens. SPEC-v2's hard constraint
("credentials never enter the baton; reference them as $ENV_VAR_NAME") is enforced on import too.

Three rules, applied to decoded strings (JSON escapes resolved), keys as well as values:
- a string matching a known secret shape (bearer/basic credentials, GitHub/OpenAI/Anthropic/Slack/AWS/
  Google/GitLab/Hugging Face tokens, JWTs, PEM private keys — from the BEGIN line, END line or not —,
  `password=…`/`token: …` assignments, passwords in URLs) has the secret part replaced;
- a value under a secret-named key (`authorization`, `password`, `github_token`, `apiKey`, …) is
  replaced whatever it looks like;
- `$ENV_VAR` references, the sanctioned form, are kept.

The replacement keeps identity: `[REDACTED:<tag>]`, where the tag is a keyed hash of the secret, so
the same secret gives the same placeholder (ids, namespaces and session ids that were secrets still
join) while the placeholder says nothing about the secret without the key. A store keeps its own
random key (`store.redaction`); outside a store a fixed key is used.

Speed: `Redactor.document` decides on the document's raw text (JSON escapes resolved) in one cheap
pass: every secret shape and secret-named key starts with one of a few literal markers (`ghp_`,
`bearer`, `-----begin `, `password`, …), found with `str.find`; the full pattern is tried only where
a marker occurs, and only a document that matches is walked. The check is the union of what the walk
redacts, so it cannot let through what the walk would catch (tests/test_redact.py proves the two paths
agree over generated secret shapes, escapes included).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import hmac
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

REDACTED = "[REDACTED]"  # the prefix every placeholder starts with, minus its closing bracket
PLACEHOLDER = re.compile(r"\[REDACTED(?::[0-9a-f]{12})?\]")
TAG_CHARS = 12
# Used when no store key is in force (library calls outside an import): deterministic, not secret.
DEFAULT_KEY = b"baton_lab default redaction key"

# Not a secret: a `$VAR` reference, or a placeholder already written (redaction is idempotent).
_NOT_A_SECRET = r"(?!\$|\[REDACTED)"

# Each shape: the literals (lower case) its matches start with, and its pattern. The pattern's `s_…`
# group is the secret (replaced); text around it is kept ("Bearer ", "password="). Left edges use
# ASCII edges, not `\b`: a token right after CJK text ("令牌ghp_…") still counts as standing alone, and
# key words may follow `_` (`MY_API_TOKEN=…`).
# Object keys whose (scalar) values are secrets whatever they look like, matched on the key in
# snake case (`apiKey`, `x-api-key`, `GITHUB_TOKEN` → `api_key`, `x_api_key`, `github_token`).
_SECRET_KEY_WORDS = ("password", "passwd", "passphrase", "secret", "token", "api_?key", "access_?key", "secret_?key",
                     "private_?key", "signing_?key", "client_?secret", "authorization", "credential", "credentials",
                     "cookie")
_L, _R = r"(?<![A-Za-z0-9_])", r"(?![A-Za-z0-9_])"
_ASSIGNED_WORDS = ("api_?key", "access_?token", "auth_?token", "secret", "token", "private_?key", "client_?secret",
                   "authorization")
_SHAPES: dict[str, tuple[tuple[str, ...], str]] = {
    "bearer": (("bearer",), _L + r"(?i:bearer\s+)" + _NOT_A_SECRET + r"(?P<s_bearer>[A-Za-z0-9._~+/=-]{8,})"),
    # `Basic dXNlcjpwYXNz`: base64 with a digit, +/= or a lower-to-upper step (not "Basic Authentication").
    "basic": (("basic",), _L + r"(?i:basic\s+)" + _NOT_A_SECRET
              + r"(?P<s_basic>(?=[A-Za-z0-9+/=]*(?:[0-9+/=]|[a-z][A-Z]))[A-Za-z0-9+/=]{12,})"),
    "github": (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
               _L + r"(?P<s_github>gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})" + _R),
    "openai": (("sk-",), _L + r"(?P<s_openai>sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,})" + _R),
    "stripe": (("sk_live_", "sk_test_", "rk_live_", "rk_test_"), _L + r"(?P<s_stripe>[sr]k_(?:live|test)_[A-Za-z0-9]{16,})" + _R),
    "slack": (("xox",), _L + r"(?P<s_slack>xox[abposr]-[A-Za-z0-9-]{10,})" + _R),
    "aws": (("akia", "asia"), _L + r"(?P<s_aws>(?:AKIA|ASIA)[0-9A-Z]{16})" + _R),
    "google": (("aiza",), _L + r"(?P<s_google>AIza[0-9A-Za-z_-]{30,})"),
    "gitlab": (("glpat-",), _L + r"(?P<s_gitlab>glpat-[A-Za-z0-9_-]{20,})"),
    "huggingface": (("hf_",), _L + r"(?P<s_huggingface>hf_[A-Za-z0-9]{30,})" + _R),
    "jwt": (("eyj",), _L + r"(?P<s_jwt>eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"),
    # From the BEGIN line to the END line, or to the end of the text when the END line is missing.
    "private_key": (("-----begin ",), r"(?P<s_private_key>-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----[\s\S]*?"
                                      r"(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\Z))"),
    # https://user:password@host (the scheme's last character before ://)
    "url_password": (("://",), r"(?<=[A-Za-z0-9])://[^/\s:@\"']+:" + _NOT_A_SECRET + r"(?P<s_url_password>[^/\s@\"']+)(?=@)"),
    # token=…, "api_key": "…", Authorization: … — a value that looks like a secret (has a digit, ≥ 8 chars).
    "assignment": (tuple(w.partition("_?")[0] for w in _ASSIGNED_WORDS),
                   r"(?i:(?<![A-Za-z0-9])(?:" + "|".join(w.replace("_?", "[_-]?") for w in _ASSIGNED_WORDS)
                   + r")[\"']?\s*[:=]\s*[\"']?)" + _NOT_A_SECRET + r"(?P<s_assignment>(?=[^\s\"'&,;}]*\d)[^\s\"'&,;}]{8,})"),
    # `"client_secret": "…"` as text: a JSON document that could not be parsed still has its values by key
    # redacted in the quarantine fragment (and JSON quoted inside a string is treated the same way).
    "json_key": (tuple(w.partition("_?")[0] for w in _SECRET_KEY_WORDS),
                 r"(?i:(?:" + "|".join(w.replace("_?", "[-_. ]?") for w in _SECRET_KEY_WORDS) + r")\"\s*:\s*)"
                 + r"(?:\"" + _NOT_A_SECRET + r"(?P<s_json_key>(?:[^\"\\]|\\.)+)|(?P<s_json_number>-?\d[\d.eE+-]*))"),
    "password": (("password", "passwd", "passphrase"),
                 r"(?i:(?<![A-Za-z0-9])(?:password|passwd|passphrase)[\"']?\s*[:=]\s*[\"']?)" + _NOT_A_SECRET
                 + r"(?P<s_password>[^\s\"'&,;}]{4,})"),
}
SHAPES = tuple(_SHAPES)
_SHAPE_PATTERNS = {name: re.compile(source) for name, (_, source) in _SHAPES.items()}
_STRING_PATTERN = re.compile("|".join(f"(?:{source})" for _, source in _SHAPES.values()))

# A text cut short (a torn write) inside a URL's credentials, `https://deploy:s3cr` at its very end: the `@` that
# would mark them never came. Only for text known to be cut (`Redactor.cut_text`): at the end of a whole string,
# `http://host:port` is no credential. All digits after the colon are a port.
_CUT_URL_PASSWORD = re.compile(r"(?<=[A-Za-z0-9])://[^/\s:@\"']+:" + _NOT_A_SECRET
                               + r"(?P<s_url_password>(?![0-9]*\Z)[^/\s@\"']+)\Z")

_SECRET_KEY = re.compile(r"(?:^|_)(?:" + "|".join(_SECRET_KEY_WORDS) + r")$")
# The same words as they can be spelled in raw JSON text, followed by the end of a key: `…Token":`.
_KEY_IN_TEXT = r"(?i:(?:" + "|".join(w.replace("_?", "[-_. ]?") for w in _SECRET_KEY_WORDS) + r")\"\s*:)"
_DOCUMENT_PATTERN = re.compile(_KEY_IN_TEXT + "|" + _STRING_PATTERN.pattern)


def _shortest(markers: set[str]) -> tuple[str, ...]:
    """Drop markers that start with another marker: the shorter one already finds their positions."""
    return tuple(sorted(m for m in markers if not any(m != o and m.startswith(o) for o in markers)))


# Every match of a pattern starts where one of these literals starts (case-insensitively): finding
# them with str.find is the one cheap pass; a pattern match is only attempted where one is found.
_STRING_MARKERS = _shortest({m for markers, _ in _SHAPES.values() for m in markers})
# In the walk: every marker occurrence (overlapping ones too, hence the lookahead) names the shapes to try.
_MARKER_FINDER = re.compile("(?=(" + "|".join(re.escape(m) for m in _STRING_MARKERS) + "))")
_SHAPES_FOR_MARKER = {m: frozenset(name for name, (markers, _) in _SHAPES.items()
                                   if any(s.startswith(m) or m.startswith(s) for s in markers)) for m in _STRING_MARKERS}
_SHAPE_ORDER = tuple(_SHAPES)
_DOCUMENT_MARKERS = _shortest(set(_STRING_MARKERS) | {w.partition("_?")[0] for w in _SECRET_KEY_WORDS})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_SEPARATORS = re.compile(r"[-. ]+")


@functools.lru_cache(maxsize=4096)  # documents repeat the same few dozen keys
def is_secret_key(key: str) -> bool:
    """True for object keys that name a secret (`password`, `githubToken`, `X-Api-Key`, `authorization`)."""
    return bool(_SECRET_KEY.search(_KEY_SEPARATORS.sub("_", _CAMEL.sub("_", key)).lower()))


# JSON string escapes, resolved so the raw-text check sees what the decoded strings hold.
_ESCAPE = re.compile(r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(.))", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _unescape_one(match: re.Match[str]) -> str:
    high, low, single, char = match.groups()
    if high:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    if single:
        return chr(int(single, 16))
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char]
    # `\\`, `\"`, `\/` stand for their character; anything else (a `\u` cut short by a torn write, `\q`) is not an
    # escape and stays as written: read as the bare letter, `AKIA…\u` would look like a longer word, not a key.
    return char if char in '\\"/' else "\\" + char


def unescaped(text: str) -> str:
    """The text with JSON string escapes resolved (structure kept): what the raw-text check reads."""
    return _ESCAPE.sub(_unescape_one, text) if "\\" in text else text


def _matches(text: str, pattern: re.Pattern[str], markers: tuple[str, ...]) -> bool:
    """`pattern.search(text) is not None`, found by literal markers instead of trying every position."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower to two (İ): positions would drift
        return pattern.search(text) is not None
    for marker in markers:
        at = lowered.find(marker)
        while at != -1:
            if pattern.match(text, at):
                return True
            at = lowered.find(marker, at + 1)
    return False


def might_contain_secret(raw: str) -> bool:
    """One cheap pass over the raw document text: False means no string or key in it would be redacted."""
    return _matches(unescaped(raw), _DOCUMENT_PATTERN, _DOCUMENT_MARKERS)


def might_contain_secrets(raws: list[str]) -> list[bool]:
    """`might_contain_secret` of each text, the markers of the whole batch found in one pass.

    `_matches` scans each text once per marker (35 `str.find`s); here one Aho-Corasick automaton (polars'
    `str.find_many`, ASCII case folding) finds every marker occurrence in every text of the batch at once. For an
    ASCII text its byte offsets are the positions `_matches` tries, and the pattern is tried there. For any other
    text they are not character positions, so `_matches` runs with only the markers the automaton found: ASCII case
    folding finds what `str.lower` + `find` finds, except where a character lowers to ASCII (U+212A KELVIN SIGN
    lowers to "k"): such a text gets every marker; and `_matches` searches the whole text where lowering changes
    its length (U+0130 is the one character that lowers to two). tests/test_redact.py proves the decisions equal."""
    import polars as pl  # only an import of many documents gets here; `import baton_lab.redact` stays light

    texts = [unescaped(raw) for raw in raws]
    markers = list(_DOCUMENT_MARKERS)
    try:
        series = pl.Series(texts, dtype=pl.String)
    except UnicodeEncodeError:  # a lone surrogate (an unpaired `\\ud800` escape, resolved): one text at a time
        return [_matches(text, _DOCUMENT_PATTERN, _DOCUMENT_MARKERS) for text in texts]
    decided = []
    match = _DOCUMENT_PATTERN.match
    wide = []
    for i, (text, positions) in enumerate(zip(texts, series.str.find_many(
            markers, ascii_case_insensitive=True, overlapping=True).to_list())):
        if text.isascii():
            decided.append(any(match(text, at) for at in positions))
        else:
            decided.append(False)
            if positions or "\u212a" in text or "\u0130" in text:
                wide.append(i)
    if wide:
        found = series.gather(wide).str.extract_many(markers, ascii_case_insensitive=True, overlapping=True).to_list()
        for i, present in zip(wide, found):
            text = texts[i]
            which = _DOCUMENT_MARKERS if "\u212a" in text else tuple({m.lower() for m in present})
            decided[i] = _matches(text, _DOCUMENT_PATTERN, which)
    return decided


# From this length on, `Redactor.text` tries patterns at marker positions instead of scanning (a quarantined
# document's excerpt is 18,000 characters; most strings of a document are short, and a scan is cheap for them).
_LONG_TEXT = 256


def _marker_positions(lowered: str) -> dict[str, list[int]]:
    """Where each string marker occurs in a lowered text (overlapping occurrences too)."""
    positions: dict[str, list[int]] = {}
    for marker in _STRING_MARKERS:
        at = lowered.find(marker)
        while at != -1:
            positions.setdefault(marker, []).append(at)
            at = lowered.find(marker, at + 1)
    return positions


@dataclass
class Redactor:
    """Redaction with one key: the same secret always gives the same placeholder."""

    key: bytes = DEFAULT_KEY
    _tags: dict[str, str] = field(default_factory=dict, repr=False)
    _keys: dict[str, tuple[str, int]] = field(default_factory=dict, repr=False)
    _decided: dict[str, bool] = field(default_factory=dict, repr=False)  # `prime`'s decisions, by raw text

    def placeholder(self, secret: str) -> str:
        tag = self._tags.get(secret)
        if tag is None:
            data = secret.encode("utf-8", "surrogatepass")
            tag = hmac.new(self.key, data, hashlib.sha256).hexdigest()[:TAG_CHARS]
            if len(self._tags) < 100_000:
                self._tags[secret] = tag
        return f"[REDACTED:{tag}]"

    def _replace(self, match: re.Match[str]) -> str:
        start, end = match.span(match.lastgroup)  # the one `s_…` group of the alternative that matched
        whole_start, whole_end = match.span()
        text = match.string
        return text[whole_start:start] + self.placeholder(text[start:end]) + text[end:whole_end]

    def text(self, text: str) -> tuple[str, int]:
        """The text with every secret shape replaced, and how many replacements were made.

        Only the shapes whose marker literal occurs in the text are tried, each with its own pattern (a
        single-shape pattern scans far faster than the alternation of all of them); in a long text, only where
        one of its markers occurs (`_text_at_markers`)."""
        lowered = text.lower()
        if len(text) >= _LONG_TEXT and len(lowered) == len(text) and "\u0131" not in text and "\u017f" not in text:
            return self._text_at_markers(text, lowered)
        return self._text_scan(text, lowered)

    def _text_at_markers(self, text: str, lowered: str) -> tuple[str, int]:
        """`_text_scan` without scanning: each shape's pattern is matched only at the positions where one of its
        markers occurs, in order, skipping positions inside the previous replacement — what `subn` does, since
        every match of a shape starts at one of its markers. Positions come from the lowered text, which needs it
        to keep the text's length (U+0130 lowers to two characters) and to fold to ASCII exactly as the patterns'
        case-insensitive parts do: `re` also matches ı (U+0131) for "i" and ſ (U+017F) for "s", which `str.lower`
        leaves alone, so `text` scans texts holding those. tests/test_redact.py proves the outputs equal."""
        positions = _marker_positions(lowered)
        if not positions:
            return text, 0
        total = 0
        for name in _SHAPE_ORDER:
            candidates = sorted({at for marker, ats in positions.items() if name in _SHAPES_FOR_MARKER[marker]
                                 for at in ats})
            if not candidates:
                continue
            match_at = _SHAPE_PATTERNS[name].match
            pieces: list[str] = []
            end = n = 0
            for at in candidates:
                if at < end:
                    continue
                match = match_at(text, at)
                if match is not None:
                    pieces += (text[end:at], self._replace(match))
                    end = match.end()
                    n += 1
            if n:
                text = "".join(pieces) + text[end:]
                total += n
                positions = _marker_positions(text.lower())  # the next shape reads the redacted text
        return text, total

    def _text_scan(self, text: str, lowered: str) -> tuple[str, int]:
        found = {m.group(1) for m in _MARKER_FINDER.finditer(lowered)}
        if not found:
            return text, 0
        total = 0
        for name in _SHAPE_ORDER:
            if any(name in _SHAPES_FOR_MARKER[marker] for marker in found):
                text, n = _SHAPE_PATTERNS[name].subn(self._replace, text)
                total += n
        return text, total

    def cut_text(self, text: str) -> tuple[str, int]:
        """`text(text)` for a text cut short (a torn write's excerpt): also a URL's credentials at its very end."""
        text, n = self.text(text)
        # A match runs from a `://` to the end of the text without another `/`: it can only start at the last `://`
        # (`subn` over the whole text would try the lookbehind at every position).
        at = text.rfind("://")
        match = _CUT_URL_PASSWORD.match(text, at) if at != -1 else None
        if match is None:
            return text, n
        return text[:at] + self._replace(match) + text[match.end():], n + 1

    def _key(self, key: str) -> tuple[str, int]:
        cached = self._keys.get(key)
        if cached is None:
            cached = self.text(key)
            if len(self._keys) < 100_000:
                self._keys[key] = cached
        return cached

    def value(self, doc: Any) -> tuple[Any, int]:
        """Every string of a JSON value redacted (keys too), and values under secret-named keys."""
        if isinstance(doc, str):
            return self.text(doc)
        if isinstance(doc, list):
            out, total = [], 0
            for item in doc:
                clean, n = self.value(item)
                out.append(clean)
                total += n
            return out, total
        if isinstance(doc, dict):
            result: dict[Any, Any] = {}
            total = 0
            for key, item in doc.items():
                clean_key, n = self._key(key) if isinstance(key, str) else (key, 0)
                total += n
                if isinstance(key, str) and _is_secret_scalar(item) and is_secret_key(key):
                    result[clean_key] = self.placeholder(str(item))
                    total += 1
                    continue
                clean, n = self.value(item)
                result[clean_key] = clean
                total += n
            return result, total
        return doc, 0

    def prime(self, raws: list[str]) -> None:
        """Decide the check of `document` for the raw texts of documents about to be redacted, in one pass over the
        batch (`might_contain_secrets`); replaces the decisions of the previous batch."""
        self._decided = dict(zip(raws, might_contain_secrets(raws)))

    def document(self, doc: Any, raw: str) -> tuple[Any, int]:
        """`value(doc)`, decided on `raw` — the JSON text `doc` was parsed from — with one search first."""
        decided = self._decided.pop(raw, None)
        if not (might_contain_secret(raw) if decided is None else decided):
            return doc, 0
        return self.value(doc)


def _is_secret_scalar(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return bool(value) and not value.startswith("$") and PLACEHOLDER.fullmatch(value) is None
    return isinstance(value, (int, float))


_CURRENT: contextvars.ContextVar[Redactor] = contextvars.ContextVar("baton_lab_redactor", default=Redactor())


def current() -> Redactor:
    """The redactor in force: the store's during an import, else the default one."""
    return _CURRENT.get()


@contextmanager
def using(redactor: Redactor) -> Iterator[Redactor]:
    """Make `redactor` the one `redact`/`redact_text` use (an import sets its store's key)."""
    token = _CURRENT.set(redactor)
    try:
        yield redactor
    finally:
        _CURRENT.reset(token)


def redact_text(text: str) -> tuple[str, int]:
    """Return the text with secrets replaced, and how many replacements were made."""
    return current().text(text)


def redact(doc: Any) -> tuple[Any, int]:
    """Redact every string in a JSON document (keys included, and values under secret-named keys)."""
    return current().value(doc)
