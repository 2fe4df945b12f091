"""Cohort drill-down: reconciles with the headline, protects small numbers, respects the user's scope, same on both
stores. Expected figures come from queries.metrics (the headline) or from plain SQL over the case rows."""
from __future__ import annotations

import dataclasses
import random
import statistics

import polars as pl
import pytest
import sqlalchemy as sa

from conftest import write_csv
from queries.cohorts import (DIMENSIONS, CohortTooSmall, _plan, _quartiles, _scan, _where, breakdown, breakdowns,
                             cohort_period_bounds, cohort_profile, cohort_summary, cross_table)
from queries.disclosure import TOTAL
from queries.filters import Filters
from queries.load import ingest_cases
from queries.metrics import metric_values
from queries.months import add_months
from queries.validate import CASE_COLUMNS

T = 10


def headline(store, filters: Filters, metric: str, period: str | None) -> dict:
    """The headline row metric_values gives for the same filters and period (the number a cohort is opened from)."""
    grain = ("period" if period is None else "quarter" if "Q" in period else "year" if len(period) == 4
             else "month")
    df = metric_values(store.engine, filters, [metric], store.ref, grain=grain, threshold=T)
    row = df.filter(pl.col("period") == (period or "period"))
    assert row.height == 1
    return row.row(0, named=True)


def national(filters: Filters) -> Filters:
    return filters.with_(areas=(), forces=(), scope_areas=None)


def pilot_filters(ref, metric: str) -> Filters:
    """Filters covering exactly the pilot units of the metric's workstream."""
    ws = ref.metrics[metric].workstream_code
    pairs = {(p.area_code, p.force_code) for p in ref.pilot_sites if p.workstream_code == ws}
    f = Filters(areas=tuple(sorted({a for a, _ in pairs})), forces=tuple(sorted({x for _, x in pairs})))
    assert {u for u in ref.pairs if u[0] in f.areas and u[1] in f.forces} == pairs
    return f


def size_of(store, h: dict, metric: str):
    return h["denominator"] if store.ref.metrics[metric].has_denominator else h["numerator"]


RECONCILE = [
    ("early_advice_rate", Filters(areas=("WES",)), "2023-Q2"),                            # referral rate, Area
    ("charge_rate", Filters(forces=("E23000001",)), "2024"),                               # decision rate, force
    ("referrals", Filters(areas=("LSO",)), "2022-06"),                                     # count, month
    ("days_to_decision", Filters(areas=("NEA", "SWE"), period_from="2021-01", period_to="2023-12"), None),
    ("multiple_action_plans_rate", Filters(areas=("WES",), forces=("E23000030",)), "2023"),
    ("charge_rate", Filters(areas=("YHU",), period_from="2024-02"), "2024-Q1"),            # quarter cut by 'from'
    ("isva_engagement_rate", Filters(), "2024"),                                           # national: pilot sites
    ("days_to_decision", Filters(), "2023-Q4"),
]


@pytest.mark.parametrize("metric,filters,period", RECONCILE)
def test_cohort_reconciles_with_headline(seeded, metric, filters, period):
    s = cohort_summary(seeded.engine, filters, metric, period, seeded.ref, T)
    opened_from = pilot_filters(seeded.ref, metric) if filters.is_national else filters
    h = headline(seeded, opened_from, metric, period)
    assert s.cohort.size >= T and not s.cohort.value_suppressed
    assert (s.cohort.size, s.cohort.numerator, s.cohort.value) == (size_of(seeded, h, metric), h["numerator"],
                                                                   h["value"])
    assert (s.first_month, s.last_month) == (h["first_month"], h["last_month"])   # the months the headline counted
    # cohort and comparison partition England and Wales
    nat = headline(seeded, national(filters), metric, period)
    assert s.cohort.size + s.comparison.size == size_of(seeded, nat, metric)
    assert s.cohort.numerator + s.comparison.numerator == nat["numerator"]
    # every breakdown adds up to the cohort
    for dim in ("decision", "days_to_decision"):
        table = breakdown(seeded.engine, filters, metric, period, seeded.ref, dim, T)
        assert table.filter(pl.col("category") == TOTAL)["count"].to_list() == [s.cohort.size]


