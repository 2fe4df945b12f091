"""Statistical process control (XmR charts) following NHS England's "Making Data Count" (MDC).

Pure functions: lists in, a polars frame out; no SQL, Dash or I/O.

XmR chart: the centre line is the mean of the points; the moving range MR is |x(t) - x(t-1)|;
process limits are mean +/- 2.66 x mean MR and the two-sigma lines mean +/- 1.77 x mean MR
(one sigma, 0.89 x mean MR, is exposed as ``ONE_SIGMA_FACTOR`` for charts that want it).

Choices where reference tools differ (each one is deliberate; tests pin them down):

* Minimum points: limits, flags and icons need ``min_points`` (default 13, as MDC; some use 15)
  non-missing values in the segment, and at least one moving range.
* Outside limits: a point strictly beyond a process limit. A point exactly on a limit is inside.
* Shift: ``shift_length`` (default 6, as MDC; some tools use 7) or more consecutive points
  strictly on one side of the mean. A point exactly on the mean breaks the run.
* Trend: ``trend_length`` counts POINTS, not steps (default 6 points = 5 consecutive rises or
  falls, as MDC). An equal value breaks the run. A trend may cross the mean; its side is its
  direction (rising = "high", falling = "low"), as MDC colours trends.
* Two of three: two or three of any three consecutive points strictly beyond the same-side
  two-sigma line. A point beyond the process limit is also beyond two sigma, so by default it
  counts; ``beyond_limit_counts_for_two_of_three=False`` (as some tools do) turns that off.
  Only the points beyond the line are flagged, not the third point of the window, which is not
  itself unusual.
* Every point of a qualifying run or window is flagged, not only the last.
* Conflicts: outside_limits, shift and two_of_three always agree with the point's side of the
  mean, so a conflict can only be with a trend (e.g. the rising end of a low shift). The
  position rules win: the point's side is its side of the mean. A point that ends one trend and
  starts the opposite one is a peak ("high") or a trough ("low").
* Recalculation: from the first period >= ``recalc_from`` (ISO "YYYY-MM" strings compare in
  date order; periods must be strictly increasing) the series is a second segment with its own
  mean and limits. Rules never span the boundary and no moving range is taken across it.
* Missing values (None or NaN) become null. They are left out of the mean, no moving range is
  taken across a gap, and a gap breaks shift and trend runs and two-of-three windows (we cannot
  know what the missing month did). A missing row keeps its segment's lines (so they draw
  unbroken) but gets no flag. The variation icon uses the last non-missing point.
* No moving-range screening (some tools drop MRs above 3.267 x mean MR before averaging).
* Lines and comparisons are exact rational arithmetic on the values as given, so flags never
  depend on float rounding: a point exactly on the mean or a limit is on it (plain floats can put
  2.66 x mean MR a hair off), and negating the series or adding a constant (when the sums are
  exact, e.g. counts) cannot change a flag. Every float is an integer times a power of two, so
  the series is scaled to integers over one power of two and each line is an integer over one
  common denominator: comparisons are integer comparisons (as exact as ``fractions.Fraction``,
  without its cost per operation). The returned lines are the exact lines rounded to f64.
* Assurance: the target is compared with the process limits of the latest segment (last row).
  A target exactly on a limit counts as between them ("hit and miss"). No icon (None) without
  a target, for a neutral direction, or when the latest segment has no limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

IMPROVEMENT_COLOUR = "#00B0F0"  # blue
CONCERN_COLOUR = "#E46C0A"  # orange
NEITHER_COLOUR = "#490092"  # purple
COMMON_CAUSE_COLOUR = "#A6A6A6"  # grey
# Blue and grey fail 3:1 contrast on white: draw markers with a dark outline and a text label.
VARIATION_COLOURS = {
    "improvement": IMPROVEMENT_COLOUR,
    "concern": CONCERN_COLOUR,
    "neither": NEITHER_COLOUR,
    "common cause": COMMON_CAUSE_COLOUR,
}

LIMIT_FACTOR = 2.66
TWO_SIGMA_FACTOR = 1.77
ONE_SIGMA_FACTOR = 0.89
_K3, _K2 = 266, 177  # the factors in hundredths: exact integers for the line arithmetic

RULES = ("outside_limits", "shift", "trend", "two_of_three")
DIRECTIONS = ("up", "down", "neutral")

# Text equivalents of the icons, shown to users.
NOT_ENOUGH_POINTS = "not enough points"
COMMON_CAUSE = "common cause"
VARIATION_ICONS = (COMMON_CAUSE,) + tuple(
    f"special cause {kind} ({side})"
    for kind in ("improvement", "concern", "neither")
    for side in ("high", "low")
)
HIT_AND_MISS = "hit and miss"
CONSISTENTLY_PASSING = "consistently passing the target"
CONSISTENTLY_FAILING = "consistently failing the target"

_SCHEMA = {
    "period": pl.String,
    "value": pl.Float64,
    "segment": pl.Int32,
    "mean": pl.Float64,
    "upper_limit": pl.Float64,
    "lower_limit": pl.Float64,
    "upper_2sigma": pl.Float64,
    "lower_2sigma": pl.Float64,
    "special_cause": pl.String,
    "side": pl.String,
    "variation": pl.String,
}
_LINES = ("mean", "upper_limit", "lower_limit", "upper_2sigma", "lower_2sigma")


@dataclass(frozen=True)
class SPCSettings:
    """Run lengths and thresholds; defaults are the MDC ones (see the module docstring)."""

    shift_length: int = 6
    trend_length: int = 6  # points, not steps: 6 points = 5 rises
    min_points: int = 13
    beyond_limit_counts_for_two_of_three: bool = True

    def __post_init__(self) -> None:
        if self.shift_length < 1 or self.trend_length < 2 or self.min_points < 2:
            raise ValueError("need shift_length >= 1, trend_length >= 2, min_points >= 2")


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _runs(keys: list, min_len: int):
    """Yield (start, stop, key) of maximal runs of one truthy key; None or 0 breaks a run."""
    i = 0
    while i < len(keys):
        j = i + 1
        while j < len(keys) and keys[j] == keys[i]:
            j += 1
        if keys[i] and j - i >= min_len:
            yield i, j, keys[i]
        i = j


def _evaluate(xs: list[int | None], s: SPCSettings):
    """Lines, fired rules and side for each point of one segment (None lines if too short).

    `xs` are the values scaled to integers (see `_scaled`). The lines come back as integer
    numerators over the returned denominator `d` (in the same scale), and every comparison is
    made as x * d against a numerator: exact integer arithmetic throughout.
    """
    n = len(xs)
    present = [x for x in xs if x is not None]
    mrs = [abs(b - a) for a, b in zip(xs, xs[1:]) if a is not None and b is not None]
    if len(present) < s.min_points or not mrs:
        return None, 1, [set() for _ in xs], [""] * n
    # With p points and m moving ranges, d = 100 p m makes mean * d and mean MR * d / 100 integers,
    # so every line (mean +/- factor-in-hundredths x mean MR / 100) is an integer over d.
    p, m = len(present), len(mrs)
    d = 100 * p * m
    mean = 100 * m * sum(present)
    mr = p * sum(mrs)
    lines = (mean, mean + _K3 * mr, mean - _K3 * mr, mean + _K2 * mr, mean - _K2 * mr)
    _, ucl, lcl, u2, l2 = lines
    ys = [None if x is None else x * d for x in xs]
    rules: list[set[str]] = [set() for _ in xs]
    rising, falling = [False] * n, [False] * n

    for i, y in enumerate(ys):
        if y is not None and (y > ucl or y < lcl):
            rules[i].add("outside_limits")

    side_of_mean = [None if y is None else _sign(y - mean) for y in ys]
    for start, stop, _ in _runs(side_of_mean, s.shift_length):
        for i in range(start, stop):
            rules[i].add("shift")

    # steps[i] is the direction from point i-1 to point i; k equal steps span k + 1 points.
    steps = [None] + [None if a is None or b is None else _sign(b - a) for a, b in zip(xs, xs[1:])]
    for start, stop, key in _runs(steps, s.trend_length - 1):
        for i in range(start - 1, stop):
            rules[i].add("trend")
            (rising if key > 0 else falling)[i] = True

    def beyond(y: int | None) -> int | None:
        if y is None:
            return None
        if not s.beyond_limit_counts_for_two_of_three and (y > ucl or y < lcl):
            return 0
        return 1 if y > u2 else -1 if y < l2 else 0

    far = [beyond(y) for y in ys]
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
        if rules[i] - {"trend"}:  # position rules win; they always agree with the side of the mean
            sides[i] = "high" if ys[i] > mean else "low"
        elif rising[i] and falling[i]:  # end of one trend, start of the other: a peak or trough
            sides[i] = "high" if x > xs[i - 1] else "low"
        elif rules[i]:
            sides[i] = "high" if rising[i] else "low"
    return lines, d, rules, sides


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")


def _classify(side: str, direction: str) -> str:
    """'improvement', 'concern' or 'neither' for a special cause on `side` ('high'/'low')."""
    if direction == "neutral":
        return "neither"
    return "improvement" if (side == "high") == (direction == "up") else "concern"


def _to_float(v: float | None) -> float | None:
    if v is None or math.isnan(v):
        return None
    if not math.isfinite(v):
        raise ValueError(f"values must be finite or missing, got {v!r}")
    return float(v) + 0.0  # + 0.0 turns -0.0 into 0.0: zero is zero, whatever its sign


def _scaled(values: list[float | None]) -> tuple[list[int | None], int]:
    """The values exactly as integers over one power of two: (integers, k) with value = integer / 2**k."""
    ratios = [None if v is None else v.as_integer_ratio() for v in values]  # (integer, power of two)
    k = max((r[1].bit_length() - 1 for r in ratios if r is not None), default=0)
    return [None if r is None else r[0] << (k - r[1].bit_length() + 1) for r in ratios], k


def spc_table(
    periods: list[str],
    values: list[float | None],
    *,
    direction: str = "up",
    recalc_from: str | None = None,
    target: float | None = None,
    settings: SPCSettings = SPCSettings(),
) -> pl.DataFrame:
    """One row per period, in order: value, segment, XmR lines, fired rules, side, variation.

    `target` does not change the table (use `assurance_icon`); it is accepted and checked so
    callers can pass a metric's whole configuration in one place.
    """
    columns = spc_columns(periods, values, direction=direction, recalc_from=recalc_from, target=target,
                          settings=settings)
    return spc_frame(columns)


def spc_frame(columns: dict[str, list], dtypes: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
    """`spc_columns` as the table `spc_table` returns; a caller's own columns typed by `dtypes` or inferred."""
    types = {**_SCHEMA, **(dtypes or {})}
    # Typed Series, then one frame: much cheaper than letting the constructor infer and cast a dict.
    return pl.DataFrame([pl.Series(name, values, dtype=types.get(name)) for name, values in columns.items()])


