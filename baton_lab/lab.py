"""The notebook API: `lab = bl.open()`, then one method per table returning polars DataFrames."""

from __future__ import annotations

import html
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import duckdb
import polars as pl

from .errors import StoreReadOnly
from .store import connection, faults, info
from .store.ingest import ImportSummary, import_paths, import_sources

if TYPE_CHECKING:
    from .capture import CaptureResult
    from .compare import Comparison
    from .metrics import MetricResult
    from .metrics.org import OrgResult
    from .report import Report
    from .repos import RepositoryImport
from .store import rules


class Lab:
    """A baton_lab store. Each call opens the DuckDB file briefly, so a notebook and the CLI can share it."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> None:
        """`read_only` never writes to the file (a read-only store or folder can be read) and needs an existing
        store; otherwise a missing store is created now, and removed again if its first write fails."""
        self.path: Path = connection.resolve_path(path)
        self.read_only = read_only
        self.temporary = False  # a throwaway store (the demo's): reports do not point at it
        self.created = not read_only and not self.path.exists()
        with self.connect(read_only=read_only):
            pass  # create, migrate or check now, so errors surface at open()
        self._fresh = self.created  # no write has succeeded yet in the store this Lab created

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one call. DuckDB and OS failures become `BatonLabError`s that say what happened
        (disk full, damaged store, permission denied); a failed first write removes the store it created."""
        if self.read_only and not read_only:
            raise StoreReadOnly(f"the store {self.path} was opened read-only")
        if read_only and getattr(self, "_fresh", False) and not self.path.exists():
            connection.connect(self.path).close()  # the new store a failed first write removed: empty again
        con = connection.connect(self.path, read_only=read_only)
        try:
            yield con
        except (duckdb.Error, OSError) as exc:
            con.close()
            self._forget_if_fresh(read_only)
            explained = faults.explain(exc, self.path)
            if explained is None:
                raise
            raise explained from exc
        except BaseException:
            con.close()
            self._forget_if_fresh(read_only)
            raise
        else:
            if not read_only:
                self._fresh = False
        finally:
            con.close()

    def _forget_if_fresh(self, read_only: bool) -> None:
        if not read_only and getattr(self, "_fresh", False):
            for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
                leftover.unlink(missing_ok=True)

    # -- writing ---------------------------------------------------------------------------------
    def import_(self, paths: str | os.PathLike[str] | list[str | os.PathLike[str]], *, format: str | None = None,
                namespace: str | None = None, on_source: Callable[[str], None] | None = None,
                mapping: str | os.PathLike[str] | None = None) -> ImportSummary:
        """Import files, directories or NDJSON (see `baton-lab formats`); transactional and idempotent. `mapping`
        is a TOML heading-to-tier mapping for prose handoffs (default: the shipped one)."""
        from .prose.tiers import load_mapping, using_mapping

        path_list = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        with using_mapping(load_mapping(mapping) if mapping else None), self.connect() as con:
            return import_paths(con, path_list, format=format, namespace=namespace, on_source=on_source)

    def import_git(self, repo: str | os.PathLike[str], path: str | os.PathLike[str], *, format: str | None = None,
                   namespace: str | None = None, on_source: Callable[[str], None] | None = None,
                   mapping: str | os.PathLike[str] | None = None) -> ImportSummary:
        """Replay the git history of a baton file (renames followed) or of every file below a directory:
        one snapshot per commit, observed at the commit time. Commits already imported are skipped. `mapping`
        as for `import_`."""
        from .importers.git_history import iter_git_sources
        from .prose.tiers import load_mapping, using_mapping

        with using_mapping(load_mapping(mapping) if mapping else None), self.connect() as con:
            return import_sources(con, lambda skipped: iter_git_sources(repo, path, skipped), format=format,
                                  namespace=namespace, on_source=on_source)

    @staticmethod
    def explain_identity(a: str, b: str) -> dict[str, Any]:
        """Why two prose item texts are (not) one item across versions: normalised texts, score, threshold, verdict
        (`baton_lab.prose.identity.explain`). Stored rows keep how they were matched in `extra.match`."""
        from .prose.identity import explain

        return explain(a, b)

    def import_repo(self, path: str | os.PathLike[str], *, mapping: str | os.PathLike[str] | None = None,
                    ref: str | None = None, name: str | None = None) -> "RepositoryImport":
        """Read a git repository (the org view, concepts.md §2c): every commit as a `changes` row with its loop,
        plus `conflicts`, `rework` and `line_fates`. Re-importing replaces the repository's rows."""
        from .repos import import_repository

        with self.connect() as con:
            return import_repository(con, path, name=name, ref=ref, mapping=mapping)

    def import_transcripts(self, paths: str | os.PathLike[str] | list[str | os.PathLike[str]], *,
                           kind: str | None = None, namespace: str | None = None,
                           on_source: Callable[[str], None] | None = None) -> ImportSummary:
        """Reconstruct batons from Claude Code transcripts / Codex rollouts (files or directories of .jsonl).
        `kind` forces `claude-code-transcript` or `codex-rollout`; by default each file is sniffed.
        `import_` detects transcripts too; this method only reads .jsonl files that are transcripts."""
        from .importers import transcripts

        path_list = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        with self.connect() as con:
            return import_sources(con, lambda skipped: transcripts.iter_transcript_sources(path_list, skipped, kind=kind),
                                  namespace=namespace, on_source=on_source)

    def capture(self, source: str | os.PathLike[str], *, namespace: str | None = None, tenant: str | None = None,
                token_env: str | None = None, hook_input: str | None = None, timeout: float | None = None
                ) -> "CaptureResult":
        """Snapshot the current baton(s) from a running server (`http://HOST:PORT`), its SQLite file or the
        local cache directory; a snapshot is added only when the content changed. See `baton_lab.capture`."""
        from .capture import capture

        with self.connect() as con:
            return capture(con, source, namespace=namespace, tenant=tenant, token_env=token_env,
                           hook_input=hook_input, timeout=timeout)

    # -- reading ---------------------------------------------------------------------------------
    def table(self, name: str, *, namespace: str | None = None) -> pl.DataFrame:
        """Any store table as a polars DataFrame, optionally for one namespace."""
        if name not in rules.table_names():
            raise KeyError(f"unknown table {name!r}; tables: {', '.join(rules.table_names())}")
        columns = {column[0] for column in rules.columns(name)}
        where, params = ("", [])
        if namespace is not None and "namespace" in columns:
            where, params = " WHERE namespace = ?", [namespace]
        order = " ORDER BY namespace, seq" if "seq" in columns else ""
        with self.connect(read_only=True) as con:
            return con.sql(f"SELECT * FROM {name}{where}{order}", params=params).pl()

    def sql(self, query: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run read-only SQL against the store (the table names are public API)."""
        with self.connect(read_only=True) as con:
            return con.sql(query, params=params or None).pl()

    def sources(self) -> pl.DataFrame:
        return self.table("sources")

    def snapshots(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("snapshots", namespace=namespace)

    def open_loops(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("open_loops", namespace=namespace)

    def follow_ups(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("follow_ups", namespace=namespace)

    def patterns(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("patterns", namespace=namespace)

    def pattern_occurrences(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("pattern_occurrences", namespace=namespace)

    def decisions(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("decisions", namespace=namespace)

    def events(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("events", namespace=namespace)

    def quarantine(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("quarantine", namespace=namespace)

    def infra_state(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("infra_state", namespace=namespace)

    def discovery_cache(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("discovery_cache", namespace=namespace)

    def session_bridge(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("session_bridge", namespace=namespace)

    def patch_proposals(self, namespace: str | None = None) -> pl.DataFrame:
        return self.table("patch_proposals", namespace=namespace)

    # -- summaries -------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Rows per table and, per namespace, snapshot counts, time ranges and the ordering rule."""
        with self.connect(read_only=True) as con:
            return {
                "db": str(self.path),
                "schema_version": connection.SCHEMA_VERSION,
                "tables": info.table_counts(con),
                "namespaces": info.namespaces(con).to_dicts(),
            }

    def quarantine_report(self) -> pl.DataFrame:
        """What could not be stored, with where and why (as `baton-lab validate` lists it)."""
        with self.connect(read_only=True) as con:
            return info.quarantine(con)

    def __repr__(self) -> str:
        return f"Lab({str(self.path)!r})"

    def _repr_html_(self) -> str:
        summary = self.info()
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{count:,}</td></tr>"
            for name, count in summary["tables"].items() if count
        ) or "<tr><td colspan=2><em>empty store: try lab.import_(…)</em></td></tr>"
        ns_rows = "".join(
            f"<tr><td>{html.escape(str(ns['namespace']))}</td><td style='text-align:right'>{ns['snapshots']:,}</td>"
            f"<td>{html.escape(str(ns['first_observed'] or ns['first_written'] or ''))[:19]}</td>"
            f"<td>{html.escape(str(ns['last_observed'] or ns['last_written'] or ''))[:19]}</td></tr>"
            for ns in summary["namespaces"]
        )
        return (
            f"<div><strong>baton_lab store</strong> <code>{html.escape(str(self.path))}</code>"
            f"<table><thead><tr><th>table</th><th>rows</th></tr></thead><tbody>{rows}</tbody></table>"
            + (f"<table><thead><tr><th>namespace</th><th>snapshots</th><th>from</th><th>to</th></tr></thead>"
               f"<tbody>{ns_rows}</tbody></table>" if ns_rows else "")
            + "</div>"
        )

    # -- metrics (metrics.md §4; baton_lab.metrics) -----------------------------------------------
    def metrics(self, namespace: str | list[str] | None = None, metric: str | list[str] | None = None,
                window: int = 10) -> "MetricResult":
        """The metric catalogue: rows (long, MetricRows), curves, per-item tables and headline counts.
        `metric` takes ids or codes ("caught_regressions", "L4"); default all. `baton-lab metrics --list`."""
        from .metrics import compute

        with self.connect(read_only=True) as con:
            return compute(con, namespace, metric, window)

    def metric(self, id: str, **kw: Any) -> pl.DataFrame:  # noqa: A002 - the metric id
        """Rows of one metric (snake_case id or code like "L4"); keyword arguments as for `metrics()`."""
        return self.metrics(metric=id, **kw).rows

    def org(self, repo: str | None = None) -> "OrgResult":
        """Loops across the imported repositories (or one): per-loop changes, undone share, line survival and
        rework rate with intervals, the loop-by-loop conflict matrix, the files where loops fight, the timeline.
        Draw it with `charts.org(lab.org(), repo)`."""
        from .metrics.org import org_metrics

        with self.connect(read_only=True) as con:
            return org_metrics(con, repo)

    def report(self, namespace: str | None = None, window: int = 10, compare: str | None = None) -> "Report":
        """The report (`baton-lab report`): the three answers, a section per tier with figures, data quality
        and provenance; shows a summary in Jupyter, `.figures` for the charts, `.write(out)` for the files.
        `compare` ("ns1 vs ns2", or a split such as "2026-06-15") adds the Comparisons section."""
        from .report import build

        return build(self, namespace=namespace, window=window, compare=compare)

    def compare(self, *, a: str | list[str] | None = None, b: str | list[str] | None = None,
                split: str | None = None, before: str | None = None, after: str | None = None,
                namespaces: str | list[str] | None = None, metrics: list[str] | None = None, its: bool = True,
                its_window: int = 5) -> "Comparison":
        """Did the change help? Arm B against arm A over the catalogue (`baton_lab.compare`): loop vs loop
        (`a="ns1,ns2", b="ns3"`) or before/after within the same loops (`split="2026-06-15"`,
        `split="format:baton-v2"`, or `before=`/`after=` dates). Effects with intervals, Benjamini–Hochberg
        across the catalogue, verdicts per research question, and an interrupted time series for splits."""
        from .compare import compare

        with self.connect(read_only=True) as con:
            return compare(con, a=a, b=b, split=split, before=before, after=after, namespaces=namespaces,
                           metrics=metrics, its=its, its_window=its_window)

    def counts(self, namespace: str | list[str] | None = None) -> dict[str, dict[str, int]]:
        """Headline counts per namespace (metrics.md preamble)."""
        from .metrics import counts

        with self.connect(read_only=True) as con:
            return counts(con, namespace)


def open(path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> Lab:  # noqa: A001 - `bl.open()` reads naturally
    """Open (or create) a store: `path`, else $BATON_LAB_DB, else ./baton_lab.duckdb. `read_only=True` opens an
    existing store without ever writing to it."""
    return Lab(path, read_only=read_only)
