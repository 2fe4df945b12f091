"""The load test's store: a PostgreSQL database of its own, seeded once through the real CLI and reused.

The store is reused while it holds the requested number of cases from the two seed loads; otherwise the database
is dropped, re-created and seeded with `python -m dashboard seed` (1,000,000 cases take about a minute here). The
accounts the simulated users sign in as (through the identity proxy header) are added when missing.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "rasso_loadtest"
SEED = 1
LEAD_AREAS = ("WMD", "NEA", "SEA", "WES", "LNO", "MCH")   # Area leads, one account each
NATIONAL, ANALYSTS = 6, 4                                 # national leaders and analysts


def accounts() -> list[dict]:
    """Who the simulated users are: a mix of roles like the pilot's real audience."""
    people = [{"username": f"loadtest-national-{i}", "role": "national", "areas": []} for i in range(NATIONAL)]
    people += [{"username": f"loadtest-analyst-{i}", "role": "analyst", "areas": []} for i in range(ANALYSTS)]
    people += [{"username": f"loadtest-lead-{a.lower()}", "role": "area_lead", "areas": [a]} for a in LEAD_AREAS]
    return people


def store_url(admin_url: str, database: str = DATABASE) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def ready(url: str, cases: int) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM cases")).scalar()
            loads = conn.execute(sa.text("SELECT COUNT(*) FROM loads")).scalar()
        return count == cases and loads >= 2
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def ensure_store(admin_url: str, cases: int, log=print) -> str:
    url = store_url(admin_url)
    if ready(url, cases):
        log(f"store: reusing database {DATABASE} ({cases:,} cases)")
    else:
        log(f"store: building database {DATABASE} with {cases:,} synthetic cases (seed {SEED})")
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
        admin.dispose()
        subprocess.run([sys.executable, "-m", "dashboard", "seed", "--cases", str(cases), "--seed", str(SEED),
                        "--database-url", url], cwd=ROOT, check=True)
    # `init` is safe to re-run: it brings a store built by an earlier version up to the current schema.
    subprocess.run([sys.executable, "-m", "dashboard", "init", "--database-url", url], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    add_accounts(url)
    analyse(url)
    return url


def analyse(url: str) -> None:
    """Planner statistics, as autovacuum keeps them in production (the local test server runs without it)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def add_accounts(url: str) -> None:
    from queries.db import make_engine
    from queries.users import add_user, get_user

    engine = make_engine(url)
    try:
        for person in accounts():
            if get_user(engine, person["username"]) is None:
                add_user(engine, person["username"], person["role"], person["areas"])
    finally:
        engine.dispose()
