"""DuckDB and operating-system failures in words a user can act on.

A failure deep in a write often reaches us wrapped: DuckDB's "Current transaction is aborted" or a failed
ROLLBACK hides the disk-full error that caused it. `explain` walks the whole exception chain and names the
root cause, so every fault ends as one `error:` line with a hint instead of a traceback.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ..errors import AccessDenied, BatonLabError, DiskFull, NotAStore, StoreDamaged, StoreLocked
from .rules import table_names

_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_FULL_TEXT = ("no space left on device", "file too large", "disk quota exceeded")
_DAMAGED_TEXT = ("corrupt database file", "checksum", "could not read enough bytes", "serialization error",
                 "failed to deserialize", "invalid block", "internal error", "truncated", "is not a valid")
_NOT_DUCKDB_TEXT = ("not a valid duckdb database file",)
_FOREIGN_FORMAT_TEXT = ("install it first", "is an existing extension")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def explain(exc: BaseException, db: Path | None = None, *, target: str = "store") -> BatonLabError | None:
    """The user-facing error for a DuckDB or OS failure, or None when it is not a fault we can explain
    (a bug, or a user's own SQL error, stays as it is). `target` says what was being written: "store" (a
    transactional write, so nothing changed) or the path of an output folder."""
    chain = list(_chain(exc))
    if any(isinstance(e, BatonLabError) for e in chain):
        return next(e for e in chain if isinstance(e, BatonLabError))  # type: ignore[return-value]
    texts = [str(e).lower() for e in chain]
    where = f"the store {db}" if db is not None and target == "store" else str(target)

    if any(isinstance(e, OSError) and e.errno in _FULL_ERRNOS for e in chain) or any(
            t in text for text in texts for t in _FULL_TEXT):
        if target == "store":
            return DiskFull(f"disk full (or file size limit reached) while writing {where}: nothing changed, "
                            "the write was rolled back")
        return DiskFull(f"disk full (or file size limit reached) while writing {where}: its files may be incomplete",
                        hint="free some space and write it again")
    for e in chain:
        if isinstance(e, PermissionError) or (isinstance(e, OSError) and e.errno in (errno.EACCES, errno.EPERM)):
            return AccessDenied(f"permission denied: {e.filename or where}")
        if isinstance(e, NotADirectoryError) or (isinstance(e, OSError) and e.errno == errno.ENOTDIR):
            return BatonLabError(f"{e.filename or where}: a part of this path is a file, not a folder",
                                 hint="name a path whose folders are folders (they are created if needed)")
        if isinstance(e, FileExistsError) or (isinstance(e, OSError) and e.errno == errno.EEXIST):
            return BatonLabError(f"{e.filename or where} already exists and is not a folder",
                                 hint="name a folder (created if needed), or remove that file")
    if any("permission denied" in text for text in texts):
        return AccessDenied(f"permission denied while opening {where}: {_first_line(chain[0])}")
    if not any(isinstance(e, duckdb.Error) for e in chain):
        return None
    for e in chain:
        if "Conflicting lock is held in" in str(e) or "could not set lock" in str(e).lower():
            holder = str(e).split("Conflicting lock is held in", 1)[-1].strip().splitlines()[0] \
                if "Conflicting lock is held in" in str(e) else ""
            return StoreLocked(f"{where} is in use by another process" + (f" (held by {holder})" if holder else ""))
    if any(t in text for text in texts for t in _NOT_DUCKDB_TEXT):
        return NotAStore(f"{db or where} is not a DuckDB file, so not a baton_lab store")
    if any(t in text for text in texts for t in _FOREIGN_FORMAT_TEXT):
        return NotAStore(f"{db or where} is another database format (DuckDB would need an extension to read it), "
                         "not a baton_lab store; nothing is fetched or installed")
    for e in chain:
        if isinstance(e, duckdb.CatalogException):
            missing = _missing_store_table(str(e))
            if missing:
                return StoreDamaged(f"{where} is damaged: its table `{missing}` is missing")
    if any(t in text for text in texts for t in _DAMAGED_TEXT) or any(
            isinstance(e, (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException))
            for e in chain):
        return StoreDamaged(f"{where} is damaged or unreadable: {_first_line(chain[-1])}")
    return None


def _missing_store_table(message: str) -> str | None:
    """The store table a CatalogException says is missing (a user's own typo in `lab.sql` is not damage)."""
    found = re.search(r'Table with name "?([\w.]+?)"? does not exist', message)
    name = found.group(1) if found else None
    return name if name in (*table_names(), "baton_lab_meta") else None
