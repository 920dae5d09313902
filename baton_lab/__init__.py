"""baton_lab: loop effectiveness research over Session Baton histories.

    import baton_lab as bl
    lab = bl.open()                 # the store at $BATON_LAB_DB or ./baton_lab.duckdb
    lab.import_(["batons/"])        # files, directories, NDJSON
    lab.snapshots(); lab.events(namespace="home")
"""

from __future__ import annotations

from .errors import BatonLabError, NamespaceRequired, StoreLocked, UnknownFormat
from .lab import Lab, open
from .store.ingest import ImportSummary

__version__ = "0.1.0"

__all__ = [
    "BatonLabError",
    "ImportSummary",
    "Lab",
    "NamespaceRequired",
    "StoreLocked",
    "UnknownFormat",
    "__version__",
    "open",
]
