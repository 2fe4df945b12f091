"""Loads are transactional, idempotent, recorded, and behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from conftest import write_csv
from queries import schema as s
from queries.load import ingest_cases, ingest_returns
from queries.measures import CASE_MEASURES
from queries.status import store_status
from queries.validate import CASE_COLUMNS, RETURN_COLUMNS, LoadError

MAX = "2024-12"
CASE_METRICS = set(CASE_MEASURES)


def case(i: int, **changes) -> dict:
    row = dict(case_id=f"T-{i}", area_code="SWE", force_code="E23000036", referral_month="2023-01",
               offence_group="adult_rape", victim_age_band="25_34", victim_sex="female", early_advice=0,
               action_plans=1, decision="charged", decision_month="2023-04", days_to_decision=95,
               nfa_scrutinised=0, nfa_overturned=0, isva_engaged=0, victim_withdrew=0)
    row.update(changes)
    return row


def snapshot(engine) -> dict:
    """Everything a load may touch, so 'unchanged' can be asserted exactly."""
    with engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t)).all()), key=repr)
                for t in (s.cases, s.monthly, s.loads, s.population_days, s.population_categories)}


def monthly(engine, metric, month=None):
    m = s.monthly.c
    q = sa.select(sa.func.sum(m.numerator), sa.func.sum(m.denominator)).where(m.metric_code == metric)
    if month:
        q = q.where(m.month == month)
    with engine.connect() as conn:
        return tuple(conn.execute(q).one())


def test_load_lands_and_is_recorded(empty_store, tmp_path):
    path = write_csv(tmp_path / "cases.csv", list(CASE_COLUMNS),
                     [case(1), case(2, decision="nfa"), case(3, decision="pending", decision_month="",
                                                            days_to_decision="")])
    summary = ingest_cases(empty_store.engine, path, max_month=MAX)
    assert (summary.rows_read, summary.inserted, summary.replaced) == (3, 3, 0)
    assert "3 rows read, 3 inserted, 0 replaced" in str(summary)
    assert monthly(empty_store.engine, "referrals", "2023-01") == (3.0, None)
    assert monthly(empty_store.engine, "charge_rate", "2023-04") == (1.0, 2.0)
    with empty_store.engine.connect() as conn:
        load = conn.execute(sa.select(s.loads)).one()
    assert load.file_name == "cases.csv" and load.rows_read == 3
    assert load.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    status = store_status(empty_store.engine)
    assert status.data_as_at == "2023-01" and status.row_counts["cases"] == 3


def test_one_bad_row_rejects_whole_file_and_changes_nothing(empty_store, tmp_path):
    engine = empty_store.engine
    ingest_cases(engine, write_csv(tmp_path / "first.csv", list(CASE_COLUMNS), [case(1), case(2)]), max_month=MAX)
    before = snapshot(engine)
    rows = [case(i, referral_month="2023-02", decision_month="2023-05") for i in range(10, 30)]
    rows[7]["decision"] = "maybe"
    rows[12]["early_advice"] = 3
    with pytest.raises(LoadError) as err:
        ingest_cases(engine, write_csv(tmp_path / "second.csv", list(CASE_COLUMNS), rows), max_month=MAX)
    assert "second.csv: 2 problems; nothing was loaded" in str(err.value)
    assert [(p.line, p.field) for p in err.value.problems] == [(9, "decision"), (14, "early_advice")]
    assert snapshot(engine) == before


def test_reload_replaces_month_area_force(empty_store, tmp_path):
    engine = empty_store.engine
    header = list(CASE_COLUMNS)
    ingest_cases(engine, write_csv(tmp_path / "a.csv", header, [case(1), case(2), case(3)]), max_month=MAX)
    first = snapshot(engine)["monthly"]
    again = ingest_cases(engine, write_csv(tmp_path / "a.csv", header, [case(1), case(2), case(3)]), max_month=MAX)
    assert (again.inserted, again.replaced) == (3, 3)
    assert [r[:6] for r in snapshot(engine)["monthly"]] == [r[:6] for r in first]
    # A corrected extract for the same month drops a case and moves a decision to a later month.
    fixed = [case(1), case(2, decision_month="2023-06", days_to_decision=150)]
    ingest_cases(engine, write_csv(tmp_path / "b.csv", header, fixed), max_month=MAX)
    assert monthly(engine, "referrals", "2023-01") == (2.0, None)
    assert monthly(engine, "charge_rate", "2023-04") == (1.0, 1.0)
    assert monthly(engine, "charge_rate", "2023-06") == (1.0, 1.0)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(s.cases)).scalar() == 2
        assert conn.execute(sa.select(sa.func.count()).select_from(s.loads)).scalar() == 3


def test_other_months_and_units_are_kept(empty_store, tmp_path):
    engine = empty_store.engine
    header = list(CASE_COLUMNS)
    ingest_cases(engine, write_csv(tmp_path / "jan.csv", header, [case(1), case(2)]), max_month=MAX)
    feb = [case(3, referral_month="2023-02", decision_month="2023-05"),
           case(4, area_code="NEA", force_code="E23000008", referral_month="2023-02", decision_month="2023-05")]
    ingest_cases(engine, write_csv(tmp_path / "feb.csv", header, feb), max_month=MAX)
    assert monthly(engine, "referrals") == (4.0, None)


def test_case_id_loaded_elsewhere_is_refused_with_its_line(empty_store, tmp_path):
    engine = empty_store.engine
    header = list(CASE_COLUMNS)
    ingest_cases(engine, write_csv(tmp_path / "jan.csv", header, [case(1), case(2)]), max_month=MAX)
    before = snapshot(engine)
    clash = [case(5, referral_month="2023-03", decision_month="2023-06"),
             case(2, referral_month="2023-03", decision_month="2023-06")]
    with pytest.raises(LoadError) as err:
        ingest_cases(engine, write_csv(tmp_path / "mar.csv", header, clash), max_month=MAX)
    assert [(p.line, p.field) for p in err.value.problems] == [(3, "case_id")]
    assert "already loaded under SWE/E23000036 2023-01" in str(err.value)
    assert snapshot(engine) == before


def test_returns_load_replace_and_reject(empty_store, tmp_path):
    engine = empty_store.engine
    header = list(RETURN_COLUMNS)
    row = dict(month="2023-01", area_code="WES", force_code="E23000030", metric_code="action_plans_assured_rate",
               numerator=8, denominator=10)
    fte = dict(row, metric_code="specialist_prosecutors", numerator=12.5, denominator="")
    ingest_returns(engine, write_csv(tmp_path / "r.csv", header, [row, fte]), max_month=MAX)
    summary = ingest_returns(engine, write_csv(tmp_path / "r.csv", header, [dict(row, numerator=9)]), max_month=MAX)
    assert summary.replaced == 1
    assert monthly(engine, "action_plans_assured_rate") == (9.0, 10.0)
    assert monthly(engine, "specialist_prosecutors") == (12.5, None)
    before = snapshot(engine)
    with pytest.raises(LoadError, match="line 3, field numerator: numerator 11.0 is greater than denominator"):
        ingest_returns(engine, write_csv(tmp_path / "bad.csv", header,
                                         [dict(row, numerator=1), dict(row, month="2023-02", numerator=11.0)]),
                       max_month=MAX)
    assert snapshot(engine) == before


def test_seeded_store_row_counts_match_extract(seeded):
    status = store_status(seeded.engine)
    assert status.row_counts["cases"] == 20_000
    assert status.data_as_at == "2024-12" and status.schema_version == s.SCHEMA_VERSION


# ---- the fast insert paths: PostgreSQL's COPY and the driver-level executemany -------------------------------------

def stored_rows(engine) -> dict:
    """Cases and monthly aggregates as plain tuples, without load ids (which differ between stores by design)."""
    c, m = s.cases, s.monthly
    with engine.connect() as conn:
        cases = conn.execute(sa.select(*[col for col in c.columns if col.name != "load_id"])
                             .order_by(c.c.case_id)).all()
        months = conn.execute(sa.select(*[col for col in m.columns if col.name != "load_id"])
                              .order_by(m.c.month, m.c.area_code, m.c.force_code, m.c.metric_code)).all()
    return {"cases": [tuple(r) for r in cases], "monthly": [tuple(r) for r in months]}


@pytest.mark.postgres
def test_copy_path_stores_exactly_the_rows_of_the_insert_path(seeded_sqlite, seeded_pg):
    """The same extracts, loaded by COPY (PostgreSQL) and by executemany (SQLite), give identical rows: codes,
    empty decision months and days as NULL, 0/1 flags, and fractional staff figures from the returns."""
    sqlite_rows, pg_rows = stored_rows(seeded_sqlite.engine), stored_rows(seeded_pg.engine)
    assert len(pg_rows["cases"]) == 20_000
    assert any(r[10] is None for r in pg_rows["cases"]) and any(r[5] % 1 for r in pg_rows["monthly"])
    assert pg_rows == sqlite_rows


def test_refused_row_after_earlier_chunks_were_sent_leaves_store_unchanged(empty_store, tmp_path, monkeypatch):
    """A clash found after several chunks have already gone to the store (COPY streams them) rolls back whole."""
    import queries.bulk as bulk
    engine = empty_store.engine
    header = list(CASE_COLUMNS)
    ingest_cases(engine, write_csv(tmp_path / "jan.csv", header, [case(1), case(2)]), max_month=MAX)
    before = snapshot(engine)
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 2)
    rows = [case(i, referral_month="2023-03", decision_month="2023-06") for i in range(10, 19)]
    rows.append(case(2, referral_month="2023-03", decision_month="2023-06"))   # line 11: already stored in Jan
    with pytest.raises(LoadError) as err:
        ingest_cases(engine, write_csv(tmp_path / "mar.csv", header, rows), max_month=MAX)
    assert [(p.line, p.field) for p in err.value.problems] == [(11, "case_id")]
    assert snapshot(engine) == before


def test_failure_after_rows_are_written_rolls_the_load_back(empty_store, tmp_path, monkeypatch):
    import queries.load as load
    engine = empty_store.engine
    ingest_cases(engine, write_csv(tmp_path / "jan.csv", list(CASE_COLUMNS), [case(1)]), max_month=MAX)
    before = snapshot(engine)

    def broken(*args, **kwargs):
        raise RuntimeError("aggregate rebuild failed")
    monkeypatch.setattr(load, "rebuild_case_aggregates", broken)
    with pytest.raises(RuntimeError, match="aggregate rebuild failed"):
        feb = [case(i, referral_month="2023-02", decision_month="2023-05") for i in range(5, 9)]
        ingest_cases(engine, write_csv(tmp_path / "feb.csv", list(CASE_COLUMNS), feb), max_month=MAX)
    assert snapshot(engine) == before


def test_rebuilding_some_units_uses_the_unit_index_and_leaves_other_units_alone(seeded_sqlite, tmp_path):
    """A reload of a few units reads only their cases (SQLite skips the unit index for a row-value IN alone)."""
    import shutil

    from queries.db import make_engine
    from queries.load import case_aggregate_query, rebuild_case_aggregates
    units = [("SEA", "E23000031"), ("SEA", "E23000032"), ("WMD", "E23000014")]
    with seeded_sqlite.engine.connect() as conn:
        for basis in ("referral_month", "decision_month"):
            sql = str(case_aggregate_query(basis, units).compile(dialect=seeded_sqlite.engine.dialect,
                                                                 compile_kwargs={"literal_binds": True}))
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "SEARCH cases USING" in plan and "ix_cases_unit_" in plan, plan
    copy = tmp_path / "copy.sqlite"
    shutil.copy(seeded_sqlite.url.removeprefix("sqlite:///"), copy)
    engine = make_engine(f"sqlite:///{copy}")
    before = stored_rows(engine)["monthly"]
    with engine.begin() as conn:
        conn.execute(sa.update(s.monthly).where(s.monthly.c.area_code == "SEA",
                                                s.monthly.c.metric_code.in_(CASE_METRICS)).values(numerator=-1))
        rebuild_case_aggregates(conn, units[:2], load_id=1)
    after = stored_rows(engine)["monthly"]
    engine.dispose()
    rebuilt = [r for r in after if (r[1], r[2]) in units[:2]]
    assert rebuilt == [r for r in before if (r[1], r[2]) in units[:2]]    # the two units rebuilt exactly
    others = [r for r in after if r[1] == "SEA" and (r[1], r[2]) not in units[:2] and r[3] in CASE_METRICS]
    assert others and all(r[4] == -1 for r in others)                      # SEA's third force untouched


def test_each_load_is_audited_in_its_own_transaction(empty_store, tmp_path):
    from queries.audit import entries
    engine = empty_store.engine
    ingest_cases(engine, write_csv(tmp_path / "good.csv", list(CASE_COLUMNS), [case(1)]), max_month=MAX,
                 actor="analyst.one")
    got = entries(engine)
    assert [(e.username, e.action, e.target) for e in got] == [("analyst.one", "load", "good.csv")]
    assert got[0].detail["rows"] == 1 and got[0].detail["kind"] == "cases"
    with pytest.raises(LoadError):
        ingest_cases(engine, write_csv(tmp_path / "bad.csv", list(CASE_COLUMNS), [case(2, decision="x")]),
                     max_month=MAX, actor="analyst.one")
    assert len(entries(engine)) == 1          # a refused load leaves no audit entry, as it leaves no data


def test_postgresql_statistics_describe_the_loaded_tables_at_once(empty_store, tmp_path):
    """Plans follow the statistics: they must describe the rows just loaded, not wait for autovacuum."""
    engine = empty_store.engine
    ingest_cases(engine, write_csv(tmp_path / "cases.csv", list(CASE_COLUMNS), [case(i) for i in range(1, 8)]),
                 max_month=MAX)
    with engine.connect() as conn:
        if empty_store.name == "postgresql":
            rows = dict(conn.execute(sa.text("SELECT relname, reltuples FROM pg_class "
                                             "WHERE relname IN ('cases', 'monthly')")).all())
            assert rows["cases"] == 7 and rows["monthly"] == monthly_row_count(conn) > 0
        else:   # SQLite keeps no statistics unless asked; its plans (pinned above) stay as they are
            assert not conn.execute(sa.text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")).all()


def monthly_row_count(conn) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(s.monthly)).scalar_one()
