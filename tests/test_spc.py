"""Tests for queries.spc: hand-worked XmR examples, then hypothesis properties.

Each worked example writes down the arithmetic (n, mean, mean MR, limits) so the expected
flags can be checked by hand without running the code.
"""

import math

import polars as pl
import pytest
from hypothesis import given, settings as hyp_settings, strategies as st

from queries.spc import (
    COMMON_CAUSE_COLOUR,
    CONCERN_COLOUR,
    IMPROVEMENT_COLOUR,
    NEITHER_COLOUR,
    VARIATION_COLOURS,
    VARIATION_ICONS,
    SPCSettings,
    assurance_icon,
    spc_table,
    variation_icon,
)


def months(n: int, start_year: int = 2019) -> list[str]:
    return [f"{start_year + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def table(values, **kwargs) -> pl.DataFrame:
    return spc_table(months(len(values)), values, **kwargs)


def flags(t: pl.DataFrame) -> list[str]:
    return t["special_cause"].to_list()


def flagged(t: pl.DataFrame) -> list[int]:
    return [i for i, f in enumerate(flags(t)) if f]


# 10,12 alternating x7: n=14, mean=154/14=11; 13 MRs of 2 -> mean MR 2.
# limits 11 +/- 2.66*2 = 16.32 / 5.68; two sigma 11 +/- 1.77*2 = 14.54 / 7.46.
STABLE = [10, 12] * 7


# --- output shape -------------------------------------------------------------------------


def test_columns_types_and_order():
    t = table(STABLE)
    assert t.columns == [
        "period", "value", "segment", "mean", "upper_limit", "lower_limit",
        "upper_2sigma", "lower_2sigma", "special_cause", "side", "variation",
    ]
    assert t.schema["segment"] == pl.Int32
    assert all(t.schema[c] == pl.Float64 for c in ("value", "mean", "upper_limit", "lower_2sigma"))
    assert all(t.schema[c] == pl.String for c in ("period", "special_cause", "side", "variation"))
    assert t["period"].to_list() == months(14)


def test_stable_series_limits_and_common_cause():
    t = table(STABLE)
    row = t.row(0, named=True)
    assert row["mean"] == pytest.approx(11)
    assert row["upper_limit"] == pytest.approx(16.32)
    assert row["lower_limit"] == pytest.approx(5.68)
    assert row["upper_2sigma"] == pytest.approx(14.54)
    assert row["lower_2sigma"] == pytest.approx(7.46)
    assert flags(t) == [""] * 14
    assert set(t["variation"]) == {"common cause"}
    assert variation_icon(t, "up") == "common cause"


# --- rule 1: outside the process limits -------------------------------------------------------


def test_point_just_inside_upper_limit_is_not_flagged():
    # STABLE + [17]: n=15, mean=171/15=11.4; MRs 13x2 + |17-12|=5 -> 31/14=2.2143
    # UCL = 11.4 + 2.66*2.2143 = 17.29 -> 17 is inside.
    t = table(STABLE + [17])
    assert t["upper_limit"][0] == pytest.approx(11.4 + 2.66 * 31 / 14)
    assert flags(t) == [""] * 15


def test_point_just_outside_upper_limit_is_flagged():
    # STABLE + [18]: n=15, mean=172/15=11.467; MRs 13x2 + 6 -> 32/14=2.2857
    # UCL = 11.467 + 2.66*2.2857 = 17.547 -> 18 is outside.
    t = table(STABLE + [18])
    assert t["upper_limit"][0] == pytest.approx(172 / 15 + 2.66 * 32 / 14)
    assert flags(t) == [""] * 14 + ["outside_limits"]
    assert t["side"][-1] == "high"


@pytest.mark.parametrize("c", [0, -266])
def test_point_exactly_on_the_limit_is_inside(c):
    # 0,3 alternating (19 points, ten 0s) then 11: n=20, mean=(27+11)/20=1.9;
    # MRs 18x3 + 11 = 65/19; UCL = 1.9 + 2.66*65/19 = 1.9 + 9.1 = 11 exactly -> not outside.
    # Shifted by -266, plain float arithmetic gives UCL -255.00000000000003 and would flag
    # the last point (-255); exact arithmetic keeps it on the limit.
    t = table([v + c for v in [0, 3] * 9 + [0, 11]])
    assert t["upper_limit"][0] == pytest.approx(11 + c)
    assert flags(t) == [""] * 20


def test_flat_series_has_limits_on_the_mean_and_no_flags():
    # mean MR 0 -> every line equals the mean; nothing is strictly beyond it.
    t = table([5] * 13)
    assert t["upper_limit"][0] == t["lower_limit"][0] == 5
    assert flags(t) == [""] * 13


# --- rule 2: shift ---------------------------------------------------------------------------


def test_shift_of_six_points_is_flagged_all_six():
    # 8,12,8,12,8,12,8 then 11 x6: n=13, mean=(68+66)/13=10.31;
    # MRs 6x4 + 3 + 5x0 = 27/12 = 2.25; limits 10.31 +/- 5.985, 2 sigma +/- 3.98.
    # The six 11s are all above 10.31 (preceded by 8, below) -> a shift; nothing else fires.
    t = table([8, 12, 8, 12, 8, 12, 8] + [11] * 6)
    assert t["mean"][0] == pytest.approx(134 / 13)
    assert flags(t) == [""] * 7 + ["shift"] * 6
    assert t["side"].to_list() == [""] * 7 + ["high"] * 6
    assert t["variation"].to_list() == ["common cause"] * 7 + ["improvement"] * 6


def test_run_of_five_is_not_a_shift():
    # 12,8 x4 then 11 x5: n=13, mean=(80+55)/13=10.38; MRs 7x4 + 3 + 4x0 = 31/12.
    # Only five 11s above the mean -> no shift.
    t = table([12, 8] * 4 + [11] * 5)
    assert t["mean"][0] == pytest.approx(135 / 13)
    assert flags(t) == [""] * 13


def test_point_exactly_on_the_mean_breaks_a_shift():
    # 8,12,8,12,8,12,8, 11,11,11, 10.25, 11,11: sum = 68+55+10.25 = 133.25, n=13,
    # mean = 10.25 exactly, so the 4th point of the run sits on the mean: runs of 3 and 2.
    t = table([8, 12, 8, 12, 8, 12, 8, 11, 11, 11, 10.25, 11, 11])
    assert t["mean"][0] == 10.25
    assert flags(t) == [""] * 13


def test_shift_length_is_a_setting():
    t = table([8, 12, 8, 12, 8, 12, 8] + [11] * 6, settings=SPCSettings(shift_length=7))
    assert flags(t) == [""] * 13


# --- rule 3: trend ---------------------------------------------------------------------------


TREND = [11, 9, 11, 9, 11, 9, 11, 7, 8, 9, 10, 11, 12]


def test_trend_of_six_points_is_flagged_all_six():
    # n=13, mean=128/13=9.846; MRs 6x2 + 4 + 5x1 = 21/12 = 1.75;
    # limits 9.846 +/- 4.655 = 14.50 / 5.19; 2 sigma +/- 3.0975 = 12.94 / 6.75.
    # 7..12 is six points (five rises): a trend. It crosses the mean, so no shift; its side
    # is its direction ("high"), even for the points below the mean.
    t = table(TREND)
    assert t["upper_2sigma"][0] == pytest.approx(128 / 13 + 1.77 * 1.75)
    assert flags(t) == [""] * 7 + ["trend"] * 6
    assert t["side"].to_list() == [""] * 7 + ["high"] * 6


def test_trend_length_counts_points_not_steps():
    # The same six points are five rises: with trend_length=7 (points) there is no trend.
    assert flags(table(TREND, settings=SPCSettings(trend_length=7))) == [""] * 13


def test_a_tie_breaks_a_trend():
    # 9,11 x3 then 7,8,9,9,10,11,12: n=13, mean=126/13=9.69; MRs 5x2+4+1+1+0+1+1+1 = 19/12;
    # 2 sigma = 9.69 +/- 1.77*1.583 = 12.49 / 6.89. 7,8,9 | 9,10,11,12 are 3 and 4 points.
    t = table([9, 11, 9, 11, 9, 11, 7, 8, 9, 9, 10, 11, 12])
    assert flags(t) == [""] * 13


def test_peak_between_opposite_trends_is_high_and_trough_is_low():
    # 3,1,2,3,4,5,6,5,4,3,2,1,3: n=13, mean=42/13=3.23; MRs 2+10x1+2 = 14/12 = 1.1667;
    # UCL 3.23+3.10=6.33 (6 inside), 2 sigma 5.30 / 1.17 (only one point beyond in any 3).
    # Rising 1..6 (idx 1-6), falling 6..1 (idx 6-11). The peak (idx 6) is in both: "high".
    t = table([3, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1, 3])
    assert flags(t) == [""] + ["trend"] * 11 + [""]
    assert t["side"].to_list() == [""] + ["high"] * 6 + ["low"] * 5 + [""]


# --- rule 4: two of three beyond two sigma ---------------------------------------------------------


def test_two_of_three_same_side_flags_the_two_points():
    # 11,12 x6 then 15,12,15: n=15, mean=180/15=12; MRs 11x1 + 3+3+3 = 20/14 = 10/7;
    # 2 sigma = 12 + 1.77*10/7 = 14.53 (both 15s beyond); UCL = 12 + 2.66*10/7 = 15.8 (inside).
    # The middle 12 is on the mean and not beyond: it is not flagged.
    t = table([11, 12] * 6 + [15, 12, 15])
    assert t["upper_limit"][0] == pytest.approx(15.8)
    assert flags(t) == [""] * 12 + ["two_of_three", "", "two_of_three"]
    assert variation_icon(t, "up") == "special cause improvement (high)"


def test_two_of_three_on_opposite_sides_is_not_flagged():
    # 11,12 x6 then 15,12,9: n=15, mean=174/15=11.6; MRs 20/14 as above;
    # 2 sigma = 11.6 +/- 2.53 = 14.13 / 9.07: 15 is beyond the upper line, 9 the lower one.
    # Limits 15.4 / 7.8: both inside. One each side -> no flag.
    t = table([11, 12] * 6 + [15, 12, 9])
    assert t["lower_2sigma"][0] == pytest.approx(11.6 - 1.77 * 20 / 14)
    assert flags(t) == [""] * 15


TWO_OF_THREE_3SIGMA = [11, 13] * 6 + [10, 21, 20]


def test_point_beyond_the_limit_counts_towards_two_of_three_by_default():
    # n=15, mean=195/15=13; MRs 11x2 + 3 + 11 + 1 = 37/14 = 2.643;
    # UCL = 13 + 2.66*37/14 = 20.03 (21 outside, 20 just inside); 2 sigma = 13 + 4.678 = 17.68.
    # (The 13s sit on the mean, so the 11s never make a shift.)
    t = table(TWO_OF_THREE_3SIGMA)
    assert t["upper_limit"][0] == pytest.approx(20.03)
    assert flags(t) == [""] * 13 + ["outside_limits,two_of_three", "two_of_three"]


def test_point_beyond_the_limit_need_not_count_towards_two_of_three():
    s = SPCSettings(beyond_limit_counts_for_two_of_three=False)
    assert flags(table(TWO_OF_THREE_3SIGMA, settings=s)) == [""] * 13 + ["outside_limits", ""]


# --- conflicts and direction -----------------------------------------------------------------


def test_position_rules_win_over_a_rising_trend():
    # 20,22 x3,20 then 10..15: n=13, mean=221/13=17; MRs 6x2 + 10 + 5x1 = 27/12 = 2.25;
    # LCL = 17 - 5.985 = 11.015; lower 2 sigma = 17 - 3.98 = 13.02.
    # 10..15 rise (trend says "high") but are a low shift below 17: side is "low".
    t = table([20, 22, 20, 22, 20, 22, 20, 10, 11, 12, 13, 14, 15])
    assert flags(t)[-1] == "shift,trend"
    assert flags(t)[7] == "outside_limits,shift,trend,two_of_three"
    assert t["side"].to_list()[7:] == ["low"] * 6
    assert variation_icon(t, "up") == "special cause concern (low)"


@pytest.mark.parametrize(
    "direction, variation, icon",
    [
        ("up", "improvement", "special cause improvement (high)"),
        ("down", "concern", "special cause concern (high)"),
        ("neutral", "neither", "special cause neither (high)"),
    ],
)
def test_direction_classifies_the_same_special_cause(direction, variation, icon):
    t = table(STABLE + [18], direction=direction)  # last point outside the UCL (see above)
    assert t["variation"][-1] == variation
    assert variation_icon(t, direction) == icon


def test_low_special_cause_with_down_direction_is_improvement():
    t = table([-v for v in STABLE + [18]], direction="down")
    assert (t["side"][-1], t["variation"][-1]) == ("low", "improvement")
    assert variation_icon(t, "down") == "special cause improvement (low)"


def test_icon_texts_and_colours():
    assert len(VARIATION_ICONS) == 7 and "special cause neither (low)" in VARIATION_ICONS
    assert (IMPROVEMENT_COLOUR, CONCERN_COLOUR) == ("#00B0F0", "#E46C0A")
    assert (NEITHER_COLOUR, COMMON_CAUSE_COLOUR) == ("#490092", "#A6A6A6")
    assert VARIATION_COLOURS["common cause"] == COMMON_CAUSE_COLOUR


# --- too few points and recalculation ------------------------------------------------------


def test_fewer_than_thirteen_points_gives_no_limits_or_flags():
    t = table([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])  # an obvious trend, but only 12 points
    assert t["mean"].null_count() == 12 and t["upper_2sigma"].null_count() == 12
    assert flags(t) == [""] * 12 and set(t["variation"]) == {""}
    assert t["value"].to_list() == [float(v) for v in range(1, 13)]
    assert variation_icon(t, "up") == "not enough points"
    assert assurance_icon(t, 5, "up") is None
    assert table(list(range(1, 13)), settings=SPCSettings(min_points=12))["mean"][0] == 6.5


STEP = [9, 11] * 6 + [10] + [19, 21] * 6 + [20]


def test_step_change_without_recalculation_is_one_long_shift():
    # n=26, mean=(130+260)/26=15; MRs 11x2+1 + 9 + 11x2+1 = 55/25 = 2.2;
    # limits 15 +/- 5.852 = 20.85 / 9.15. Every point is part of a 13-point shift.
    t = table(STEP)
    assert t["mean"][0] == pytest.approx(15)
    assert all("shift" in f for f in flags(t))


def test_recalculation_at_the_step_gives_two_segments_and_no_shift():
    # before: 9,11 x6,10: mean 130/13=10, MRs 11x2+1 = 23/12 -> UCL 10 + 2.66*23/12 = 15.10
    # after:  19,21 x6,20: mean 20, same MRs -> UCL 25.10. No MR across the step.
    t = table(STEP, recalc_from="2020-02")  # 14th month
    assert t["segment"].to_list() == [0] * 13 + [1] * 13
    assert t["mean"].to_list() == [10.0] * 13 + [20.0] * 13
    assert t["upper_limit"][0] == pytest.approx(10 + 2.66 * 23 / 12)
    assert t["upper_limit"][-1] == pytest.approx(20 + 2.66 * 23 / 12)
    assert flags(t) == [""] * 26
    assert variation_icon(t, "up") == "common cause"


def test_short_after_segment_has_no_limits_but_keeps_values():
    t = table(STEP[:25], recalc_from="2020-02")  # 13 before, 12 after
    assert t["mean"].to_list()[:13] == [10.0] * 13
    assert t["mean"].to_list()[13:] == [None] * 12
    assert t["value"].null_count() == 0
    assert variation_icon(t, "up") == "not enough points"
    assert assurance_icon(t, 0, "up") is None


# --- missing values ----------------------------------------------------------------------


@pytest.mark.parametrize("missing", [None, math.nan])
def test_missing_value_is_left_out_of_the_limits(missing):
    # STABLE with a gap: 14 present, mean 11; the two MRs touching the gap are not taken,
    # leaving 12 MRs of 2 -> mean MR 2: the same lines as STABLE.
    values = STABLE[:6] + [missing] + STABLE[6:]
    t = table(values)
    assert t["value"][6] is None
    assert t["upper_limit"].to_list() == pytest.approx([16.32] * 15)
    assert (t["special_cause"][6], t["variation"][6]) == ("", "")


def test_missing_value_breaks_a_shift():
    t = table([8, 12, 8, 12, 8, 12, 8, 11, 11, 11, None, 11, 11, 11])  # runs of 3 and 3
    assert flags(t) == [""] * 14


def test_missing_value_breaks_a_two_of_three_window():
    # 11,12 x6 then 15,gap,15: 14 present, mean=(138+30)/14=12; MRs 11x1 + 3 = 14/12
    # (none across the gap); 2 sigma = 12 + 1.77*14/12 = 14.07 (both 15s beyond),
    # UCL = 12 + 2.66*14/12 = 15.10. Without the gap they would be two of three.
    t = table([11, 12] * 6 + [15, None, 15])
    assert t["upper_2sigma"][0] == pytest.approx(12 + 1.77 * 14 / 12)
    assert flags(t) == [""] * 15


def test_missing_values_do_not_count_towards_the_minimum():
    assert variation_icon(table(STABLE[:12] + [None]), "up") == "not enough points"


def test_variation_icon_uses_the_last_observed_point():
    assert variation_icon(table(STABLE + [18, None]), "up") == "special cause improvement (high)"


# --- assurance ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, direction, expected",
    [
        (10, "up", "hit and miss"),  # 5.68 <= 10 <= 16.32
        (16.32, "up", "hit and miss"),  # exactly on the limit counts as inside
        (5, "up", "consistently passing the target"),  # whole band above a target to beat
        (5, "down", "consistently failing the target"),
        (20, "up", "consistently failing the target"),
        (20, "down", "consistently passing the target"),
        (20, "neutral", None),
        (None, "up", None),
    ],
)
def test_assurance_icon(target, direction, expected):
    assert assurance_icon(table(STABLE), target, direction) == expected


