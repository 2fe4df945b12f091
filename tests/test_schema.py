"""The store's schema as it evolves: stores made by earlier versions get today's indexes, and the headline query
reads only the covering index (docs/performance.md)."""
from __future__ import annotations

import sqlalchemy as sa

from queries import schema as s
from queries.filters import Filters
from queries.reference import init_store


def index_names(engine: sa.Engine, table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(engine).get_indexes(table)}


def test_an_earlier_store_is_given_the_covering_index_and_loses_the_retired_one(empty_store):
    engine = empty_store.engine
    with engine.begin() as conn:   # the version 3 layout: only the narrow (metric_code, month) index
        conn.exec_driver_sql("DROP INDEX ix_monthly_cover")
        conn.exec_driver_sql("CREATE INDEX ix_monthly_metric_month ON monthly (metric_code, month)")
    assert index_names(engine, "monthly") == {"ix_monthly_metric_month"}
    init_store(engine)
    assert index_names(engine, "monthly") == {"ix_monthly_cover"}
    assert [ix.name for ix in s.monthly.indexes] == ["ix_monthly_cover"]   # the schema object is not touched
    init_store(engine)   # and running it again changes nothing
    assert index_names(engine, "monthly") == {"ix_monthly_cover"}


def test_headline_sums_read_the_covering_index_alone(seeded_sqlite):
    from queries.metrics import monthly_sums
    captured = []
    engine = seeded_sqlite.engine

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    # Selections read monthly (national views read the roll-ups, tested in test_rollups.py)
    filters = Filters(areas=("SEA", "WES"), period_from="2022-01", period_to="2024-12")
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        monthly_sums(engine, filters, ["charge_rate", "early_advice_rate"])
        monthly_sums(engine, Filters(areas=("SEA",)), ["charge_rate"])
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert len(captured) == 2
    with engine.connect() as conn:
        for statement, parameters in captured:
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            assert "COVERING INDEX ix_monthly_cover" in plan, plan
            assert "SCAN monthly" not in plan, plan
