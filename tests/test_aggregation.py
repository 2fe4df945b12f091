"""Numbers are right: ratio of sums at every level and grain, and aggregates reconcile with the cases."""
from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from conftest import write_csv
from queries.filters import Filters
from queries.load import ingest_cases, ingest_returns
from queries.measures import CASE_MEASURES
from queries.metrics import metric_values, rollup
from queries.validate import CASE_COLUMNS, RETURN_COLUMNS

MAX = "2024-12"


def decisions(prefix, area, force, n_charged, n_nfa, month="2023-01"):
    base = dict(area_code=area, force_code=force, referral_month=month, offence_group="adult_rape",
                victim_age_band="25_34", victim_sex="female", early_advice=0, action_plans=0,
                decision_month=month, days_to_decision=10, nfa_scrutinised=0, nfa_overturned=0, isva_engaged=0,
                victim_withdrew=0)
    return ([dict(base, case_id=f"{prefix}c{i}", decision="charged") for i in range(n_charged)]
            + [dict(base, case_id=f"{prefix}n{i}", decision="nfa") for i in range(n_nfa)])


def test_charge_rate_is_ratio_of_sums_not_average_of_rates(empty_store, tmp_path):
    # Avon and Somerset: 10 charged of 100 decisions (10%); Gloucestershire: 9 of 10 (90%).
    # The average of the two rates is 50%; the true charge rate across both is 19 / 110 = 17.27%.
    rows = decisions("a", "SWE", "E23000036", 10, 90) + decisions("g", "SWE", "E23000037", 9, 1)
    ingest_cases(empty_store.engine, write_csv(tmp_path / "c.csv", list(CASE_COLUMNS), rows), max_month=MAX)
    area = metric_values(empty_store.engine, Filters(areas=("SWE",)), ["charge_rate"], empty_store.ref,
                         level="area", grain="month")
    assert area.select("numerator", "denominator").row(0) == (19.0, 110.0)
    assert area["value"][0] == pytest.approx(19 / 110)
    forces = metric_values(empty_store.engine, Filters(), ["charge_rate"], empty_store.ref, level="force",
                           threshold=3)
    assert sorted(forces["value"].to_list()) == pytest.approx([0.1, 0.9])
    assert forces["value"].mean() == pytest.approx(0.5)   # what averaging rates would wrongly report


def test_small_case_counts_are_suppressed_in_headline_figures(empty_store, tmp_path):
    rows = decisions("a", "SWE", "E23000036", 10, 90) + decisions("g", "SWE", "E23000037", 9, 1)
    ingest_cases(empty_store.engine, write_csv(tmp_path / "c.csv", list(CASE_COLUMNS), rows), max_month=MAX)
    forces = metric_values(empty_store.engine, Filters(), ["charge_rate", "nfa_decisions"], empty_store.ref,
                           level="force").sort("metric_code", "force_code")
    # Gloucestershire: 9 charged of 10 and 1 NFA: both under 10, so the rate and the count are [c].
    assert forces.select("force_code", "metric_code", "numerator", "value", "suppressed").rows() == [
        ("E23000036", "charge_rate", 10.0, 0.1, False), ("E23000037", "charge_rate", None, None, True),
        ("E23000036", "nfa_decisions", 90.0, 90.0, False), ("E23000037", "nfa_decisions", None, None, True)]
    with pytest.raises(ValueError, match="at least 3"):
        metric_values(empty_store.engine, Filters(), ["charge_rate"], empty_store.ref, threshold=2)


def test_months_roll_up_to_quarter_as_ratio_of_sums(empty_store, tmp_path):
    rows = (decisions("j", "SWE", "E23000036", 1, 9, "2023-01") + decisions("f", "SWE", "E23000036", 8, 2, "2023-02")
            + decisions("m", "SWE", "E23000036", 30, 70, "2023-03"))
    ingest_cases(empty_store.engine, write_csv(tmp_path / "c.csv", list(CASE_COLUMNS), rows), max_month=MAX)
    q = metric_values(empty_store.engine, Filters(), ["charge_rate"], empty_store.ref, grain="quarter")
    assert q.select("period", "numerator", "denominator", "months").rows() == [("2023-Q1", 39.0, 120.0, 3)]
    assert q["value"][0] == pytest.approx(39 / 120)   # not (0.1 + 0.8 + 0.3) / 3 = 0.4


def test_stock_measure_is_averaged_over_months_not_summed(empty_store, tmp_path):
    header = list(RETURN_COLUMNS)
    rows = [dict(month=m, area_code="WES", force_code=f, metric_code="specialist_prosecutors", numerator=n,
                 denominator="")
            for m, f, n in (("2023-01", "E23000030", 10), ("2023-02", "E23000030", 12), ("2023-03", "E23000030", 14),
                            ("2023-01", "E23000039", 4), ("2023-02", "E23000039", 4), ("2023-03", "E23000039", 4))]
    ingest_returns(empty_store.engine, write_csv(tmp_path / "r.csv", header, rows), max_month=MAX)
    q = metric_values(empty_store.engine, Filters(), ["specialist_prosecutors"], empty_store.ref, grain="quarter")
    # Monthly national totals are 14, 16, 18 staff in post: the quarter has 16 on average, not 48.
    assert q["value"].to_list() == [16.0]


