"""The heading-to-tier mapping: which canonical tier the items under a heading belong to, read from data
(`baton_lab/data/heading_tiers.toml`, or a user's file of the same shape passed as `--mapping FILE`)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Iterable

from ..errors import BatonLabError
from .markdown import Heading, normal_heading

TIERS = ("follow_ups", "decisions", "open_loops", "patterns", "context", "history")
ITEM_TIERS = ("follow_ups", "decisions", "open_loops", "patterns")


class MappingError(BatonLabError):
    hint = "a mapping file is TOML with [[tier]] tables: tier = \"follow_ups\", headings = [\"next steps\", ...] " \
           "(see baton_lab/data/heading_tiers.toml)"


@dataclass(frozen=True, slots=True)
class Target:
    tier: str
    status: str | None
    synonym: str


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an item goes: its tier and status, the heading that decided it, and the unmapped headings above it."""

    tier: str                # one of TIERS; `context` when nothing maps
    status: str | None
    heading: Heading | None  # the nearest mapped heading or label
    historical: bool         # under a `history` heading


class TierMapping:
    def __init__(self, rules: dict[str, Target], origin: str) -> None:
        self.rules = rules          # normalised synonym -> target
        self.origin = origin
        self._cache: dict[str, Target | None] = {}

    @classmethod
    def from_toml(cls, text: str, origin: str) -> "TierMapping":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MappingError(f"{origin}: not TOML ({exc})") from None
        entries = data.get("tier")
        if not isinstance(entries, list) or not entries:
            raise MappingError(f"{origin}: no [[tier]] tables")
        rules: dict[str, Target] = {}
        for n, entry in enumerate(entries, start=1):
            tier, headings = entry.get("tier"), entry.get("headings")
            if tier not in TIERS:
                raise MappingError(f"{origin}: [[tier]] #{n} has tier {tier!r}; expected one of {', '.join(TIERS)}")
            if not isinstance(headings, list) or not all(isinstance(h, str) for h in headings):
                raise MappingError(f"{origin}: [[tier]] #{n} ({tier}) needs headings = [\"...\", ...]")
            status = entry.get("status")
            for heading in headings:
                key = normal_heading(heading)
                if key:
                    rules.setdefault(key, Target(tier, status if isinstance(status, str) else None, key))
        return cls(rules, origin)

    def target(self, heading: Heading) -> Target | None:
        """The mapped target of one heading: the longest synonym the normalised heading equals, starts or ends with."""
        key = normal_heading(heading.text)
        if key in self._cache:
            return self._cache[key]
        words = key.split()
        best: Target | None = None
        for size in range(len(words), 0, -1):
            for phrase in (" ".join(words[:size]), " ".join(words[-size:])):
                if phrase in self.rules:
                    best = self.rules[phrase]
                    break
            if best is not None:
                break
        if best is None and " " not in key and not key.isascii():  # Chinese (no spaces): prefix/suffix by character
            for size in range(len(key), 0, -1):
                for phrase in (key[:size], key[-size:]):
                    if phrase in self.rules and size >= 2:
                        best = self.rules[phrase]
                        break
                if best is not None:
                    break
        self._cache[key] = best
        return best

    def place(self, path: Iterable[Heading]) -> Placement:
        """The tier of an item whose enclosing headings (outermost first, then its label) are `path`."""
        chain = list(path)
        historical = any((t := self.target(h)) is not None and t.tier == "history" for h in chain)
        for heading in reversed(chain):
            target = self.target(heading)
            if target is None or target.tier == "history":
                continue
            tier = target.tier
            if historical and tier in ("follow_ups", "open_loops"):
                tier = "context"
            return Placement(tier, target.status, heading, historical)
        return Placement("context", None, None, historical)

    def unmapped(self, headings: Iterable[Heading]) -> list[Heading]:
        return [h for h in headings if self.target(h) is None]


_DEFAULT: TierMapping | None = None


def default_mapping() -> TierMapping:
    global _DEFAULT
    if _DEFAULT is None:
        text = resources.files("baton_lab").joinpath("data", "heading_tiers.toml").read_text("utf-8")
        _DEFAULT = TierMapping.from_toml(text, "baton_lab/data/heading_tiers.toml")
    return _DEFAULT


_ACTIVE: TierMapping | None = None


def load_mapping(path: str | PathLike[str]) -> TierMapping:
    file = Path(path)
    if not file.is_file():
        raise MappingError(f"no such mapping file: {file}")
    return TierMapping.from_toml(file.read_text("utf-8"), str(file))


def active_mapping() -> TierMapping:
    """The mapping prose formats read with: the user's (`--mapping`, set for one import by `using_mapping`) or the
    shipped one."""
    return _ACTIVE or default_mapping()


class using_mapping:
    """Context manager: prose formats read with `mapping` for the duration (one import)."""

    def __init__(self, mapping: TierMapping | None) -> None:
        self.mapping = mapping

    def __enter__(self) -> TierMapping:
        global _ACTIVE
        self.previous, _ACTIVE = _ACTIVE, self.mapping
        return active_mapping()

    def __exit__(self, *exc: object) -> None:
        global _ACTIVE
        _ACTIVE = self.previous