def test_national_groups_are_pilot_and_comparison_sites(seeded):
    s = cohort_summary(seeded.engine, Filters(), "charge_rate", "2023", seeded.ref, T)
    assert (s.cohort.label, s.comparison.label, s.restricted) == ("Pilot sites", "Comparison sites", False)
    no_pilots = dataclasses.replace(seeded.ref, pilot_sites=())
    s = cohort_summary(seeded.engine, Filters(), "charge_rate", "2023", no_pilots, T)
    nat = headline(seeded, Filters(), "charge_rate", "2023")
    assert (s.cohort.label, s.comparison) == ("England and Wales", None)
    assert (s.cohort.size, s.cohort.numerator) == (nat["denominator"], nat["numerator"])
    with pytest.raises(ValueError, match="no comparison group"):
        breakdown(seeded.engine, Filters(), "charge_rate", "2023", no_pilots, "decision", T, group="comparison")


def test_small_numerator_suppressed_like_the_headline(seeded):
    f = Filters(areas=("WMD",))
    h = headline(seeded, f, "admin_finalised_rate", "2024-Q1")
    assert h["numerator"] is None and h["suppressed"]        # precondition: the headline hides it
    s = cohort_summary(seeded.engine, f, "admin_finalised_rate", "2024-Q1", seeded.ref, T)
    assert s.cohort.size == h["denominator"]
    assert (s.cohort.numerator, s.cohort.value, s.cohort.value_suppressed) == (None, None, True)
    # national minus the comparison's numerator would give the cohort's away, so that is hidden too
    assert (s.comparison.numerator, s.comparison.value, s.comparison.value_suppressed) == (None, None, True)


def quartiles(values: list[int]) -> list[float]:
    """The documented definition, computed independently: linear interpolation (statistics 'inclusive')."""
    return statistics.quantiles(values, n=4, method="inclusive")


def test_quartile_method_matches_statistics_and_polars():
    rng = random.Random(3)
    for n in [3, 4, 5, 7, 10, 11, 100, 1001]:
        values = [rng.choice([0, 5, 30, 31, 90, 365, 400]) + rng.randint(0, 3) for _ in range(n)]
        hist = sorted({v: values.count(v) for v in values}.items())
        assert list(_quartiles(hist)) == pytest.approx(quartiles(values), abs=1e-9)
        assert list(_quartiles(hist)) == pytest.approx(
            [pl.Series(values).quantile(p, interpolation="linear") for p in (0.25, 0.5, 0.75)], abs=1e-9)


DAYS_SQL = {  # plain SQL, written independently of queries.measures
    "charge_rate": "decision IN ('charged', 'nfa') AND decision_month BETWEEN '2023-01' AND '2023-12'",
    "early_advice_rate": "days_to_decision IS NOT NULL AND referral_month BETWEEN '2023-01' AND '2023-12'",
}


@pytest.mark.parametrize("metric", list(DAYS_SQL))
def test_days_quartiles_match_case_rows(seeded, metric):
    s = cohort_summary(seeded.engine, Filters(areas=("WES",)), metric, "2023", seeded.ref, T)
    with seeded.engine.connect() as conn:
        rows = {grp: [r[0] for r in conn.execute(sa.text(
                f"SELECT days_to_decision FROM cases WHERE area_code {op} 'WES' AND {DAYS_SQL[metric]}"))]
                for grp, op in (("cohort", "="), ("comparison", "<>"))}
    for grp in ("cohort", "comparison"):
        g = getattr(s, grp)
        assert len(rows[grp]) >= T and not g.days_suppressed
        assert [g.days_q1, g.days_median, g.days_q3] == pytest.approx(quartiles(rows[grp]), abs=1e-9)


def test_tiny_cohort_shows_only_the_message(seeded):
    f, period = Filters(areas=("WES",), forces=("E23000030",)), "2024-03"
    with seeded.engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM cases WHERE force_code = 'E23000030' AND decision = 'nfa' "
                                 "AND nfa_scrutinised = 1 AND decision_month = '2024-03'")).scalar_one()
    assert 1 <= n < T                                            # precondition: a genuinely tiny cohort
    s = cohort_summary(seeded.engine, f, "nfa_overturn_rate", period, seeded.ref, T)
    assert s.cohort == dataclasses.replace(s.cohort, size=None, numerator=None, value=None, days_q1=None,
                                           days_median=None, days_q3=None)
    assert s.cohort.message == "fewer than 10 cases"
    # the comparison is national minus the cohort: shown, it would give the cohort's size away
    assert s.comparison.size is None and s.comparison.message == "not shown: Selection has fewer than 10 cases"
    for call in (lambda: breakdown(seeded.engine, f, "nfa_overturn_rate", period, seeded.ref, "victim_sex", T),
                 lambda: breakdown(seeded.engine, f, "nfa_overturn_rate", period, seeded.ref, "victim_sex", T,
                                   group="comparison"),
                 lambda: cross_table(seeded.engine, f, "nfa_overturn_rate", period, seeded.ref, "victim_sex",
                                     "decision", T)):
        with pytest.raises(CohortTooSmall, match="fewer than 10 cases"):
            call()


