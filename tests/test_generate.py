"""Sample data is deterministic, valid against the contract, and shows pilot effects at pilot sites."""
from __future__ import annotations

import polars as pl
import pytest

from queries.filters import Filters
from queries.metrics import metric_values
from queries.validate import CASE_COLUMNS, RETURN_COLUMNS, validate_cases, validate_returns
from sample_data.generate import generate


@pytest.fixture(scope="module")
def small(reference):
    return generate(reference, 8_000, 3)


def as_text(frame: pl.DataFrame, columns) -> pl.DataFrame:
    return frame.select([pl.col(c).cast(pl.String).fill_null("") for c in columns]).with_row_index(
        "_line", offset=2).with_columns(pl.col("_line").cast(pl.Int64))


def test_same_seed_same_data_other_seed_other_data(reference, small):
    cases, returns = small
    again_cases, again_returns = generate(reference, 8_000, 3)
    assert cases.equals(again_cases) and returns.equals(again_returns)
    other, _ = generate(reference, 8_000, 4)
    assert not cases.equals(other)
    assert cases.height == 8_000 and cases["case_id"].n_unique() == 8_000


def test_generated_extracts_pass_validation(reference, small):
    cases, returns = small
    assert validate_cases(as_text(cases, CASE_COLUMNS), reference, "2024-12") == []
    assert validate_returns(as_text(returns, RETURN_COLUMNS), reference, "2024-12") == []


def test_volumes_follow_population(reference, small):
    cases, _ = small
    per_force = cases.group_by("force_code").len()
    pop = pl.DataFrame({"force_code": list(reference.populations), "pop": list(reference.populations.values())})
    joined = per_force.join(pop, on="force_code")
    assert joined.select(pl.corr("len", "pop")).item() > 0.9


def test_pilot_effect_visible_at_pilot_sites_only(seeded):
    """Early advice at South East (pilot from 2020-11) rises after its start; comparison Areas stay lower."""
    engine, ref = seeded.engine, seeded.ref
    def rate(areas, start, end):
        f = Filters(areas=areas, period_from=start, period_to=end)
        return metric_values(engine, f, ["early_advice_rate"], ref, grain="period")["value"][0]
    before, after = rate(("SEA",), "2019-01", "2020-10"), rate(("SEA",), "2021-06", "2023-06")
    comparison = rate(("EMD", "YHU", "NWE"), "2021-06", "2023-06")
    assert after - before > 0.3
    assert after - comparison > 0.3
    nfa_pilot = metric_values(engine, Filters(areas=("WMD",), period_from="2022-01", period_to="2023-06"),
                              ["nfa_scrutiny_rate"], ref, grain="period")["value"][0]
    nfa_comp = metric_values(engine, Filters(areas=("EMD", "YHU"), period_from="2022-01", period_to="2023-06"),
                             ["nfa_scrutiny_rate"], ref, grain="period")["value"][0]
    assert nfa_pilot > nfa_comp + 0.3
