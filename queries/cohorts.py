"""Cohort drill-down: the anonymised cases behind one headline number, protected before anything leaves here.

A cohort is the population of a case-sourced metric (queries.measures: the condition and month basis that
materialise the headline) for a period and the Filters' units, so its size and numerator reconcile exactly with
queries.metrics.metric_values. Only counts, a rate and quartiles leave this module, never a case row or case_id, and
all of them have been through queries.disclosure: a cohort under the threshold yields only "fewer than N cases".

Groups. Units are (Area, force) pairs, the reporting unit. The comparison group is always every unit NOT in the
cohort (none if that is empty), so cohort + comparison = England and Wales:
- Filters select Areas/forces: cohort = the selected units (the rule of metrics.unit_condition), "Selection" vs
  "Rest of England and Wales".
- National, and the metric's workstream has pilot sites: cohort = its pilot units, "Pilot sites" vs "Comparison
  sites" (the never-treated sites of queries.effects). Membership is by unit, not month: a period before a site's
  start month shows its baseline.
- National, no pilot sites for the workstream: cohort = every unit, "England and Wales"; no comparison group.
Filters.scope_areas cuts the cohort to units in the user's Areas whatever the Filters ask for, and the comparison
is then the rest of the country (labels say so). Taking the complement of the visible cohort, not of the selection,
means a scoped user only ever sees units outside their Areas as one block: comparisons for two selections cannot be
subtracted to reveal another Area.

Because the groups add up to the national figure, which the headline publishes, they are protected together:
sizes and numerators as one line (queries.disclosure.protect_one_way), breakdowns as a group x category table
(protect_cross_table, each category's national count taken as published), so "national minus comparison" never
recovers a suppressed cell, even with the national breakdown from another view. Not covered:
differencing two different selections, or a cross-table against a one-way table (linked tables).

Periods: 'YYYY-MM', 'YYYY-Qn', 'YYYY', or None / "period" (metric_values' whole-period label) for the Filters'
from..to. A period is cut to the Filters' from..to, as metric_values counts it; an empty result is a ValueError.

Quartiles of days_to_decision are exact, from a per-value histogram (GROUP BY days_to_decision: at most 3,651 rows
whatever the cohort size), by linear interpolation between order statistics at h = (n - 1) p: Hyndman & Fan type 7,
numpy/polars 'linear', statistics.quantiles(method='inclusive'). Integer data and p in quarters make it identical on
SQLite and PostgreSQL. The quartiles' base (cases with a decision) is not shown: with the size it would reveal the
number still pending by subtraction.

One pass over one group: that histogram query also counts the size and numerator and, for cohort_profile, every
dimension's categories (queries.dimensions.tally). The other group is never scanned: the groups add up to England
and Wales, whose counts each load keeps (queries.populations), so it is national minus the scanned group, exactly.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate, product

import polars as pl
import sqlalchemy as sa

from queries import disclosure as dc, populations
from queries.dimensions import DIMENSIONS, Dimension, OutOfStep, Tally, tally
from queries.filters import Filters
from queries.measures import CASE_MEASURES, CaseMeasure
from queries.metrics import unit_terms
from queries.reference import Reference
from queries.schema import cases as c, monthly as mo

WHOLE_PERIOD = "period"
GROUPS = ("cohort", "comparison")
QUARTILES = (0.25, 0.5, 0.75)
Unit = tuple[str, str]
_PERIOD = re.compile(r"(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?")


class CohortTooSmall(Exception):
    """Raised instead of a breakdown when the cohort (or the group asked for) may not be shown."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class GroupSummary:
    """One group's figures; everything but label and message is None when the group may not be shown."""
    label: str
    size: int | None = None            # cases in the metric's population (the denominator, or the count)
    numerator: float | None = None     # as metric_values: flagged cases, summed column, or the count
    value: float | None = None
    value_suppressed: bool = True      # a numerator of 1..threshold-1 here or in the other group
    days_q1: float | None = None
    days_median: float | None = None
    days_q3: float | None = None
    days_suppressed: bool = True       # fewer than threshold cases with a decision
    message: str | None = None         # why the group is not shown, e.g. "fewer than 10 cases"


