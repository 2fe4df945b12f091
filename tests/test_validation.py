"""Every validation rule of the data contract has a failing example, with its line and field named."""
from __future__ import annotations

import pytest

from conftest import write_csv
from queries.validate import (CASE_COLUMNS, RETURN_COLUMNS, LoadError, read_extract, validate_cases,
                              validate_returns)

MAX = "2024-12"
GOOD_CASE = dict(case_id="A-1", area_code="SWE", force_code="E23000036", referral_month="2023-01",
                 offence_group="adult_rape", victim_age_band="25_34", victim_sex="female", early_advice=1,
                 action_plans=2, decision="nfa", decision_month="2023-05", days_to_decision=120,
                 nfa_scrutinised=1, nfa_overturned=0, isva_engaged=1, victim_withdrew=0)
PENDING = dict(GOOD_CASE, case_id="A-2", decision="pending", decision_month="", days_to_decision="",
               nfa_scrutinised=0)
GOOD_RETURN = dict(month="2023-01", area_code="SWE", force_code="E23000036",
                   metric_code="action_plans_assured_rate", numerator=12, denominator=15)


def case_problems(tmp_path, reference, *rows):
    df = read_extract(write_csv(tmp_path / "cases.csv", list(CASE_COLUMNS), list(rows)), CASE_COLUMNS)
    return validate_cases(df, reference, MAX)


def return_problems(tmp_path, reference, *rows):
    df = read_extract(write_csv(tmp_path / "returns.csv", list(RETURN_COLUMNS), list(rows)), RETURN_COLUMNS)
    return validate_returns(df, reference, MAX)


def test_good_rows_pass(tmp_path, reference):
    assert case_problems(tmp_path, reference, GOOD_CASE, PENDING) == []
    assert return_problems(tmp_path, reference, GOOD_RETURN,
                           dict(GOOD_RETURN, metric_code="joint_training_sessions", denominator="")) == []


@pytest.mark.parametrize("changes, field, words", [
    (dict(case_id=""), "case_id", "is required"),
    (dict(case_id="has space"), "case_id", "opaque code"),
    (dict(area_code="XXX"), "area_code", "'XXX' is not one of"),
    (dict(force_code="E99999999"), "force_code", "not a known police force"),
    (dict(force_code="E23000001"), "force_code", "not served by CPS Area SWE"),
    (dict(referral_month="2023-13"), "referral_month", "not a month in the form YYYY-MM"),
    (dict(referral_month="23-01"), "referral_month", "not a month in the form YYYY-MM"),
    (dict(referral_month="2009-12", decision_month="2010-04"), "referral_month", "outside the accepted range"),
    (dict(referral_month="2025-01", decision_month="2025-05"), "referral_month", "outside the accepted range"),
    (dict(offence_group="rape"), "offence_group", "is not one of adult_rape"),
    (dict(victim_age_band="30"), "victim_age_band", "is not one of"),
    (dict(victim_sex="f"), "victim_sex", "is not one of"),
    (dict(early_advice=2), "early_advice", "must be 0 or 1"),
    (dict(isva_engaged="yes"), "isva_engaged", "must be 0 or 1"),
    (dict(victim_withdrew=""), "victim_withdrew", "must be 0 or 1"),
    (dict(action_plans=-1), "action_plans", "out of range"),
    (dict(action_plans="1.5"), "action_plans", "not a whole number"),
    (dict(action_plans="99999999999999999999999"), "action_plans", "out of range"),
    (dict(decision="charge"), "decision", "is not one of charged"),
    (dict(decision_month=""), "decision_month", "is required when a decision is made"),
    (dict(decision_month="2022-12"), "decision_month", "is before referral_month"),
    (dict(days_to_decision=""), "days_to_decision", "is required when a decision is made"),
    (dict(days_to_decision=-3), "days_to_decision", "out of range"),
    (dict(days_to_decision=400), "days_to_decision", "does not fit referral_month"),
    (dict(days_to_decision="1e9"), "days_to_decision", "not a whole number"),
    (dict(decision="charged"), "nfa_scrutinised", "only NFA decisions are scrutinised"),
    (dict(nfa_scrutinised=0, nfa_overturned=1), "nfa_overturned", "only scrutinised NFAs"),
])
def test_case_rule_fails_with_line_and_field(tmp_path, reference, changes, field, words):
    problems = case_problems(tmp_path, reference, GOOD_CASE, {**GOOD_CASE, "case_id": "B-2", **changes})
    assert problems, "expected a problem"
    assert any(p.line == 3 and p.field == field and words in p.message for p in problems), problems
    assert all(p.line == 3 for p in problems), "the good row on line 2 must not be blamed"


@pytest.mark.parametrize("changes, field, words", [
    (dict(decision_month="2023-05"), "decision_month", "must be empty when decision is pending"),
    (dict(days_to_decision=5), "days_to_decision", "must be empty when decision is pending"),
])
def test_pending_case_has_no_decision_fields(tmp_path, reference, changes, field, words):
    problems = case_problems(tmp_path, reference, dict(PENDING, **changes))
    assert any(p.line == 2 and p.field == field and words in p.message for p in problems), problems


