"""The import pipeline: records from any source joined to their format, observations stored as validated rows,
history ordered, events derived; all in one transaction.

Read = stored + duplicates + proposals + empty reads + quarantined documents. A bad record — or a document
that names no namespace when none was given — is quarantined with the reason and never aborts the others;
a failure of the import itself leaves the store unchanged.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from pathlib import Path
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable, Iterable, Iterator

import duckdb
import polars as pl

from .._jsonutil import canonical, canonical_and_dumps, dumps, fragment, sha256_text, short_id
from ..errors import NamespaceRequired
from ..importers import (EmptyRead, Format, NotThisFormat, Observation, ProposalDoc, Record, SourceInfo, SourceReader,
                         detect_format, get_format, iter_sources)
from ..importers._shape import text_or_none
from ..importers.containers import SOURCE_KINDS
from ..normalize import Finding, ItemCollector, SnapshotContext, patch_ops
from ..redact import Redactor, might_contain_secret, redact, redact_text, using
from .events import derive_events
from .occurrences import derive_occurrences
from .ordering import SnapshotMeta, append_order, order, tail_facts
from .prose_identity import resolve_identity
from .rules import item_tables
from .._timeparse import parse_time
from .redaction import clean_record, redacted_fragment, store_redactor, stored_path
from .validate import validate

IMPORTER_VERSION = "0.1.0"
ITEM_TABLES = item_tables()  # table -> tier (the models, compiled: `store.rules`)
FLUSH_EVERY = 4000  # snapshots per columnar batch
FLUSH_ITEMS = 50_000  # ... or item rows, or raw bytes: a long history of large tracker states stays in bounded memory
FLUSH_BYTES = 64 << 20
IMPORT_MEMORY_LIMIT = 768 << 20  # DuckDB's buffer pool during an import (`_memory_capped`)
NO_NAMESPACE = f"no namespace: the document names none and none was given; hint: {NamespaceRequired.hint}"


@dataclass
class ImportSummary:
    """What an import did. `read == stored + duplicates + proposals + empty + quarantined` always holds."""

    import_id: str
    sources: int = 0
    sources_unchanged: int = 0
    lines_already_imported: int = 0   # lines of grown NDJSON files read in an earlier import, not read again
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    proposals: int = 0
    empty: int = 0
    quarantined: int = 0
    items: int = 0
    item_findings: int = 0
    value_findings: int = 0
    redactions: int = 0
    partial: int = 0
    # Documents a format's reader failed on (a bug in that reader, not in the input): quarantined with the error,
    # so one document never takes the others of the import down; `bench/fuzz_bench.py` counts them as crashes.
    reader_errors: int = 0
    events: int = 0
    occurrences: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_files: list[str] = field(default_factory=list)
    # Prose handoffs: headings the heading-to-tier mapping does not know (kept as context) -> versions they appear in.
    unmapped_headings: dict[str, int] = field(default_factory=dict)
    # One row per source read: which reader recognised it and what came of it.
    files: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [
            f"read {self.read} documents from {self.sources} sources"
            + (f" ({self.sources_unchanged} unchanged sources skipped)" if self.sources_unchanged else "")
            + (f" ({self.lines_already_imported} lines imported earlier not read again)"
               if self.lines_already_imported else ""),
            f"  stored {self.stored} · duplicates {self.duplicates} · proposals {self.proposals} · "
            f"empty reads {self.empty} · quarantined {self.quarantined}",
            f"  {self.items} item rows, {self.events} events, {self.occurrences} pattern occurrences",
        ]
        if self.item_findings or self.value_findings:
            out.append(f"  {self.item_findings} items not storable, {self.value_findings} values kept raw and flagged "
                       "(`baton-lab validate` lists them)")
        if self.partial:
            out.append(f"  {self.partial} snapshots partial: some lines could not be read (`baton-lab validate` lists them)")
        if self.redactions:
            out.append(f"  {self.redactions} secrets redacted before storing")
        if self.reader_errors:
            out.append(f"  {self.reader_errors} documents quarantined because a format reader failed on them "
                       "(a baton_lab bug: `baton-lab validate` shows the error; please report it)")
        out += _reader_lines(self.files)
        if self.unmapped_headings:
            common = sorted(self.unmapped_headings.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = "; ".join(f"{heading!r} ×{n}" for heading, n in common[:8])
            more = f" … and {len(common) - 8} more" if len(common) > 8 else ""
            out.append(f"  {len(common)} headings not mapped to a tier, kept as context (--mapping FILE maps them): "
                       f"{shown}{more}")
        for ns, info in sorted(self.namespaces.items()):
            out.append(f"  namespace {ns}: +{info['new']} snapshots ({info['snapshots']} total); order: {info['order_rule']}")
        if self.skipped_files:
            out.append(f"  {len(self.skipped_files)} files skipped: not JSON/NDJSON and no format reads them "
                       f"(e.g. {self.skipped_files[0]})")
            databases = [f for f in self.skipped_files if f.endswith((".db", ".sqlite", ".sqlite3"))]
            if databases:
                out.append(f"  hint: a server's SQLite store ({databases[0]}) is read by "
                           "`baton-lab capture --from FILE`")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass
class _Batch:
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    items: ItemCollector = field(default_factory=ItemCollector)
    proposals: list[pl.DataFrame] = field(default_factory=list)
    raw_bytes: int = 0


class _Importer:
    def __init__(self, con: duckdb.DuckDBPyConnection, *, format: str | None, namespace: str | None,
                 on_source: Callable[[str], None] | None) -> None:
        self.con = con
        self.forced: Format | None = get_format(format) if format else None
        self.namespace = namespace
        self.on_source = on_source
        self.summary = ImportSummary(import_id=uuid.uuid4().hex[:12])
        self.now = datetime.now(UTC)
        # What the store holds already is looked up where it can be (a source by its id, a snapshot within its
        # namespace), so adding one snapshot to a long history does not load every id in the store.
        self.known_sources = _KnownIds(con, "sources", "source_id")
        self.known_snapshots = _KnownIds(con, "snapshots", "snapshot_id", scope="namespace")
        self.known_proposals = _KnownIds(con, "patch_proposals", "proposal_id")
        self.formats: Counter[str] = Counter()
        self.new_by_namespace: Counter[str] = Counter()
        self.findings: list[Finding] = []
        self.source_rows: list[dict[str, Any]] = []
        self.batch = _Batch()
        self.redactor = Redactor()  # replaced by the store's own in `run`, inside the import's transaction
        self.stored_ids: list[str] = []   # snapshots and proposals flushed, for `remove_chunks`
        self.chunks_committed = False
        self.lines = _LineRedactor()

    # -- reading -------------------------------------------------------------------------------
    def run(self, readers: Iterable[SourceReader]) -> ImportSummary:
        # Every text the store keeps is redacted with the store's key; importers that redact on their own
        # (transcript fragments, commit subjects) use the same key through `redact.using`.
        self.redactor = store_redactor(self.con)
        remove_unsequenced(self.con)
        with using(self.redactor):
            if self.namespace:
                self.namespace = self.redactor.text(self.namespace)[0]
            for reader in readers:
                self._source(reader)
            self._flush()
            self._finish()
        return self.summary

    def _source(self, reader: SourceReader) -> None:
        info = reader.info
        source_id = self._source_id(info, info.sha256)
        uri = stored_path(info.uri, self.redactor)[0]
        if self.on_source:
            self.on_source(uri)
        if source_id in self.known_sources:
            self.summary.sources_unchanged += 1
            return
        self.known_sources.add(source_id)
        self.summary.sources += 1
        seen_formats: Counter[str] = Counter()
        before = (self.summary.read, self.summary.stored, self.summary.duplicates, self.summary.quarantined)
        reasons: Counter[str] = Counter()
        for record in self._primed(self._records(reader, uri)):
            self.summary.read += 1
            quarantined = self.summary.quarantined
            fmt = self._record(record, source_id)
            if fmt:
                seen_formats[fmt] += 1
            if self.summary.quarantined > quarantined:
                reasons[self.findings[-1].reason] += 1
            if (len(self.batch.snapshots) >= FLUSH_EVERY or len(self.batch.items) >= FLUSH_ITEMS
                    or self.batch.raw_bytes >= FLUSH_BYTES):
                self._flush()
                self._commit_chunk()
        self.formats.update(seen_formats)
        read, stored, duplicates, quarantined = (now - then for now, then in zip(
            (self.summary.read, self.summary.stored, self.summary.duplicates, self.summary.quarantined), before))
        self.summary.files.append({
            "uri": info.uri, "reader": info.container, "formats": dict(seen_formats), "documents": read, "stored": stored,
            "duplicates": duplicates, "quarantined": quarantined, "reasons": dict(reasons)})
        if info.container != "json-file" or len(seen_formats) != 1:
            # NDJSON, git versions, transcripts and captures are named by their container; the document
            # formats inside are counted in the summary and recorded per snapshot.
            name, version = info.container, info.container_version
        else:
            name = next(iter(seen_formats))
            version = get_format(name).version
        self.source_rows.append({
            "source_id": source_id, "format": name, "format_version": version, "uri": uri,
            "sha256": info.sha256, "size_bytes": info.size_bytes, "importer_version": IMPORTER_VERSION,
            "imported_at": self.now, "import_id": self.summary.import_id,
        })

    # 8 MB of text: a run of large parsed documents (a tracker state per version) stays small beside the batch
    PRIME_RECORDS, PRIME_BYTES, PRIME_MIN = 256, 8 << 20, 16

    def _primed(self, records: Iterable[Record]) -> Iterator[Record]:
        """The records, read ahead in runs of up to PRIME_RECORDS (or PRIME_BYTES of text): the secret check of a
        run's parsed documents is decided in one pass over all their texts (`Redactor.prime`) before they are
        handled one by one. Runs too short to gain from it (a file holding one document) are not primed."""
        run: list[Record] = []
        size = 0
        for record in records:
            run.append(record)
            size += len(record.text)
            if len(run) >= self.PRIME_RECORDS or size >= self.PRIME_BYTES:
                self._prime(run)
                yield from run
                run, size = [], 0
        self._prime(run)
        yield from run

    def _prime(self, run: list[Record]) -> None:
        texts = [record.text for record in run if record.doc is not None and record.text]
        if len(texts) >= self.PRIME_MIN:
            self.redactor.prime(texts)

    def _records(self, reader: SourceReader, uri: str) -> Iterable[Record]:
        """The source's records; for a grown NDJSON file whose earlier version this store imported with the same
        options, only the lines after that version (the earlier lines are stored, duplicates or quarantined)."""
        info = reader.info
        if reader.tail is not None and info.size_bytes:
            earlier = self.con.execute(
                "SELECT source_id, sha256, size_bytes FROM sources WHERE uri = ? AND format = ? AND size_bytes < ? "
                "ORDER BY size_bytes DESC LIMIT 4", [uri, info.container, info.size_bytes]).fetchall()
            for source_id, sha256, size in earlier:
                if source_id != self._source_id(info, sha256):
                    continue  # imported with another --format or --namespace: its lines may have been read otherwise
                resumed = reader.tail(size, sha256)
                if resumed is not None:
                    self.summary.lines_already_imported += resumed[0]
                    return resumed[1]
        return reader.records()

    def _source_id(self, info: SourceInfo, sha256: str) -> str:
        key = sha256 if info.identity is None else f"{info.identity}\x1f{sha256}"
        return short_id(key, self.forced.name if self.forced else "", self.namespace or "")

    def _quarantine(self, record: Record, source_id: str, reason: str, json_path: str | None = None) -> None:
        self.summary.quarantined += 1
        self.findings.append(Finding(record.where, json_path, "document", reason,
                                     redacted_fragment(record.text, self.redactor) if record.text else None, source_id))

    def _record(self, record: Record, source_id: str) -> str | None:
        # Redaction happens here, once per record, before anything (namespace, ids, items) is read from it.
        try:
            cleaned = clean_record(record, self.redactor, source_id)
            self.summary.redactions += cleaned.redactions
            self.findings.extend(cleaned.findings)
        except RecursionError:  # parsed, but nested deeper than the walk can go: quarantined, not stored unchecked
            record.doc, record.error = None, "invalid JSON: nested too deeply to check for secrets"
        if record.error:
            self._quarantine(record, source_id, record.error)
            return None
        fmt = self.forced or (get_format(record.format) if record.format else detect_format(record.doc, record))
        if fmt is None:
            self._quarantine(record, source_id, "not a baton format: no schema_version 1, no _meta.schema_version 2.x, "
                             "no API envelope, no _patch_proposal, and no other format of `baton-lab formats` fits", "$")
            return None
        if fmt.unit == "file":
            # Whole files are redacted line by line before the format reads them (a line seen in an earlier version
            # is not redacted again), so nothing the format derives can carry a secret.
            record.text, count = self.lines.redact(record.text)
            self.summary.redactions += count
        try:
            unwrapped = fmt.read(record.doc, record)
        except NotThisFormat as exc:
            self._quarantine(record, source_id, f"not {fmt.name}: {exc}", "$")
            return None
        except RecursionError:
            self._quarantine(record, source_id, f"not readable as {fmt.name}: nested too deeply", "$")
            return None
        except Exception as exc:  # noqa: BLE001 - a reader's bug quarantines its document, not the whole import
            # Reading is pure (nothing is stored until `_observe`), so skipping the document leaves no partial state.
            self.summary.reader_errors += 1
            frame = traceback.extract_tb(exc.__traceback__)[-1]  # where it failed, for the bug report
            self._quarantine(record, source_id, f"the {fmt.name} reader failed on this document "
                             f"({type(exc).__name__}: {str(exc)[:300]} at {Path(frame.filename).name}:{frame.lineno}); "
                             "a baton_lab bug, please report it", "$")
            return None
        if isinstance(unwrapped, list):
            # A document holding its own history: each version is one document read (read = stored + ...).
            self.summary.read += max(len(unwrapped), 1) - 1
            if not unwrapped:
                self.summary.empty += 1
            for observation in unwrapped:
                self._place(observation, fmt, record, source_id)
        elif isinstance(unwrapped, EmptyRead):
            self.summary.empty += 1
        elif isinstance(unwrapped, ProposalDoc):
            self._proposal(unwrapped, record, source_id)
        elif not self._place(unwrapped, fmt, record, source_id):
            return None
        return fmt.name

    def _place(self, doc: Observation, fmt: Format, record: Record, source_id: str) -> bool:
        if not (self.namespace or doc.namespace):
            # A document that cannot be placed is reported, and the rest of the import goes on.
            self._quarantine(record, source_id, NO_NAMESPACE, doc.location or "$")
            return False
        self._observe(doc, fmt, record, source_id)
        return True

    def _observe(self, doc: Observation, fmt: Format, record: Record, source_id: str) -> None:
        namespace = self.namespace or doc.namespace
        assert namespace is not None
        # the document was redacted in `_record` (clean_record) and whole files line by line before reading
        baton = doc.document
        if doc.document_json is not None:
            hashed = raw = doc.document_json
        else:
            hashed, raw = canonical_and_dumps(baton)
        content_sha = sha256_text(hashed)
        snapshot_id = short_id(namespace, content_sha)
        if self.known_snapshots.contains(snapshot_id, within=namespace):
            self.summary.duplicates += 1
            return
        self.known_snapshots.add(snapshot_id)
        self.summary.stored += 1
        self.new_by_namespace[namespace] += 1
        observed_at, observed_kind, provenance = _observed(doc, record)
        for heading in (doc.extra or {}).get("unmapped_headings") or ():
            self.summary.unmapped_headings[heading] = self.summary.unmapped_headings.get(heading, 0) + 1
        self.batch.raw_bytes += len(raw)
        if doc.unreadable:
            self.summary.partial += 1
        revision = doc.revision
        if revision is not None and not -(2**63) <= revision < 2**63:
            self.findings.append(Finding(record.where, "$._meta.revision", "value", f"revision ({revision.bit_length()} "
                                         "bits) is outside the 64-bit range; kept in the snapshot's raw JSON", None,
                                         source_id, namespace, snapshot_id))
            revision = None
        self.batch.snapshots.append({
            "snapshot_id": snapshot_id, "namespace": namespace, "session_id": doc.session_id,
            "parent_session": doc.parent_session, "written_at": parse_time(doc.written_at_raw),
            "written_at_raw": doc.written_at_raw, "observed_at": observed_at,
            "observed_kind": observed_kind if observed_at is not None else None,
            "schema_version": doc.schema_version, "revision": revision, "writer": doc.writer,
            "content_sha256": content_sha, "source_id": source_id, "location": doc.location or record.location,
            "format": fmt.name,
            "sync_status": doc.sync_status, "context": doc.context,
            "raw": raw, "extra": dumps(doc.extra) if doc.extra else None,
            "provenance": dumps(provenance) if provenance else None,
        })
        ctx = SnapshotContext(snapshot_id, namespace, source_id, record.where)
        items = self.batch.items
        for section in doc.sections:
            items.add_section(section.table, section.spec, section.columns, section.entries, section.path, ctx,
                              section.locations)
        if doc.bridge is not None:
            items.add_bridge(doc.bridge, ctx)
        for part in doc.unreadable:
            items.add_finding(ctx, part.location, part.reason, part.fragment)

    def _proposal(self, doc: ProposalDoc, record: Record, source_id: str) -> None:
        proposal = doc.proposal
        proposal_id = short_id("proposal", canonical(proposal), self.namespace or doc.namespace or "")
        if proposal_id in self.known_proposals:
            self.summary.duplicates += 1
            return
        self.known_proposals.add(proposal_id)
        self.summary.proposals += 1
        ops, columns, extras, bad = patch_ops(proposal)
        for reason in bad:
            self.findings.append(Finding(record.where, "$._patch_proposal.patches", "item", reason,
                                         fragment(dumps(proposal.get("patches"))), source_id))
        n = len(ops)
        self.batch.proposals.append(pl.DataFrame({
            "proposal_id": [proposal_id] * n, "source_id": [source_id] * n,
            "namespace": [self.namespace or doc.namespace] * n,
            "submitted_by": [text_or_none(proposal.get("submitted_by"))] * n,
            "submitted_at_raw": [text_or_none(proposal.get("submitted_at"))] * n,
            "op_index": list(range(n)), **columns, "extra": extras,
            "_path": [f"$._patch_proposal.patches[{i}]" for i in range(n)], "_uri": [record.where] * n,
            "_source_id": [source_id] * n,
        }, strict=False))

    # -- writing -------------------------------------------------------------------------------
    def _insert(self, table: str, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        # Arrow's string views are polars' own strings, handed over without a copy (DuckDB reads them).
        self.con.register("_batch", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
        try:
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _batch")
        finally:
            self.con.unregister("_batch")

    def _store(self, table: str, frame: pl.DataFrame) -> int:
        clean, findings = validate(table, frame)
        self.findings.extend(findings)
        self._insert(table, clean)
        return clean.height

    def _commit_chunk(self) -> None:
        """Commit what is stored so far. A large import (a long git replay) would otherwise keep all of it in
        DuckDB's transaction-local storage. Its rows stay unsequenced (seq NULL) until the last step orders the
        history in the final transaction; if the import fails they are removed (`remove_chunks`), and rows a
        killed import left are removed by the next import before it reads anything (`remove_unsequenced`)."""
        self.con.execute("COMMIT")
        self.con.execute("BEGIN TRANSACTION")
        self.chunks_committed = True

    def remove_chunks(self) -> None:
        """Undo the chunks this import committed (after the failed rest was rolled back)."""
        if not self.chunks_committed:
            return
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.register("_ids", pl.DataFrame({"id": self.stored_ids}, schema={"id": pl.String}))
            for table in [*ITEM_TABLES, "session_bridge", "snapshots"]:
                self.con.execute(f"DELETE FROM {table} WHERE snapshot_id IN (SELECT id FROM _ids)")
            self.con.execute("DELETE FROM patch_proposals WHERE proposal_id IN (SELECT id FROM _ids)")
            self.con.unregister("_ids")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _flush(self) -> None:
        batch, self.batch = self.batch, _Batch()
        self.stored_ids += [row["snapshot_id"] for row in batch.snapshots]
        self.stored_ids += [frame["proposal_id"][0] for frame in batch.proposals if frame.height]
        if batch.snapshots:
            # Column by column: every row has the same keys, and a row's `raw` is a whole version (1+ MB for a
            # tracker export), which polars copies once this way.
            self._store("snapshots", pl.DataFrame({key: [row[key] for row in batch.snapshots]
                                                   for key in batch.snapshots[0]}, strict=False))
            frames, findings = batch.items.frames()
            self.findings.extend(findings)
            for table, frame in frames.items():
                self.summary.items += self._store(table, frame)
        if batch.proposals:
            self._store("patch_proposals", pl.concat(batch.proposals, how="diagonal_relaxed"))

    def _finish(self) -> None:
        if self.source_rows:
            self._insert("sources", validate("sources", pl.DataFrame(self.source_rows), without=())[0])
        from_seq = self._sequence(sorted(self.new_by_namespace))
        resolve_identity(self.con, sorted(from_seq))
        self.summary.events = derive_events(self.con, from_seq)
        self.summary.occurrences, jumps = derive_occurrences(self.con, from_seq)
        self.findings.extend(jumps)
        self._store_findings()
        self.summary.formats = dict(self.formats)

    def _sequence(self, namespaces: list[str]) -> dict[str, int]:
        """Put each touched namespace in history order; returns the first seq whose snapshot changed. New snapshots
        that come after the stored history are numbered on from it (`append_order`); otherwise the namespace is
        ordered again from its whole history."""
        if not namespaces:
            return {}
        new = self._metas(namespaces, "s.seq IS NULL")
        appended: dict[str, tuple[list[str], str, int]] = {}
        for namespace in namespaces:
            metas = [meta for meta, _ in new.get(namespace, [])]
            stored = tail_facts(self.con, namespace, metas)
            fast = append_order(stored, metas) if stored is not None else None
            if fast is not None:
                appended[namespace] = (*fast, stored.count)
        full = self._metas([ns for ns in namespaces if ns not in appended], "true")
        updates: list[pl.DataFrame] = []
        from_seq: dict[str, int] = {}
        for namespace in namespaces:
            if namespace in appended:
                ordered, rule, offset = appended[namespace]
                changed = {sid: offset + i + 1 for i, sid in enumerate(ordered)}
                from_seq[namespace], total = offset + 1, offset + len(ordered)
            else:
                rows = full[namespace]
                ordered, rule = order([meta for meta, _ in rows])
                old = {meta.snapshot_id: seq for meta, seq in rows}
                changed = {sid: i + 1 for i, sid in enumerate(ordered) if old[sid] != i + 1}
                from_seq[namespace], total = min(changed.values(), default=len(ordered) + 1), len(ordered)
            updates.append(pl.DataFrame({"snapshot_id": list(changed), "new_seq": list(changed.values())},
                                        schema={"snapshot_id": pl.String, "new_seq": pl.Int64}))
            self.summary.namespaces[namespace] = {"new": self.new_by_namespace[namespace], "snapshots": total,
                                                  "order_rule": rule}
        # Appended snapshots are the only ones numbered, and their rows are the only ones without a seq: saying so lets
        # DuckDB skip every row group without nulls in `seq` (the stored history) instead of scanning it for the ids.
        only_new = " AND {table}.seq IS NULL" if len(appended) == len(namespaces) else ""
        self.con.register("_seq", pl.concat(updates))
        try:
            for table in ["snapshots", *ITEM_TABLES, "session_bridge"]:
                self.con.execute(f"UPDATE {table} SET seq = _seq.new_seq FROM _seq "
                                 f"WHERE {table}.snapshot_id = _seq.snapshot_id AND {table}.seq IS DISTINCT FROM _seq.new_seq"
                                 + only_new.format(table=table))
        finally:
            self.con.unregister("_seq")
        order_rows = pl.DataFrame({
            "namespace": list(self.summary.namespaces),
            "order_rule": [v["order_rule"] for v in self.summary.namespaces.values()],
            "snapshots": [v["snapshots"] for v in self.summary.namespaces.values()],
            "updated_at": [self.now] * len(self.summary.namespaces),
        })
        self.con.execute("DELETE FROM namespace_order WHERE namespace IN (SELECT unnest(?::VARCHAR[]))", [namespaces])
        self._insert("namespace_order", validate("namespace_order", order_rows, without=())[0])
        return from_seq

    def _metas(self, namespaces: list[str], where: str) -> dict[str, list[tuple[SnapshotMeta, int | None]]]:
        """The ordering metadata of the namespaces' snapshots matching `where`, with their current seq."""
        out: dict[str, list[tuple[SnapshotMeta, int | None]]] = {ns: [] for ns in namespaces}
        if not namespaces:
            return out
        rows = self.con.execute(f"""
            SELECT s.namespace, s.snapshot_id, s.seq, s.session_id, s.parent_session, s.observed_at, s.observed_kind,
                   s.written_at, coalesce(src.uri, '') || chr(0) || coalesce(s.location, '') AS order_name,
                   TRY_CAST(json_extract_string(s.provenance, '$.graph_order') AS BIGINT) AS graph_order
            FROM snapshots s LEFT JOIN sources src USING (source_id)
            WHERE s.namespace IN (SELECT unnest(?::VARCHAR[])) AND {where}
        """, [namespaces]).fetchall()
        for ns, sid, seq, session, parent, observed_at, observed_kind, written_at, name, graph in rows:
            out[ns].append((SnapshotMeta(sid, session, parent, observed_at, observed_kind, written_at, name, graph), seq))
        return out

    def _store_findings(self) -> None:
        if not self.findings:
            return
        kinds = Counter(f.kind for f in self.findings)
        self.summary.item_findings = kinds["item"]
        self.summary.value_findings = kinds["value"]
        rows = pl.DataFrame([
            {"source_id": f.source_id, "location": f.uri + (f" {f.json_path}" if f.json_path else ""), "uri": f.uri,
             "json_path": f.json_path, "kind": f.kind, "reason": f.reason, "fragment": f.fragment,
             "namespace": f.namespace, "snapshot_id": f.snapshot_id, "item_id": f.item_id, "recorded_at": self.now}
            for f in self.findings
        ], infer_schema_length=None)
        self._insert("quarantine", validate("quarantine", rows, without=())[0])


