"""Redaction at the store boundary: the store's own key, and one pass over each record before any of it is used.

Everything an import keeps comes from a record: the parsed document (baton, envelope, proposal —
and with it namespaces, session ids, writers, claimed times, items, extra JSON), the source path,
the provenance, and for a document that cannot be parsed its raw text (the quarantine fragment).
`clean_record` redacts all of it before the importer reads anything, so no call site downstream
needs to remember to.

The key makes placeholders identity-keeping within a store (the same secret, the same tag) while
meaningless elsewhere; it is created by the first import, in that import's transaction.
"""

from __future__ import annotations

import dataclasses
import secrets

import duckdb

from .._jsonutil import fragment, has_lone_surrogate_escape, repair_surrogates, storable_text, without_surrogates
from ..importers import Record
from ..normalize import Finding
from ..redact import Redactor, unescaped

_META_KEY = "redaction_key"
# Redacting a quarantined document's text is bounded: the fragment keeps 2,000 characters, and the
# margin lets a secret that starts before the cut be recognised whole.
_FRAGMENT_WINDOW = 2000 + 16_000


def store_redactor(con: duckdb.DuckDBPyConnection) -> Redactor:
    """The store's redactor; the key is created (inside the caller's transaction) on first use."""
    rows = con.execute("SELECT value FROM baton_lab_meta WHERE key = ?", [_META_KEY]).fetchall()
    if rows:
        return Redactor(bytes.fromhex(rows[0][0]))
    key = secrets.token_bytes(32)
    con.execute("INSERT INTO baton_lab_meta VALUES (?, ?)", [_META_KEY, key.hex()])
    return Redactor(key)


def stored_path(uri: str, redactor: Redactor) -> tuple[str, int]:
    """A source path as the store keeps it: secrets redacted, undecodable file-name bytes as U+FFFD."""
    return redactor.text(without_surrogates(uri))


@dataclasses.dataclass(slots=True)
class Cleaned:
    record: Record
    redactions: int
    findings: list[Finding]


def clean_record(record: Record, redactor: Redactor, source_id: str) -> Cleaned:
    """The record with secrets redacted from its document, path and provenance, and lone surrogates
    (undecodable UTF-16 escapes) replaced by U+FFFD and flagged.

    This is where input text enters the store, and the one place it is made storable: the document, its text
    (which whole-file formats parse again, and which quarantine excerpts and stored JSON are cut from), the
    provenance, the path and a reader's reason for quarantining it. Everything downstream is derived from these, so no later step needs to repeat it."""
    uri, total = stored_path(record.source.uri, redactor)
    if uri != record.source.uri:
        record.source = dataclasses.replace(record.source, uri=uri)
    findings: list[Finding] = []

    def flag(repairs: list[tuple[str, str]]) -> None:
        for path, original in repairs:
            path, _ = redactor.text(path)
            shown, _ = redactor.text(original)
            findings.append(Finding(record.where, path, "value", "text holds a lone surrogate (\\ud800-\\udfff: not "
                                    "valid Unicode); stored with U+FFFD in its place", fragment(shown), source_id))

    if record.provenance:
        # Provenance is read from the input too (a transcript's tool call id, cwd, branch).
        provenance, repairs = repair_surrogates(record.provenance, "provenance")
        flag(repairs)
        record.provenance, n = redactor.value(provenance)
        total += n
    if record.error:
        # A reader's reason can quote the input (a transcript's tool output that is not JSON).
        record.error = redactor.text(without_surrogates(record.error))[0]
    raw = record.text or None
    lone = raw is not None and has_lone_surrogate_escape(raw)
    if lone:
        record.text = storable_text(raw)
        if record.text != raw and record.doc is None:
            # No parsed document to point into: the text itself (an NDJSON file a format parses line by line,
            # a document that is not JSON) is flagged once.
            findings.append(Finding(record.where, None, "value", "text holds lone surrogates (\\ud800-\\udfff: not "
                                    "valid Unicode); stored with U+FFFD in their place", None, source_id))
    if record.doc is not None:
        doc = record.doc
        if raw is None or lone:
            doc, repairs = repair_surrogates(doc)
            flag(repairs)
        raw = record.text or None
        if raw is None:
            doc, n = redactor.value(doc)
        else:
            doc, n = redactor.document(doc, raw)
        record.doc = doc
        total += n
    return Cleaned(record, total, findings)


def redacted_fragment(text: str, redactor: Redactor) -> str:
    """The quarantine excerpt of a document's raw text, secrets redacted — also those written with JSON
    escapes (the text could not be parsed, so escapes are resolved on the excerpt itself)."""
    window = text[:_FRAGMENT_WINDOW]  # storable already (`clean_record`)
    # The excerpt's text is cut (a torn write, or the window): a URL's credentials at its end are redacted too.
    clean, n = redactor.cut_text(window)
    if "\\" in window:
        decoded = unescaped(window)
        decoded_clean, m = redactor.cut_text(decoded)
        if m:
            # Secrets in the decoded text: show the decoded, redacted excerpt (lone surrogates made U+FFFD). Counting
            # matches cannot tell whether escapes hid one: an END-less private key redacts to the end of the text
            # and swallows later matches, so the decoded view can find a new secret with no more matches.
            clean = decoded_clean
    excerpt = fragment(clean)
    if len(text) > _FRAGMENT_WINDOW and len(clean) <= 2000:
        excerpt += f"… [{len(text) - _FRAGMENT_WINDOW} more characters]"
    return excerpt
