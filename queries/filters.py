"""One immutable Filters value: what every query, page, callback and export takes.

Parsed from a URL query string (or callback values) and validated against reference data in one place, so a bad
value is refused the same way everywhere. Parsing never raises: it returns the defaults plus a list of messages
the page shows.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from queries.months import is_month
from queries.reference import Reference

GRAINS = ("month", "quarter", "year")
LEVELS = ("national", "area", "force")
MAX_LIST = 60          # more codes than exist is a crafted request, not a user
MAX_VALUE_LENGTH = 40


@dataclass(frozen=True)
class Filters:
    areas: tuple[str, ...] = ()
    forces: tuple[str, ...] = ()
    period_from: str | None = None
    period_to: str | None = None
    workstream: str | None = None
    grain: str = "month"
    scope_areas: tuple[str, ...] | None = None   # the user's Areas for cohort data; None = unrestricted

    def with_(self, **changes) -> Filters:
        return replace(self, **changes)

    @property
    def is_national(self) -> bool:
        return not self.areas and not self.forces

    def to_query(self) -> dict[str, list[str] | str]:
        """The URL query parameters that reproduce these filters (defaults left out)."""
        q: dict[str, list[str] | str] = {}
        if self.areas:
            q["area"] = list(self.areas)
        if self.forces:
            q["force"] = list(self.forces)
        if self.period_from:
            q["from"] = self.period_from
        if self.period_to:
            q["to"] = self.period_to
        if self.workstream:
            q["workstream"] = self.workstream
        if self.grain != "month":
            q["grain"] = self.grain
        return q


@dataclass(frozen=True)
class Parsed:
    filters: Filters
    errors: tuple[str, ...] = field(default=())


def _values(query: Mapping, key: str) -> list[str]:
    raw = query.get(key, [])
    if isinstance(raw, str):
        raw = [raw]
    out = []
    for item in raw:
        out.extend(v.strip() for v in str(item).split(",") if v.strip())
    return out


def parse_filters(query: Mapping[str, str | Iterable[str]], ref: Reference) -> Parsed:
    """Validate query parameters; keep what is valid, drop what is not, and say what was dropped."""
    errors: list[str] = []

    def codes(key: str, known: Mapping[str, str], label: str) -> tuple[str, ...]:
        vals = _values(query, key)
        if len(vals) > MAX_LIST:
            errors.append(f"Too many values for '{key}' ({len(vals)}); showing all {label}s instead.")
            return ()
        good = []
        for v in vals:
            if len(v) > MAX_VALUE_LENGTH or v not in known:
                errors.append(f"Unknown {label} '{v[:MAX_VALUE_LENGTH]}' in '{key}' was ignored.")
            elif v not in good:
                good.append(v)
        return tuple(good)

    areas = codes("area", ref.areas, "CPS Area")
    forces = codes("force", ref.forces, "police force")
    if areas and forces:
        outside = [f for f in forces if not set(ref.areas_of(f)) & set(areas)]
        if outside:
            errors.append("Force(s) " + ", ".join(outside) + " are not in the chosen Areas and were ignored.")
            forces = tuple(f for f in forces if f not in outside)

    def month(key: str) -> str | None:
        vals = _values(query, key)
        if not vals:
            return None
        if len(vals) > 1 or not is_month(vals[0]):
            errors.append(f"'{key}' must be a month like 2024-03; '{vals[0][:MAX_VALUE_LENGTH]}' was ignored.")
            return None
        return vals[0]

    start, end = month("from"), month("to")
    if start and end and start > end:
        errors.append(f"'from' ({start}) is after 'to' ({end}); showing all months instead.")
        start = end = None
    grain = "month"
    if g := _values(query, "grain"):
        if g[0] in GRAINS:
            grain = g[0]
        else:
            errors.append(f"Unknown grain '{g[0][:MAX_VALUE_LENGTH]}'; showing months.")
    workstream = None
    if w := _values(query, "workstream"):
        if w[0] in {x.workstream_code for x in ref.workstreams}:
            workstream = w[0]
        else:
            errors.append(f"Unknown workstream '{w[0][:MAX_VALUE_LENGTH]}' was ignored.")
    return Parsed(Filters(areas, forces, start, end, workstream, grain), tuple(errors))
