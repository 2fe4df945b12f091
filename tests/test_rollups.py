"""The national roll-ups (queries/rollups.py) always equal a fresh GROUP BY over monthly, whatever changed the store,
and national views read them and get exactly the numbers monthly gives."""
from __future__ import annotations

import shutil
import threading

import polars as pl
import sqlalchemy as sa

from queries import schema as s
from queries.filters import Filters
from queries.load import ingest_cases, ingest_returns
from queries.metrics import monthly_sums
from queries.reference import REFERENCE_DIR, init_store, load_reference
from queries.rollups import rebuild_rollups
from queries.tiles import headline_tiles
from queries.trends import pilot_split_sums, trend_series
from sample_data.generate import generate, write_extracts

MAX = "2024-12"
# Computed here another way than queries/rollups.py does (pilot membership by EXISTS, grouped by output name).
FRESH_NATIONAL = ("SELECT metric_code, month, SUM(numerator), SUM(denominator) FROM monthly "
                  "GROUP BY metric_code, month")
FRESH_SPLIT = ("SELECT m.metric_code, m.month, CASE WHEN EXISTS (SELECT 1 FROM pilot_sites p JOIN metrics k "
               "ON k.workstream_code = p.workstream_code WHERE k.metric_code = m.metric_code "
               "AND p.area_code = m.area_code AND p.force_code = m.force_code) THEN 1 ELSE 0 END AS pilot, "
               "SUM(m.numerator), SUM(m.denominator) FROM monthly m GROUP BY m.metric_code, m.month, pilot")


def stored(engine: sa.Engine, table: sa.Table) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(table)).all())


def fresh(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.exec_driver_sql(sql).all())


def assert_rollups_fresh(engine: sa.Engine) -> None:
    national, split = stored(engine, s.national_monthly), stored(engine, s.pilot_split_monthly)
    assert national == fresh(engine, FRESH_NATIONAL)
    assert split == fresh(engine, FRESH_SPLIT)
    assert national and {r[2] for r in split} == {0, 1}   # not vacuous: both series are there


def test_rollups_follow_every_load_and_every_change_of_pilot_sites(empty_store, tmp_path):
    engine, ref = empty_store.engine, empty_store.ref
    cases, returns = generate(ref, 5_000, 5, "2022-01", "2023-12")
    case_path, returns_path = write_extracts(cases, returns, tmp_path)
    assert stored(engine, s.national_monthly) == []

    ingest_cases(engine, case_path, reference=ref, max_month=MAX)
    assert_rollups_fresh(engine)
    after_cases = stored(engine, s.national_monthly)

    ingest_returns(engine, returns_path, reference=ref, max_month=MAX)
    assert_rollups_fresh(engine)
    assert len(stored(engine, s.national_monthly)) > len(after_cases)   # the returns' measures joined them

    # A resubmitted month for one Area: fewer cases, so the national figures change.
    month = cases.filter(pl.col("area_code") == "WMD", pl.col("referral_month") == "2023-06")
    assert month.height >= 4
    month.head(month.height // 2).write_csv(tmp_path / "resubmitted.csv")
    before = stored(engine, s.national_monthly)
    ingest_cases(engine, tmp_path / "resubmitted.csv", reference=ref, max_month=MAX)
    assert_rollups_fresh(engine)
    assert stored(engine, s.national_monthly) != before

    # A new pilot allocation: one workstream's sites dropped, another site added.
    reference_dir = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, reference_dir)
    sites = pl.read_csv(reference_dir / "pilot_sites.csv", infer_schema=False)
    first = sites.row(0, named=True)
    changed = pl.concat([sites.filter(pl.col("workstream_code") != first["workstream_code"]),
                         pl.DataFrame([dict(first, area_code="NEA", force_code="E23000008")])])
    changed.write_csv(reference_dir / "pilot_sites.csv")
    national, split = stored(engine, s.national_monthly), stored(engine, s.pilot_split_monthly)
    init_store(engine, reference_dir)
    assert_rollups_fresh(engine)
    assert stored(engine, s.pilot_split_monthly) != split
    assert stored(engine, s.national_monthly) == national   # the country's totals do not depend on the pilots


