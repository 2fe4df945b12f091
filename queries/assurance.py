"""Is a change real or noise, and is the target met reliably? SPC for a metric over a selection of units.

Builds the monthly series a board sees and hands it to queries.spc. The choices (docs/spc.md says them in users'
words, and why):

* Always monthly. An XmR chart needs at least 13 points; quarters would give too few, so the grain filter does not
  apply.
* Months: from the filter's `from` (default: the metric's first month of data) to the end of the period shown
  (`to`, default the latest month). The default "latest 12 months" window of the other views is not used: 12 points
  are too few for limits and would hide the pre-pilot baseline.
* Each month's value is the ratio of summed numerators to summed denominators over the selected units (rollup),
  then disclosure control (suppress). A withheld month is a gap: it is left out of the mean and the moving ranges,
  so the lines cannot be used to work the withheld value back. A month with no data at all is a gap too (no moving
  range is taken across it).
* Recalculation: limits are recalculated from the pilot start, the earliest start month of the metric's workstream
  among the pilot sites the selection covers (one of the selected Areas and, if forces are chosen, one of those
  forces). Nationally that is the workstream's first pilot start. A selection with no pilot site for the workstream
  keeps one set of limits. Later changes (other sites starting; the national roll-out of July 2023) do not recalculate.
* Target: an Area's own target (sample_data/reference/targets.csv) when that Area alone is selected, else the
  metric catalogue's national `target` (Reference.metric_for).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import polars as pl
import sqlalchemy as sa

from queries.disclosure import DEFAULT_THRESHOLD
from queries.filters import Filters
from queries.metrics import monthly_sums, rollup, suppress
from queries.months import month_range
from queries.reference import Metric, Reference
from queries.spc import (COMMON_CAUSE, NOT_ENOUGH_POINTS, SPCSettings, assurance_of, spc_columns, spc_frame,
                         variation_of)

COLUMN_TYPES = {"icon": pl.String}   # `suppressed` is inferred, as it always was (Boolean; Null when empty)
RULE_WORDS = {"outside_limits": "outside a process limit", "shift": "shift", "trend": "trend",
              "two_of_three": "two of three beyond two sigma"}


@dataclass(frozen=True)
class MetricSPC:
    """One metric's XmR table for one selection, with the icons' words.

    `columns` are queries.spc.spc_columns' lists plus `suppressed` (the month was withheld: show [c]) and `icon`
    (the variation icon's words for that point; empty for a gap). `table` is them as a frame, built only when a
    page asks: the overview shows 17 tiles' icons and no table (docs/performance.md).
    """
    metric: Metric
    columns: dict[str, list]
    recalc_from: str | None
    target: float | None
    variation: str
    assurance: str | None

    @cached_property
    def table(self) -> pl.DataFrame:
        return spc_frame(self.columns, COLUMN_TYPES)

    @property
    def latest(self) -> dict | None:
        """The last month with a value: the point the variation icon describes."""
        seen = [i for i, v in enumerate(self.columns["value"]) if v is not None]
        return {name: values[seen[-1]] for name, values in self.columns.items()} if seen else None


def covers(filters: Filters, area_code: str, force_code: str) -> bool:
    """Whether a (Area, force) unit is inside the selection, as unit_condition selects it in SQL."""
    return (not filters.areas or area_code in filters.areas) and (not filters.forces or force_code in filters.forces)


def pilot_start(ref: Reference, workstream: str, filters: Filters) -> str | None:
    """The earliest pilot start of the workstream among the units the selection covers; None if it has none."""
    starts = [p.start_month for p in ref.pilot_sites
              if p.workstream_code == workstream and covers(filters, p.area_code, p.force_code)]
    return min(starts) if starts else None


def monthly_values(sums: pl.DataFrame, ref: Reference, threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Monthly sums (any level) -> one suppressed value per month, metric and level key. Pure."""
    return suppress(rollup(sums, "month", ref), ref, threshold)


def point_words(value: float | None, mean: float | None, variation: str, side: str) -> str:
    """The variation icon's words for one point, as the icon would show if this were the latest point."""
    if value is None:
        return ""
    if mean is None:
        return NOT_ENOUGH_POINTS
    return f"special cause {variation} ({side})" if side else COMMON_CAUSE


def series_spc(values: pl.DataFrame, metric: Metric, months: list[str], recalc_from: str | None,
               settings: SPCSettings = SPCSettings()) -> MetricSPC:
    """One metric's values (period, value, suppressed) over `months`, gaps filled, through the XmR rules. Pure."""
    shown = {p: (v, s) for p, v, s in values.select("period", "value", "suppressed").iter_rows()}
    return _spc_of(shown, metric, months, recalc_from, settings)


def _spc_of(shown: dict[str, tuple], metric: Metric, months: list[str], recalc_from: str | None,
            settings: SPCSettings) -> MetricSPC:
    """series_spc on {period: (value, suppressed)}: plain lists between the steps, since the overview runs this
    for every measure and each small polars operation costs more than the arithmetic (docs/performance.md)."""
    gap = (None, False)
    vals = [shown.get(m, gap)[0] for m in months]
    cols = spc_columns(months, vals, direction=metric.direction, recalc_from=recalc_from, target=metric.target,
                       settings=settings)
    cols["suppressed"] = [bool(shown.get(m, gap)[1]) for m in months]
    cols["icon"] = [point_words(*point) for point in zip(cols["value"], cols["mean"], cols["variation"], cols["side"])]
    inside = bool(months and recalc_from and months[0] < recalc_from <= months[-1])
    return MetricSPC(metric, cols, recalc_from if inside else None, metric.target,
                     variation_of(cols, metric.direction), assurance_of(cols, metric.target, metric.direction))


def spc_months(values: pl.DataFrame, first: str | None, last: str) -> list[str]:
    """Every month from the series' first month of data (or `first`, if later) to `last`."""
    return _months_of(values["period"].to_list(), first, last)


def _months_of(periods, first: str | None, last: str) -> list[str]:
    present = [p for p in periods if p <= last]
    if not present:
        return []
    start = max(min(present), first) if first else min(present)
    return month_range(start, last) if start <= last else []


def selection_spc(sums: pl.DataFrame, ref: Reference, filters: Filters, last: str,
                  threshold: int = DEFAULT_THRESHOLD, metric_codes: list[str] | None = None,
                  settings: SPCSettings = SPCSettings()) -> dict[str, MetricSPC]:
    """Pure: the selection's monthly sums (national level, any months) -> an XmR result per metric."""
    window = sums.filter(pl.col("month") <= last)
    if filters.period_from:
        window = window.filter(pl.col("month") >= filters.period_from)
    shown: dict[str, dict[str, tuple]] = {}
    for code, period, value, suppressed in (monthly_values(window, ref, threshold)
                                            .select("metric_code", "period", "value", "suppressed").iter_rows()):
        shown.setdefault(code, {})[period] = (value, suppressed)
    out = {}
    for code in metric_codes or list(ref.metrics):
        metric = ref.metric_for(code, filters.areas)
        mine = shown.get(code, {})
        out[code] = _spc_of(mine, metric, _months_of(mine, filters.period_from, last),
                            pilot_start(ref, metric.workstream_code, filters), settings)
    return out


def metric_spc(engine: sa.Engine, filters: Filters, metric_code: str, ref: Reference, last: str,
               threshold: int = DEFAULT_THRESHOLD, settings: SPCSettings = SPCSettings()) -> MetricSPC:
    """One query (the selection's monthly sums of one metric), then the pure steps above."""
    sums = monthly_sums(engine, filters.with_(period_to=last), [metric_code])
    return selection_spc(sums, ref, filters, last, threshold, [metric_code], settings)[metric_code]


def rules_in_words(special_cause: str) -> str:
    """'outside_limits,shift' -> 'outside a process limit; shift'."""
    return "; ".join(RULE_WORDS[r] for r in special_cause.split(",") if r)