def assert_line_protected(counts: list, flags: list[bool]) -> None:
    assert not any(c is not None and 1 <= c < T for c in counts)         # no small number shown
    assert all((c is None) == f for c, f in zip(counts, flags))
    assert sum(flags) != 1                                               # never one suppressed entry alone


def test_breakdown_small_cells_protected_jointly_with_comparison(seeded):
    f = Filters(areas=("WES",))
    cohort = breakdown(seeded.engine, f, "charge_rate", "2024", seeded.ref, "victim_age_band", T)
    comparison = breakdown(seeded.engine, f, "charge_rate", "2024", seeded.ref, "victim_age_band", T,
                           group="comparison")
    for table in (cohort, comparison):
        assert table.columns == ["category", "count", "count_suppressed", "share"]
        assert table["category"].to_list() == [*DIMENSIONS["victim_age_band"].categories, TOTAL]
        assert_line_protected(table["count"].to_list(), table["count_suppressed"].to_list())
        assert table.filter(pl.col("count_suppressed"))["share"].null_count() == table["count_suppressed"].sum()
    assert cohort["count_suppressed"].any()                                 # precondition: there was something to hide
    # national (pilot + comparison sites, both shown elsewhere) minus comparison must not reveal a hidden cell
    for mine, other in ((cohort, comparison), (comparison, cohort)):
        for hidden, other_hidden, other_n in zip(mine["count_suppressed"], other["count_suppressed"], other["count"]):
            assert not hidden or other_hidden or other_n == 0


def test_cross_table_protected_and_complete(seeded):
    t = cross_table(seeded.engine, Filters(areas=("WES",)), "charge_rate", "2024", seeded.ref, "offence_group",
                    "victim_age_band", T)
    rows, cols = [*DIMENSIONS["offence_group"].categories, TOTAL], [*DIMENSIONS["victim_age_band"].categories, TOTAL]
    assert t.select("offence_group", "victim_age_band").rows() == [(r, c) for r in rows for c in cols]
    assert t["count_suppressed"].any()
    for key, values in (("offence_group", rows), ("victim_age_band", cols)):
        for v in values:
            line = t.filter(pl.col(key) == v)
            assert_line_protected(line["count"].to_list(), line["count_suppressed"].to_list())
    size = cohort_summary(seeded.engine, Filters(areas=("WES",)), "charge_rate", "2024", seeded.ref, T).cohort.size
    assert t.filter((pl.col("offence_group") == TOTAL) & (pl.col("victim_age_band") == TOTAL))["count"][0] == size


def expected_category(dim: str, value) -> str:
    """Independent banding of a raw column value, as the dimension whitelist documents it."""
    if dim in ("early_advice", "isva_engaged", "victim_withdrew"):
        return "Yes" if value == 1 else "No"
    if dim == "action_plans":
        return str(value) if value <= 2 else "3+"
    if dim == "days_to_decision":
        if value is None:
            return "Pending"
        return next(b for b, top in (("0-28", 28), ("29-90", 90), ("91-180", 180), ("181-365", 365),
                                     ("366+", 10**6)) if value <= top)
    return value


@pytest.mark.parametrize("dim", list(DIMENSIONS))
def test_every_dimension_complete_and_counted_right(seeded, dim):
    f = Filters(areas=("LNO", "LSO", "NWE"))
    table = breakdown(seeded.engine, f, "referrals", "2024", seeded.ref, dim, T)
    assert table["category"].to_list() == [*DIMENSIONS[dim].categories, TOTAL]
    with seeded.engine.connect() as conn:
        values = [r[0] for r in conn.execute(sa.text(
            f"SELECT {dim} FROM cases WHERE area_code IN ('LNO', 'LSO', 'NWE') "
            "AND referral_month BETWEEN '2024-01' AND '2024-12'"))]
    expected = {k: 0 for k in DIMENSIONS[dim].categories}
    for v in values:
        expected[expected_category(dim, v)] += 1
    expected[TOTAL] = len(values)
    for cat, n, hidden in table.select("category", "count", "count_suppressed").iter_rows():
        assert n == (None if hidden else expected[cat])
    assert table.filter(pl.col("category") == TOTAL)["share"].to_list() == [1.0]


