"""Trend series for charts: pilot sites against comparison sites, or a selection against the national figure.

A unit is a pilot site for a workstream from its start month on; before that month it is still counted in the
pilot series (the series is defined by which sites ran the pilot, so the chart shows the change at the start).
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from queries.disclosure import DEFAULT_THRESHOLD
from queries.filters import Filters
from queries import rollups, schema as s
from queries.metrics import monthly_sums, rollup, suppress, unit_condition
from queries.reference import Reference

PILOT, COMPARISON, SELECTION, NATIONAL = "Pilot sites", "Comparison sites", "Selection", "England and Wales"
SERIES_ORDER = (PILOT, SELECTION, COMPARISON, NATIONAL)   # the focus series first: it gets the primary colour


@dataclass(frozen=True)
class StartMarker:
    month: str
    label: str


def pilot_units(ref: Reference, workstream: str) -> pl.DataFrame:
    rows = [(p.area_code, p.force_code, p.start_month) for p in ref.pilot_sites if p.workstream_code == workstream]
    return pl.DataFrame(rows, schema={"area_code": pl.String, "force_code": pl.String, "start_month": pl.String},
                        orient="row")


def start_markers(ref: Reference, workstream: str, filters: Filters) -> list[StartMarker]:
    """One marker per pilot start month, naming the Areas that started then (within the selection, if any)."""
    by_month: dict[str, set[str]] = {}
    for p in ref.pilot_sites:
        if p.workstream_code != workstream:
            continue
        if filters.areas and p.area_code not in filters.areas:
            continue
        if filters.forces and p.force_code not in filters.forces:
            continue
        by_month.setdefault(p.start_month, set()).add(ref.areas[p.area_code])
    return [StartMarker(m, " and ".join(sorted(a)) + " pilot starts") for m, a in sorted(by_month.items())]


def trend_series(engine: sa.Engine, filters: Filters, metric_codes: list[str], ref: Reference, grain: str,
                 threshold: int = DEFAULT_THRESHOLD, history: bool = True) -> pl.DataFrame:
    """Two series per metric, rolled up to the grain: columns period, series, metric_code, value, ... .

    With `history`, months run from the first month of data to the end of the selected period, so the pilot
    starts and the baseline stay in view (the caller shades the selected period).
    """
    window = filters.with_(period_from=None) if history else filters
    if filters.is_national:
        series = pilot_split_sums(engine, window, metric_codes)
    else:
        selection = monthly_sums(engine, window, metric_codes).with_columns(pl.lit(SELECTION).alias("series"))
        everywhere = Filters(period_from=window.period_from, period_to=window.period_to)
        national = monthly_sums(engine, everywhere, metric_codes).with_columns(pl.lit(NATIONAL).alias("series"))
        series = pl.concat([selection, national])
    rolled = suppress(rollup(series, grain, ref, keys=["series"]), ref, threshold)
    order = pl.col("series").replace_strict({n: i for i, n in enumerate(SERIES_ORDER)}, return_dtype=pl.Int8)
    return rolled.sort(["metric_code", order, "period"])


def pilot_split_sums(engine: sa.Engine, filters: Filters, metric_codes: list[str]) -> pl.DataFrame:
    """Monthly sums per metric for the pilot sites of the metric's workstream and for the other sites.

    Two rows per month and metric leave the store instead of one per force (fetching and relabelling ~16,000
    force rows was most of a trend's cost: docs/performance.md). A national selection reads the split the store
    keeps (queries/rollups.py); anything narrower runs the same split over `monthly`. Columns as monthly_sums,
    plus `series`, sorted by metric, series and month.
    """
    national = rollups.reads_rollups(filters)
    m = (s.pilot_split_monthly if national else s.monthly).c
    where = [m.metric_code.in_(list(metric_codes))]
    if filters.period_from:
        where.append(m.month >= filters.period_from)
    if filters.period_to:
        where.append(m.month <= filters.period_to)
    if national:
        query = sa.select(m.metric_code, m.month, m.pilot, m.numerator, m.denominator).where(*where)
    else:
        query = rollups.pilot_split_sums(*where, *unit_condition(filters))
    with engine.connect() as conn:
        rows = conn.execute(query).cursor.fetchall()
    frame = pl.DataFrame(rows, schema={"metric_code": pl.String, "month": pl.String, "pilot": pl.Int64,
                                       "numerator": pl.Float64, "denominator": pl.Float64}, orient="row")
    series = pl.when(pl.col("pilot") == 1).then(pl.lit(PILOT)).otherwise(pl.lit(COMPARISON))
    return (frame.select("month", series.alias("series"), "metric_code", "numerator", "denominator")
            .sort(["metric_code", "series", "month"]))