def spc_columns(
    periods: list[str],
    values: list[float | None],
    *,
    direction: str = "up",
    recalc_from: str | None = None,
    target: float | None = None,
    settings: SPCSettings = SPCSettings(),
) -> dict[str, list]:
    """`spc_table`'s columns as plain lists, in its column order.

    For callers that need only the icons (the overview's tiles run this for every measure): building
    a frame cost more than the rules themselves (docs/performance.md).
    """
    _check_direction(direction)
    if len(periods) != len(values):
        raise ValueError("periods and values must be the same length")
    if any(b <= a for a, b in zip(periods, periods[1:])):
        raise ValueError("periods must be strictly increasing (e.g. 'YYYY-MM' strings)")
    if target is not None and not math.isfinite(target):
        raise ValueError("target must be a finite number or None")
    floats = [_to_float(v) for v in values]
    xs, k = _scaled(floats)
    segment = [int(recalc_from is not None and p >= recalc_from) for p in periods]

    out: dict[str, list] = {name: [] for name in _SCHEMA}
    for seg in (0, 1):
        idx = [i for i, g in enumerate(segment) if g == seg]
        seg_xs = [xs[i] for i in idx]
        lines, d, rules, sides = _evaluate(seg_xs, settings)
        # Integer true division is correctly rounded: the nearest f64 to the exact line.
        drawn = (None,) * 5 if lines is None else tuple(line / (d << k) for line in lines)
        for name, line in zip(_LINES, drawn):
            out[name].extend([line] * len(idx))
        for x, fired, side in zip(seg_xs, rules, sides):
            out["special_cause"].append(",".join(r for r in RULES if r in fired))
            out["side"].append(side)
            if lines is None or x is None:
                out["variation"].append("")
            else:
                out["variation"].append(_classify(side, direction) if side else COMMON_CAUSE)
    out["period"] = list(periods)
    out["value"] = floats
    out["segment"] = segment
    return out


