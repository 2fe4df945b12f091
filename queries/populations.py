"""National counts of each case population by month, kept by every case load: the other half of a cohort.

A cohort page (queries.cohorts) sets a group of units against the rest of England and Wales, and at national scale
the rest is most of the case table: aggregating it at request time was most of a cohort's cost (docs/performance.md).
So each load keeps, per population (queries.measures.POPULATIONS) and month, the national histogram of
days_to_decision and every dimension's category counts; a cohort scans only its smaller group and takes the other as
national minus that group. Integer counts subtract exactly, so quartiles stay exact.

The counts change with the load, in its transaction, by difference: the cases under the load's (unit, referral
month) keys are tallied before they are deleted and again after the new rows are in, and the difference is added
to the national rows. The work is proportional to the load, not to the store. init_store builds them whole for a
store made before they existed.
"""
from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from queries.bulk import insert_frame
from queries.dimensions import DIMENSIONS, OutOfStep, Tally, tally
from queries.measures import POPULATIONS, Population
from queries.schema import cases as c, population_categories as pc, population_days as pd

Counts = dict[tuple[str, str], Tally]   # (population, month) -> national tally
_DIMS = list(DIMENSIONS.values())


def count(conn: sa.Connection, where: list[sa.ColumnElement]) -> Counts:
    """Every population's tally per month over the cases matching `where`: one pass per month basis."""
    out: Counts = {}
    for basis in dict.fromkeys(p.basis for p in POPULATIONS.values()):
        month = c.c[basis]
        split = {p.name: p.condition for p in POPULATIONS.values() if p.basis == basis}
        out.update(tally(conn, [*where, month.is_not(None)], _DIMS, by=month, split=split))
    return out


def apply_change(conn: sa.Connection, before: Counts, after: Counts) -> int:
    """Add after - before to the kept national counts; returns the (population, month) pairs rewritten.

    The pairs touched are read, changed and written back whole (delete then insert), which is portable where an
    upsert is not. A count that would go below zero means the kept counts had drifted from the cases: the load
    fails rather than store it."""
    change: Counts = {}
    for key in before.keys() | after.keys():
        t = Tally()
        t.add(after.get(key, Tally()))
        t.add(before.get(key, Tally()), -1)
        if t.size or any(t.days.values()) or any(n for cats in t.categories.values() for n in cats.values()):
            change[key] = t
    if not change:
        return 0
    kept = _read(conn, change.keys())
    for key, t in change.items():
        kept.setdefault(key, Tally()).add(t)
    _delete(conn, change.keys())
    _write(conn, {k: kept[k] for k in change})
    return len(change)


def rebuild(conn: sa.Connection) -> int:
    """Recount everything from the case table (a store made before these counts existed)."""
    conn.execute(sa.delete(pd))
    conn.execute(sa.delete(pc))
    counts = count(conn, [])
    _write(conn, counts)
    return len(counts)


def national(conn: sa.Connection, population: Population, first: str | None, last: str | None) -> Tally:
    """The national tally of a population over months first..last (None: unbounded); numerator not included."""
    def months(table):
        where = [table.c.population == population.name]
        if first:
            where.append(table.c.month >= first)
        if last:
            where.append(table.c.month <= last)
        return where
    t = Tally.empty(_DIMS)
    days = sa.select(pd.c.days_to_decision, sa.func.sum(pd.c.cases)).where(*months(pd)).group_by(pd.c.days_to_decision)
    t.days = {v: int(n) for v, n in conn.execute(days)}
    cats = (sa.select(pc.c.dimension, pc.c.category, sa.func.sum(pc.c.cases)).where(*months(pc))
            .group_by(pc.c.dimension, pc.c.category))
    for key, category, n in conn.execute(cats):
        if key not in t.categories or category not in t.categories[key]:
            raise OutOfStep(f"kept population counts name an unknown category: {key}={category!r}")
        t.categories[key][category] = int(n)
    t.size = sum(t.categories[_DIMS[0].key].values())
    return t


def _pairs_where(table: sa.Table, keys) -> list[sa.ColumnElement]:
    by_population: dict[str, list[str]] = {}
    for population, month in keys:
        by_population.setdefault(population, []).append(month)
    return [sa.and_(table.c.population == p, table.c.month.in_(sorted(ms))) for p, ms in by_population.items()]


def _read(conn: sa.Connection, keys) -> Counts:
    """The kept rows of these (population, month) pairs: days and categories only, all that _write needs."""
    out: Counts = {}
    for term in _pairs_where(pd, keys):
        for p, m, v, n in conn.execute(sa.select(pd.c.population, pd.c.month, pd.c.days_to_decision, pd.c.cases)
                                       .where(term)):
            out.setdefault((p, m), Tally()).days[v] = n
    for term in _pairs_where(pc, keys):
        for p, m, d, k, n in conn.execute(sa.select(pc.c.population, pc.c.month, pc.c.dimension, pc.c.category,
                                                    pc.c.cases).where(term)):
            out.setdefault((p, m), Tally()).categories.setdefault(d, {})[k] = n
    return out


def _delete(conn: sa.Connection, keys) -> None:
    for table in (pd, pc):
        for term in _pairs_where(table, keys):
            conn.execute(sa.delete(table).where(term))


def _write(conn: sa.Connection, counts: Counts) -> None:
    """Insert the non-zero counts; a negative one is refused (see apply_change)."""
    days, cats = [], []
    for (p, m), t in counts.items():
        days.extend((p, m, v, n) for v, n in t.days.items() if n)
        cats.extend((p, m, d, k, n) for d, ks in t.categories.items() for k, n in ks.items() if n)
    if any(r[-1] < 0 for r in days) or any(r[-1] < 0 for r in cats):
        raise OutOfStep("kept population counts would go below zero: they no longer match the case table "
                        "(rebuild them with `python -m dashboard init`)")
    insert_frame(conn, pd, pl.DataFrame(days, schema={"population": pl.String, "month": pl.String,
                                                      "days_to_decision": pl.Int64, "cases": pl.Int64},
                                        orient="row"), False, "population days")
    insert_frame(conn, pc, pl.DataFrame(cats, schema={"population": pl.String, "month": pl.String,
                                                      "dimension": pl.String, "category": pl.String,
                                                      "cases": pl.Int64}, orient="row"), False, "population categories")