@dataclass(frozen=True)
class CohortSummary:
    metric_code: str
    basis: str                  # referral_month or decision_month: the month a case counts in
    first_month: str | None     # months covered; None = unbounded (the Filters set no from/to)
    last_month: str | None
    threshold: int
    cohort: GroupSummary
    comparison: GroupSummary | None
    restricted: bool            # the user's scope removed some selected units from the cohort


@dataclass(frozen=True)
class _Plan:
    measure: CaseMeasure
    first: str | None
    last: str | None
    units: dict[str, tuple[Unit, ...]]   # "cohort" always; "comparison" when any unit is outside the cohort
    labels: dict[str, str]
    restricted: bool


def cohort_period_bounds(period: str) -> tuple[str, str]:
    """First and last month of 'YYYY-MM', 'YYYY-Qn' or 'YYYY'."""
    m = _PERIOD.fullmatch(period) if isinstance(period, str) else None
    if m is None:
        raise ValueError(f"period must look like 2024-03, 2024-Q1 or 2024; got {str(period)[:40]!r}")
    year, month, quarter = m.groups()
    if month:
        return period, period
    if quarter:
        q = int(quarter)
        return f"{year}-{3 * q - 2:02d}", f"{year}-{3 * q:02d}"
    return f"{year}-01", f"{year}-12"


def _months(filters: Filters, period: str | None) -> tuple[str | None, str | None]:
    first, last = (None, None) if period in (None, WHOLE_PERIOD) else cohort_period_bounds(period)
    if filters.period_from and (first is None or filters.period_from > first):
        first = filters.period_from
    if filters.period_to and (last is None or filters.period_to < last):
        last = filters.period_to
    if first and last and first > last:
        raise ValueError(f"period {period!r} is outside the filters' months "
                         f"{filters.period_from or '...'} to {filters.period_to or '...'}")
    return first, last


def _measure(metric_code: str, ref: Reference) -> CaseMeasure:
    metric = ref.metrics.get(metric_code) if isinstance(metric_code, str) else None
    if metric is None:
        raise ValueError(f"unknown metric {str(metric_code)[:40]!r}")
    if metric.source != "cases" or metric_code not in CASE_MEASURES:
        raise ValueError(f"metric {metric_code!r} is reported only in aggregate returns: it has no case cohort")
    return CASE_MEASURES[metric_code]


def _plan(filters: Filters, metric_code: str, period: str | None, ref: Reference) -> _Plan:
    """Resolve the metric, months and each group's units (see the module docstring for the rules)."""
    measure = _measure(metric_code, ref)
    first, last = _months(filters, period)
    units = sorted(ref.pairs)
    if not filters.is_national:
        label = "Selection"
        chosen = [u for u in units if (not filters.areas or u[0] in filters.areas)
                  and (not filters.forces or u[1] in filters.forces)]
    else:
        workstream = ref.metrics[metric_code].workstream_code
        pilots = {(p.area_code, p.force_code) for p in ref.pilot_sites if p.workstream_code == workstream}
        label, chosen = ("Pilot sites", [u for u in units if u in pilots]) if pilots else ("England and Wales", units)
    scope = filters.scope_areas
    if isinstance(scope, str):   # "WES" would match Areas by substring: refuse rather than guess
        raise ValueError("scope_areas must be a tuple of Area codes, or None")
    cohort = tuple(u for u in chosen if scope is None or u[0] in scope)
    restricted = len(cohort) < len(chosen)
    groups, labels = {"cohort": cohort}, {"cohort": label + (" (your Areas only)" if restricted else "")}
    if rest := tuple(u for u in units if u not in cohort):
        groups["comparison"] = rest
        pilot_split = label == "Pilot sites" and not restricted
        labels["comparison"] = "Comparison sites" if pilot_split else "Rest of England and Wales"
    return _Plan(measure, first, last, groups, labels, restricted)


def _where(plan: _Plan, group: str) -> list[sa.ColumnElement]:
    """Units, months, then the population."""
    month, units = c.c[plan.measure.basis], plan.units[group]
    if not units:
        return [sa.false()]
    where = [*unit_terms(c, units), month.is_not(None)]
    if plan.first:
        where.append(month >= plan.first)
    if plan.last:
        where.append(month <= plan.last)
    return [*where, plan.measure.population]