def variation_icon(table: pl.DataFrame, direction: str) -> str:
    """Text of the MDC variation icon, from the last non-missing point of an `spc_table`.

    The classification is redone from the point's side and `direction`, so it always matches
    the direction the caller is displaying.
    """
    return variation_of(table.select("value", "mean", "side").to_dict(as_series=False), direction)


def variation_of(columns: dict[str, list], direction: str) -> str:
    """`variation_icon` on `spc_columns` (at least value, mean and side)."""
    _check_direction(direction)
    seen = [i for i, v in enumerate(columns["value"]) if v is not None]
    if not seen:
        return NOT_ENOUGH_POINTS
    mean, side = columns["mean"][seen[-1]], columns["side"][seen[-1]]
    if mean is None:
        return NOT_ENOUGH_POINTS
    if not side:
        return COMMON_CAUSE
    return f"special cause {_classify(side, direction)} ({side})"


def assurance_icon(table: pl.DataFrame, target: float | None, direction: str) -> str | None:
    """Text of the MDC assurance icon from the latest segment's process limits.

    None when there is no target, the direction is neutral (nothing counts as passing), or the
    latest segment has too few points to have limits.
    """
    return assurance_of(table.select("lower_limit", "upper_limit").to_dict(as_series=False), target, direction)


def assurance_of(columns: dict[str, list], target: float | None, direction: str) -> str | None:
    """`assurance_icon` on `spc_columns` (at least lower_limit and upper_limit)."""
    _check_direction(direction)
    if target is None or math.isnan(target) or direction == "neutral" or not columns["lower_limit"]:
        return None
    lower, upper = columns["lower_limit"][-1], columns["upper_limit"][-1]
    if lower is None or upper is None:
        return None
    if lower <= target <= upper:
        return HIT_AND_MISS
    band_above_target = lower > target
    passing = band_above_target == (direction == "up")
    return CONSISTENTLY_PASSING if passing else CONSISTENTLY_FAILING
