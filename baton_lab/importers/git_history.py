"""The git history of a state file (or a directory of them) as a sequence of snapshots.

Every commit that touched the file — renames followed (`git log --follow`) — is one source,
`git:<commit>:<path>`, whose record is that version of the file; the commit time is the observed time and
the commit (sha, author, subject) is the record's provenance. Git itself does the reading (`git log`,
`git cat-file --batch`), so packs, worktrees and partial clones work as git understands them. A commit
already imported is skipped by the pipeline (its source id is fixed by commit and path). A version that is
not JSON, not a known format, or whose object is missing is quarantined with the commit sha in its location.

Versions are listed in commit-graph order (`--topo-order`: every parent before its children), and each
carries its position (`graph_order` in provenance): real histories have runs of commits in the same second
and author dates that step backwards after rebases, so the store orders a history by the graph, not by time.
Whole-file formats (a Beads export) are recognised from the version's first bytes, whatever the file is named.
One version is in memory at a time.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Iterator

from .._jsonutil import decode_text
from ..errors import BatonLabError, InputNotFound
from ..redact import redact_text
from .base import Record, SourceInfo, SourceReader
from .containers import JSON_SUFFIXES, MARKDOWN_SUFFIXES, NDJSON_SUFFIXES, _looks_like_ndjson, _parse
from .files import HEAD_BYTES
from .registry import detect_format, sniff_whole_file
from .sources import SourceKind

NAME = "git-history"
VERSION = "2"
KIND = SourceKind(NAME, "history", VERSION,
                  "baton-lab import --git REPO --path FILE|DIR: every commit touching the path (renames followed)",
                  "Git history of a versioned state file or directory: one snapshot per commit in commit-graph "
                  "(parent) order, observed at the commit time, commit sha as provenance; incremental.")

_LOG_FORMAT = "%x1e%H%x1f%cI%x1f%aI%x1f%an%x1f%s"


class GitError(BatonLabError):
    hint = "check that REPO is a git work tree or bare repository and that `git` is on PATH."


@dataclass(frozen=True, slots=True)
class Version:
    commit: str
    committed_at: str
    authored_at: str
    author: str
    subject: str
    path: str  # the file's path in that commit (after renames)


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), "-c", "core.quotePath=false", *args],
                              capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (the git history importer runs `git`)") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed in {repo}: {message[-1] if message else f'exit {done.returncode}'}")
    return done.stdout.decode("utf-8", "replace")


def _relative(repo: Path, path: str) -> str:
    """PATH as git names it: relative to the work tree, `/` separators, no trailing slash."""
    candidate = Path(path)
    if candidate.is_absolute():
        top = Path(_git(repo, "rev-parse", "--show-toplevel").strip() or repo).resolve()
        try:
            candidate = candidate.resolve().relative_to(top)
        except ValueError:
            raise InputNotFound(f"{path} is not inside the repository {top}") from None
    return PurePosixPath(*candidate.parts).as_posix().strip("/") if candidate.parts else ""


def versions(repo: Path, path: str) -> tuple[list[Version], bool]:
    """Commits that changed `path`, parents before children, and whether `path` is a directory."""
    try:
        is_dir = _git(repo, "cat-file", "-t", f"HEAD:{path}").strip() == "tree" if path else True
    except GitError:
        is_dir = False  # gone at HEAD (or no HEAD): read its history as a file
    args = ["log", "-M", "--topo-order", "--name-status", f"--format={_LOG_FORMAT}"]
    if not is_dir:
        args.append("--follow")
    out = _git(repo, *args, "--", path or ".")
    found: list[Version] = []
    for chunk in out.split("\x1e")[1:]:
        header, _, body = chunk.partition("\n")
        commit, committed, authored, author, subject = (header.split("\x1f") + [""] * 5)[:5]
        for line in body.splitlines():
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0]:
                continue
            status, target = parts[0][0], parts[-1]
            if status == "D":
                continue  # a deletion is not a state of the baton
            if is_dir and path and not (target == path or target.startswith(path + "/")):
                continue  # renamed out of the directory
            found.append(Version(commit, committed, authored, author, subject, target))
    found.reverse()
    return found, is_dir


class _Blobs:
    """One `git cat-file --batch` process for all versions."""

    def __init__(self, repo: Path) -> None:
        self.proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read(self, commit: str, path: str) -> bytes | None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{commit}:{path}\n".encode())
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().decode("utf-8", "replace").split()
        if len(header) != 3 or header[1] != "blob":
            return None  # "<name> missing", or not a blob (a submodule, a tree)
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)  # the newline after the object
        return data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def _records(info: SourceInfo, version: Version, data: bytes | None, provenance: dict[str, object]) -> list[Record]:
    observed = datetime.fromisoformat(version.committed_at) if version.committed_at else None
    common = {"observed_at": observed, "observed_kind": "commit" if observed else None, "provenance": provenance}
    if data is None:
        return [Record(info, None, "", error=f"git object missing for {version.path} at commit {version.commit}", **common)]
    whole = sniff_whole_file(data[:HEAD_BYTES], version.path)
    text = decode_text(data)
    if whole is not None:
        # The format reads the version itself (a Beads export: one tracker state per version, 0 bytes = empty).
        return [Record(info, None, text, format=whole.name, **common)]
    if not text.strip():
        return [Record(info, None, text, error=f"empty file at commit {version.commit}", **common)]
    doc, error = _parse(text)
    if error is None:
        return [Record(info, None, text, doc=doc, **common)]
    if error.startswith("invalid JSON: extra data") and _looks_like_ndjson(text):
        # One baton per line (a history.ndjson under version control): each line is a record.
        lines = [(n, line, *_parse(line)) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        probe = Record(info, None, "")
        if any(err is None and detect_format(parsed, probe) for _, _, parsed, err in lines):
            return [Record(info, f"line {n}", line, doc=parsed, error=err, **common) for n, line, parsed, err in lines]
        # Some other JSONL (a log): one finding per version, not one per line.
        reason = f"not a baton format: {len(lines)} JSON lines, none a baton ({PurePosixPath(version.path).name} at commit {version.commit})"
        return [Record(info, None, text, error=reason, **common)]
    if text.lstrip()[:1] not in ("{", "["):
        reason = f"not a baton format: not JSON ({PurePosixPath(version.path).name} at commit {version.commit})"
        return [Record(info, None, text, error=reason, **common)]
    return [Record(info, None, text, error=f"{error} (commit {version.commit})", **common)]


def iter_git_sources(repo: str | os.PathLike[str], path: str | os.PathLike[str],
                     skipped: list[str] | None = None) -> Iterator[SourceReader]:
    """One source per commit that changed `path` (a file, following renames, or every file below a directory)."""
    root = Path(repo)
    if not root.exists():
        raise InputNotFound(f"no such repository: {root}")
    _git(root, "rev-parse", "--git-dir")
    rel = _relative(root, str(path))
    found, is_dir = versions(root, rel)
    if not found:
        raise InputNotFound(f"{rel or '.'} has no history in {root}",
                            hint="check --path: it is relative to the repository root (`git log -- PATH` shows its commits)")
    repo_name = str(root.resolve())
    blobs = _Blobs(root)
    try:
        for graph_order, version in enumerate(found):
            if is_dir and not version.path.lower().endswith(JSON_SUFFIXES + NDJSON_SUFFIXES + MARKDOWN_SUFFIXES):
                if skipped is not None:
                    skipped.append(f"git:{version.commit}:{version.path}")
                continue
            data = blobs.read(version.commit, version.path)
            digest = hashlib.sha256(data if data is not None else f"missing {version.commit}:{version.path}".encode())
            info = SourceInfo(uri=f"git:{version.commit}:{version.path}", sha256=digest.hexdigest(),
                              size_bytes=len(data) if data is not None else None, container=NAME,
                              container_version=VERSION, identity=f"git:{version.commit}:{version.path}")
            provenance = {"git_repo": repo_name, "commit": version.commit, "path": version.path,
                          "committed_at": version.committed_at, "authored_at": version.authored_at,
                          "author": version.author, "subject": redact_text(version.subject)[0],
                          "graph_order": graph_order}
            records = _records(info, version, data, provenance)
            yield SourceReader(info, lambda records=records: iter(records))
    finally:
        blobs.close()
