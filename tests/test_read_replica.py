"""A read replica for the dashboard (DATABASE_READ_URL): pages and exports read it; the audit trail, accounts and
sign-in stay on the primary (DATABASE_URL). The replica here is refused every write, as a standby server is."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from dashboard import create_app
from dashboard.settings import Settings
from queries import schema as s
from queries.audit import entries
from queries.db import make_engine
from queries.rollups import rebuild_rollups
from test_access import callback, get

READ_ONLY = "options=-c%20default_transaction_read_only%3Don"   # what a hot standby enforces
PAGES = [("overview", {"url.search": "?area=WES", "url.pathname": "/"}),
         ("workstream-content", {"url.search": "", "url.pathname": "/workstream/victims"}),
         ("cohort-content", {"url.search": "?metric=charge_rate&area=WES", "url.pathname": "/cohort"})]
EXPORTS = ["/export/metrics.csv?grain=year", "/export/metrics.xlsx?grain=year&area=WES",
           "/export/cohort.csv?metric=charge_rate&by=offence_group&area=WES", "/export/spc.csv?metric=charge_rate",
           "/healthz"]


def audit_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(s.audit)).scalar_one()


def test_the_setting_is_read_from_the_environment():
    assert Settings.from_env({}).database_read_url is None
    url = "postgresql+psycopg://reader@replica.example.org/rasso"
    assert Settings.from_env({"DATABASE_READ_URL": url}).database_read_url == url


def test_a_read_only_replica_serves_every_page_and_export_and_the_audit_goes_to_the_primary(seeded_pg):
    replica = f"{seeded_pg.url}?{READ_ONLY}"
    with make_engine(replica).connect() as conn:   # the stand-in really refuses writes
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            conn.execute(sa.delete(s.audit))
    before = audit_count(seeded_pg.engine)
    app = create_app(Settings(database_url=seeded_pg.url, database_read_url=replica, cache_type="null"))
    for output, inputs in PAGES:
        response = callback(app, output, inputs)
        assert response.status_code == 200, output
        assert "Something went wrong" not in response.get_data(as_text=True), output
    for path in EXPORTS:
        assert get(app, path).status_code == 200, path
    actions = [e.action for e in entries(seeded_pg.engine, limit=audit_count(seeded_pg.engine) - before)]
    assert sorted(actions) == ["analysis_export", "cohort_export", "cohort_view", "metrics_export",
                               "metrics_export"]


def test_pages_and_exports_read_the_replica_not_the_primary(seeded_sqlite, tmp_path):
    """Two copies of one store that differ in one measure: what is shown comes from the replica."""
    primary, replica = tmp_path / "primary.sqlite", tmp_path / "replica.sqlite"
    source = seeded_sqlite.url.removeprefix("sqlite:///")
    for copy in (primary, replica):
        shutil.copy(source, copy)
    engine = make_engine(f"sqlite:///{replica}")
    with engine.begin() as conn:
        conn.execute(sa.update(s.monthly).where(s.monthly.c.metric_code == "referrals")
                     .values(numerator=s.monthly.c.numerator + 1000))
        rebuild_rollups(conn)   # as a load would: the national figures follow monthly
    engine.dispose()

    def export(**urls) -> str:
        app = create_app(Settings(cache_type="null", **urls))
        response = get(app, "/export/metrics.csv?grain=year&metric=referrals")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def audit_rows(path) -> int:
        engine = make_engine(f"sqlite:///{path}")
        n = audit_count(engine)
        engine.dispose()
        return n

    before = audit_rows(primary)
    through_replica = export(database_url=f"sqlite:///{primary}", database_read_url=f"sqlite:///{replica}")
    assert audit_rows(primary) == before + 1                     # the export was audited on the primary...
    assert entries(make_engine(f"sqlite:///{primary}"), limit=1)[0].action == "metrics_export"
    assert audit_rows(replica) == before                         # ...and nothing was written to the replica
    assert through_replica == export(database_url=f"sqlite:///{replica}")
    assert through_replica != export(database_url=f"sqlite:///{primary}")