def _dimension(key: str) -> Dimension:
    if not isinstance(key, str) or key not in DIMENSIONS:
        raise ValueError(f"unknown dimension {str(key)[:40]!r}; expected one of {', '.join(DIMENSIONS)}")
    return DIMENSIONS[key]


def _hidden(values: dict[str, float], t: int) -> dict[str, bool]:
    """Which groups' figure to suppress: the groups add up to the published national figure, so they form one line
    and a figure of 1..t-1 in either hides the other too (unless that is a true zero)."""
    line = pl.DataFrame({"group": list(values), "n": [int(v) for v in values.values()]},
                        schema={"group": pl.String, "n": pl.Int64})
    return dict(zip(values, dc.protect_one_way(line, "group", "n", t)["n_suppressed"].to_list()))


def _refusal(plan: _Plan, sizes: dict[str, int], t: int) -> dict[str, str | None]:
    """The message shown instead of each group, or None. A group needs threshold cases; the other group is hidden
    with it (national minus one gives the other), and nothing is shown beside a cohort that is refused."""
    small = dc.too_small_message(t)
    out = {g: small if dc.cohort_too_small(n, t) else None for g, n in sizes.items()}
    if "comparison" in sizes:
        hidden = _hidden(sizes, t)
        for g, other in (("cohort", "comparison"), ("comparison", "cohort")):
            if not out[g] and (hidden[g] or (g == "comparison" and out["cohort"])):
                out[g] = f"not shown: {plan.labels[other]} has {small}"
    return out


def _quartiles(hist: list[tuple[int, int]]) -> tuple[float, ...]:
    """Type 7 quantiles from (value, count) rows sorted by value: exact, as if computed on the expanded values."""
    values, cum = [v for v, _ in hist], list(accumulate(n for _, n in hist))
    n = cum[-1]
    out = []
    for p in QUARTILES:
        h = (n - 1) * p
        lo = int(h)
        a, b = (values[bisect_right(cum, k)] for k in (lo, min(lo + 1, n - 1)))   # k-th smallest, 0-based
        out.append(float(a + (h - lo) * (b - a)))
    return tuple(out)


def _scan(conn: sa.Connection, plan: _Plan, group: str, dims: list[Dimension]) -> Tally:
    """One group's size, numerator, days histogram and category counts, in one pass over its cases."""
    found = tally(conn, _where(plan, group), dims, numerator=plan.measure.numerator_sql())
    return found.get(None) or Tally.empty(dims)


def _headline(conn: sa.Connection, plan: _Plan, group: str) -> tuple[int, float]:
    """A group's size and numerator as the headline counts them, from the monthly table (a few hundred index
    entries, not its cases): materialised from the same definitions, so they equal a count of its cases."""
    m, units = plan.measure, plan.units[group]
    where = [mo.c.metric_code == m.metric_code, *unit_terms(mo, units)]
    if plan.first:
        where.append(mo.c.month >= plan.first)
    if plan.last:
        where.append(mo.c.month <= plan.last)
    num, den = conn.execute(sa.select(sa.func.sum(mo.c.numerator), sa.func.sum(mo.c.denominator)).where(*where)).one()
    size = den if m.has_denominator else num
    return int(size or 0), float(num or 0)


def _counts(conn: sa.Connection, plan: _Plan, dims: list[Dimension]) -> dict[str, Tally]:
    """Every group's tally, scanning at most one group: the groups add up to England and Wales, so the other is
    the national counts kept by each load (queries.populations) minus the scanned one. The group with fewer units
    is scanned (usually the cohort); a cohort of every unit is the national counts alone.

    The derived group's size is checked against the headline's: kept counts that have drifted from the cases
    raise OutOfStep rather than show a wrong comparison."""
    groups, scanned = list(plan.units), {}
    if len(groups) == 2:
        g = "comparison" if len(plan.units["comparison"]) < len(plan.units["cohort"]) else "cohort"
        scanned[g] = _scan(conn, plan, g, dims)
    (derived,) = [g for g in groups if g not in scanned]
    other = populations.national(conn, plan.measure.cases, plan.first, plan.last)
    for t in scanned.values():
        other.add(t, -1)
    size, other.numerator = _headline(conn, plan, derived)
    other.categories = {d.key: other.categories[d.key] for d in dims}
    negative = any(n < 0 for n in other.days.values()) or any(n < 0 for k in other.categories.values()
                                                               for n in k.values())
    if other.size != size or negative:
        raise OutOfStep(f"the kept national counts of {plan.measure.cases.name} cases no longer match the case "
                        "table: run `python -m dashboard init --recount`")
    return {g: scanned.get(g) or other for g in groups}


