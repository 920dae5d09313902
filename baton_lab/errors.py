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
