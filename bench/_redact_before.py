"""The redaction of baton_lab before issue 13/17 (verbatim from main at e5db079), kept only as the benchmarks'
baseline: bench/import_bench.py and bench/fuzz_bench.py time it against baton_lab.redact in the same run."""
from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <token> (keep $VAR references, which are the sanctioned form)
    (re.compile(r"(?i)(\bbearer\s+)(?!\$)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + REDACTED),
    (re.compile(r"(?i)(\bbasic\s+)(?!\$)[A-Za-z0-9+/=]{12,}"), r"\1" + REDACTED),
    # Well-known token shapes
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), REDACTED),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"), REDACTED),
    (re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}\b"), REDACTED),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}\b"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"), REDACTED),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), REDACTED),
    # key=value / "key": "value" where the key names a secret and the value looks like one
    (
        re.compile(
            r"(?i)\b((?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|token|private[_-]?key)"
            r"[\"']?\s*[:=]\s*[\"']?)(?!\$)((?=[^\s\"'&,;}]*\d)[^\s\"'&,;}]{8,})"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\b((?:password|passwd)[\"']?\s*[:=]\s*[\"']?)(?!\$)([^\s\"'&,;}]{4,})"), r"\1" + REDACTED),
)


# JSON object keys whose values are secrets whatever they look like.
_SECRET_KEYS = re.compile(r"(?i)^(api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd|private[_-]?key|authorization)$")


def redact_text(text: str) -> tuple[str, int]:
    """Return the text with secrets replaced, and how many replacements were made."""
    total = 0
    for pattern, replacement in _PATTERNS:
        text, n = pattern.subn(replacement, text)
        total += n
    return text, total


def redact(doc: Any) -> tuple[Any, int]:
    """Redact every string in a JSON document (and values under secret-named keys)."""
    if isinstance(doc, str):
        return redact_text(doc)
    if isinstance(doc, list):
        out, total = [], 0
        for value in doc:
            clean, n = redact(value)
            out.append(clean)
            total += n
        return out, total
    if isinstance(doc, dict):
        result: dict[str, Any] = {}
        total = 0
        for key, value in doc.items():
            if isinstance(value, str) and value and not value.startswith("$") and _SECRET_KEYS.match(key):
                result[key] = REDACTED
                total += 1
                continue
            clean, n = redact(value)
            result[key] = clean
            total += n
        return result, total
    return doc, 0


def might_contain_secret(text: str) -> bool:
    """Cheap pre-check so the common, clean document skips the recursive walk."""
    lowered = text.lower()
    return any(
        marker in lowered
        for marker in ("bearer", "basic ", "token", "secret", "password", "passwd", "key", "ghp_", "gho_", "ghs_",
                       "github_pat", "sk-", "xox", "akia", "aiza", "eyj", "private")
    )
