"""Headline aggregates: ratio of sums at whatever level and grain is shown.

SQL filters and groups the monthly aggregate table to (month, level keys, metric); a pure polars step rolls months
up to quarters, years or the whole period. A rate over several forces or months is always the summed numerator over
the summed denominator, never an average of rates. Stock measures (staff in post) are averaged over months instead
of summed, as their catalogue entry says.
"""
from __future__ import annotations

from typing import Iterable

import polars as pl
import sqlalchemy as sa

from queries import schema as s
from queries.disclosure import DEFAULT_THRESHOLD, check_threshold
from queries.filters import Filters
from queries.reference import Reference
from queries import rollups

LEVEL_KEYS = {"national": (), "area": ("area_code",), "force": ("area_code", "force_code")}


def unit_condition(filters: Filters, table: sa.Table = s.monthly) -> list[sa.ColumnElement]:
    """WHERE terms selecting the (area, force) units a filter covers; shared by every query."""
    where = []
    if filters.areas:
        where.append(table.c.area_code.in_(filters.areas))
    if filters.forces:
        where.append(table.c.force_code.in_(filters.forces))
    return where


def unit_terms(table: sa.Table, pairs) -> list[sa.ColumnElement]:
    """WHERE terms for exactly these (area, force) units; none matches nothing.

    The separate Area and force IN lists let SQLite use the (area_code, force_code, month) indexes, which it skips
    for a row-value IN alone (a one-unit reload then scanned every case); the row-value IN keeps exactly the pairs.
    """
    pairs = list(pairs)
    if not pairs:
        return [sa.false()]
    return [table.c.area_code.in_(sorted({a for a, _ in pairs})),
            table.c.force_code.in_(sorted({f for _, f in pairs})),
            sa.tuple_(table.c.area_code, table.c.force_code).in_(pairs)]


def monthly_sums(engine: sa.Engine, filters: Filters, metric_codes: Iterable[str],
                 level: str = "national") -> pl.DataFrame:
    """Summed numerators and denominators per month, metric and level key, for the filter's units and months.

    Sorted by metric, level key and month. The sort is done here rather than by ORDER BY (the store's sort of a
    force-level result cost twice the query: docs/performance.md), and at force level the rows are taken as they
    are, since (month, area, force, metric) is the monthly table's key and a GROUP BY would sum single rows.
    """
    keys = [s.monthly.c[k] for k in LEVEL_KEYS[level]]
    national = level == "national" and rollups.reads_rollups(filters)
    m = (s.national_monthly if national else s.monthly).c
    where = [m.metric_code.in_(list(metric_codes)), *([] if national else unit_condition(filters))]
    if filters.period_from:
        where.append(m.month >= filters.period_from)
    if filters.period_to:
        where.append(m.month <= filters.period_to)
    if national:   # the national sums as the store keeps them (queries/rollups.py): ~1,200 rows, not 54,000
        query = sa.select(m.month, m.metric_code, m.numerator, m.denominator).where(*where)
    elif level == "force":
        query = sa.select(m.month, *keys, m.metric_code, m.numerator, m.denominator).where(*where)
    else:
        query = (sa.select(m.month, *keys, m.metric_code, sa.func.sum(m.numerator).label("numerator"),
                           sa.func.sum(m.denominator).label("denominator"))
                 .where(*where).group_by(m.month, *keys, m.metric_code))
    schema = {"month": pl.String, **{k: pl.String for k in LEVEL_KEYS[level]}, "metric_code": pl.String,
              "numerator": pl.Float64, "denominator": pl.Float64}
    with engine.connect() as conn:
        # The driver's own tuples: text and floats need no conversion, and building SQLAlchemy Row objects cost
        # as much as the query itself for the national export's 54,000 force rows (docs/performance.md).
        rows = conn.execute(query).cursor.fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row").sort(["metric_code", *LEVEL_KEYS[level], "month"])


def period_label(grain: str) -> pl.Expr:
    month = pl.col("month")
    if grain == "month":
        return month
    if grain == "quarter":   # as months.quarter_of, vectorised ('2024-02' -> '2024-Q1')
        quarter = (month.str.slice(5, 2).cast(pl.Int32) - 1) // 3 + 1
        return month.str.slice(0, 4) + pl.lit("-Q") + quarter.cast(pl.String)
    if grain == "year":
        return month.str.slice(0, 4)
    return pl.lit("period")   # the whole selected period


def rollup(sums: pl.DataFrame, grain: str, ref: Reference, keys: list[str] | None = None) -> pl.DataFrame:
    """Roll monthly sums up to the grain and compute each value as a ratio of sums. Pure: frame in, frame out."""
    keys = keys if keys is not None else [c for c in ("area_code", "force_code") if c in sums.columns]
    stock = [code for code, m in ref.metrics.items() if m.period_aggregation == "mean"]
    counts = [code for code, m in ref.metrics.items() if not m.has_denominator]
    is_stock = pl.col("metric_code").is_in(stock)
    out = (sums.with_columns(period_label(grain).alias("period"))
           .group_by(["period", *keys, "metric_code"], maintain_order=True)
           .agg(pl.col("numerator").sum(), pl.col("denominator").sum(), pl.col("month").n_unique().alias("months"),
                pl.col("month").min().alias("first_month"), pl.col("month").max().alias("last_month")))
    out = out.with_columns(
        pl.when(is_stock).then(pl.col("numerator") / pl.col("months")).otherwise(pl.col("numerator"))
        .alias("numerator"),
        pl.when(pl.col("metric_code").is_in(counts)).then(None).otherwise(pl.col("denominator"))
        .alias("denominator"),
    )
    value = (pl.when(pl.col("metric_code").is_in(counts)).then(pl.col("numerator"))
             .when(pl.col("denominator") > 0).then(pl.col("numerator") / pl.col("denominator"))
             .otherwise(None))
    return out.with_columns(value.alias("value")).sort(["metric_code", *keys, "period"])


def suppress(frame: pl.DataFrame, ref: Reference, threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Disclosure control for headline figures built from cases, applied before any view or file sees them.

    A case-derived numerator or denominator from 1 to threshold-1 is suppressed, and so is the value built on it
    (a rate and its denominator together would give the numerator away). Returns (aggregate workforce and quality
    figures, not about individual victims) are not suppressed. Suppressed cells become null and are flagged in
    `suppressed`, so every view shows [c] where a true null (nothing to divide by) shows [x].
    """
    t = check_threshold(threshold)
    from_cases = pl.col("metric_code").is_in([c for c, m in ref.metrics.items() if m.source == "cases"])
    small_n = from_cases & pl.col("numerator").is_between(1, t - 1, closed="both").fill_null(False)
    small_d = from_cases & pl.col("denominator").is_between(1, t - 1, closed="both").fill_null(False)
    return frame.with_columns(
        pl.when(small_n).then(None).otherwise(pl.col("numerator")).alias("numerator"),
        pl.when(small_d).then(None).otherwise(pl.col("denominator")).alias("denominator"),
        pl.when(small_n | small_d).then(None).otherwise(pl.col("value")).alias("value"),
        (small_n | small_d).alias("suppressed"),
    )


def metric_values(engine: sa.Engine, filters: Filters, metric_codes: Iterable[str], ref: Reference,
                  level: str = "national", grain: str | None = None,
                  threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """The one aggregation used by screens and exports alike: filtered sums, rolled up, then suppressed."""
    rolled = rollup(monthly_sums(engine, filters, metric_codes, level), grain or filters.grain, ref)
    return suppress(rolled, ref, threshold)
