"""Capture: snapshot the current baton into the store, so history accrues from now on.

    from baton_lab.capture import capture
    with lab.connect() as con:
        result = capture(con, "http://127.0.0.1:9101", namespace="home", token_env="BATON_API_TOKEN")

Sources: a running session-baton server or memhall (`http://HOST:PORT`), the server's SQLite file
(all namespaces, or one), the local cache directory (`~/.claude/loop/batons/`) or one cache file. Each
capture is ONE call into the import pipeline (`import_sources`): the read is a source like any file, its
observed time is the capture time (kind `capture`; the server's `updated_at` is kept in provenance), and
the same content seen again is a duplicate, so a snapshot is added only when the content changed.
Every run — failures included — is logged in `captures`, with memhall's revision and the gap to the
previous capture (`unseen_revisions`: writes no capture saw). Hook input (Claude Code's SessionEnd/Stop
JSON on stdin) attaches the agent's session id to the snapshot's provenance and the log row.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterator

import duckdb
import polars as pl

from .._jsonutil import decode_text
from ..errors import BatonLabError
from ..importers._shape import int_or_none
from ..importers.base import Record, SourceInfo, SourceReader
from ..importers.local_cache import namespace_from_filename
from ..importers.sources import CAPTURE_VERSION
from ..store.ingest import ImportSummary, import_sources
from ..store.redaction import store_redactor
from ..store.validate import validate
from . import cache, http, sqlite
from .hook import HookInput, parse_hook
from .source import CaptureFailed, Fetched

VERSION = CAPTURE_VERSION
HOOK_TIMEOUT = 2.0


@dataclass
class NamespaceCapture:
    namespace: str | None
    revision: int | None = None
    previous_revision: int | None = None
    unseen_revisions: int | None = None
    new_snapshot: bool = False
    empty: bool = False
    tenant_id: str | None = None


@dataclass
class CaptureResult:
    """What one capture run saw. `ok` is False when the source could not be read (the store is unchanged
    apart from the log row)."""

    capture_id: str
    kind: str
    target: str
    captured_at: datetime
    ok: bool
    error: str | None = None
    namespaces: list[NamespaceCapture] = field(default_factory=list)
    summary: ImportSummary | None = None
    session_id: str | None = None

    @property
    def unseen_revisions(self) -> int:
        return sum(ns.unseen_revisions or 0 for ns in self.namespaces)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["captured_at"] = self.captured_at.isoformat()
        out["unseen_revisions"] = self.unseen_revisions
        return out

    def lines(self) -> list[str]:
        if not self.ok:
            return [f"capture from {self.target} failed: {self.error}"]
        out = []
        for ns in self.namespaces:
            state = "no baton yet" if ns.empty else ("new snapshot" if ns.new_snapshot else "unchanged")
            rev = f", revision {ns.revision}" if ns.revision is not None else ""
            gap = (f"; {ns.unseen_revisions} unseen revision(s) since {ns.previous_revision}"
                   if ns.unseen_revisions else "")
            out.append(f"captured {ns.namespace} from {self.target}: {state}{rev}{gap}")
        if self.summary is not None and self.summary.quarantined:
            out.append(f"  {self.summary.quarantined} read(s) quarantined (`baton-lab validate` lists them)")
        return out or [f"captured nothing from {self.target}: no batons"]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def classify(source: str | Path) -> tuple[str, str]:
    """(kind, target): an http(s) URL, an SQLite file (by its magic bytes), else the cache (dir or file)."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        return "http", text.rstrip("/")
    path = Path(text).expanduser()
    if path.is_file() and sqlite.is_sqlite(path):
        return "sqlite", str(path)
    if path.is_file() and path.suffix.lower() != ".json":
        raise CaptureFailed(f"{path} is neither a Session Baton SQLite file nor a local cache file (NAMESPACE.json)",
                            hint="--from takes http://HOST:PORT, the server's SQLite file, or the local cache "
                                 "directory (or one of its .json files); `baton-lab import` reads other files")
    return "cache", str(path)


