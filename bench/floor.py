"""The floor: the bare SQL aggregates that answer the overview's question, through the same driver, nothing else.

No SQLAlchemy result handling, no polars, no figures: statements compiled once to plain SQL text, run on the
driver's own cursor, every row fetched. What the overview needs from the store is (a) the selection's monthly sums
of every measure over all months (tiles: the period, a year earlier and each workstream's pre-pilot baseline; and
the SPC series) and (b) the lead measure of each workstream per month, split into pilot and comparison sites (or
the selection and England and Wales). Months past the period end are not needed for (b).
"""
from __future__ import annotations

import sqlalchemy as sa

from queries import schema as s
from queries.filters import Filters
from queries.reference import Reference


def _units(filters: Filters) -> list[sa.ColumnElement]:
    m = s.monthly.c
    where = []
    if filters.areas:
        where.append(m.area_code.in_(filters.areas))
    if filters.forces:
        where.append(m.force_code.in_(filters.forces))
    return where


def _sums(where: list, extra=()) -> sa.Select:
    m = s.monthly.c
    return (sa.select(m.month, *extra, m.metric_code, sa.func.sum(m.numerator), sa.func.sum(m.denominator))
            .where(*where).group_by(m.month, *extra, m.metric_code))


def overview_statements(filters: Filters, ref: Reference, period: tuple[str, str], lead: list[str]) -> list:
    m = s.monthly.c
    tiles = _sums([m.metric_code.in_(list(ref.metrics)), *_units(filters)])
    upto = [m.metric_code.in_(lead), m.month <= period[1]]
    if filters.is_national:
        k, p = s.metrics.c, s.pilot_sites.c
        joined = s.monthly.join(s.metrics, k.metric_code == m.metric_code).outerjoin(
            s.pilot_sites, sa.and_(p.workstream_code == k.workstream_code, p.area_code == m.area_code,
                                   p.force_code == m.force_code))
        trend = _sums(upto, extra=[p.workstream_code]).select_from(joined)
        return [tiles, trend]
    return [tiles, _sums([*upto, *_units(filters)]), _sums(upto)]


def compile_all(engine: sa.Engine, statements: list) -> list[str]:
    return [str(q.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})) for q in statements]


def run(engine: sa.Engine, sql: list[str]) -> int:
    """Execute on a pooled driver connection and fetch everything; returns the number of rows."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        rows = 0
        for statement in sql:
            cur.execute(statement)
            rows += len(cur.fetchall())
        cur.close()
        raw.rollback()
    finally:
        raw.close()
    return rows