class _KnownIds:
    """The ids of one column the store holds (within one value of `scope`, when given: a snapshot id within its
    namespace), plus those this import added. The first few are looked up one by one (an import of one file, a
    capture, pays for one id, not for the whole table or namespace); past that, the ids are loaded once per scope."""

    LOOKUPS = 64

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str, column: str, scope: str | None = None) -> None:
        self.con, self.table, self.column, self.scope = con, table, column, scope
        self.added: set[str] = set()
        self.stored: dict[str | None, set[str]] = {}
        self.lookups = 0

    def contains(self, value: str, within: str | None = None) -> bool:
        if value in self.added:
            return True
        where, params = (f" WHERE {self.scope} = ?", [within]) if self.scope else ("", [])
        stored = self.stored.get(within)
        if stored is None and self.lookups < self.LOOKUPS:
            self.lookups += 1
            and_scope = where.replace("WHERE", "AND")
            return bool(self.con.execute(f"SELECT 1 FROM {self.table} WHERE {self.column} = ?{and_scope} LIMIT 1",
                                         [value, *params]).fetchall())
        if stored is None:
            stored = self.stored[within] = {r[0] for r in self.con.execute(
                f"SELECT DISTINCT {self.column} FROM {self.table}{where}", params).fetchall()}
        return value in stored

    __contains__ = contains

    def add(self, value: str) -> None:
        self.added.add(value)


