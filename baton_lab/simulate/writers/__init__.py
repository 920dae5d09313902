"""One module per output format. Per-namespace writers see every session in order; dataset writers
(SQLite, local cache) see only each namespace's final state, as the real stores keep only that."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ..model import SessionSnapshot

# format name -> top-level directory under the output directory
FORMAT_DIRS = {
    "v1": "v1",
    "v2": "v2",
    "ndjson": "ndjson",
    "sqlite": "sqlite",
    "cache": "cache",
    "git": "git",
    "git-bundle": "git",
    "transcript": "transcripts",
}
FORMATS = tuple(FORMAT_DIRS)
NAMESPACE_FORMATS = ("v1", "v2", "ndjson", "git", "git-bundle", "transcript")
DATASET_FORMATS = ("sqlite", "cache")


class NamespaceWriter(Protocol):
    def add(self, snap: SessionSnapshot) -> None: ...

    def close(self) -> int:
        """Finish; return the number of files written."""
        ...


def namespace_writer(fmt: str, out_dir: Path, namespace: str, salt: str) -> NamespaceWriter:
    from . import files, git, transcript

    if fmt == "v1":
        return files.SnapshotDirWriter(out_dir / "v1", namespace, "v1")
    if fmt == "v2":
        return files.SnapshotDirWriter(out_dir / "v2", namespace, "v2")
    if fmt == "ndjson":
        return files.NdjsonWriter(out_dir / "ndjson", namespace)
    if fmt in ("git", "git-bundle"):
        return git.GitWriter(out_dir / "git", namespace, bundle=fmt == "git-bundle")
    if fmt == "transcript":
        return transcript.TranscriptWriter(out_dir / "transcripts", namespace, salt)
    raise ValueError(fmt)