def test_band_edges(empty_store, tmp_path):
    """Ten cases on each band edge (and ten pending): an edge in the wrong band moves ten cases."""
    base = dict(area_code="SWE", force_code="E23000036", referral_month="2023-01", offence_group="adult_rape",
                victim_age_band="25_34", victim_sex="female", early_advice=0, nfa_scrutinised=0, nfa_overturned=0,
                isva_engaged=0, victim_withdrew=0)
    rows = [dict(base, case_id=f"d{days}_{i}", decision="charged", days_to_decision=days, action_plans=i % 5,
                 decision_month=add_months("2023-01", round(days / 30.4)))
            for days in (0, 28, 29, 90, 91, 180, 181, 365, 366) for i in range(10)]
    rows += [dict(base, case_id=f"p{i}", decision="pending", days_to_decision="", decision_month="",
                  action_plans=i % 5) for i in range(10)]
    ingest_cases(empty_store.engine, write_csv(tmp_path / "c.csv", list(CASE_COLUMNS), rows), max_month="2024-12")
    counts = {dim: dict(breakdown(empty_store.engine, Filters(areas=("SWE",)), "referrals", "2023-01",
                                  empty_store.ref, dim, T).select("category", "count").iter_rows())
              for dim in ("days_to_decision", "action_plans")}
    assert counts["days_to_decision"] == {"0-28": 20, "29-90": 20, "91-180": 20, "181-365": 20, "366+": 10,
                                          "Pending": 10, TOTAL: 100}
    assert counts["action_plans"] == {"0": 20, "1": 20, "2": 20, "3+": 40, TOTAL: 100}
    s = cohort_summary(empty_store.engine, Filters(areas=("SWE",)), "charge_rate", None, empty_store.ref, T)
    days = [r["days_to_decision"] for r in rows if r["decision"] == "charged"]
    assert [s.cohort.days_q1, s.cohort.days_median, s.cohort.days_q3] == pytest.approx(quartiles(days))


def test_scope_limits_the_cohort_whatever_the_filters_ask(seeded):
    e, ref = seeded.engine, seeded.ref
    # another Area: nothing but the message, and no breakdown
    s = cohort_summary(e, Filters(areas=("LSO",), scope_areas=("WES",)), "charge_rate", "2024", ref, T)
    assert (s.cohort.size, s.cohort.message, s.restricted) == (None, "fewer than 10 cases", True)
    assert s.comparison.size is None
    with pytest.raises(CohortTooSmall):
        breakdown(e, Filters(forces=("E23000001",), scope_areas=("WES",)), "charge_rate", "2024", ref, "decision", T)
    assert cohort_summary(e, Filters(areas=("WES",), scope_areas=()), "charge_rate", "2024", ref, T).cohort.size is None
    # a wider selection is cut to the user's Areas
    wes = headline(seeded, Filters(areas=("WES",)), "charge_rate", "2024")
    nat = headline(seeded, Filters(), "charge_rate", "2024")
    s = cohort_summary(e, Filters(areas=("WES", "SEA"), scope_areas=("WES",)), "charge_rate", "2024", ref, T)
    assert (s.cohort.size, s.cohort.label, s.restricted) == (wes["denominator"], "Selection (your Areas only)", True)
    assert s.comparison.size == nat["denominator"] - wes["denominator"]
    table = breakdown(e, Filters(areas=("WES", "SEA"), scope_areas=("WES",)), "charge_rate", "2024", ref,
                      "offence_group", T)
    assert table.filter(pl.col("category") == TOTAL)["count"].to_list() == [wes["denominator"]]
    # the Met sits under two Areas: a scope of London North gives only that unit
    lno = headline(seeded, Filters(areas=("LNO",), forces=("E23000001",)), "charge_rate", "2024")
    s = cohort_summary(e, Filters(forces=("E23000001",), scope_areas=("LNO",)), "charge_rate", "2024", ref, T)
    assert s.cohort.size == lno["denominator"]
    # national: only the pilot sites in the user's Areas; the comparison is then the rest of the country
    swe = headline(seeded, Filters(areas=("SWE",)), "isva_engagement_rate", "2024")
    s = cohort_summary(e, Filters(scope_areas=("SWE",)), "isva_engagement_rate", "2024", ref, T)
    assert (s.cohort.size, s.cohort.label, s.comparison.label) == (
        swe["denominator"], "Pilot sites (your Areas only)", "Rest of England and Wales")


