"""Tests for queries.effects: stacked DiD pilot effects on synthetic panels (fixed seeds)."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queries.effects import Effect, describe, estimate_effect, synthetic_panel, t_quantile


def est(panel: pl.DataFrame, unit: str, **kw) -> Effect:
    return estimate_effect(panel, metric_code="m", unit=unit, **kw)


def width(e: Effect) -> float:
    return e.ci_high - e.ci_low


# --- recovering a known effect ------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_count_effect_recovered(seed):
    e = est(synthetic_panel(12, 18, 60, 0.20, "count", seed), "count")
    assert e.scale == "percent" and e.pilot_sites == 12 and e.comparison_sites == 18
    assert e.ci_low <= 0.20 <= e.ci_high
    assert abs(e.estimate - 0.20) < 0.05
    assert e.ci_low > 0  # clearly detected
    assert "t(29)" in e.method and e.note is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rate_effect_recovered_in_points(seed):
    e = est(synthetic_panel(12, 18, 60, 0.08, "rate", seed), "rate")
    assert e.scale == "points"
    assert e.ci_low <= 0.08 <= e.ci_high
    assert abs(e.estimate - 0.08) < 0.02
    assert e.ci_low > 0


def test_negative_effect_recovered():
    e = est(synthetic_panel(12, 18, 60, -0.15, "count", 8), "count")
    assert e.ci_low <= -0.15 <= e.ci_high and e.ci_high < 0


def test_no_bias_on_average():
    ests = [est(synthetic_panel(8, 12, 48, 0.08, "rate", s), "rate").estimate for s in range(10)]
    assert abs(np.mean(ests) - 0.08) < 0.005


# --- null effect and interval calibration -------------------------------------------
@pytest.mark.parametrize("kind", ["count", "rate"])
def test_null_effect_interval_covers_zero(kind):
    e = est(synthetic_panel(12, 18, 60, 0.0, kind, 11), kind)
    assert e.ci_low <= 0.0 <= e.ci_high
    assert "no clear difference" in describe(e, "X")


@pytest.mark.parametrize("kind", ["count", "rate"])
def test_null_coverage_close_to_nominal(kind):
    """95% intervals should cover a true zero in most of 40 independent panels."""
    es = [est(synthetic_panel(8, 12, 48, 0.0, kind, 100 + s), kind) for s in range(40)]
    coverage = np.mean([e.ci_low <= 0.0 <= e.ci_high for e in es])
    assert 0.85 <= coverage <= 1.0
    # ...and not by being absurdly wide: the estimates' spread matches typical half-widths
    sd = np.std([e.estimate for e in es])
    half = np.median([width(e) / 2 for e in es])
    assert 1.0 < half / sd < 3.5


def test_interval_narrows_with_less_noise():
    noisy = est(synthetic_panel(10, 15, 48, 0.2, "count", 5, noise=2.0), "count")
    quiet = est(synthetic_panel(10, 15, 48, 0.2, "count", 5, noise=0.25), "count")
    assert width(quiet) < 0.7 * width(noisy)


def test_interval_narrows_with_more_units():
    few = est(synthetic_panel(6, 6, 48, 0.05, "rate", 9), "rate")
    many = est(synthetic_panel(24, 24, 48, 0.05, "rate", 9), "rate")
    assert width(many) < 0.75 * width(few)


def test_level_changes_width():
    p = synthetic_panel(8, 12, 48, 0.05, "rate", 4)
    e90, e95, e99 = (est(p, "rate", level=lv) for lv in (0.90, 0.95, 0.99))
    assert e90.estimate == pytest.approx(e95.estimate)
    assert width(e90) < width(e95) < width(e99)


# --- staggered starts: never compare with sites that are themselves piloting --------
def test_growing_effect_stays_within_cohort_effects():
    """Effects growing with time since start bias plain TWFE (late starters' controls
    include early starters already piloting).  The stacked estimate must stay a
    positive-weight average of each cohort's own average post-start effect."""
    p = synthetic_panel(15, 4, 60, 0.0, "rate", 21, noise=0.1)
    months = sorted(p["month"].unique().to_list())
    pos = {m: i for i, m in enumerate(months)}
    ev = p.select(pl.col("month").replace_strict(pos, return_dtype=pl.Int64)
                  - pl.col("start_month").replace_strict(pos, default=None, return_dtype=pl.Int64)).to_series()
    gain = (ev.fill_null(-1).clip(lower_bound=-1) + 1).cast(pl.Float64) * 0.01  # 1, 2, 3 ... points
    p = p.with_columns(numerator=pl.col("numerator") + gain * pl.col("denominator"))
    cohort_avgs = [0.01 * (len(months) - pos[s] + 1) / 2 for s in p["start_month"].drop_nulls().unique()]
    e = est(p, "rate")
    assert min(cohort_avgs) - 0.005 <= e.estimate <= max(cohort_avgs) + 0.005  # plain TWFE: 0.087
    assert e.ci_low > 0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), drop=st.booleans())
