"""Engine creation: one place that knows how to talk to SQLite and PostgreSQL.

The same SQL runs on both stores; the only dialect-specific code is connection set-up here.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def make_engine(url: str) -> sa.Engine:
    """Create an engine with pre-ping, so a restarted PostgreSQL is survived without restarting the app."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800)


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    """One shared engine (and pool) per URL for the life of the process."""
    return make_engine(url)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets the dashboard read while a load writes; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"
