"""spc_table against a reference: the straightforward XmR rules in fractions.Fraction arithmetic.

The module computes the same exact lines with integers over a common scale. Whatever the values
(ties on the mean and on every line, repeated values, rates with full 52-bit mantissas, very large
and very small magnitudes, gaps, recalculation) and whatever the settings and direction, the table
must be identical to the reference's, line values to the last bit.
"""

import math
from fractions import Fraction

import polars as pl
from hypothesis import example, given, settings as hyp_settings, strategies as st

from queries.spc import (COMMON_CAUSE, NOT_ENOUGH_POINTS, RULES, SPCSettings, assurance_icon, assurance_of,
                         spc_columns, spc_table, variation_icon, variation_of)

# --- the reference ------------------------------------------------------------------------

_K3, _K2 = Fraction("2.66"), Fraction("1.77")
_SCHEMA = {
    "period": pl.String, "value": pl.Float64, "segment": pl.Int32, "mean": pl.Float64,
    "upper_limit": pl.Float64, "lower_limit": pl.Float64, "upper_2sigma": pl.Float64,
    "lower_2sigma": pl.Float64, "special_cause": pl.String, "side": pl.String, "variation": pl.String,
}
_LINES = ("mean", "upper_limit", "lower_limit", "upper_2sigma", "lower_2sigma")


def _sign(x):
    return (x > 0) - (x < 0)


def _runs(keys, min_len):
    i = 0
    while i < len(keys):
        j = i + 1
        while j < len(keys) and keys[j] == keys[i]:
            j += 1
        if keys[i] and j - i >= min_len:
            yield i, j, keys[i]
        i = j


def _evaluate(xs, s):
    n = len(xs)
    present = [x for x in xs if x is not None]
    mrs = [abs(b - a) for a, b in zip(xs, xs[1:]) if a is not None and b is not None]
    if len(present) < s.min_points or not mrs:
        return None, [set() for _ in xs], [""] * n
    mean = sum(present) / len(present)
    mr = sum(mrs) / len(mrs)
    lines = (mean, mean + _K3 * mr, mean - _K3 * mr, mean + _K2 * mr, mean - _K2 * mr)
    _, ucl, lcl, u2, l2 = lines
    rules = [set() for _ in xs]
    rising, falling = [False] * n, [False] * n
    for i, x in enumerate(xs):
        if x is not None and (x > ucl or x < lcl):
            rules[i].add("outside_limits")
    for start, stop, _ in _runs([None if x is None else _sign(x - mean) for x in xs], s.shift_length):
        for i in range(start, stop):
            rules[i].add("shift")
    steps = [None] + [None if a is None or b is None else _sign(b - a) for a, b in zip(xs, xs[1:])]
    for start, stop, key in _runs(steps, s.trend_length - 1):
        for i in range(start - 1, stop):
            rules[i].add("trend")
            (rising if key > 0 else falling)[i] = True

    def beyond(x):
        if x is None:
            return None
        if not s.beyond_limit_counts_for_two_of_three and (x > ucl or x < lcl):
            return 0
        return 1 if x > u2 else -1 if x < l2 else 0

    far = [beyond(x) for x in xs]
    for w in range(n - 2):
        window = far[w : w + 3]
        if None in window:
            continue
        for key in (1, -1):
            hits = [w + k for k in range(3) if window[k] == key]
            if len(hits) >= 2:
                for i in hits:
                    rules[i].add("two_of_three")
    sides = [""] * n
    for i, x in enumerate(xs):
        if rules[i] - {"trend"}:
            sides[i] = "high" if x > mean else "low"
        elif rising[i] and falling[i]:
            sides[i] = "high" if x > xs[i - 1] else "low"
        elif rules[i]:
            sides[i] = "high" if rising[i] else "low"
    return lines, rules, sides


def _classify(side, direction):
    if direction == "neutral":
        return "neither"
    return "improvement" if (side == "high") == (direction == "up") else "concern"


def reference_table(periods, values, *, direction="up", recalc_from=None, settings=SPCSettings()):
    xs = [None if v is None or math.isnan(v) else Fraction(float(v)) for v in values]
    segment = [int(recalc_from is not None and p >= recalc_from) for p in periods]
    out = {name: [] for name in _SCHEMA}
    for seg in (0, 1):
        seg_xs = [xs[i] for i, g in enumerate(segment) if g == seg]
        lines, rules, sides = _evaluate(seg_xs, settings)
        for x, fired, side in zip(seg_xs, rules, sides):
            for name, line in zip(_LINES, lines or (None,) * 5):
                out[name].append(None if line is None else float(line))
            out["special_cause"].append(",".join(r for r in RULES if r in fired))
            out["side"].append(side)
            if lines is None or x is None:
                out["variation"].append("")
            else:
                out["variation"].append(_classify(side, direction) if side else COMMON_CAUSE)
    out["period"] = list(periods)
    out["value"] = [None if x is None else float(x) for x in xs]
    out["segment"] = segment
    return pl.DataFrame(out, schema=_SCHEMA)


# --- values that sit exactly on a line ---------------------------------------------------------

# The last point is exactly on the upper limit: mean 1.9, mean MR 65/19, UCL 1.9 + 9.1 = 11.
ON_UPPER_LIMIT = [0, 3] * 9 + [0, 11]
# Index 5 (30) is exactly on the upper two-sigma line: mean 449/25, mean MR 239/24.
ON_UPPER_2SIGMA = [12, 15, 21, 18, 28, 30, 26, 23, 9, 21, 16, 25, 25, 28, 23, 6, 27, 11, 7, 7, 9, 7, 10, 25, 26]
# Index 10 (10.25) is exactly on the mean.
ON_MEAN = [8, 12, 8, 12, 8, 12, 8, 11, 11, 11, 10.25, 11, 11]
TIES = (ON_UPPER_LIMIT, ON_UPPER_2SIGMA, ON_MEAN)


