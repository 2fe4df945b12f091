"""Shared fixtures: one deterministic seeded store (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).

The seeded store is built once per test session through the real ingest path. PostgreSQL tests run in a database
of their own, created here and dropped afterwards, so parallel runs never see each other's rows.
"""
from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from queries.db import make_engine
from queries.load import ingest_cases, ingest_returns
from queries.reference import Reference, init_store, load_reference
from sample_data.generate import generate, write_extracts

SEED = 11
SEED_CASES = 20_000
FIRST, LAST = "2019-01", "2024-12"
MAX_MONTH = "2024-12"


@dataclass
class Store:
    name: str
    url: str
    engine: sa.Engine
    ref: Reference
    extracts: Path | None = None


def pytest_collection_modifyitems(config, items):
    """Browser tests need chromedriver: skip them visibly when it is missing, unless CI requires them."""
    if shutil.which("chromedriver") or os.environ.get("REQUIRE_BROWSER"):
        return
    skip = pytest.mark.skip(reason="chromedriver not found: apt-get install chromium chromium-driver")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pg_database():
    """Make PostgreSQL databases for this test session (dropped at the end); skip when no server is configured."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL store tests skipped")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    made = []

    def make(label: str) -> str:
        name = f"rasso_test_{label}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_scratch_url(pg_database) -> str:
    return pg_database("scratch")


def _seed(engine: sa.Engine, directory: Path) -> Reference:
    init_store(engine)
    ref = load_reference(engine)
    cases, returns = generate(ref, SEED_CASES, SEED, FIRST, LAST)
    case_path, returns_path = write_extracts(cases, returns, directory)
    ingest_cases(engine, case_path, reference=ref, max_month=MAX_MONTH)
    ingest_returns(engine, returns_path, reference=ref, max_month=MAX_MONTH)
    return ref


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory) -> Store:
    """The deterministic seeded SQLite store every read-only test shares."""
    directory = tmp_path_factory.mktemp("seeded")
    url = f"sqlite:///{directory / 'rasso.sqlite'}"
    engine = make_engine(url)
    ref = _seed(engine, directory)
    yield Store("sqlite", url, engine, ref, directory)
    engine.dispose()


@pytest.fixture(scope="session")
def seeded_pg(pg_database, tmp_path_factory) -> Store:
    url = pg_database("seeded")
    engine = make_engine(url)
    ref = _seed(engine, tmp_path_factory.mktemp("seeded_pg"))
    yield Store("postgresql", url, engine, ref)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request) -> Store:
    """The seeded store on each backend: the same tests must pass on both."""
    return request.getfixturevalue("seeded_sqlite" if request.param == "sqlite" else "seeded_pg")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_store(request, tmp_path) -> Store:
    """A freshly initialised store with reference data and no loads, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    else:
        url = request.getfixturevalue("pg_scratch_url")
    engine = make_engine(url)
    from queries import schema
    schema.metadata.drop_all(engine)
    init_store(engine)
    yield Store(request.param, url, engine, load_reference(engine))
    engine.dispose()


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Reference:
    """Reference data alone (no cases), for validation tests."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.sqlite'}")
    init_store(engine)
    ref = load_reference(engine)
    engine.dispose()
    return ref


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    """Write an extract the way a data team would: header row, then rows in header order."""
    lines = [",".join(header)] + [",".join(str(r.get(h, "")) for h in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
