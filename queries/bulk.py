"""Bulk inserts inside a caller's transaction: loads write a million case rows, and the kept counts they maintain
(queries.populations) a few hundred thousand."""
from __future__ import annotations

import sys

import polars as pl
import sqlalchemy as sa
from tqdm import tqdm

CHUNK_ROWS = 20_000


def insert_frame(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame, progress: bool, label: str) -> None:
    """Insert a frame's rows inside the caller's transaction, as plain tuples handed to the driver.

    SQLAlchemy's per-row parameter handling was most of the load time at a million rows (docs/performance.md), so
    rows go to the driver directly: PostgreSQL's COPY, elsewhere one INSERT run with executemany. Both share the
    caller's transaction, so a failure anywhere still leaves the store as it was, and a refused row is raised as
    SQLAlchemy's IntegrityError either way.
    """
    with tqdm(total=frame.height, unit="rows", desc=label, disable=not progress, file=sys.stderr,
              leave=False) as bar:
        if conn.dialect.name == "postgresql":
            _copy(conn, table, frame, bar)
            return
        insert = sa.insert(table).compile(dialect=conn.dialect, column_keys=frame.columns)
        for chunk in frame.select(insert.positiontup).iter_slices(CHUNK_ROWS):
            conn.exec_driver_sql(str(insert), chunk.rows())
            bar.update(chunk.height)


def _copy(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame, bar) -> None:
    """PostgreSQL's COPY FROM STDIN; psycopg adapts each value as it would a query parameter."""
    quote = conn.dialect.identifier_preparer
    statement = (f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c) for c in frame.columns)}) "
                 "FROM STDIN")
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for chunk in frame.iter_slices(CHUNK_ROWS):
                for row in chunk.iter_rows():
                    copy.write_row(row)
                bar.update(chunk.height)
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi.Error, dialect=conn.dialect) from None
