"""Errors a user can cause and fix. The CLI turns each into one line plus its hint."""

from __future__ import annotations


class BatonLabError(Exception):
    """Base class: a message for the user and a hint saying what to do next."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class UnknownFormat(BatonLabError):
    hint = "`baton-lab formats` lists the importers and how each is detected; pass --format to choose one."


class NamespaceRequired(BatonLabError):
    hint = "pass --namespace NS (the document names no namespace and its file name gives none)."


class StoreLocked(BatonLabError):
    hint = "another baton-lab process is writing to this store; wait for it to finish, or use --db for another file."


class StoreTooNew(BatonLabError):
    hint = "upgrade baton-lab: this store was written by a newer version."


class InputNotFound(BatonLabError):
    hint = "check the path; `baton-lab import` accepts files, directories and NDJSON."


class StoreNotFound(BatonLabError):
    hint = ("only `baton-lab import` and `baton-lab capture` create a store; check --db (or $BATON_LAB_DB), "
            "or try `baton-lab report --demo`.")


class NotAStore(BatonLabError):
    """The file is not a baton_lab store: not DuckDB at all, or another program's DuckDB database (never modified)."""

    hint = "use --db to name a baton_lab store, or a file that does not exist yet for a new one."


class StoreDamaged(BatonLabError):
    hint = ("`baton-lab check --db PATH` says what is wrong; to recover, restore a backup or re-import your sources "
            "into a new store (--db new.duckdb).")


class StoreReadOnly(BatonLabError):
    hint = "open it for writing (`bl.open(path)`), or copy the store somewhere you can write."


class DiskFull(BatonLabError):
    hint = "free some space (or raise the file size limit) and run the command again."


class AccessDenied(BatonLabError):
    hint = "check the permissions of that path and of its folders."