def test_assurance_uses_the_latest_segment():
    t = table(STEP, recalc_from="2020-02")  # after: 20 +/- 5.10, before: 10 +/- 5.10
    assert assurance_icon(t, 12, "up") == "consistently passing the target"


# --- validation ----------------------------------------------------------------------------


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        table(STABLE, direction="higher")
    with pytest.raises(ValueError):
        spc_table(months(3), [1, 2])
    with pytest.raises(ValueError):
        spc_table(["2020-02", "2020-01"], [1, 2])
    with pytest.raises(ValueError):
        SPCSettings(trend_length=1)


# --- properties ----------------------------------------------------------------------------

# Small integers make ties and runs common; about one value in eight is missing.
values_st = st.lists(st.integers(-20, 22).map(lambda v: None if v > 20 else v), max_size=40)
settings_st = st.builds(
    SPCSettings,
    shift_length=st.integers(2, 8),
    trend_length=st.integers(2, 8),
    min_points=st.integers(2, 15),
    beyond_limit_counts_for_two_of_three=st.booleans(),
)


def _recalc(values, k):
    return months(len(values))[k] if k < len(values) else None


def _mirror(side: str) -> str:
    return {"high": "low", "low": "high", "": ""}[side]


@hyp_settings(max_examples=150, deadline=None)
@given(values_st, st.integers(-10**6, 10**6), settings_st, st.integers(0, 40))
def test_flags_do_not_change_when_a_constant_is_added(values, c, s, k):
    shifted = [None if v is None else v + c for v in values]
    a = table(values, recalc_from=_recalc(values, k), settings=s)
    b = table(shifted, recalc_from=_recalc(values, k), settings=s)
    for col in ("segment", "special_cause", "side", "variation"):
        assert a[col].to_list() == b[col].to_list()
    for m, n in zip(a["mean"], b["mean"]):
        assert (m is None and n is None) or n == pytest.approx(m + c)


@hyp_settings(max_examples=150, deadline=None)
@given(values_st, settings_st, st.integers(0, 40))
def test_negated_series_mirrors_the_flags(values, s, k):
    negated = [None if v is None else -v for v in values]
    a = table(values, recalc_from=_recalc(values, k), settings=s)
    b = table(negated, recalc_from=_recalc(values, k), settings=s)
    assert a["special_cause"].to_list() == b["special_cause"].to_list()
    assert b["side"].to_list() == [_mirror(x) for x in a["side"]]
    swap = {"improvement": "concern", "concern": "improvement"}
    assert b["variation"].to_list() == [swap.get(v, v) for v in a["variation"]]
    assert b["upper_limit"].to_list() == [None if x is None else -x for x in a["lower_limit"]]


@hyp_settings(max_examples=100, deadline=None)
@given(values_st, settings_st)
def test_every_flagged_point_has_a_side_and_limits(values, s):
    t = table(values, settings=s)
    assert t.height == len(values)
    for row in t.iter_rows(named=True):
        assert bool(row["special_cause"]) == bool(row["side"])
        if row["special_cause"]:
            assert row["mean"] is not None and row["value"] is not None
    assert variation_icon(t, "up") in VARIATION_ICONS + ("not enough points",)