def _summary(plan: _Plan, counts: dict[str, Tally], t: int) -> CohortSummary:
    """The groups' sizes, numerators and quartiles, protected (see _refusal and _hidden)."""
    m = plan.measure
    refused = _refusal(plan, {g: k.size for g, k in counts.items()}, t)
    num_hidden = _hidden({g: k.numerator for g, k in counts.items()}, t)
    out = {}
    for g, k in counts.items():
        if refused[g]:
            out[g] = GroupSummary(plan.labels[g], message=refused[g])
            continue
        days_small = dc.cohort_too_small(sum(k.days.values()), t)
        num = None if num_hidden[g] else float(k.numerator)
        value = None if num is None else num / k.size if m.has_denominator else num
        out[g] = GroupSummary(plan.labels[g], k.size, num, value, num is None,
                              *((None,) * 3 if days_small else _quartiles(k.histogram())), days_small)
    return CohortSummary(m.metric_code, m.basis, plan.first, plan.last, t, out["cohort"], out.get("comparison"),
                         plan.restricted)


def cohort_summary(engine: sa.Engine, filters: Filters, metric_code: str, period: str | None, ref: Reference,
                   threshold: int = dc.DEFAULT_THRESHOLD) -> CohortSummary:
    """Size, numerator, value and days-to-decision quartiles of the cohort and its comparison group, protected."""
    t = dc.check_threshold(threshold)
    plan = _plan(filters, metric_code, period, ref)
    with engine.connect() as conn:
        return _summary(plan, _counts(conn, plan, []), t)


def cohort_profile(engine: sa.Engine, filters: Filters, metric_code: str, period: str | None, ref: Reference,
                   dims: tuple[str, ...] = tuple(DIMENSIONS), threshold: int = dc.DEFAULT_THRESHOLD
                   ) -> tuple[CohortSummary, dict[str, dict[str, pl.DataFrame]]]:
    """cohort_summary, and {dimension: {group: the table breakdown() gives}} for the groups the summary shows
    (none when the cohort is refused): one pass over one group's cases, however many dimensions."""
    t = dc.check_threshold(threshold)
    ds = [_dimension(k) for k in dict.fromkeys((dims,) if isinstance(dims, str) else dims)]
    plan = _plan(filters, metric_code, period, ref)
    with engine.connect() as conn:
        counts = _counts(conn, plan, ds)
    summary = _summary(plan, counts, t)
    shown = [g for g in plan.units if not getattr(summary, g).message]
    return summary, {d.key: {g: _one_way({h: k.categories[d.key] for h, k in counts.items()}, d, g, t)
                             for g in shown} for d in ds}


def breakdowns(engine: sa.Engine, filters: Filters, metric_code: str, period: str | None, ref: Reference,
               dims: tuple[str, ...] = tuple(DIMENSIONS), threshold: int = dc.DEFAULT_THRESHOLD
               ) -> dict[str, dict[str, pl.DataFrame]]:
    """{dimension: {group: table}}: what breakdown() gives for each dimension and each group that may be shown,
    counted in one pass. Raises CohortTooSmall when the cohort may not be shown."""
    summary, tables = cohort_profile(engine, filters, metric_code, period, ref, dims, threshold)
    if summary.cohort.message:
        raise CohortTooSmall(summary.cohort.message)
    return tables