def test_site_and_month_shifts_are_absorbed(seed, drop):
    """Unit and month fixed effects: adding any site and month offsets to a rate
    (numerator += offset * denominator) must not move the estimate or its interval."""
    rng = np.random.default_rng(seed)
    p = synthetic_panel(5, 7, 30, 0.04, "rate", seed)
    if drop:  # unbalanced panel: missing unit-months
        p = p.filter(pl.Series(rng.random(p.height) > 0.1))
    sites, months = p["site"].unique().sort().to_list(), p["month"].unique().sort().to_list()
    a = dict(zip(sites, rng.normal(0, 0.2, len(sites))))
    b = dict(zip(months, rng.normal(0, 0.2, len(months))))
    shift = p["site"].replace_strict(a, return_dtype=pl.Float64) + p["month"].replace_strict(b, return_dtype=pl.Float64)
    q = p.with_columns(numerator=pl.col("numerator") + shift * pl.col("denominator"))
    e1, e2 = est(p, "rate"), est(q, "rate")
    assert e2.estimate == pytest.approx(e1.estimate, abs=1e-7)
    assert e2.ci_low == pytest.approx(e1.ci_low, abs=1e-7)


def test_missing_months_still_recovers_effect():
    p = synthetic_panel(12, 18, 60, 0.20, "count", 3)
    p = p.filter(pl.Series(np.random.default_rng(0).random(p.height) > 0.2))
    e = est(p, "count")
    assert e.ci_low <= 0.20 <= e.ci_high and abs(e.estimate - 0.2) < 0.06


# --- units and scales ---------------------------------------------------------------
def _tiny(rows):
    return pl.DataFrame(rows, schema=["site", "month", "numerator", "denominator", "start_month"], orient="row")


def test_hand_computed_two_by_two():
    """Rates are denominator-weighted (ratio-of-sums spirit): comparison change is
    (100*0.05 + 10*-0.20)/110, not the plain mean; counts are log(count+1)."""
    rate = _tiny([("P", "2024-01", 30.0, 100.0, "2024-02"), ("P", "2024-02", 50.0, 100.0, "2024-02"),
                  ("C1", "2024-01", 30.0, 100.0, None), ("C1", "2024-02", 35.0, 100.0, None),
                  ("C2", "2024-01", 3.0, 10.0, None), ("C2", "2024-02", 1.0, 10.0, None)])
    e = est(rate, "rate", min_pre_months=1)
    assert e.estimate == pytest.approx(0.20 - 3.0 / 110)
    assert "t(2)" in e.method
    count = rate.with_columns(denominator=pl.lit(None, pl.Float64),
                              numerator=pl.Series([100.0, 120.0, 100.0, 100.0, 50.0, 50.0]))
    assert est(count, "count", min_pre_months=1).estimate == pytest.approx(121 / 101 - 1)


def test_mean_days_is_absolute_and_linear():
    p = synthetic_panel(8, 12, 48, 0.05, "rate", 2)
    r = est(p, "rate")
    d = est(p.with_columns(numerator=pl.col("numerator") * 100), "mean_days")
    assert d.scale == "absolute"
    assert d.estimate == pytest.approx(100 * r.estimate)
    assert d.ci_low == pytest.approx(100 * r.ci_low)


def test_rate_rows_without_denominator_are_ignored():
    p = synthetic_panel(8, 12, 48, 0.05, "rate", 2)
    junk = p.head(20).with_columns(denominator=pl.lit(0.0), numerator=pl.lit(999.0))
    assert est(pl.concat([p, junk]), "rate").estimate == pytest.approx(est(p, "rate").estimate)


def test_filters_metric_code_column_and_rejects_unknown_unit():
    p = synthetic_panel(6, 8, 36, 0.1, "count", 1)
    both = pl.concat([p.with_columns(metric_code=pl.lit("m")),
                      p.with_columns(metric_code=pl.lit("other"), numerator=pl.col("numerator") * 5)])
    assert est(both, "count") == est(p, "count")
    with pytest.raises(ValueError):
        est(p, "furlongs")
    assert est(p.drop("denominator"), "count") == est(p, "count")  # counts may omit it


# --- data problems ------------------------------------------------------------------
def test_no_comparison_sites_gives_none_with_note():
    e = est(synthetic_panel(8, 0, 48, 0.2, "count", 1), "count")
    assert e.estimate is None and e.ci_low is None and e.ci_high is None
    assert e.comparison_sites == 0 and e.pilot_sites == 8
    assert "no comparison sites" in e.note
    assert describe(e, "Referrals") == "Referrals: no estimate (no comparison sites)."


