"""Loading extracts into the store: validate everything, then change the store in one transaction.

A load either lands whole or leaves the store exactly as it was. Re-loading the same months for the same Area and
force replaces them, so loads are idempotent. Case-derived monthly aggregates, and the national population counts
behind cohort comparisons (queries.populations), are brought up to date from the cases in the same transaction, so
headlines and cohorts always reconcile.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from queries import populations, schema as s
from queries.bulk import insert_frame
from queries.audit import record
from queries.measures import measures_by_basis
from queries.metrics import unit_terms
from queries.reference import Reference, load_reference
from queries.rollups import rebuild_rollups, take_turn
from queries.validate import (CASE_COLUMNS, RETURN_COLUMNS, LoadError, Problem, read_extract, typed_cases,
                              typed_returns, validate_cases, validate_returns)

MONTHLY_SCHEMA = {"month": pl.String, "area_code": pl.String, "force_code": pl.String, "metric_code": pl.String,
                  "numerator": pl.Float64, "denominator": pl.Float64, "load_id": pl.Int64}


@dataclass(frozen=True)
class LoadSummary:
    kind: str
    file_name: str
    rows_read: int
    inserted: int
    replaced: int
    seconds: float
    first_month: str | None
    last_month: str | None

    def __str__(self) -> str:
        months = f", months {self.first_month} to {self.last_month}" if self.first_month else ""
        return (f"{self.file_name}: {self.rows_read:,} rows read, {self.inserted:,} inserted, "
                f"{self.replaced:,} replaced{months}, in {self.seconds:.1f} s")


def ingest_cases(engine: sa.Engine, path: Path, *, reference: Reference | None = None, actor: str = "unknown",
                 max_month: str | None = None, progress: bool = False) -> LoadSummary:
    t0 = time.perf_counter()
    path = Path(path)
    ref = reference or load_reference(engine)
    text = read_extract(path, CASE_COLUMNS)
    problems = validate_cases(text, ref, max_month)
    if problems:
        raise LoadError(path.name, problems)
    frame = typed_cases(text)
    units = frame.select("area_code", "force_code", "referral_month").unique()
    try:
        with engine.begin() as conn:
            take_turn(conn)   # before anything is read: the population counts change by difference
            load_id = _start_load(conn, "cases", path)
            pairs = units.select("area_code", "force_code").unique().rows()
            # Every case this load deletes or inserts has one of these units and referral months (a superset of
            # its keys: cases under it that the load leaves alone are counted twice and cancel out).
            keys = [*unit_terms(s.cases, pairs), s.cases.c.referral_month.in_(units["referral_month"].unique().sort()
                                                                              .to_list())]
            before = populations.count(conn, keys)
            replaced = _delete_by_month(conn, s.cases, units, "referral_month")
            insert_frame(conn, s.cases, frame.with_columns(pl.lit(load_id).alias("load_id")), progress, path.name)
            rebuild_case_aggregates(conn, pairs, load_id)
            populations.apply_change(conn, before, populations.count(conn, keys))
            rebuild_rollups(conn)
            summary = _finish_load(conn, load_id, "cases", path, frame.height, replaced, actor,
                                   frame["referral_month"], t0)
    except sa.exc.IntegrityError:
        raise LoadError(path.name, _case_id_conflicts(engine, text.select("case_id", "_line"), units)) from None
    refresh_statistics(engine, [s.cases, s.monthly, s.population_days, s.population_categories])
    return summary


def ingest_returns(engine: sa.Engine, path: Path, *, reference: Reference | None = None, actor: str = "unknown",
                   max_month: str | None = None, progress: bool = False) -> LoadSummary:
    t0 = time.perf_counter()
    path = Path(path)
    ref = reference or load_reference(engine)
    text = read_extract(path, RETURN_COLUMNS)
    problems = validate_returns(text, ref, max_month)
    if problems:
        raise LoadError(path.name, problems)
    frame = typed_returns(text)
    with engine.begin() as conn:
        take_turn(conn)
        load_id = _start_load(conn, "returns", path)
        replaced = _delete_by_month(conn, s.monthly, frame.select("area_code", "force_code", "metric_code", "month")
                                    .unique(), "month")
        insert_frame(conn, s.monthly, frame.with_columns(pl.lit(load_id).alias("load_id")), progress, path.name)
        rebuild_rollups(conn)
        summary = _finish_load(conn, load_id, "returns", path, frame.height, replaced, actor, frame["month"], t0)
    refresh_statistics(engine, [s.monthly])
    return summary


def refresh_statistics(engine: sa.Engine, tables: list[sa.Table]) -> None:
    """PostgreSQL plans from its statistics, which describe a table as it was before a bulk load until autovacuum
    gets round to it (a freshly seeded store had none: its cohort queries were planned for one row). ANALYZE reads
    a fixed sample (30,000 rows by default), about a second at a million cases. SQLite keeps no statistics unless
    asked, and its plans are pinned by tests, so it is left as it is."""
    if engine.dialect.name != "postgresql":
        return
    names = ", ".join(engine.dialect.identifier_preparer.format_table(t) for t in tables)   # schema names, not input
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ANALYZE {names}")


def rebuild_case_aggregates(conn: sa.Connection, pairs: list[tuple[str, str]], load_id: int) -> int:
    """Recompute every case-derived monthly aggregate of the given (area, force) units from the case table.

    A whole unit is rebuilt, not just the loaded months, because decision measures count a case in its decision
    month, which a re-load of earlier referral months can move. Two GROUP BY scans (one per month basis) compute
    all measures; the result is small (units x months x metrics).
    """
    codes = [m for ms in measures_by_basis().values() for m in ms]
    conn.execute(sa.delete(s.monthly).where(
        s.monthly.c.metric_code.in_([m.metric_code for m in codes]), *unit_terms(s.monthly, pairs)))
    rows = []
    for basis, measures in measures_by_basis().items():
        for r in conn.execute(case_aggregate_query(basis, pairs)).mappings():
            for m in measures:
                den = r[f"{m.metric_code}__d"] if m.has_denominator else None
                rows.append((r["month"], r["area_code"], r["force_code"], m.metric_code,
                             float(r[f"{m.metric_code}__n"] or 0), None if den is None else float(den), load_id))
    insert_frame(conn, s.monthly, pl.DataFrame(rows, schema=MONTHLY_SCHEMA, orient="row"), False, "aggregates")
    return len(rows)


def case_aggregate_query(basis: str, pairs: list[tuple[str, str]]) -> sa.Select:
    """Every measure counted in `basis` month, per unit and month, over the cases of the given units."""
    c = s.cases.c
    month = c[basis]
    cols = [c.area_code, c.force_code, month.label("month")]
    for m in measures_by_basis()[basis]:
        cols.append(m.numerator_sql().label(f"{m.metric_code}__n"))
        if m.has_denominator:
            cols.append(m.denominator_sql().label(f"{m.metric_code}__d"))
    return (sa.select(*cols).where(*unit_terms(s.cases, pairs), month.is_not(None))
            .group_by(c.area_code, c.force_code, month))


def _start_load(conn: sa.Connection, kind: str, path: Path) -> int:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    result = conn.execute(sa.insert(s.loads).values(
        loaded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), kind=kind, file_name=path.name,
        sha256=digest, rows_read=0, rows_inserted=0, rows_replaced=0))
    return result.inserted_primary_key[0]


def _finish_load(conn, load_id, kind, path, rows, replaced, actor, months: pl.Series, t0) -> LoadSummary:
    """Record the load and its audit entry on the load's own connection: both land with the data or not at all."""
    first, last = months.min(), months.max()
    conn.execute(sa.update(s.loads).where(s.loads.c.load_id == load_id).values(
        rows_read=rows, rows_inserted=rows, rows_replaced=replaced, first_month=first, last_month=last))
    record(conn, actor, "load", path.name, {"kind": kind, "load_id": load_id, "rows": rows, "replaced": replaced,
                                           "first_month": first, "last_month": last})
    return LoadSummary(kind, path.name, rows, rows, replaced, time.perf_counter() - t0, first, last)


