"""Headline tiles: each measure's value for the selected period, against a year earlier and the pre-pilot baseline.

Comparison windows: the same months a year earlier; and the pre-pilot baseline, the 12 months before the
workstream's first pilot started (the same calendar window for every selection). Counts are compared as monthly
averages so windows of different lengths compare fairly; rates are compared in percentage points.

Each tile also carries its SPC result (variation and assurance icons) from the same monthly sums: no extra query.
The SPC series runs to the end of the tile's period, from the filter's own `from` if one was chosen, else from the
first month of data (queries.assurance explains why not from the start of the tile's period).
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from queries.assurance import MetricSPC, selection_spc
from queries.disclosure import DEFAULT_THRESHOLD
from queries.filters import Filters
from queries.metrics import monthly_sums, rollup, suppress
from queries.months import add_months, month_label
from queries.reference import Metric, Reference

BASELINE_MONTHS = 12
NO_CHANGE = {"rate": 0.0005, "other": 0.005}   # below these a change is reported as "no change"


@dataclass(frozen=True)
class Comparison:
    label: str            # e.g. "vs Jan 2023 to Dec 2023"
    value: float | None
    change: float | None  # points for rates, proportion for everything else
    words: str            # "improving", "worsening", "higher", "lower", "no change", "not available"
    arrow: str            # "▲", "▼", "▬" or ""


@dataclass(frozen=True)
class Tile:
    metric: Metric
    value: float | None
    suppressed: bool
    period: tuple[str, str]
    year_earlier: Comparison
    baseline: Comparison
    target_met: bool | None
    filters: Filters      # the selection and period the tile shows, for links to its cases
    spc: MetricSPC | None = None          # the variation and assurance icons' source
    chart_filters: Filters | None = None  # the selection for the SPC chart link: the user's own `from`, tile's end


def baseline_window(ref: Reference, workstream: str) -> tuple[str, str] | None:
    starts = [p.start_month for p in ref.pilot_sites if p.workstream_code == workstream]
    if not starts:
        return None
    first = min(starts)
    return add_months(first, -BASELINE_MONTHS), add_months(first, -1)


def headline_tiles(engine: sa.Engine, filters: Filters, ref: Reference, period: tuple[str, str],
                   threshold: int = DEFAULT_THRESHOLD) -> dict[str, Tile]:
    """All tiles from one query: monthly sums for the selection over all months, windowed in polars."""
    sums = monthly_sums(engine, filters.with_(period_from=None, period_to=None), list(ref.metrics))
    return build_tiles(sums, ref, period, threshold, filters)


def windows(sums: pl.DataFrame, ref: Reference, spans: dict[str, tuple[str, str]], threshold: int
            ) -> dict[str, dict[str, dict]]:
    """Several windows' rows per metric from one roll-up (the windows may overlap): {name: {metric: row}}."""
    parts = [sums.filter(pl.col("month").is_between(pl.lit(first), pl.lit(last))).with_columns(window=pl.lit(name))
             for name, (first, last) in spans.items()]
    out: dict[str, dict[str, dict]] = {name: {} for name in spans}
    if not parts:
        return out
    rolled = suppress(rollup(pl.concat(parts), "period", ref, keys=["window"]), ref, threshold)
    for row in rolled.iter_rows(named=True):
        out[row.pop("window")][row["metric_code"]] = row
    return out


def build_tiles(sums: pl.DataFrame, ref: Reference, period: tuple[str, str], threshold: int,
                filters: Filters = Filters()) -> dict[str, Tile]:
    """Pure: monthly sums in, tiles out. Every comparison window comes from one roll-up."""
    first, last = period
    spans = {"now": (first, last), "before": (add_months(first, -12), add_months(last, -12))}
    for w in ref.workstreams:
        if (b := baseline_window(ref, w.workstream_code)) is not None:
            spans[f"baseline:{w.workstream_code}"] = b
    rows = windows(sums, ref, spans, threshold)
    now, before = rows["now"], rows["before"]
    spc = selection_spc(sums, ref, filters, last, threshold)
    chart_filters = filters.with_(period_to=last, grain="month", workstream=None)
    tiles = {}
    for code in ref.metrics:
        metric = ref.metric_for(code, filters.areas)   # an Area's own target when that Area alone is shown
        cur = now.get(code)
        value = cur["value"] if cur else None
        year = _compare(metric, cur, before.get(code), "a year earlier")
        if (b := spans.get(f"baseline:{metric.workstream_code}")) is not None:
            base = _compare(metric, cur, rows[f"baseline:{metric.workstream_code}"].get(code),
                            f"pre-pilot baseline ({_span(*b)})")
        else:
            base = Comparison("pre-pilot baseline", None, None, "not available", "")
        tiles[code] = Tile(metric, value, bool(cur and cur["suppressed"]), period, year, base,
                           _target_met(metric, value), filters.with_(period_from=first, period_to=last),
                           spc[code], chart_filters)
    return tiles


def _per_month(metric: Metric, row: dict | None) -> float | None:
    if row is None or row["value"] is None:
        return None
    return row["value"] / row["months"] if metric.unit == "count" and metric.period_aggregation == "sum" \
        else row["value"]


def _compare(metric: Metric, cur: dict | None, old: dict | None, label: str) -> Comparison:
    a, b = _per_month(metric, cur), _per_month(metric, old)
    if a is None or b is None or (metric.unit != "rate" and b == 0):
        return Comparison(label, None, None, "not available", "")
    change = a - b if metric.unit == "rate" else (a - b) / b
    if abs(change) < NO_CHANGE["rate" if metric.unit == "rate" else "other"]:
        return Comparison(label, old["value"], change, "no change", "▬")
    rising = change > 0
    if metric.direction == "neutral":
        words = "higher" if rising else "lower"
    else:
        words = "improving" if rising == (metric.direction == "up") else "worsening"
    return Comparison(label, old["value"], change, words, "▲" if rising else "▼")


def _target_met(metric: Metric, value: float | None) -> bool | None:
    if metric.target is None or value is None or metric.direction == "neutral":
        return None
    return value >= metric.target if metric.direction == "up" else value <= metric.target


def _span(first: str, last: str) -> str:
    return f"{month_label(first)} to {month_label(last)}"