class _LineRedactor:
    """Redacts a text line by line: a JSON line as a document (so secret-named keys are caught), any other line as
    text. Results are remembered, because consecutive versions of a state file share most of their lines."""

    LIMIT = 500_000

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, int]] = {}
        self.clean: set[str] = set()  # lines seen that hold no secret

    def redact(self, text: str) -> tuple[str, int]:
        lines = text.split("\n")
        # Only lines not seen before are looked at; a version whose lines all come out unchanged is returned as it
        # is (the common case for the next version of a state file), else it is rebuilt line by line.
        dirty = False
        for line in set(lines).difference(self.clean):
            done = self.seen.get(line)
            if done is None:
                done = self._line(line) if might_contain_secret(line) else (line, 0)
                if len(self.seen) >= self.LIMIT:
                    self.seen.clear()
                    self.clean.clear()
                self.seen[line] = done
                if not done[1] and done[0] == line:
                    self.clean.add(line)
            dirty = dirty or bool(done[1]) or done[0] != line
        if not dirty:
            return text, 0
        total = 0
        for i, line in enumerate(lines):
            lines[i], n = self.seen.get(line) or self._remembered(line)
            total += n
        return "\n".join(lines), total

    def _remembered(self, line: str) -> tuple[str, int]:
        """A line whose result was dropped when the memory was cleared during this text."""
        done = self._line(line) if might_contain_secret(line) else (line, 0)
        self.seen[line] = done
        return done

    @staticmethod
    def _line(line: str) -> tuple[str, int]:
        stripped = line.strip()
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                doc = json.loads(stripped)
            except ValueError:
                doc = None
            if doc is not None:
                clean, n = redact(doc)
                if not n:
                    return line, 0
                return json.dumps(clean, ensure_ascii=False), n  # the text is storable (`clean_record`)
        return redact_text(line)


