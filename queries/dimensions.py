"""What a group of cases is broken down by, and the one pass over the case table that counts it.

Cohort pages (queries.cohorts) and the national population counts kept by every load (queries.populations) count
the same things the same way: a size, a histogram of days_to_decision, and each dimension's categories. Sharing one
counting function is what lets a cohort's comparison group be taken as "national minus cohort" exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from queries.schema import cases as c
from queries.validate import AGE_BANDS, DECISIONS, OFFENCE_GROUPS, SEXES


@dataclass(frozen=True, eq=False)   # eq on SQL expressions would build SQL, not compare
class Dimension:
    key: str                      # the name used in URLs and in the population_categories table
    label: str
    expr: sa.ColumnElement        # SQL giving the category of a case
    categories: tuple[str, ...]   # every value expr can take, in display order
    of_days: bool = False         # expr reads days_to_decision only: counted per histogram row, not per case


def _yes_no(col: sa.ColumnElement) -> sa.ColumnElement:
    return sa.case((col == 1, "Yes"), else_="No")


DAYS, _plans = c.c.days_to_decision, c.c.action_plans
DAY_BANDS = ("0-28", "29-90", "91-180", "181-365", "366+", "Pending")   # Pending: no decision, so no days
DIMENSIONS: dict[str, Dimension] = {d.key: d for d in (
    Dimension("offence_group", "Offence group", c.c.offence_group, OFFENCE_GROUPS),
    Dimension("victim_age_band", "Victim age", c.c.victim_age_band, AGE_BANDS),
    Dimension("victim_sex", "Victim sex", c.c.victim_sex, SEXES),
    Dimension("decision", "Decision", c.c.decision, DECISIONS),
    Dimension("early_advice", "Early advice", _yes_no(c.c.early_advice), ("Yes", "No")),
    Dimension("action_plans", "Action plans",
              sa.case((_plans == 0, "0"), (_plans == 1, "1"), (_plans == 2, "2"), else_="3+"), ("0", "1", "2", "3+")),
    Dimension("isva_engaged", "ISVA engaged", _yes_no(c.c.isva_engaged), ("Yes", "No")),
    Dimension("victim_withdrew", "Victim withdrew", _yes_no(c.c.victim_withdrew), ("Yes", "No")),
    Dimension("days_to_decision", "Days to decision",
              sa.case((DAYS.is_(None), "Pending"), (DAYS <= 28, "0-28"), (DAYS <= 90, "29-90"),
                      (DAYS <= 180, "91-180"), (DAYS <= 365, "181-365"), else_="366+"), DAY_BANDS, of_days=True),
)}


class OutOfStep(RuntimeError):
    """Counts that must agree do not: a category outside a dimension's list, or kept counts that no longer match
    the case table. Raised rather than showing a figure that may be wrong."""


@dataclass
class Tally:
    """One group's raw counts. Nothing here is protected: queries.cohorts protects before anything leaves it."""
    size: int = 0
    numerator: float = 0.0
    days: dict[int, int] = field(default_factory=dict)                    # decided cases by days_to_decision
    categories: dict[str, dict[str, int]] = field(default_factory=dict)   # dimension key -> category -> cases

    @classmethod
    def empty(cls, dims: list[Dimension]) -> Tally:
        return cls(categories={d.key: dict.fromkeys(d.categories, 0) for d in dims})

    def histogram(self) -> list[tuple[int, int]]:
        """(days, cases) sorted by days, zero counts left out: the input of queries.cohorts._quartiles."""
        return sorted((v, n) for v, n in self.days.items() if n)

    def add(self, other: Tally, sign: int = 1) -> None:
        """Add (or with sign -1 take away) another tally of the same dimensions, in place."""
        self.size += sign * other.size
        self.numerator += sign * other.numerator
        for v, n in other.days.items():
            self.days[v] = self.days.get(v, 0) + sign * n
        for key, cats in other.categories.items():
            mine = self.categories.setdefault(key, {})
            for k, n in cats.items():
                mine[k] = mine.get(k, 0) + sign * n


def tally(conn: sa.Connection, where: list[sa.ColumnElement], dims: list[Dimension], *,
          by: sa.ColumnElement | None = None, numerator: sa.ColumnElement | None = None,
          split: dict[str, sa.ColumnElement] | None = None) -> dict[object, Tally]:
    """Size, numerator, days histogram and the dimensions' category counts of the cases matching `where`, in one
    pass, per value of `by` (one key, None, without it).

    Grouped by days_to_decision (a few thousand values at most) for the histogram. Other dimensions are counted by
    conditional aggregation, COUNT(CASE WHEN dim = category THEN 1 END), on both stores; a dimension of
    days_to_decision alone (the bands) is a function of the grouping column, so it is read once per row.

    With `split` ({name: condition}), each case is tallied under (name, by value) for every condition it meets:
    overlapping groups (the populations of one month basis) in one pass, not one each, at half the cost. The
    conditions become columns of a subquery that the outer query groups by, since with PostgreSQL's server-side
    parameters a CASE in SELECT and the same CASE in GROUP BY carry different placeholders and do not match.
    """
    per_day = [d for d in dims if d.of_days]
    per_case = [(d, k) for d in dims if not d.of_days for k in d.categories]
    if split is None:
        keys = [] if by is None else [by]
        extra = [] if numerator is None else [numerator]
        day_cols = [d.expr for d in per_day]
        query = (sa.select(*keys, DAYS, sa.func.count(), *extra, *day_cols,
                           *(sa.func.count(sa.case((d.expr == k, 1))) for d, k in per_case))
                 .where(*where).group_by(*keys, DAYS))
        names = None
    else:
        if numerator is not None:
            raise ValueError("a split tally counts cases only")
        names = list(split)
        inner = sa.select(*([] if by is None else [by.label("by")]), DAYS.label("days"),
                          *(sa.case((cond, 1), else_=0).label(f"f{i}") for i, cond in enumerate(split.values())),
                          *(d.expr.label(f"d_{d.key}") for d in dims)).where(*where, sa.or_(*split.values())).subquery()
        keys = [*([] if by is None else [inner.c.by]), *(inner.c[f"f{i}"] for i in range(len(names)))]
        day_cols, extra = [inner.c[f"d_{d.key}"] for d in per_day], []
        query = (sa.select(*keys, inner.c.days, sa.func.count(), *day_cols,
                           *(sa.func.count(sa.case((inner.c[f"d_{d.key}"] == k, 1))) for d, k in per_case))
                 .group_by(*keys, inner.c.days, *day_cols))
    n_keys = len(keys)
    out: dict[object, Tally] = {}
    for row in conn.execute(query):
        key = row[0] if by is not None else None
        targets = [key] if names is None else [(name, key) for name, f in zip(names, row[n_keys - len(names):n_keys])
                                               if f]
        days, n, *rest = row[n_keys:]
        num = float(rest.pop(0) or 0) if extra else 0.0
        for target in targets:
            t = out.get(target) or out.setdefault(target, Tally.empty(dims))
            t.size += n
            t.numerator += num
            if days is not None:
                t.days[days] = t.days.get(days, 0) + n
            for d, value in zip(per_day, rest):
                if value not in t.categories[d.key]:   # loads validate codes: a schema change
                    raise OutOfStep(f"categories missing from the dimension whitelist: {[value]}")
                t.categories[d.key][value] += n
            for (d, k), count in zip(per_case, rest[len(per_day):]):
                t.categories[d.key][k] += count
    for t in out.values():
        for d in dims:
            if sum(t.categories[d.key].values()) != t.size:
                raise OutOfStep(f"categories missing from the dimension whitelist: {d.key} has other values")
    return out
