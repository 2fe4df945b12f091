"""National roll-ups of the monthly table, kept by the store so national views need not sum 54,000 rows each time.

`national_monthly` holds every measure's national sums per month (about 1,200 rows at national scale) and
`pilot_split_monthly` the same split into the units that are pilot sites of the measure's workstream and the rest
(about 2,400). The overview's tiles and trend charts read these when no Area or force narrows the selection; any
selection still reads `monthly`.

Both are rebuilt whole from `monthly`, with the same GROUP BY the views ran before, in the transaction of every
load and of init_store (where pilot sites change and where a store made by an earlier version gets them). Whole,
not by month: it takes tens of milliseconds at national scale, there is one code path, and the roll-ups can never
disagree with `monthly`. The sums are the store's own SUM over the same rows, so the numbers are today's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from queries import schema as s

if TYPE_CHECKING:   # queries.filters imports queries.reference, which rebuilds the roll-ups
    from queries.filters import Filters


def reads_rollups(filters: Filters) -> bool:
    """Whether a selection is the whole country, as the roll-ups hold it: no Area, no force. A user's scope does
    not count: it limits case-level data (cohorts), never the aggregate figures every user may see."""
    return filters.is_national


def national_sums() -> sa.Select:
    """Every measure's national numerator and denominator sums per month, from `monthly`."""
    m = s.monthly.c
    return (sa.select(m.metric_code, m.month, sa.func.sum(m.numerator).label("numerator"),
                      sa.func.sum(m.denominator).label("denominator"))
            .group_by(m.metric_code, m.month))


def pilot_split_sums(*where: sa.ColumnElement) -> sa.Select:
    """Sums per measure, month and pilot (1: a pilot site of the measure's workstream, 0: any other unit).

    `monthly` joined to the measure's workstream and its pilot sites (at most one match per row: the pilot sites'
    key is workstream, Area, force). `where` narrows the monthly rows, for selections the roll-up does not hold.
    """
    m, k, p = s.monthly.c, s.metrics.c, s.pilot_sites.c
    sites = sa.and_(p.workstream_code == k.workstream_code, p.area_code == m.area_code, p.force_code == m.force_code)
    pilot = sa.case((p.workstream_code.is_not(None), 1), else_=0)
    return (sa.select(m.metric_code, m.month, pilot.label("pilot"), sa.func.sum(m.numerator).label("numerator"),
                      sa.func.sum(m.denominator).label("denominator"))
            .select_from(s.monthly.join(s.metrics, k.metric_code == m.metric_code).outerjoin(s.pilot_sites, sites))
            .where(*where).group_by(m.metric_code, m.month, p.workstream_code))


def take_turn(conn: sa.Connection) -> None:
    """Wait until no other transaction is changing what the store keeps, and hold others off until this one ends.

    Loads and rebuilds change kept figures by reading, changing and writing them back (the roll-ups here, the
    population counts of queries.populations). Two PostgreSQL loads at once would both work from what was there
    before either, and the later one's inserts would collide with the rows the earlier one committed meanwhile. So
    each locks the schema version row first (FOR UPDATE; SQLite has one writer anyway): the later one waits, then
    starts from what the earlier one wrote."""
    key = s.schema_info.c.key
    conn.execute(sa.select(key).where(key == "schema_version").with_for_update())


def rebuild_rollups(conn: sa.Connection) -> None:
    """Replace both roll-ups with fresh sums of `monthly`, inside the caller's transaction (taking its turn)."""
    take_turn(conn)
    for table, query in ((s.national_monthly, national_sums()), (s.pilot_split_monthly, pilot_split_sums())):
        conn.execute(sa.delete(table))
        conn.execute(sa.insert(table).from_select([c.name for c in query.selected_columns], query))