def _observed(doc: Observation, record: Record) -> tuple[datetime | None, str | None, dict[str, Any]]:
    """When the state was observed. The record's own observation (capture time, commit time, transcript
    timestamp) wins; else the server time the document carries (API envelope, SQLite row); else the file's
    mtime. A server time that loses is kept in provenance as `server_updated_at`."""
    provenance = dict(record.provenance)
    if doc.logged_time and (logged := parse_time(doc.observed_at_raw)) is not None:
        # A version a log dates (replayed from a file that holds its own history) is ordered by that date, not by
        # the commit that carried the file: the same version read from a later commit falls in the same place.
        provenance.pop("graph_order", None)
        return logged, doc.observed_kind, provenance
    strong = record.observed_at is not None and record.observed_kind not in (None, "file_mtime")
    if strong:
        if doc.observed_at_raw:
            provenance.setdefault("server_updated_at", doc.observed_at_raw)
        return record.observed_at, record.observed_kind, provenance
    if doc.observed_at_raw:
        return parse_time(doc.observed_at_raw), doc.observed_kind, provenance
    return record.observed_at, record.observed_kind, provenance


def import_sources(con: duckdb.DuckDBPyConnection, readers: Callable[[list[str]], Iterable[SourceReader]], *,
                   format: str | None = None, namespace: str | None = None,
                   on_source: Callable[[str], None] | None = None,
                   before_commit: Callable[[duckdb.DuckDBPyConnection, ImportSummary], None] | None = None
                   ) -> ImportSummary:
    """Import the records of any sources in one transaction.

    `readers(skipped)` yields the sources (files, git versions, transcripts, server reads) and may list
    inputs it skipped in `skipped`. Every importer of history goes through here, so ordering, dedup,
    validation, events and the summary are the same whatever the origin. `before_commit(con, summary)`
    writes rows that belong with the import (the capture log) in the same transaction.
    """
    importer = _Importer(con, format=format, namespace=namespace, on_source=on_source)
    with _memory_capped(con), _no_vacuum(con):
        con.execute("BEGIN TRANSACTION")
        try:
            summary = importer.run(readers(importer.summary.skipped_files))
            if before_commit is not None:
                before_commit(con, summary)
            compact = _count_import(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            importer.remove_chunks()
            raise
        if not compact:
            _checkpoint(con)
    if compact and _checkpoint(con):
        # reset only once compacted: a checkpoint that could not run is tried again at the next import
        con.execute("INSERT OR REPLACE INTO baton_lab_meta VALUES (?, '0')", [_IMPORTS_KEY])
    return summary


COMPACT_EVERY = 64  # imports between checkpoints that let DuckDB's vacuum merge the small row groups imports leave
_IMPORTS_KEY = "imports_since_compaction"


def _count_import(con: duckdb.DuckDBPyConnection) -> bool:
    """Count this import (in its transaction); True when the store is due a compacting checkpoint (the count is
    reset after that checkpoint succeeds)."""
    rows = con.execute("SELECT value FROM baton_lab_meta WHERE key = ?", [_IMPORTS_KEY]).fetchall()
    count = (int(rows[0][0]) if rows and rows[0][0].isdigit() else 0) + 1
    con.execute("INSERT OR REPLACE INTO baton_lab_meta VALUES (?, ?)", [_IMPORTS_KEY, str(count)])
    return count >= COMPACT_EVERY


def _checkpoint(con: duckdb.DuckDBPyConnection) -> bool:
    """Write the import into the store file now. Inside `_no_vacuum` this costs what the import added; left to the
    close, DuckDB's checkpoint would also vacuum, merging the import's small row group into the ones before it and
    rewriting them: 80 ms at 1,000 sessions of history, 190 ms at 4,000, growing with the history on every capture.
    So most imports checkpoint without vacuum, and every COMPACT_EVERY-th with it (the small row groups an import
    leaves per table are merged then, so scans do not slow down as they pile up). Returns whether it ran."""
    try:
        con.execute("CHECKPOINT")
    except duckdb.FatalException:
        raise  # the database is invalidated: say so at this import, not at the caller's next statement
    except duckdb.Error:
        return False  # another transaction of this database is open: the checkpoint happens later, as it did before
    return True


def remove_unsequenced(con: duckdb.DuckDBPyConnection) -> int:
    """Remove the snapshots (with their items) and proposals of chunks an import committed before it was killed:
    snapshots without a seq, proposals whose source was never recorded. Returns how many snapshots."""
    if not con.execute("SELECT count(*) FROM snapshots WHERE seq IS NULL").fetchall()[0][0]:
        if not con.execute("SELECT count(*) FROM patch_proposals WHERE source_id NOT IN "
                           "(SELECT source_id FROM sources)").fetchall()[0][0]:
            return 0
    left = con.execute("SELECT count(*) FROM snapshots WHERE seq IS NULL").fetchall()[0][0]
    for table in [*ITEM_TABLES, "session_bridge"]:
        con.execute(f"DELETE FROM {table} WHERE snapshot_id IN (SELECT snapshot_id FROM snapshots WHERE seq IS NULL)")
    con.execute("DELETE FROM snapshots WHERE seq IS NULL")
    con.execute("DELETE FROM patch_proposals WHERE source_id NOT IN (SELECT source_id FROM sources)")
    return left


_UNITS = {"bytes": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
          "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


@contextmanager
def _memory_capped(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB keeps the blocks an import writes in its buffer pool until its limit (80 % of RAM) presses, so a long
    replay (1,600 versions of a 1.5 MB tracker state) would hold gigabytes it never reads again. An import runs with
    the limit at IMPORT_MEMORY_LIMIT (a lower one the user set stays) and restores it afterwards."""
    current = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    match = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]+)\s*", str(current))
    limit = float(match[1]) * _UNITS.get(match[2].lower(), 0) if match else 0
    if not limit or limit <= IMPORT_MEMORY_LIMIT:
        yield
        return
    con.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}B'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{current}'")


@contextmanager
def _no_vacuum(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Each chunk an import commits lands in a new, small row group, and at every checkpoint DuckDB's vacuum merges
    the trailing small row groups again, rewriting every one of them: with a snapshot's `raw` of 1.5 MB (a Beads
    version) a commit then costs time and pinned memory in proportion to all snapshots stored so far, and past ~1,000
    versions the checkpoint no longer fits the buffer cap and invalidates the connection. An import runs without
    vacuum tasks (its chunks stay separate row groups) and restores the setting afterwards."""
    current = con.execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0]
    con.execute("SET max_vacuum_tasks = 0")
    try:
        yield
    finally:
        con.execute(f"SET max_vacuum_tasks = {int(current)}")


def import_paths(con: duckdb.DuckDBPyConnection, paths: list[str | os.PathLike[str]], *, format: str | None = None,
                 namespace: str | None = None, on_source: Callable[[str], None] | None = None) -> ImportSummary:
    """Import files, directories, NDJSON and session transcripts into the store in one transaction.

    `format` is a document format, or a source kind (`claude-code-transcript`, `codex-rollout`) that forces
    how every file is read.
    """
    kind = format if format in SOURCE_KINDS else None
    forced = get_format(format) if format and not kind else None
    whole = forced if forced is not None and forced.unit == "file" else None
    return import_sources(con, lambda skipped: iter_sources(paths, skipped, kind=kind, whole=whole),
                          format=None if kind else format, namespace=namespace, on_source=on_source)


def _reader_lines(files: list[dict[str, Any]]) -> list[str]:
    """Which reader recognised the files, and why documents were quarantined (most frequent reasons first)."""
    by_reader: dict[str, Counter[str]] = {}
    reasons: Counter[str] = Counter()
    for row in files:
        counts = by_reader.setdefault(row["reader"], Counter())
        counts["files"] += 1
        for key in ("documents", "stored", "quarantined"):
            counts[key] += row[key]
        reasons.update(row["reasons"])
    out = []
    for reader, counts in sorted(by_reader.items()):
        unit = "baton calls" if reader.endswith(("transcript", "rollout")) else "documents"
        out.append(f"  {reader}: {counts['files']} files, {counts['documents']} {unit}, {counts['stored']} stored, "
                   f"{counts['quarantined']} quarantined")
    for reason, n in reasons.most_common(5):
        out.append(f"  quarantined ×{n}: {reason}")
    if len(reasons) > 5:
        out.append(f"  … {len(reasons) - 5} more reasons (`baton-lab validate` lists them)")
    return out
