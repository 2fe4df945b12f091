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
from queries.metrics import monthly_sums, rollup, suppress
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
        units = monthly_sums(engine, window, metric_codes, level="force")
        series = _label_pilot(units, ref, metric_codes)
    else:
        selection = monthly_sums(engine, window, metric_codes).with_columns(pl.lit(SELECTION).alias("series"))
        everywhere = Filters(period_from=window.period_from, period_to=window.period_to)
        national = monthly_sums(engine, everywhere, metric_codes).with_columns(pl.lit(NATIONAL).alias("series"))
        series = pl.concat([selection, national])
    rolled = suppress(rollup(series, grain, ref, keys=["series"]), ref, threshold)
    order = pl.col("series").replace_strict({n: i for i, n in enumerate(SERIES_ORDER)}, return_dtype=pl.Int8)
    return rolled.sort(["metric_code", order, "period"])


def _label_pilot(units: pl.DataFrame, ref: Reference, metric_codes: list[str]) -> pl.DataFrame:
    ws = {ref.metrics[c].metric_code: ref.metrics[c].workstream_code for c in metric_codes}
    sites = pl.concat([pilot_units(ref, w).with_columns(pl.lit(w).alias("workstream_code"))
                       for w in sorted(set(ws.values()))])
    labelled = (units.with_columns(pl.col("metric_code").replace_strict(ws).alias("workstream_code"))
                .join(sites, on=["workstream_code", "area_code", "force_code"], how="left")
                .with_columns(pl.when(pl.col("start_month").is_not_null()).then(pl.lit(PILOT))
                              .otherwise(pl.lit(COMPARISON)).alias("series")))
    return (labelled.group_by(["month", "series", "metric_code"], maintain_order=True)
            .agg(pl.col("numerator").sum(), pl.col("denominator").sum()))