def capture(con: duckdb.DuckDBPyConnection, source: str | Path, *, namespace: str | None = None,
            tenant: str | None = None, token_env: str | None = None, hook_input: str | None = None,
            timeout: float | None = None, now: datetime | None = None) -> CaptureResult:
    """Capture from `source` (see `classify`). Raises `CaptureFailed` only for mistakes in the call itself
    (no namespace for a server); an unreachable source gives `ok=False` and a logged failure."""
    kind, target = classify(source)
    hook = parse_hook(hook_input) if hook_input is not None else None
    if tenant is not None and kind != "sqlite":
        raise CaptureFailed(f"--tenant selects a memhall tenant in a SQLite file; {source} is a {kind} source",
                            hint="drop --tenant, or pass the server's SQLite file to --from")
    if kind == "http" and not namespace:
        raise CaptureFailed("a server capture needs --namespace (the read API takes one namespace)",
                            hint="pass --namespace NS; `baton-lab capture --from SQLITE_FILE` captures every namespace")
    if timeout is not None and not timeout > 0:  # also NaN; a socket raises ValueError on a negative timeout
        raise CaptureFailed(f"--timeout must be a number of seconds above 0, not {timeout}",
                            hint="leave it out for the default (5 s; 2 s with --hook)")
    if timeout is None and hook is not None:
        timeout = HOOK_TIMEOUT
    result = CaptureResult(uuid.uuid4().hex[:12], kind, target, now or datetime.now(UTC), ok=True,
                           session_id=hook.session_id if hook else None)
    try:
        if kind == "http":
            fetched = [http.fetch(target, namespace or "", token=http.token_from_env(token_env), timeout=timeout)]
        elif kind == "sqlite":
            fetched = sqlite.fetch(target, namespace, tenant, timeout=timeout)
        else:
            fetched = cache.fetch(target, namespace)
    except CaptureFailed as exc:
        result.ok, result.error = False, str(exc)
        _log(con, result, hook, None, namespace)
        return result

    states = [_state(item, kind, namespace) for item in fetched]

    def readers(skipped: list[str]) -> Iterator[SourceReader]:
        for item in fetched:
            yield _reader(item, kind, target, result.captured_at, hook)

    def before_commit(con: duckdb.DuckDBPyConnection, summary: ImportSummary) -> None:
        redactor = store_redactor(con)  # the snapshots' namespaces were redacted with the store's key
        for state in states:
            if state.namespace is not None:
                state.namespace = redactor.text(state.namespace)[0]
                state.new_snapshot = summary.namespaces.get(state.namespace, {}).get("new", 0) > 0
            _revision_gap(con, state)
        result.namespaces = states
        _log(con, result, hook, summary.import_id)

    result.summary = import_sources(con, readers, namespace=namespace if kind in ("http", "cache") else None,
                                    before_commit=before_commit)
    return result


def capture_http(con: duckdb.DuckDBPyConnection, url: str, namespace: str, *, token_env: str | None = None,
                 timeout: float | None = None, hook_input: str | None = None) -> CaptureResult:
    if not url.startswith(("http://", "https://")):
        raise BatonLabError(f"not an http(s) URL: {url}")
    return capture(con, url, namespace=namespace, token_env=token_env, timeout=timeout, hook_input=hook_input)


def capture_sqlite(con: duckdb.DuckDBPyConnection, path: str | Path, *, namespace: str | None = None,
                   tenant: str | None = None, hook_input: str | None = None) -> CaptureResult:
    return capture(con, path, namespace=namespace, tenant=tenant, hook_input=hook_input)


def capture_cache(con: duckdb.DuckDBPyConnection, directory: str | Path = cache.DEFAULT_DIR, *,
                  namespace: str | None = None, hook_input: str | None = None) -> CaptureResult:
    return capture(con, directory, namespace=namespace, hook_input=hook_input)


def capture_hook(con: duckdb.DuckDBPyConnection, stdin_text: str, source: str | Path, **options: Any) -> CaptureResult:
    """A session-end hook: the hook's JSON (session_id, transcript_path, cwd, hook_event_name) from stdin is
    attached to the capture; a short timeout keeps the agent's session from waiting on a dead server."""
    return capture(con, source, hook_input=stdin_text, **options)


