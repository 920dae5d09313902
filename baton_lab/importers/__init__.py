"""Importers: where bytes come from, and what a document says.

- `sources`, `containers`, `git_history`, `transcripts`: byte sources that yield `Record`s (a parsed JSON
  document, an NDJSON line, a whole file a format recognised, a transcript's baton call).
- `contract`: the `Format` every document format implements and the `Observation` its reader yields.
- one module per format (`baton_v1`, `baton_v2`, `api_envelope`, `local_cache`, `patch_proposal`, `beads`,
  `beads_events`, `lessons_jsonl`, `amh_memory`, `memhall_entries`), listed in detection order in `registry.FORMATS`; shared
  readings in `jsonl_document` (a JSONL file as one document) and `amh_records` (AMH records and their history).
- `memhall_sqlite`: memory-hall's SQLite file as a source of one `memhall-entries` document.

The pipeline that joins them and stores the result is `store.ingest`.
"""

from __future__ import annotations

from .base import Record, SourceInfo, SourceReader
from .containers import iter_sources
from .contract import EmptyRead, Format, NotThisFormat, Observation, ProposalDoc, ReadResult, Rules, Section, Unreadable
from .registry import FORMATS, detect_format, get_format, list_formats, rules_for, sniff_whole_file

__all__ = [
    "EmptyRead",
    "FORMATS",
    "Format",
    "NotThisFormat",
    "Observation",
    "ProposalDoc",
    "ReadResult",
    "Record",
    "Rules",
    "Section",
    "SourceInfo",
    "SourceReader",
    "Unreadable",
    "detect_format",
    "get_format",
    "iter_sources",
    "list_formats",
    "rules_for",
    "sniff_whole_file",
]
