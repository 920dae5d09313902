"""baton_lab: loop effectiveness research over Session Baton histories.

    import baton_lab as bl
    lab = bl.open()                 # the store at $BATON_LAB_DB or ./baton_lab.duckdb
    lab.import_(["batons/"])        # files, directories, NDJSON
    lab.snapshots(); lab.events(namespace="home")
    lab.metrics()                   # the metric catalogue (bl.metrics)
    bl.report.build(lab)            # the report (bl.report); charts in bl.charts
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import BatonLabError, NamespaceRequired, StoreLocked, UnknownFormat

if TYPE_CHECKING:
    from .lab import Lab, open
    from .store.ingest import ImportSummary


def _installed_version() -> str:
    """The version is declared once, in pyproject.toml, and read from the installed metadata; importlib.metadata
    costs ~0.05-0.1 s at start-up (it imports the email package), so `__version__` is read when first asked for."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("baton-lab")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"

_SUBPACKAGES = ("charts", "metrics", "report", "simulate")
# Loaded when first used, so `import baton_lab` (and `baton-lab --help`) does not pay for polars, pandera or
# DuckDB; charts/report import altair and vl-convert.
_LAZY = {"Lab": ".lab", "open": ".lab", "ImportSummary": ".store.ingest"}


def __getattr__(name: str):  # noqa: ANN202 - a module or a class
    import importlib

    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name == "__version__":
        return _installed_version()
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