def test_duplicate_case_id_names_both_lines(tmp_path, reference):
    problems = case_problems(tmp_path, reference, GOOD_CASE, PENDING, dict(GOOD_CASE))
    assert [(p.line, p.field) for p in problems] == [(4, "case_id")]
    assert "first seen on line 2" in problems[0].message


def test_every_bad_row_is_listed_not_just_the_first(tmp_path, reference):
    rows = [dict(GOOD_CASE, case_id=f"C-{i}", early_advice=7) for i in range(5)]
    problems = case_problems(tmp_path, reference, *rows)
    assert [p.line for p in problems] == [2, 3, 4, 5, 6]


@pytest.mark.parametrize("changes, field, words", [
    (dict(metric_code="referrals"), "metric_code", "computed from case extracts"),
    (dict(metric_code="nonsense"), "metric_code", "is not a returns metric"),
    (dict(month="2023-1"), "month", "not a month"),
    (dict(numerator=""), "numerator", "is required"),
    (dict(numerator="ten"), "numerator", "is not a number"),
    (dict(numerator=-1), "numerator", "out of range"),
    (dict(numerator="1" + "0" * 30), "numerator", "out of range"),
    (dict(numerator=16, denominator=15), "numerator", "greater than denominator"),
    (dict(denominator=""), "denominator", "is required for this metric"),
    (dict(denominator="n/a"), "denominator", "is not a number"),
    (dict(numerator=3, denominator=0), "denominator", "is 0 but numerator is 3"),
    (dict(metric_code="joint_training_sessions", denominator=4), "denominator", "must be empty for a count"),
    (dict(area_code="NEA"), "force_code", "not served by CPS Area NEA"),
])
def test_returns_rule_fails_with_line_and_field(tmp_path, reference, changes, field, words):
    problems = return_problems(tmp_path, reference, GOOD_RETURN, {**GOOD_RETURN, "month": "2023-02", **changes})
    assert any(p.line == 3 and p.field == field and words in p.message for p in problems), problems


def test_returns_duplicate_key(tmp_path, reference):
    problems = return_problems(tmp_path, reference, GOOD_RETURN, dict(GOOD_RETURN, numerator=3))
    assert [(p.line, p.field) for p in problems] == [(3, "month")]
    assert "duplicate" in problems[0].message


def test_ratio_metric_may_exceed_one(tmp_path, reference):
    row = dict(GOOD_RETURN, metric_code="caseload_per_prosecutor", numerator=450, denominator=9.5)
    assert return_problems(tmp_path, reference, row) == []


@pytest.mark.parametrize("content, words", [
    (b"", "the file is empty"),
    (b"  \n\n", "the file is empty"),
    (",".join(CASE_COLUMNS).encode() + b"\n", "header row but no data rows"),
    (",".join(CASE_COLUMNS).encode() + b"\nA-1,SWE,\xff\xfe,2023-01\n", "line 2: not valid UTF-8"),
    (b"case_id,area\nA,B\n", "field area: unknown column"),
])
def test_file_level_problems_are_clear(tmp_path, content, words):
    path = tmp_path / "cases.csv"
    path.write_bytes(content)
    with pytest.raises(LoadError) as err:
        read_extract(path, CASE_COLUMNS)
    assert "cases.csv" in str(err.value) and words in str(err.value)
    assert "Traceback" not in str(err.value)


def test_missing_column_named(tmp_path):
    path = write_csv(tmp_path / "cases.csv", [c for c in CASE_COLUMNS if c != "decision"], [GOOD_CASE])
    with pytest.raises(LoadError, match="field decision: required column is missing"):
        read_extract(path, CASE_COLUMNS)


def test_row_with_wrong_field_count(tmp_path):
    path = write_csv(tmp_path / "cases.csv", list(CASE_COLUMNS), [GOOD_CASE, GOOD_CASE])
    path.write_text(path.read_text() + "X-1,SWE\n")
    with pytest.raises(LoadError, match="line 4: has 2 fields; the header has 16"):
        read_extract(path, CASE_COLUMNS)


def test_byte_order_mark_and_crlf_are_accepted(tmp_path, reference):
    path = write_csv(tmp_path / "cases.csv", list(CASE_COLUMNS), [GOOD_CASE, PENDING])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    df = read_extract(path, CASE_COLUMNS)
    assert df.height == 2 and validate_cases(df, reference, MAX) == []


def test_line_numbers_survive_blank_lines_and_quotes(tmp_path, reference):
    path = write_csv(tmp_path / "cases.csv", list(CASE_COLUMNS), [GOOD_CASE])
    bad = ",".join(str(dict(GOOD_CASE, case_id='"Q-1"', early_advice=5)[c]) for c in CASE_COLUMNS)
    path.write_text(path.read_text() + "\n" + bad + "\n")
    problems = validate_cases(read_extract(path, CASE_COLUMNS), reference, MAX)
    assert [(p.line, p.field) for p in problems] == [(4, "early_advice")]


def test_error_message_lists_problems_and_caps_them():
    from queries.validate import MAX_PROBLEMS_LISTED, Problem
    err = LoadError("cases.csv", [Problem(i, "decision", "bad") for i in range(2, 2 + MAX_PROBLEMS_LISTED + 7)])
    text = str(err)
    assert text.startswith(f"cases.csv: {MAX_PROBLEMS_LISTED + 7} problems; nothing was loaded")
    assert "line 2, field decision: bad" in text and "... and 7 more" in text
