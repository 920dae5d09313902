"""Importers: one module per document format, each with detection rules and a format version.

Containers (`containers.py`) turn paths into records; a document format turns a parsed record into a
baton, a patch proposal or an empty read. Detection tries the formats in `FORMATS` order, most specific
first.
"""

from __future__ import annotations

from typing import Any

from ..errors import UnknownFormat
from . import api_envelope, baton_v1, baton_v2, git_history, local_cache, patch_proposal, transcripts
from .base import BatonDoc, DocumentFormat, EmptyRead, NotThisFormat, ProposalDoc, Record, SourceInfo
from .containers import CONTAINERS, SourceReader, iter_sources

FORMATS: tuple[DocumentFormat, ...] = (
    patch_proposal.FORMAT,
    api_envelope.FORMAT,
    local_cache.FORMAT,
    baton_v2.FORMAT,
    baton_v1.FORMAT,
)
FORMATS_BY_NAME = {fmt.name: fmt for fmt in FORMATS}


def get_format(name: str) -> DocumentFormat:
    try:
        return FORMATS_BY_NAME[name]
    except KeyError:
        raise UnknownFormat(f"unknown format {name!r}; known: {', '.join(FORMATS_BY_NAME)}") from None


def detect_format(doc: Any, record: Record) -> DocumentFormat | None:
    for fmt in FORMATS:
        if fmt.detect(doc, record):
            return fmt
    return None


def list_formats() -> list[dict[str, str]]:
    """Supported formats and containers, as `baton-lab formats` prints them."""
    rows = [
        {"name": fmt.name, "kind": "document", "version": fmt.version, "detection": fmt.detection, "description": fmt.description}
        for fmt in FORMATS
    ]
    rows += [
        {"name": name, "kind": "container", "version": "1", "detection": rule, "description": rule}
        for name, rule in CONTAINERS.items()
    ]
    rows += [
        {"name": name, "kind": "transcript", "version": spec["version"], "detection": spec["detection"],
         "description": spec["description"]}
        for name, spec in transcripts.SOURCES.items()
    ]
    rows.append({"name": git_history.NAME, "kind": "history", "version": git_history.VERSION,
                 "detection": git_history.DETECTION, "description": git_history.DESCRIPTION})
    from ..capture import SOURCES as CAPTURE_SOURCES, VERSION as CAPTURE_VERSION

    rows += [
        {"name": name, "kind": "capture", "version": CAPTURE_VERSION, "detection": f"baton-lab capture {rule}",
         "description": description}
        for name, (rule, description) in CAPTURE_SOURCES.items()
    ]
    return rows


__all__ = [
    "BatonDoc",
    "DocumentFormat",
    "EmptyRead",
    "FORMATS",
    "NotThisFormat",
    "ProposalDoc",
    "Record",
    "SourceInfo",
    "SourceReader",
    "detect_format",
    "get_format",
    "iter_sources",
    "list_formats",
]