def _delete_by_month(conn: sa.Connection, table: sa.Table, keys: pl.DataFrame, month_col: str) -> int:
    """Delete the rows a load replaces: one statement per group of the non-month key, listing its months."""
    group_cols = [k for k in keys.columns if k != month_col]
    deleted = 0
    for group, part in keys.group_by(group_cols, maintain_order=True):
        where = [table.c[k] == v for k, v in zip(group_cols, group)]
        months = part[month_col].to_list()
        deleted += conn.execute(sa.delete(table).where(*where, table.c[month_col].in_(months))).rowcount
    return deleted


def _case_id_conflicts(engine: sa.Engine, ids: pl.DataFrame, units: pl.DataFrame) -> list[Problem]:
    """Explain a rejected case load: case_ids already stored under a unit and month this file does not replace."""
    file_units = {tuple(u) for u in units.rows()}
    problems = []
    with engine.connect() as conn:
        for chunk in ids.iter_slices(5_000):
            found = conn.execute(sa.select(s.cases.c.case_id, s.cases.c.area_code, s.cases.c.force_code,
                                           s.cases.c.referral_month)
                                 .where(s.cases.c.case_id.in_(chunk["case_id"].to_list()))).all()
            where = {r.case_id: r for r in found if (r.area_code, r.force_code, r.referral_month) not in file_units}
            for case_id, line in chunk.iter_rows():
                if case_id in where:
                    r = where[case_id]
                    problems.append(Problem(line, "case_id", f"'{case_id}' is already loaded under {r.area_code}/"
                                            f"{r.force_code} {r.referral_month}, which this file does not replace"))
    return problems or [Problem(None, None, "the store refused the rows (integrity error)")]