def test_pilot_without_pre_period_is_excluded_and_noted():
    base = synthetic_panel(8, 12, 48, 0.2, "count", 6)
    first = base["month"].min()
    extra = (base.filter(pl.col("site") == "C01")
             .with_columns(site=pl.lit("P99"), start_month=pl.lit(first), numerator=pl.col("numerator") * 3))
    e0, e = est(base, "count"), est(pl.concat([base, extra]), "count")
    assert e.pilot_sites == 8 and e.comparison_sites == 12
    assert e.estimate == pytest.approx(e0.estimate) and e.ci_high == pytest.approx(e0.ci_high)
    assert "1 pilot site(s) excluded" in e.note and "pre-pilot" in e.note


def test_pilot_starting_after_data_is_excluded():
    base = synthetic_panel(8, 12, 48, 0.2, "count", 6)
    late = (base.filter(pl.col("site") == "C02")
            .with_columns(site=pl.lit("P98"), start_month=pl.lit("2099-01")))
    e = est(pl.concat([base, late]), "count")
    assert e.pilot_sites == 8 and "no months after the pilot start" in e.note
    assert e.estimate == pytest.approx(est(base, "count").estimate)


def test_all_pilots_too_short_pre_period_gives_none():
    p = synthetic_panel(4, 6, 24, 0.2, "count", 1)
    first = p["month"].min()
    p = p.with_columns(start_month=pl.when(pl.col("start_month").is_not_null())
                       .then(pl.lit(first)).otherwise(None))
    e = est(p, "count")
    assert e.estimate is None and e.pilot_sites == 0
    assert "too few pre-pilot months" in e.note


def test_single_pilot_site_is_flagged():
    e = est(synthetic_panel(1, 10, 48, 0.2, "count", 3), "count")
    assert e.estimate is not None and "only one pilot site" in e.note


# --- determinism ----------------------------------------------------------------------
def test_deterministic_and_row_order_invariant():
    p = synthetic_panel(10, 15, 48, 0.1, "count", 8)
    assert synthetic_panel(10, 15, 48, 0.1, "count", 8).equals(p)
    e1, e2 = est(p, "count"), est(p, "count")
    assert e1 == e2
    e3 = est(p.sample(fraction=1.0, shuffle=True, seed=1), "count")
    assert e3.estimate == pytest.approx(e1.estimate, rel=1e-9)
    assert e3.ci_low == pytest.approx(e1.ci_low, rel=1e-9)


# --- wording --------------------------------------------------------------------------
def _eff(est_, lo, hi, unit="count", scale="percent", level=0.95):
    return Effect("m", unit, est_, lo, hi, scale, 10, 20, "test", None, level)


def test_describe_positive_percent():
    assert describe(_eff(0.18, 0.09, 0.27), "Police referrals to CPS") == (
        "Police referrals to CPS about 18% higher than expected without the pilot (95% interval 9% to 27%).")


def test_describe_negative_points():
    assert describe(_eff(-0.042, -0.074, -0.010, "rate", "points"), "Charge rate") == (
        "Charge rate about 4.2 percentage points lower than expected without the pilot "
        "(95% interval -7.4 to -1.0 points).")


def test_describe_zero_crossing():
    s = describe(_eff(0.031, -0.052, 0.114, "rate", "points", 0.9), "Charge rate")
    assert s == ("Charge rate: no clear difference from what was expected without the pilot "
                 "(estimate 3.1 percentage points higher; 90% interval -5.2 to 11.4 points).")


def test_describe_days_and_small_percent():
    s = describe(_eff(-12.3, -20.1, -4.5, "mean_days", "absolute"), "Days to decision")
    assert s == ("Days to decision about 12.3 days lower than expected without the pilot "
                 "(95% interval -20.1 to -4.5 days).")
    assert "about 4.5% higher" in describe(_eff(0.045, 0.012, 0.079), "X")
    assert "(95% interval 1.2% to 7.9%)" in describe(_eff(0.045, 0.012, 0.079), "X")


# --- the t quantile used instead of scipy ---------------------------------------------
@pytest.mark.parametrize("p,df,q", [(0.975, 1, 12.7062), (0.975, 2, 4.3027), (0.975, 10, 2.2281),
                                    (0.975, 29, 2.0452), (0.995, 5, 4.0321), (0.95, 43, 1.6811),
                                    (0.975, 10**6, 1.9600), (0.025, 10, -2.2281)])
def test_t_quantile_matches_tables(p, df, q):
    assert t_quantile(p, df) == pytest.approx(q, abs=1e-4)
