"""Where bytes come from: every kind of source the import reads, declared once with its rules.

Each source module (containers, transcripts, git history, capture) states its kinds here, so `baton-lab formats`
lists them from one place and no module has to import a higher layer to describe itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceKind:
    name: str
    kind: str       # container | transcript | history | capture
    version: str
    detection: str
    description: str


CONTAINERS = (
    SourceKind("json-file", "container", "1", "a .json file", "a file holding one JSON document (UTF-8, BOM tolerated)"),
    SourceKind("ndjson", "container", "1", "a .ndjson/.jsonl file no whole-file format claims",
               "a .ndjson/.jsonl file, or a file of several complete JSON objects one per line"),
    SourceKind("whole-file", "container", "1", "a file whose first bytes a whole-file format recognises (e.g. Beads)",
               "the file is one document of that format, read from its text (one snapshot per file)"),
    SourceKind("memhall-sqlite", "container", "1", "a file given by path whose first bytes are 'SQLite format 3' "
               "and that has an entries table", "memory-hall's SQLite store, read-only: the entries table as one "
               "memhall-entries document"),
    SourceKind("directory", "container", "1", "a directory",
               "a directory: every .json/.ndjson/.jsonl file below it, in natural path order (hidden folders skipped)"),
)

CAPTURE_VERSION = "1"
CAPTURES = (
    SourceKind("capture-http", "capture", CAPTURE_VERSION,
               "baton-lab capture --from http://HOST:PORT --namespace NS [--token-env VAR]",
               "POST /v1/baton/read on a running session-baton server or memhall; memhall revision and gaps logged"),
    SourceKind("capture-sqlite", "capture", CAPTURE_VERSION,
               "baton-lab capture --from FILE whose first bytes are 'SQLite format 3'",
               "the server's SQLite batons table (session-baton or memhall shape), read-only, safe while it runs"),
    SourceKind("capture-cache", "capture", CAPTURE_VERSION, "baton-lab capture --from DIR (or one .json file)",
               "the local cache ~/.claude/loop/batons/{namespace}.json"),
)
