"""The two arms of a comparison, and a view of the store that shows only one arm.

An arm is a set of (namespace, first session, last session) ranges. Two ways to build them:

- loop vs loop: `a="ns1,ns2", b="ns3"` — whole histories of different namespaces;
- before vs after within the same namespaces: a split point per namespace, given as a date
  (`date:2026-06-15`, or `before=`/`after=` dates with an optional gap between them), a session index
  (`session:40`), or the first snapshot of a named format (`format:baton-v2`), rule (`rule:rules/x.md`, a
  graduated pattern's `graduated_to` or its id) or event (`event:status_changed`, `event:status_changed=verified`).

`arm_view(con, ranges)` gives a cursor on which every item table, `snapshots`, `events` and
`pattern_occurrences` is a temporary view restricted to the arm, so the whole metric catalogue runs on an
arm unchanged: items already there at the arm's first session are left-truncated, and still-open items are
censored at its last session, exactly as at the edges of a history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb
import polars as pl

from ..errors import BatonLabError


class ArmError(BatonLabError):
    hint = ("name two arms: `--a NS1,NS2 --b NS3` (loop vs loop), or a split within the same namespaces: "
            "`--before DATE --after DATE` or `--split date:DATE|session:N|format:NAME|rule:NAME|event:NAME`; "
            "`baton-lab info` lists namespaces and their sessions.")


# Tables whose rows belong to one session of one namespace: (table, session column).
SESSION_TABLES = (("snapshots", "seq"), ("open_loops", "seq"), ("follow_ups", "seq"), ("patterns", "seq"),
                  ("decisions", "seq"), ("events", "seq"), ("infra_state", "seq"), ("discovery_cache", "seq"),
                  ("session_bridge", "seq"), ("pattern_occurrences", "first_seen_seq"))
SPLIT_KINDS = ("date", "session", "format", "rule", "event")
RANGE_SCHEMA = {"namespace": pl.String, "lo": pl.Int64, "hi": pl.Int64}


def _ranges(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col(c).cast(t) for c, t in RANGE_SCHEMA.items())


@dataclass(frozen=True)
class Arm:
    label: str                 # "A" / "B"
    name: str                  # what the user called it: "before 2026-06-15", "ns1, ns2"
    ranges: pl.DataFrame       # namespace, lo, hi (inclusive session indexes)

    @property
    def namespaces(self) -> list[str]:
        return self.ranges["namespace"].to_list()

    @property
    def sessions(self) -> int:
        return int((self.ranges["hi"] - self.ranges["lo"] + 1).sum()) if self.ranges.height else 0

    def to_json(self) -> dict:
        return {"label": self.label, "name": self.name, "sessions": self.sessions,
                "ranges": self.ranges.to_dicts()}


@dataclass(frozen=True)
class Split:
    """Where `after` starts in each namespace (seq), and where `before` ends when a gap is left out."""

    description: str
    after_start: pl.DataFrame          # namespace, seq
    before_end: pl.DataFrame | None = None   # namespace, seq (last session of `before`); default after_start − 1


def _names(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [n.strip() for item in items for n in item.split(",") if n.strip()]


def _bounds(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql("SELECT namespace, min(seq) AS lo, max(seq) AS hi FROM snapshots GROUP BY 1 ORDER BY 1").pl()


def _known(bounds: pl.DataFrame, names: list[str], role: str) -> pl.DataFrame:
    missing = [n for n in names if n not in set(bounds["namespace"].to_list())]
    if missing:
        raise ArmError(f"{role}: no namespace {', '.join(map(repr, missing))} in the store",
                       hint="`baton-lab info` lists the namespaces in the store and their sessions")
    return bounds.filter(pl.col("namespace").is_in(names))


def _parse_date(text: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text.strip()), datetime.min.time())
        except ValueError:
            raise ArmError(f"{what}: {text!r} is not a date (YYYY-MM-DD or an ISO timestamp)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _first_at_or_after(con: duckdb.DuckDBPyConnection, when: datetime, names: list[str]) -> pl.DataFrame:
    """Per namespace, the first session whose time (claimed, else observed) is at or after `when`."""
    return con.sql("""
        SELECT namespace, min(seq) AS seq FROM snapshots
        WHERE coalesce(written_at, observed_at) >= $when AND list_contains($names, namespace) GROUP BY 1""",
                   params={"when": when, "names": names}).pl()


def parse_split(split: str) -> tuple[str, str]:
    """(kind, value) of a --split, checked without the store: KIND:VALUE, a date that parses, a session index ≥ 2."""
    kind, _, value = split.partition(":")
    if not value and re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", split):
        kind, value = "date", split
    kind, value = kind.strip().lower(), value.strip()
    if kind not in SPLIT_KINDS or not value:
        raise ArmError(f"--split {split!r}: expected KIND:VALUE with KIND one of {', '.join(SPLIT_KINDS)}")
    if kind == "date":
        _parse_date(value, "--split")
    if kind == "session" and (not value.isdigit() or int(value) < 2):
        raise ArmError(f"--split session:{value}: a session index ≥ 2 (session 1 leaves no 'before')")
    return kind, value


def split_points(con: duckdb.DuckDBPyConnection, split: str, names: list[str]) -> pl.DataFrame:
    """namespace, seq: the first session of `after` in each namespace where the split point occurs."""
    kind, value = parse_split(split)
    params: dict = {"names": names, "value": value}
    if kind == "date":
        return _first_at_or_after(con, _parse_date(value, "--split"), names)
    if kind == "session":
        query = "SELECT namespace, $seq AS seq FROM snapshots WHERE seq = $seq AND list_contains($names, namespace)"
        params = {"names": names, "seq": int(value)}
    elif kind == "format":
        query = "SELECT namespace, min(seq) AS seq FROM snapshots WHERE format = $value AND list_contains($names, namespace) GROUP BY 1"
    elif kind == "rule":
        query = """SELECT namespace, min(seq) AS seq FROM patterns
                   WHERE (rule_ref = $value OR (item_id = $value AND (status = 'graduated' OR rule_ref IS NOT NULL)))
                     AND list_contains($names, namespace) GROUP BY 1"""
    else:
        event, _, to_value = value.partition("=")
        query = """SELECT namespace, min(seq) AS seq FROM events
                   WHERE event = $event AND ($to = '' OR to_value = $to) AND list_contains($names, namespace) GROUP BY 1"""
        params = {"names": names, "event": event.strip(), "to": to_value.strip()}
    return con.sql(query, params=params).pl()


def resolve(con: duckdb.DuckDBPyConnection, *, a: str | list[str] | None = None, b: str | list[str] | None = None,
            split: str | None = None, before: str | None = None, after: str | None = None,
            namespaces: str | list[str] | None = None) -> tuple[Arm, Arm]:
    """The two arms, checked: every namespace exists, each arm has sessions, the arms do not overlap."""
    names_a, names_b = _names(a), _names(b)
    periods = split is not None or before is not None or after is not None
    # Mistakes in the options themselves first: they are the same whatever the store holds.
    if (names_a or names_b) and periods:
        raise ArmError("choose loop vs loop (--a/--b) or a before/after split, not both")
    if (names_a or names_b) and not (names_a and names_b):
        raise ArmError("loop vs loop needs both --a and --b")
    if names_a and namespaces:
        raise ArmError("--namespace scopes a before/after split; loop vs loop takes its namespaces from --a and --b")
    if not (names_a or periods):
        raise ArmError("nothing to compare")
    if split is not None and (before is not None or after is not None):
        raise ArmError("give either --split or --before/--after")
    if periods and split is None and (before is None or after is None):
        raise ArmError("a before/after comparison needs both --before DATE and --after DATE")
    if split is not None:
        parse_split(split)
    elif periods:
        _parse_date(before or "", "--before"), _parse_date(after or "", "--after")
    bounds = _bounds(con)
    if bounds.height == 0:
        raise ArmError("the store has no snapshots to compare", hint="import history first (`baton-lab import`)")
    if names_a:
        arm_a = Arm("A", ", ".join(names_a), _known(bounds, names_a, "--a").pipe(_ranges))
        arm_b = Arm("B", ", ".join(names_b), _known(bounds, names_b, "--b").pipe(_ranges))
        shared = sorted(set(names_a) & set(names_b))
        if shared:
            raise ArmError(f"the arms overlap: {', '.join(map(repr, shared))} is in both --a and --b")
        return arm_a, arm_b
    scope = _known(bounds, _names(namespaces), "--namespace") if namespaces else bounds
    names = scope["namespace"].to_list()
    if split is not None:
        starts, ends, label = split_points(con, split, names), None, split
        text_a, text_b = f"before {split}", f"from {split} on"
    else:
        assert before is not None and after is not None  # checked above
        t_before, t_after = _parse_date(before, "--before"), _parse_date(after, "--after")
        if t_before > t_after:
            raise ArmError(f"the arms overlap: --before {before} is later than --after {after}",
                           hint="--before DATE ends the first arm and --after DATE starts the second; "
                                "use the same date for a clean split, or leave a gap")
        starts = _first_at_or_after(con, t_after, names)
        ends = _first_at_or_after(con, t_before, names).with_columns(pl.col("seq") - 1)
        label, text_a, text_b = f"{before} / {after}", f"before {before}", f"from {after} on"
    if starts.height == 0:
        raise ArmError(f"no session in {', '.join(names) if len(names) <= 5 else f'{len(names)} namespaces'} "
                       f"matches the split {label}",
                       hint="format: names a snapshot format (`baton-lab info`), rule: a graduated_to / pattern id, "
                            "event: an event kind (`baton-lab schema` lists them), date: a day inside the history")
    ranges = scope.join(starts.rename({"seq": "start"}), on="namespace", how="inner")
    ranges = (ranges.join(ends.rename({"seq": "end"}), on="namespace", how="left") if ends is not None
              else ranges.with_columns(end=pl.lit(None, pl.Int64)))
    ranges = ranges.with_columns(end=pl.coalesce("end", pl.col("start") - 1, pl.col("hi")))
    arm_a = Arm("A", text_a, ranges.filter(pl.col("end") >= pl.col("lo"))
                .select("namespace", "lo", hi=pl.min_horizontal("end", pl.col("start") - 1)).pipe(_ranges))
    arm_b = Arm("B", text_b, ranges.select("namespace", lo="start", hi="hi").pipe(_ranges))
    for arm in (arm_a, arm_b):
        if arm.sessions == 0:
            raise ArmError(f"arm {arm.label} ({arm.name}) has no sessions in "
                           f"{', '.join(names) if len(names) <= 5 else f'{len(names)} namespaces'} (split {label})")
    return arm_a, arm_b


def parse_spec(spec: str) -> dict[str, str]:
    """One string naming both arms (`baton-lab report --compare`): "ns1,ns2 vs ns3" for loop vs loop, else a
    split ("2026-06-15", "session:40", "format:baton-v2", "rule:NAME", "event:NAME")."""
    left, sep, right = spec.partition(" vs ")
    if sep:
        return {"a": left.strip(), "b": right.strip()}
    if not spec.strip():
        raise ArmError("--compare is empty")
    return {"split": spec.strip()}


def arm_view(con: duckdb.DuckDBPyConnection, ranges: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    """A cursor on the same store where the per-session tables show only the arm's sessions.

    Temporary views live in the cursor's own catalog, so the caller's connection is untouched."""
    catalog = con.execute("SELECT current_database()").fetchall()[0][0]
    cur = con.cursor()
    cur.register("_bl_arm", ranges)
    for table, column in SESSION_TABLES:
        cur.execute(f'CREATE TEMP VIEW {table} AS SELECT t.* FROM "{catalog}".main.{table} t '
                    f"JOIN _bl_arm r ON t.namespace = r.namespace AND t.{column} BETWEEN r.lo AND r.hi")
    return cur