def _cross_counts(conn: sa.Connection, plan: _Plan, d1: Dimension, d2: Dimension) -> dict[tuple[str, str], int]:
    """The cohort's cases per (d1, d2) category pair. SQL groups by the columns of a subquery rather than by the CASE
    expressions: with PostgreSQL's server-side parameters the CASE in SELECT and in GROUP BY would carry different
    placeholders and not match."""
    inner = (sa.select(d1.expr.label("d1"), d2.expr.label("d2")).where(*_where(plan, "cohort")).subquery())
    out = {(a, b): n for a, b, n in conn.execute(sa.select(inner.c.d1, inner.c.d2, sa.func.count())
                                                 .group_by(inner.c.d1, inner.c.d2))}
    if unexpected := set(out) - set(product(d1.categories, d2.categories)):   # loads validate codes
        raise OutOfStep(f"categories missing from the dimension whitelist: {sorted(unexpected)}")
    return out


def _one_way(counts: dict[str, dict[str, int]], d: Dimension, group: str, t: int) -> pl.DataFrame:
    """One group's protected one-way table from every group's category counts (see breakdown)."""
    cats = list(d.categories)
    if len(counts) == 1:
        frame = pl.DataFrame({"category": cats, "count": [counts[group].get(k, 0) for k in cats]},
                             schema={"category": pl.String, "count": pl.Int64})
        out = dc.protect_one_way(frame, "category", "count", t)
    else:
        cells = list(product(GROUPS, cats))
        frame = pl.DataFrame({"group": [g for g, _ in cells], "category": [k for _, k in cells],
                              "count": [counts[g].get(k, 0) for g, k in cells]},
                             schema={"group": pl.String, "category": pl.String, "count": pl.Int64})
        out = (dc.protect_cross_table(frame, "group", "category", "count", t, column_totals_published=True)
               .filter(pl.col("group") == group).drop("group"))
    total = out.filter(pl.col("category") == dc.TOTAL)["count"][0]   # None if suppressed: then no shares
    return out.with_columns(pl.when(pl.col("count_suppressed") | pl.lit(total is None)).then(None)
                            .otherwise(pl.col("count") / (total or 1)).alias("share"))


def breakdown(engine: sa.Engine, filters: Filters, metric_code: str, period: str | None, ref: Reference,
              dim: str, threshold: int = dc.DEFAULT_THRESHOLD, group: str = "cohort") -> pl.DataFrame:
    """One-way table: category, count, count_suppressed, share; every category in order, then "Total".

    With a comparison group, both groups are protected as one group x category table (see the module docstring).
    Raises CohortTooSmall when the group may not be shown. cohort_profile gives several dimensions at once."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}; got {str(group)[:40]!r}")
    summary, tables = cohort_profile(engine, filters, metric_code, period, ref, (_dimension(dim).key,), threshold)
    if getattr(summary, group) is None:
        raise ValueError("there is no comparison group: the cohort covers every unit")
    if message := getattr(summary, group).message:
        raise CohortTooSmall(message)
    return tables[dim][group]


def cross_table(engine: sa.Engine, filters: Filters, metric_code: str, period: str | None, ref: Reference,
                dim1: str, dim2: str, threshold: int = dc.DEFAULT_THRESHOLD) -> pl.DataFrame:
    """The cohort's two-way table, long format (dim1, dim2, count, count_suppressed) with "Total" margins.

    Columns are named by the dimension keys; every combination appears, zeros included. Cohort only: the comparison
    would need a three-way protected table (its size, for the refusal, is the headline's). Raises CohortTooSmall
    when the cohort may not be shown."""
    t, d1, d2 = dc.check_threshold(threshold), _dimension(dim1), _dimension(dim2)
    if d1.key == d2.key:
        raise ValueError(f"a cross-table needs two different dimensions; got {d1.key!r} twice")
    plan = _plan(filters, metric_code, period, ref)
    with engine.connect() as conn:
        counts = _cross_counts(conn, plan, d1, d2)
        sizes = {"cohort": sum(counts.values())}
        if "comparison" in plan.units:
            sizes["comparison"] = _headline(conn, plan, "comparison")[0]
    if message := _refusal(plan, sizes, t)["cohort"]:
        raise CohortTooSmall(message)
    cells = list(product(d1.categories, d2.categories))
    frame = pl.DataFrame({d1.key: [a for a, _ in cells], d2.key: [b for _, b in cells],
                          "count": [counts.get(k, 0) for k in cells]},
                         schema={d1.key: pl.String, d2.key: pl.String, "count": pl.Int64})
    return dc.protect_cross_table(frame, d1.key, d2.key, "count", t)