def test_comparisons_cannot_be_differenced_to_reveal_another_area(seeded):
    """Two selections differing by an Area outside the scope give the same comparison group."""
    args = ("charge_rate", "2024", seeded.ref, T)
    one = cohort_summary(seeded.engine, Filters(areas=("WES",), scope_areas=("WES",)), *args)
    two = cohort_summary(seeded.engine, Filters(areas=("WES", "LSO"), scope_areas=("WES",)), *args)
    assert one.comparison.size == two.comparison.size and one.comparison.numerator == two.comparison.numerator
    b = [breakdown(seeded.engine, Filters(areas=a, scope_areas=("WES",)), "charge_rate", "2024", seeded.ref,
                   "offence_group", T, group="comparison") for a in (("WES",), ("WES", "LSO"))]
    assert b[0].equals(b[1])


ONE_PASS = [   # metric, filters, period, whether some cell is suppressed
    ("charge_rate", Filters(), "2024", False),                            # national: pilot vs comparison sites
    ("charge_rate", Filters(areas=("WES",)), "2024", True),
    ("referrals", Filters(areas=("LNO", "LSO", "NWE")), "2023-Q2", True),
    ("days_to_decision", Filters(areas=("WES",), scope_areas=("WES",)), None, False),
    ("early_advice_rate", Filters(forces=("E23000001",)), "2022", True),
]


@pytest.mark.parametrize("metric,filters,period,hidden", ONE_PASS)
def test_one_pass_counts_equal_group_by_counts(seeded, metric, filters, period, hidden):
    """The one pass per group (conditional aggregation) counts every category as one GROUP BY per dimension does."""
    plan = _plan(filters, metric, period, seeded.ref)
    dims = list(DIMENSIONS.values())
    with seeded.engine.connect() as conn:
        scanned = {g: _scan(conn, plan, g, dims) for g in plan.units}
        assert set(scanned) == {"cohort", "comparison"}
        for g, counts in scanned.items():
            for d in dims:
                inner = sa.select(d.expr.label("k")).where(*_where(plan, g)).subquery()
                grouped = dict(conn.execute(sa.select(inner.c.k, sa.func.count()).group_by(inner.c.k)).all())
                assert counts.categories[d.key] == {k: grouped.get(k, 0) for k in d.categories}, (g, d.key)
                assert counts.size == sum(grouped.values()) > 0
            assert sum(counts.days.values()) == counts.size - counts.categories["days_to_decision"]["Pending"]


@pytest.mark.parametrize("metric,filters,period,hidden", ONE_PASS)
def test_profile_gives_what_summary_and_breakdown_give(seeded, metric, filters, period, hidden):
    summary, tables = cohort_profile(seeded.engine, filters, metric, period, seeded.ref, threshold=T)
    assert summary == cohort_summary(seeded.engine, filters, metric, period, seeded.ref, T)
    again = breakdowns(seeded.engine, filters, metric, period, seeded.ref, threshold=T)
    assert list(tables) == list(again) == list(DIMENSIONS)
    for dim, by_group in tables.items():
        assert list(by_group) == list(again[dim]) == ["cohort", "comparison"]
        for group, table in by_group.items():
            assert table.equals(breakdown(seeded.engine, filters, metric, period, seeded.ref, dim, T, group=group))
            assert table.equals(again[dim][group])
    assert any(t["count_suppressed"].any() for by_group in tables.values() for t in by_group.values()) == hidden


def test_profile_of_a_refused_cohort_has_no_tables(seeded):
    f, args = Filters(areas=("WES",), forces=("E23000030",)), ("nfa_overturn_rate", "2024-03", seeded.ref)
    summary, tables = cohort_profile(seeded.engine, f, *args, ("victim_sex", "decision"), T)
    assert summary.cohort.message == "fewer than 10 cases" and tables == {"victim_sex": {}, "decision": {}}
    with pytest.raises(CohortTooSmall, match="fewer than 10 cases"):
        breakdowns(seeded.engine, f, *args, ("victim_sex",), T)
    with pytest.raises(ValueError, match="unknown dimension 'case_id'"):
        breakdowns(seeded.engine, f, *args, ("victim_sex", "case_id"), T)