def months(n: int) -> list[str]:
    return [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def test_the_tie_series_really_sit_on_their_lines():
    for series, line, index in ((ON_UPPER_LIMIT, 1, -1), (ON_UPPER_2SIGMA, 3, 5), (ON_MEAN, 0, 10)):
        lines, _, _ = _evaluate([Fraction(v) for v in series], SPCSettings())
        assert lines[line] == series[index]


# --- strategies ------------------------------------------------------------------------------

small = st.integers(-20, 20)
quarters = st.integers(-80, 80).map(lambda v: v / 4)
rates = st.tuples(st.integers(0, 500), st.integers(1, 500)).map(lambda nd: nd[0] / nd[1])
anything = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)
extreme = st.sampled_from([5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, 1e300, -1e300, 0.0, -0.0])
missing = st.sampled_from([None, math.nan])
element = st.one_of(small, quarters, rates, anything, extreme, missing)
# Series drawn from a few distinct values repeat themselves: ties, equal steps, long runs.
repetitive = st.lists(element, min_size=1, max_size=4).flatmap(
    lambda pool: st.lists(st.sampled_from(pool), max_size=40))
free = st.lists(element, max_size=40)


@st.composite
def on_a_line(draw):
    """A random first segment, then a tie series scaled by a power of two, shifted and maybe negated."""
    first = draw(st.lists(st.one_of(small, rates, missing), max_size=20))
    scale = 2.0 ** draw(st.integers(-20, 20))
    shift = draw(st.integers(-10**6, 10**6)) * 2.0 ** draw(st.integers(-10, 0))
    sign = draw(st.sampled_from([1, -1]))
    tie = [sign * (v * scale + shift) for v in draw(st.sampled_from(TIES))]
    return first + tie, len(first)


settings_st = st.builds(
    SPCSettings,
    shift_length=st.integers(1, 8),
    trend_length=st.integers(2, 8),
    min_points=st.integers(2, 15),
    beyond_limit_counts_for_two_of_three=st.booleans(),
)
directions = st.sampled_from(["up", "down", "neutral"])


def assert_same_table(values, k, s, direction):
    periods = months(len(values))
    recalc_from = periods[k] if k < len(values) else None
    got = spc_table(periods, values, direction=direction, recalc_from=recalc_from, settings=s)
    want = reference_table(periods, values, direction=direction, recalc_from=recalc_from, settings=s)
    assert got.schema == want.schema
    assert got.to_dict(as_series=False) == want.to_dict(as_series=False)
    assert repr(got.to_dict(as_series=False)) == repr(want.to_dict(as_series=False))  # 0.0 is not -0.0


@hyp_settings(max_examples=300, deadline=None)
@given(st.one_of(free, repetitive), st.integers(0, 40), settings_st, directions)
@example(ON_UPPER_LIMIT, 40, SPCSettings(), "up")
@example([v - 266 for v in ON_UPPER_LIMIT], 40, SPCSettings(), "up")
@example(ON_MEAN, 40, SPCSettings(), "down")
def test_same_table_as_the_fraction_reference(values, k, s, direction):
    assert_same_table(values, k, s, direction)


@hyp_settings(max_examples=150, deadline=None)
@given(on_a_line(), settings_st, directions)
def test_same_table_with_points_exactly_on_a_line(case, s, direction):
    values, k = case
    assert_same_table(values, k, s, direction)


# --- the icons from plain lists (the overview's tiles) against the icons read off the frame ---------------------

def _variation_from_frame(table, direction):
    """The variation icon as it was read from the table before the list path existed."""
    observed = table.filter(pl.col("value").is_not_null())
    if observed.height == 0:
        return NOT_ENOUGH_POINTS
    last = observed.row(-1, named=True)
    if last["mean"] is None:
        return NOT_ENOUGH_POINTS
    if not last["side"]:
        return COMMON_CAUSE
    kind = "neither" if direction == "neutral" else (
        "improvement" if (last["side"] == "high") == (direction == "up") else "concern")
    return f"special cause {kind} ({last['side']})"


def _assurance_from_frame(table, target, direction):
    if target is None or direction == "neutral" or table.height == 0:
        return None
    last = table.row(-1, named=True)
    lower, upper = last["lower_limit"], last["upper_limit"]
    if lower is None or upper is None:
        return None
    if lower <= target <= upper:
        return "hit and miss"
    passing = (lower > target) == (direction == "up")
    return "consistently passing the target" if passing else "consistently failing the target"


@hyp_settings(max_examples=200, deadline=None)
@given(st.one_of(free, repetitive), st.integers(0, 40), settings_st, directions,
       st.one_of(st.none(), small, rates, quarters))
def test_the_list_path_gives_the_frame_and_icons_exactly(values, k, s, direction, target):
    periods = months(len(values))
    recalc_from = periods[k] if k < len(values) else None
    columns = spc_columns(periods, values, direction=direction, recalc_from=recalc_from, settings=s)
    table = reference_table(periods, values, direction=direction, recalc_from=recalc_from, settings=s)
    assert list(columns) == table.columns
    assert repr(columns) == repr(table.to_dict(as_series=False))
    assert variation_of(columns, direction) == _variation_from_frame(table, direction) \
        == variation_icon(table, direction)
    assert assurance_of(columns, target, direction) == _assurance_from_frame(table, target, direction) \
        == assurance_icon(table, target, direction)
