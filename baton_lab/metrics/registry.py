"""The catalogue as code: one `Metric` record per stable id, registered by a decorator on its function.

The function's docstring *is* the definition: `baton-lab metrics --list` and `docs` print it, so the
reference cannot drift from the code.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from ..errors import BatonLabError


class UnknownMetric(BatonLabError):
    hint = "`baton-lab metrics --list` lists every metric id and code."


@dataclass(frozen=True, slots=True)
class Metric:
    id: str                 # stable snake_case id (public API)
    code: str               # catalogue code, e.g. "L4"; several ids may share one (L5, P5, D2)
    family: str             # loops | followups | patterns | decisions | flow | spiral
    title: str
    unit: str
    direction: str | None   # SI component direction ("up", "down", "<1", "=0", ">=1") or None
    primary: bool           # one of the pre-registered primary endpoints (metrics.md §6)
    func: Callable
    requires: tuple[str, str] | None = None   # (capability a format must provide, why) — others get not_supported

    @property
    def requirement(self) -> tuple[str, str] | None:
        """The capability the metric needs: its own `requires`, else its family's tier."""
        return self.requires or FAMILY_REQUIRES.get(self.family)

    @property
    def definition(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "")


REGISTRY: dict[str, Metric] = {}

# A family's metrics need its tier; a namespace whose formats do not fill it gets not_supported rows saying so.
# Capability names are `importers.contract.CAPABILITIES`.
FAMILY_REQUIRES: dict[str, tuple[str, str]] = {
    "loops": ("open_loops", "needs an open-loop tier (actions with expected outcomes), which this format has not"),
    "followups": ("follow_ups", "needs follow-ups (deferred work), which this format has not"),
    # the pattern metrics count occurrences against a threshold; lessons without counts cannot feed them
    "patterns": ("occurrence_counts", "needs patterns that count their occurrences (v1 count, v2 occurrences), "
                 "which this format has not"),
    "decisions": ("decisions", "needs decisions (v1 active_decisions, Beads decision issues); v2 has none"),
}


def metric(code: str, id: str, *, family: str, title: str, unit: str, direction: str | None = None,
           primary: bool = False, requires: tuple[str, str] | None = None) -> Callable[[Callable], Callable]:
    """Register a metric function `f(ctx) -> Output` under its id."""

    def register(func: Callable) -> Callable:
        if id in REGISTRY:
            raise ValueError(f"metric id {id!r} registered twice")
        REGISTRY[id] = Metric(id, code, family, title, unit, direction, primary, func, requires)
        return func

    return register


def resolve(keys: str | list[str] | None) -> list[Metric]:
    """Metrics by snake_case id or catalogue code (case-insensitive); all when `keys` is None."""
    _load()
    if keys is None:
        return list(REGISTRY.values())
    out: list[Metric] = []
    for key in [keys] if isinstance(keys, str) else keys:
        if key in REGISTRY:
            found = [REGISTRY[key]]
        else:
            found = [m for m in REGISTRY.values() if m.code.lower() == key.lower() or m.id == key.lower()]
        if not found:
            raise UnknownMetric(f"unknown metric {key!r}")
        out.extend(m for m in found if m not in out)
    return out


_CATALOGUE_ORDER = ("loops", "followups", "patterns", "decisions", "flow", "spiral")


def _load() -> None:
    # Importing the family modules runs their decorators.
    from . import loops, followups, patterns, decisions, flow, spiral  # noqa: F401, I001 - catalogue order

    # A module imported earlier elsewhere (compare needs the spiral's components) registers first: the
    # registry is put back in catalogue order (families in order, each in its definition order).
    order = sorted(REGISTRY.values(), key=lambda m: _CATALOGUE_ORDER.index(m.family)
                   if m.family in _CATALOGUE_ORDER else len(_CATALOGUE_ORDER))
    if list(REGISTRY.values()) != order:
        REGISTRY.clear()
        REGISTRY.update((m.id, m) for m in order)


def reference_markdown() -> str:
    """The generated reference: every metric's id, code, unit and definition (its docstring)."""
    _load()
    parts = ["# baton_lab metric reference", "",
             "Generated from the registered metric functions (`baton-lab metrics --list`); ids are public API.", ""]
    for m in REGISTRY.values():
        flag = " — primary endpoint" if m.primary else ""
        parts += [f"## {m.code} `{m.id}` — {m.title}{flag}", "", f"Unit: {m.unit}." +
                  (f" Spiral direction: {m.direction}." if m.direction else ""), "", m.definition, ""]
    return "\n".join(parts)


def run(ctx, m: Metric):  # noqa: ANN001, ANN201 - Context/Output, kept untyped to avoid an import cycle
    """Compute a metric once per Context (the spiral index reuses its components' outputs)."""
    cache = ctx.__dict__.setdefault("_outputs", {})
    if m.id not in cache:
        cache[m.id] = m.func(ctx, m)
    return cache[m.id]