def test_cohort_queries_search_the_unit_index(seeded_sqlite):
    """A cohort reads one group's cases, through the (unit, month) index, never the whole table."""
    e, ref, captured = seeded_sqlite.engine, seeded_sqlite.ref, []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))
    sa.event.listen(e, "before_cursor_execute", capture)
    try:
        cohort_profile(e, Filters(), "charge_rate", "2024", ref, threshold=T)            # pilot vs comparison sites
        cohort_profile(e, Filters(areas=("WES",)), "referrals", None, ref, threshold=T)  # no months: units only
        cross_table(e, Filters(areas=("WES",)), "charge_rate", "2024", ref, "offence_group", "decision", T)
    finally:
        sa.event.remove(e, "before_cursor_execute", capture)
    on_cases = [(st, p) for st, p in captured if "FROM cases" in st]
    assert len(on_cases) == 3   # one group each: the other comes from the kept national counts
    others = [st for st, _ in captured if "FROM cases" not in st]
    assert others and all("FROM population_" in st or "FROM monthly" in st for st in others)
    with e.connect() as conn:
        for statement, parameters in on_cases:
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            assert "SEARCH cases USING INDEX ix_cases_unit_" in plan and "SCAN cases" not in plan, plan


def test_bad_input_is_refused(seeded_sqlite):
    e, ref, f = seeded_sqlite.engine, seeded_sqlite.ref, Filters()
    for bad in ("2024-13", "2024-Q5", "2024-Q0", "24", "2024-1", "2024\n", "2024-03-01", "", 2024):
        with pytest.raises(ValueError, match="period"):
            cohort_summary(e, f, "charge_rate", bad, ref, T)
    with pytest.raises(ValueError, match="returns"):
        cohort_summary(e, f, "action_plans_assured_rate", "2024", ref, T)
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        cohort_summary(e, f, "nope", "2024", ref, T)
    with pytest.raises(ValueError, match="unknown dimension 'case_id'"):
        breakdown(e, f, "charge_rate", "2024", ref, "case_id", T)
    with pytest.raises(ValueError, match="unknown dimension 'area_code; drop'"):
        cross_table(e, f, "charge_rate", "2024", ref, "decision", "area_code; drop", T)
    with pytest.raises(ValueError, match="two different"):
        cross_table(e, f, "charge_rate", "2024", ref, "decision", "decision", T)
    with pytest.raises(ValueError, match="group"):
        breakdown(e, f, "charge_rate", "2024", ref, "decision", T, group="everyone")
    with pytest.raises(ValueError, match="outside the filters"):
        cohort_summary(e, Filters(period_from="2023-01", period_to="2023-12"), "charge_rate", "2024", ref, T)
    with pytest.raises(ValueError, match="scope_areas"):
        cohort_summary(e, Filters(scope_areas="WES"), "charge_rate", "2024", ref, T)
    with pytest.raises(ValueError, match="at least 3"):
        cohort_summary(e, f, "charge_rate", "2024", ref, 2)


def test_period_bounds():
    assert cohort_period_bounds("2024-03") == ("2024-03", "2024-03")
    assert cohort_period_bounds("2024-Q1") == ("2024-01", "2024-03")
    assert cohort_period_bounds("2024-Q4") == ("2024-10", "2024-12")
    assert cohort_period_bounds("2024") == ("2024-01", "2024-12")


@pytest.mark.postgres
def test_sqlite_and_postgresql_give_identical_results(seeded_sqlite, seeded_pg):
    calls = [
        lambda s: cohort_summary(s.engine, Filters(areas=("WES",)), "charge_rate", "2023", s.ref, T),
        lambda s: cohort_summary(s.engine, Filters(), "early_advice_rate", None, s.ref, T),
        lambda s: cohort_summary(s.engine, Filters(areas=("WMD",)), "admin_finalised_rate", "2024-Q1", s.ref, T),
        lambda s: cohort_summary(s.engine, Filters(forces=("E23000001",), scope_areas=("LSO",)), "days_to_decision",
                                 "2022", s.ref, T),
        lambda s: breakdown(s.engine, Filters(areas=("WES",)), "charge_rate", "2024", s.ref, "victim_age_band", T,
                            group="comparison"),
        lambda s: breakdown(s.engine, Filters(), "referrals", "2024-Q2", s.ref, "days_to_decision", T),
        lambda s: cross_table(s.engine, Filters(areas=("WES",)), "charge_rate", "2024", s.ref, "offence_group",
                              "action_plans", T),
    ]
    for call in calls:
        lite, pg = call(seeded_sqlite), call(seeded_pg)
        assert lite.equals(pg) if isinstance(lite, pl.DataFrame) else lite == pg
