"""The exceptions report: every metric and CPS Area needing a board's attention, most serious first.

An Area's metric is an exception when, on its XmR chart (queries.assurance: monthly, ratio of sums, suppressed
months as gaps, limits recalculated from the Area's own pilot start), either the latest point shows special-cause
concern, or a target is failing: consistently (the target lies beyond the process limits on the wrong side) or at
the latest point (the latest value did not meet it).

Ordering, most serious first (docs/spc.md explains why):
  1. special-cause concern at the latest point and consistently failing the target;
  2. consistently failing the target: as the process runs now, the target will not be met without a change;
  3. special-cause concern at the latest point: something has changed for the worse;
  4. the latest value did not meet the target, which the process meets only some of the time ("hit and miss"),
     or whose limits cannot be worked out yet.
Within a group: failing targets by how far the process mean is from the target, concerns by how far the latest
point is from the mean, both in sigma (a third of the mean-to-limit distance), largest first; items without
limits come last; then catalogue order and Area name, so the order never depends on dictionary order.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from queries.assurance import MetricSPC, monthly_values, pilot_start, series_spc, spc_months
from queries.disclosure import DEFAULT_THRESHOLD
from queries.filters import Filters
from queries.metrics import monthly_sums
from queries.reference import Reference
from queries.spc import CONSISTENTLY_FAILING, SPCSettings

BOTH, FAILING, CONCERN, MISSED = 1, 2, 3, 4
GROUP_WORDS = {BOTH: "Special-cause concern and consistently failing the target",
               FAILING: "Consistently failing the target",
               CONCERN: "Special-cause concern at the latest point",
               MISSED: "Latest value did not meet the target"}


@dataclass(frozen=True)
class ExceptionItem:
    area_code: str
    spc: MetricSPC
    group: int
    concern: bool            # the latest point shows special-cause concern
    failing: bool            # consistently failing the target
    missed: bool             # the latest value did not meet the target
    distance: float | None   # in sigma; see the module docstring

    @property
    def metric(self):
        return self.spc.metric


def target_missed(value: float | None, target: float | None, direction: str) -> bool:
    if value is None or target is None or direction == "neutral":
        return False
    return value < target if direction == "up" else value > target


def _sigma(row: dict) -> float | None:
    if row["mean"] is None or row["upper_limit"] is None:
        return None
    sigma = (row["upper_limit"] - row["mean"]) / 3
    return sigma if sigma > 0 else None


def classify(area_code: str, spc: MetricSPC) -> ExceptionItem | None:
    """Pure: one Area's XmR result -> an exception, or None when nothing needs attention."""
    latest = spc.latest
    if latest is None:
        return None
    m = spc.metric
    concern = spc.variation.startswith("special cause concern")
    failing = spc.assurance == CONSISTENTLY_FAILING
    missed = target_missed(latest["value"], spc.target, m.direction)
    if not (concern or failing or missed):
        return None
    group = BOTH if concern and failing else FAILING if failing else CONCERN if concern else MISSED
    current = spc.table.row(-1, named=True)           # the latest segment's lines
    if group == CONCERN:
        sigma = _sigma(latest)
        distance = abs(latest["value"] - latest["mean"]) / sigma if sigma else None
    else:
        sigma = _sigma(current)
        distance = abs(current["mean"] - spc.target) / sigma if sigma else None
    return ExceptionItem(area_code, spc, group, concern, failing, missed, distance)


def order_key(item: ExceptionItem, ref: Reference) -> tuple:
    return (item.group, item.distance is None, -(item.distance or 0.0), item.metric.sort_order,
            ref.areas[item.area_code])


def exception_list(values: pl.DataFrame, ref: Reference, filters: Filters, last: str,
                   settings: SPCSettings = SPCSettings()) -> list[ExceptionItem]:
    """Pure: monthly values by Area (monthly_values at level "area") -> exceptions, most serious first."""
    found = []
    for (area, code), part in values.partition_by(["area_code", "metric_code"], as_dict=True).items():
        metric = ref.metric_for(code, (area,))
        if metric.direction == "neutral":        # neither concern nor a target can apply
            continue
        start = pilot_start(ref, metric.workstream_code, filters.with_(areas=(area,)))
        spc = series_spc(part, metric, spc_months(part, filters.period_from, last), start, settings)
        if (item := classify(area, spc)) is not None:
            found.append(item)
    return sorted(found, key=lambda i: order_key(i, ref))


def exceptions(engine: sa.Engine, filters: Filters, ref: Reference, last: str, threshold: int = DEFAULT_THRESHOLD,
               settings: SPCSettings = SPCSettings()) -> list[ExceptionItem]:
    """One query (monthly sums by Area for every metric), then pure transforms."""
    sums = monthly_sums(engine, filters.with_(period_to=last), list(ref.metrics), level="area")
    return exception_list(monthly_values(sums, ref, threshold), ref, filters, last, settings)