def test_a_store_from_before_the_rollups_gets_them_filled_by_init(empty_store, tmp_path):
    engine, ref = empty_store.engine, empty_store.ref
    cases, returns = generate(ref, 1_000, 6, "2023-01", "2023-12")
    case_path, returns_path = write_extracts(cases, returns, tmp_path)
    ingest_cases(engine, case_path, reference=ref, max_month=MAX)
    ingest_returns(engine, returns_path, reference=ref, max_month=MAX)
    s.pilot_split_monthly.drop(engine)   # the version 4 layout
    s.national_monthly.drop(engine)
    init_store(engine)
    assert_rollups_fresh(engine)


def test_national_reads_give_exactly_what_monthly_gives(seeded, monkeypatch):
    """The same national question answered from the roll-ups and, with them switched off, from monthly."""
    import queries.rollups as rollups
    engine, ref = seeded.engine, seeded.ref

    def both(answer):
        via_rollups = answer()
        with monkeypatch.context() as m:
            m.setattr(rollups, "reads_rollups", lambda filters: False)   # the one switch both readers use
            return via_rollups, answer()

    lead = ["early_advice_rate", "charge_rate", "referrals", "isva_engagement_rate"]
    for period in [(None, None), ("2021-01", "2024-06")]:
        national = Filters(period_from=period[0], period_to=period[1])
        a, b = both(lambda: monthly_sums(engine, national, list(ref.metrics)))
        assert a.height > 0 and a.equals(b)
        a, b = both(lambda: pilot_split_sums(engine, national, lead))
        assert a.height > 0 and a.equals(b)
        for grain in ("month", "quarter"):
            a, b = both(lambda: trend_series(engine, national, lead, ref, grain))
            assert a.height > 0 and a.equals(b)
    tiles, again = both(lambda: headline_tiles(engine, Filters(), ref, ("2024-01", "2024-12")))
    for code, tile in tiles.items():
        other = again[code]
        assert (tile.value, tile.suppressed, tile.year_earlier, tile.baseline, tile.target_met) == \
            (other.value, other.suppressed, other.year_earlier, other.baseline, other.target_met)
        assert tile.spc.table.equals(other.spc.table) and tile.spc.variation == other.spc.variation


def test_only_national_selections_read_the_rollups(seeded_sqlite):
    engine, ref = seeded_sqlite.engine, load_reference(seeded_sqlite.engine)
    captured: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append(statement)

    def tables_read(filters: Filters) -> set[str]:
        captured.clear()
        sa.event.listen(engine, "before_cursor_execute", capture)
        try:
            monthly_sums(engine, filters, list(ref.metrics))
            pilot_split_sums(engine, filters, ["charge_rate"])
        finally:
            sa.event.remove(engine, "before_cursor_execute", capture)
        names = ("national_monthly", "pilot_split_monthly", "monthly")
        return {n for statement in captured for n in names if f"FROM {n} " in f"{statement} ".replace("\n", " ")}

    assert tables_read(Filters(period_from="2022-01")) == {"national_monthly", "pilot_split_monthly"}
    assert tables_read(Filters(areas=("SEA",))) == {"monthly"}
    assert tables_read(Filters(forces=("E23000031",))) == {"monthly"}
    # A user's scope limits cohorts, not aggregates: a scoped or signed-out national view reads the roll-ups.
    assert tables_read(Filters(scope_areas=("SEA",))) == {"national_monthly", "pilot_split_monthly"}
    assert tables_read(Filters(scope_areas=())) == {"national_monthly", "pilot_split_monthly"}


def test_two_loads_rebuilding_at_once_both_succeed_and_the_last_one_wins(empty_store, tmp_path):
    """The second rebuild waits for the first to commit, then replaces what it wrote (PostgreSQL would otherwise
    refuse the second's rows as duplicates of the first's, committed after the second began deleting)."""
    engine, ref = empty_store.engine, empty_store.ref
    cases, _ = generate(ref, 1_000, 7, "2023-01", "2023-12")
    case_path, _ = write_extracts(cases, cases.head(0), tmp_path)
    ingest_cases(engine, case_path, reference=ref, max_month=MAX)
    if empty_store.name == "sqlite":   # one writer at a time: nothing can interleave
        return
    first = engine.connect()
    first.begin()
    rebuild_rollups(first)
    errors: list[BaseException] = []

    def second():
        try:
            with engine.begin() as conn:
                conn.execute(sa.update(s.monthly).values(numerator=s.monthly.c.numerator + 1))
                rebuild_rollups(conn)
        except BaseException as exc:   # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1)   # it cannot finish while the first holds the roll-ups
    first.commit()
    first.close()
    thread.join()
    assert errors == []
    assert_rollups_fresh(engine)
