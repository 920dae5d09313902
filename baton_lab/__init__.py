"""baton_lab: loop effectiveness research over Session Baton histories.

    import baton_lab as bl
    lab = bl.open()                 # the store at $BATON_LAB_DB or ./baton_lab.duckdb
    lab.import_(["batons/"])        # files, directories, NDJSON
    lab.snapshots(); lab.events(namespace="home")
    lab.metrics()                   # the metric catalogue (bl.metrics)
    bl.report.build(lab)            # the report (bl.report); charts in bl.charts
"""

from __future__ import annotations

from .errors import BatonLabError, NamespaceRequired, StoreLocked, UnknownFormat
from .lab import Lab, open
from .store.ingest import ImportSummary

try:  # the version is declared once, in pyproject.toml
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("baton-lab")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_SUBPACKAGES = ("charts", "metrics", "report", "simulate")


def __getattr__(name: str):  # noqa: ANN202 - a module
    # charts/report import altair and vl-convert: load them when first used, not on `import baton_lab`
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
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