# -- internals -----------------------------------------------------------------------------------

def _state(item: Fetched, kind: str, namespace: str | None) -> NamespaceCapture:
    """Namespace, revision and emptiness of what was read, as the importer will see them."""
    try:
        doc = json.loads(item.data)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, a 4,300+-digit integer, too deep
        doc = None
    if kind == "cache":
        meta = doc.get("_meta") if isinstance(doc, dict) and isinstance(doc.get("_meta"), dict) else {}
        name = namespace or meta.get("namespace") or namespace_from_filename(item.uri)
        return NamespaceCapture(name)
    envelope = doc if isinstance(doc, dict) else {}
    return NamespaceCapture(namespace or item.namespace or envelope.get("namespace"),
                            revision=int_or_none(envelope.get("revision")),
                            empty=isinstance(doc, dict) and doc.get("baton") is None, tenant_id=item.tenant_id)


def _revision_gap(con: duckdb.DuckDBPyConnection, state: NamespaceCapture) -> None:
    if state.namespace is None or state.revision is None:
        return
    rows = con.execute("SELECT revision FROM captures WHERE namespace = ? AND ok AND revision IS NOT NULL "
                       "ORDER BY captured_at DESC LIMIT 1", [state.namespace]).fetchall()
    if not rows:
        return
    state.previous_revision = rows[0][0]
    gap = state.revision - state.previous_revision - 1
    state.unseen_revisions = gap if gap > 0 else 0


def _reader(item: Fetched, kind: str, target: str, captured_at: datetime, hook: HookInput | None) -> SourceReader:
    info = SourceInfo(uri=item.uri, sha256=hashlib.sha256(item.data).hexdigest(), size_bytes=len(item.data),
                      container=f"capture-{kind}", container_version=VERSION)
    provenance: dict[str, Any] = {"capture": kind, "target": target, **item.provenance}
    if item.tenant_id is not None:
        provenance["tenant_id"] = item.tenant_id
    if hook is not None:
        provenance.update(hook.provenance())

    def records() -> Iterator[Record]:
        text = decode_text(item.data)
        try:
            doc, error = json.loads(text), None
        except json.JSONDecodeError as exc:
            doc, error = None, f"capture read is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        except (ValueError, RecursionError) as exc:  # a 4,300+-digit integer, or nesting too deep
            doc, error = None, f"capture read is not JSON: {str(exc).split(';')[0] or 'nested too deeply'}"
        yield Record(info, None, text, doc=doc, error=error, observed_at=captured_at, observed_kind="capture",
                     provenance=provenance)

    return SourceReader(info, records)


def _log(con: duckdb.DuckDBPyConnection, result: CaptureResult, hook: HookInput | None, import_id: str | None,
         namespace: str | None = None) -> None:
    base = {"capture_id": result.capture_id, "captured_at": result.captured_at, "kind": result.kind,
            "target": result.target, "ok": result.ok, "error": result.error, "import_id": import_id,
            "session_id": hook.session_id if hook else None, "hook_event": hook.event if hook else None,
            "transcript_path": hook.transcript_path if hook else None}
    rows = [{**base, "namespace": ns.namespace, "tenant_id": ns.tenant_id, "revision": ns.revision,
             "previous_revision": ns.previous_revision, "unseen_revisions": ns.unseen_revisions,
             "new_snapshot": ns.new_snapshot, "empty": ns.empty}
            for ns in result.namespaces] or [{**base, "namespace": namespace}]
    redactor = store_redactor(con)  # a target URL with credentials, an error quoting them, hook paths
    rows = [redactor.value(row)[0] for row in rows]
    frame, _ = validate("captures", pl.DataFrame(rows, infer_schema_length=None), without=())
    con.register("_captures", frame.to_arrow())
    try:
        con.execute("INSERT INTO captures BY NAME SELECT * FROM _captures")
    finally:
        con.unregister("_captures")