def test_rollup_handles_zero_denominator_without_dividing():
    sums = pl.DataFrame({"month": ["2023-01"], "metric_code": ["multiple_action_plans_rate"], "numerator": [0.0],
                         "denominator": [0.0]})
    from queries.reference import Reference, Metric
    metric = Metric("multiple_action_plans_rate", "action_plans", "x", "rate", "down", "cases", "referral_month",
                    "sum", "", "", None, "", 0)
    ref = Reference({}, {}, {}, frozenset(), (), {metric.metric_code: metric}, ())
    assert rollup(sums, "month", ref)["value"].to_list() == [None]


def test_filters_restrict_units_and_months(seeded):
    engine, ref = seeded.engine, seeded.ref
    f = Filters(areas=("WES",), forces=("E23000030",), period_from="2022-01", period_to="2022-06")
    got = metric_values(engine, f, ["referrals"], ref, grain="period")
    with engine.connect() as conn:
        want = conn.execute(sa.text(
            "SELECT COUNT(*) FROM cases WHERE area_code = 'WES' AND force_code = 'E23000030' "
            "AND referral_month BETWEEN '2022-01' AND '2022-06'")).scalar_one()
    assert got["value"].to_list() == [float(want)] and want > 0


# Independent SQL for each case measure, written out by hand: (month column, numerator, denominator or None).
INDEPENDENT = {
    "referrals": ("referral_month", "COUNT(*)", None, "1=1"),
    "early_advice_rate": ("referral_month", "SUM(early_advice)", "COUNT(*)", "1=1"),
    "charge_rate": ("decision_month", "SUM(CASE WHEN decision = 'charged' THEN 1 ELSE 0 END)", "COUNT(*)",
                    "decision IN ('charged', 'nfa')"),
    "admin_finalised_rate": ("decision_month", "SUM(CASE WHEN decision = 'admin_finalised' THEN 1 ELSE 0 END)",
                             "COUNT(*)", "decision <> 'pending'"),
    "days_to_decision": ("decision_month", "SUM(days_to_decision)", "COUNT(*)", "decision IN ('charged', 'nfa')"),
    "action_plans_per_referral": ("referral_month", "SUM(action_plans)", "COUNT(*)", "1=1"),
    "multiple_action_plans_rate": ("referral_month", "SUM(CASE WHEN action_plans >= 2 THEN 1 ELSE 0 END)",
                                   "COUNT(*)", "action_plans >= 1"),
    "nfa_decisions": ("decision_month", "COUNT(*)", None, "decision = 'nfa'"),
    "nfa_scrutiny_rate": ("decision_month", "SUM(nfa_scrutinised)", "COUNT(*)", "decision = 'nfa'"),
    "nfa_overturn_rate": ("decision_month", "SUM(nfa_overturned)", "COUNT(*)",
                          "decision = 'nfa' AND nfa_scrutinised = 1"),
    "isva_engagement_rate": ("referral_month", "SUM(isva_engaged)", "COUNT(*)", "1=1"),
    "victim_withdrawal_rate": ("referral_month", "SUM(victim_withdrew)", "COUNT(*)", "1=1"),
}


def test_every_case_measure_is_covered_by_the_reconciliation():
    assert set(INDEPENDENT) == set(CASE_MEASURES)


@pytest.mark.parametrize("code", sorted(INDEPENDENT))
def test_case_aggregates_reconcile_with_counts_over_cases(seeded, code):
    month, num, den, where = INDEPENDENT[code]
    sql = (f"SELECT area_code, force_code, {month} AS month, {num} AS n, {den or 'NULL'} AS d FROM cases "
           f"WHERE {where} AND {month} IS NOT NULL GROUP BY area_code, force_code, {month}")
    with seeded.engine.connect() as conn:
        want = {(a, f, m): (float(n), None if d is None else float(d))
                for a, f, m, n, d in conn.execute(sa.text(sql)).all()}
        got = {(a, f, m): (n, d) for a, f, m, n, d in conn.execute(sa.text(
            "SELECT area_code, force_code, month, numerator, denominator FROM monthly WHERE metric_code = :c"),
            {"c": code}).all()}
    # The store also keeps true zeros (a month with decisions but no NFA); the GROUP BY above has no such rows.
    zeros = {k for k, (n, d) in got.items() if k not in want and n == 0 and d in (0, None)}
    got = {k: v for k, v in got.items() if k not in zeros}
    assert len(want) > 100
    assert got == want
