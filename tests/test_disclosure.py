"""Tests for queries.disclosure: hand-made tables, determinism, and properties over random tables."""
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries import disclosure as d
from queries.disclosure import (
    SUPPRESSED, cohort_too_small, cross_table_wide, protect_cross_table, protect_one_way,
    suppress_counts, suppress_statistic, to_display, too_small_message,
)

C = SUPPRESSED


def one_way(labels, counts, t=10):
    out = protect_one_way(pl.DataFrame({"cat": labels, "n": counts}), "cat", "n", t)
    return dict(zip(out["cat"], to_display(out, ["n"])["n"]))


def long_frame(grid):
    return pl.DataFrame([(f"r{i}", f"c{j}", v) for i, row in enumerate(grid) for j, v in enumerate(row)],
                        schema=["r", "c", "n"], orient="row")


def wide(grid, t=10):
    out = cross_table_wide(protect_cross_table(long_frame(grid), "r", "c", "n", t), "r", "c", "n")
    return [list(row[1:]) for row in out.iter_rows()]


# ---------------------------------------------------------------- threshold and cohort
@pytest.mark.parametrize("bad", [2, 0, -5, 2.5, True, "10"])
def test_threshold_refused(bad):
    with pytest.raises(ValueError, match="threshold"):
        d.check_threshold(bad)


def test_every_entry_point_checks_threshold():
    df = pl.DataFrame({"cat": ["a"], "n": [20]})
    for call in (lambda: protect_one_way(df, "cat", "n", 2), lambda: suppress_counts(df, ["n"], 2),
                 lambda: suppress_statistic(df, "n", "n", 2), lambda: cohort_too_small(5, 2),
                 lambda: protect_cross_table(long_frame([[20]]), "r", "c", "n", 2)):
        with pytest.raises(ValueError, match="at least 3"):
            call()
    assert d.check_threshold(3) == 3 and d.DEFAULT_THRESHOLD == 10


def test_cohort_too_small_and_message():
    assert cohort_too_small(9) and not cohort_too_small(10)
    assert cohort_too_small(4, 5) and not cohort_too_small(5, 5)
    assert cohort_too_small(0)  # an empty cohort also gets the message, not an empty chart
    assert too_small_message() == "fewer than 10 cases"
    assert too_small_message(5) == "fewer than 5 cases"


# ---------------------------------------------------------------- primary suppression
def test_suppress_counts_primary_only():
    df = pl.DataFrame({"a": [0, 1, 9, 10, None], "b": [3, 30, 0, 4, 12]})
    out = suppress_counts(df, ["a", "b"], 10)
    assert out["a"].to_list() == [0, None, None, 10, None]
    assert out["a_suppressed"].to_list() == [False, True, True, False, False]  # null input is not "[c]"
    assert out["b"].to_list() == [None, 30, 0, None, 12]
    assert to_display(out, ["a"])["a"].to_list() == ["0", C, C, "10", "[x]"]
    assert suppress_counts(df, ["b"], 4)["b"].to_list() == [None, 30, 0, 4, 12]


def test_suppress_counts_refuses_negative():
    with pytest.raises(ValueError, match="negative"):
        suppress_counts(pl.DataFrame({"a": [-1]}), ["a"], 10)


def test_suppress_statistic_on_small_base():
    df = pl.DataFrame({"rate": [0.5, 0.25, 0.1, 0.3], "base": [9, 10, 0, None]})
    out = suppress_statistic(df, "rate", "base", 10)
    assert out["rate"].to_list() == [None, 0.25, None, None]
    assert out["rate_suppressed"].to_list() == [True, False, True, True]
    assert suppress_statistic(df, "rate", "base", 5)["rate"].to_list() == [0.5, 0.25, None, None]


def test_to_display_refuses_unprotected_columns():
    with pytest.raises(ValueError, match="protect them first"):
        to_display(pl.DataFrame({"n": [3]}), ["n"])


# ---------------------------------------------------------------- one-way tables
def test_one_way_single_small_cell_gets_smallest_nonzero_complement():
    # 4 is primary; complement is the smallest non-zero visible cell (12), not the zero, not 15.
    assert one_way(["a", "b", "c", "d", "e"], [4, 15, 12, 0, 30]) == \
        {"a": C, "b": "15", "c": C, "d": "0", "e": "30", "Total": "61"}


def test_one_way_tie_broken_by_label_order_not_row_order():
    # b and a tie on 12: "a" sorts first, whatever the row order; output keeps input row order.
    out = protect_one_way(pl.DataFrame({"cat": ["x", "b", "a", "y"], "n": [5, 12, 12, 30]}), "cat", "n", 10)
    assert out["cat"].to_list() == ["x", "b", "a", "y", "Total"]
    assert out["n"].to_list() == [None, 12, None, 30, 59]
    assert out["n_suppressed"].to_list() == [True, False, True, False, False]
    assert out.schema == {"cat": pl.String, "n": pl.Int64, "n_suppressed": pl.Boolean}


def test_one_way_zero_stays_visible_and_is_never_a_complement():
    assert one_way(["a", "b", "c"], [0, 3, 50]) == {"a": "0", "b": C, "c": C, "Total": "53"}
    assert one_way(["a", "b"], [0, 0]) == {"a": "0", "b": "0", "Total": "0"}


def test_one_way_threshold_5_vs_10():
    labels, counts = ["a", "b", "c", "d"], [7, 20, 30, 4]
    assert one_way(labels, counts, 5) == {"a": C, "b": "20", "c": "30", "d": C, "Total": "61"}
    assert one_way(labels, counts, 10) == {"a": C, "b": "20", "c": "30", "d": C, "Total": "61"}
    assert one_way(labels, [7, 20, 30, 40], 5) == {"a": "7", "b": "20", "c": "30", "d": "40", "Total": "97"}
    assert one_way(labels, [7, 20, 30, 40], 10) == {"a": C, "b": C, "c": "30", "d": "40", "Total": "97"}


def test_one_way_total_below_threshold_is_suppressed():
    assert one_way(["a", "b", "c"], [2, 3, 0]) == {"a": C, "b": C, "c": "0", "Total": C}
    assert one_way(["a", "b"], [6, 0], 10) == {"a": C, "b": "0", "Total": C}


@pytest.mark.parametrize("frame, msg", [
    (pl.DataFrame({"cat": ["a", "a"], "n": [10, 20]}), "duplicate"),
    (pl.DataFrame({"cat": ["a", "Total"], "n": [10, 20]}), "Total"),
    (pl.DataFrame({"cat": ["a", None], "n": [10, 20]}), "null labels"),
    (pl.DataFrame({"cat": ["a", "b"], "n": [10, None]}), "non-negative"),
    (pl.DataFrame({"cat": ["a", "b"], "n": [10, -1]}), "non-negative"),
])
def test_one_way_refuses_bad_input(frame, msg):
    with pytest.raises(ValueError, match=msg):
        protect_one_way(frame, "cat", "n", 10)


# ---------------------------------------------------------------- cross-tables
def test_cross_table_single_small_cell_closes_a_rectangle():
    # (r1,c1)=3 is primary. Row r1's smallest visible non-zero is 25 (c0); column c1's is 30 (r0);
    # column c0 now has one, its smallest is 20 (r0), which also gives row r0 its second.
    grid = [[20, 30, 40], [25, 3, 35], [50, 45, 60]]
    assert wide(grid) == [
        [C, C, "40", "90"],
        [C, C, "35", "63"],
        ["50", "45", "60", "155"],
        ["95", "78", "135", "308"],
    ]


def test_cross_table_zeros_are_skipped_and_totals_take_over():
    # Worked by hand: r0 takes 20; c0 takes 15; c1 has only zeros left, so its total 20 goes;
    # then r2 takes 40, the totals row takes 18, c2 takes 30, r1 (zeros only) loses its total 30,
    # and the totals column takes 23. Zeros stay visible throughout.
    grid = [[3, 20, 0], [0, 0, 30], [15, 0, 40]]
    assert wide(grid) == [
        [C, C, "0", C],
        ["0", "0", C, C],
        [C, "0", C, "55"],
        [C, C, "70", "108"],
    ]


COHORT_AND_REST = [[88, 10, 0], [561, 94, 5]]   # a cohort and its comparison group by victim sex


def test_published_column_totals_leave_no_column_with_one_suppressed_cell():
    """Found by the cohort CSV property test. Protected as an ordinary table, the comparison's small 5 takes its
    94 and the national row takes 104, so column c1 shows the cohort's 10 beside a hidden 94: fine while the
    national 104 is hidden, but another view shows national breakdowns, and 104 - 10 gives 94, then 5. With the
    column totals taken as published, c1's cells alone need two suppressed entries, and the rows follow."""
    plain = cross_table_wide(protect_cross_table(long_frame(COHORT_AND_REST), "r", "c", "n", 10), "r", "c", "n")
    assert [list(row[1:]) for row in plain.iter_rows()] == [
        ["88", "10", "0", "98"], ["561", C, C, "660"], ["649", C, C, "758"]]
    published = protect_cross_table(long_frame(COHORT_AND_REST), "r", "c", "n", 10, column_totals_published=True)
    assert [list(row[1:]) for row in cross_table_wide(published, "r", "c", "n").iter_rows()] == [
        [C, C, "0", "98"], [C, C, C, "660"], ["649", C, C, "758"]]


BRIDGE_GRID = [  # two 2x2 blocks of small cells, joined only through row r4
    [5, 5, 50, 50, 50],
    [5, 5, 50, 50, 50],
    [50, 12, 5, 5, 50],
    [50, 50, 5, 5, 50],
    [5, 50, 5, 50, 50],
]


def test_cross_table_cell_linking_two_blocks_is_put_on_a_cycle():
    # Every line already has 0 or >= 2 suppressed, yet (r4,c0) = col c0 total - visible - (block A's
    # c0 part), and block A's c0 part = rows r0+r1 minus column c1.  The cheapest cell joining the two
    # sides, (r2,c1)=12, is added.
    assert wide(BRIDGE_GRID) == [
        [C, C, "50", "50", "50", "160"],
        [C, C, "50", "50", "50", "160"],
        ["50", C, C, C, "50", "122"],
        ["50", "50", C, C, "50", "160"],
        [C, "50", C, "50", "50", "160"],
        ["115", "122", "115", "160", "250", "762"],
    ]


def test_line_rule_alone_leaks_on_bridge_grid(monkeypatch):
    """Checks the oracle used below: without the cycle rule the grid above leaks (r4,c0)."""
    monkeypatch.setattr(d, "_fix_one_bridge", lambda vals, mask: False)
    truth, mask = grids(protect_cross_table(long_frame(BRIDGE_GRID), "r", "c", "n", 10), 5, 5)
    assert line_counts_ok(mask)
    assert (4, 0) in determined_cells(truth, mask)


def test_cross_table_missing_combinations_are_zero_and_output_shape():
    df = pl.DataFrame({"r": ["x", "y"], "c": ["p", "q"], "n": [40, 50]})
    out = protect_cross_table(df, "r", "c", "n", 10)
    assert out.columns == ["r", "c", "n", "n_suppressed"]
    assert out.height == 9 and out["n"].dtype == pl.Int64
    assert cross_table_wide(out, "r", "c", "n").rows() == [
        ("x", "40", "0", "40"), ("y", "0", "50", "50"), ("Total", "40", "50", "90")]


def test_cross_table_refuses_duplicates_and_total_label():
    with pytest.raises(ValueError, match="duplicate"):
        protect_cross_table(pl.DataFrame({"r": ["x", "x"], "c": ["p", "p"], "n": [1, 2]}), "r", "c", "n", 10)
    with pytest.raises(ValueError, match="Total"):
        protect_cross_table(pl.DataFrame({"r": ["Total"], "c": ["p"], "n": [1]}), "r", "c", "n", 10)


def test_cross_table_deterministic_and_row_order_free():
    df = long_frame([[3, 12, 12, 0], [12, 40, 5, 12], [0, 12, 12, 30]])
    first = protect_cross_table(df, "r", "c", "n", 10)
    assert first.equals(protect_cross_table(df, "r", "c", "n", 10))
    key = ["r", "c"]
    for seed in range(5):
        shuffled = protect_cross_table(df.sample(fraction=1.0, shuffle=True, seed=seed), "r", "c", "n", 10)
        assert shuffled.sort(key).equals(first.sort(key))


def test_one_way_deterministic_and_row_order_free():
    df = pl.DataFrame({"cat": list("abcdef"), "n": [4, 12, 12, 12, 0, 30]})
    first = protect_one_way(df, "cat", "n", 10)
    assert first.equals(protect_one_way(df, "cat", "n", 10))
    for seed in range(5):
        shuffled = protect_one_way(df.sample(fraction=1.0, shuffle=True, seed=seed), "cat", "n", 10)
        assert shuffled.sort("cat").equals(first.sort("cat"))


# ---------------------------------------------------------------- property-based
def grids(out, nr, nc):
    """Rebuild (shown values, mask) as (nr+1)x(nc+1) arrays, margins last, from protected long output."""
    vals = np.full((nr + 1, nc + 1), -1, dtype=np.int64)
    mask = np.zeros((nr + 1, nc + 1), dtype=bool)
    idx = lambda lab, n: n if lab == "Total" else int(lab[1:])
    for r, c, v, s in out.iter_rows():
        i, j = idx(r, nr), idx(c, nc)
        mask[i, j] = s
        vals[i, j] = -1 if v is None else v
    return vals, mask


def true_grid(grid):
    g = np.array(grid, dtype=np.int64)
    g = np.vstack([g, g.sum(axis=0)])
    return np.hstack([g, g.sum(axis=1, keepdims=True)])


def line_counts_ok(mask):
    return all(k in (0,) or k >= 2 for k in [*mask.sum(axis=1), *mask.sum(axis=0)])


def determined_cells(truth, mask):
    """Suppressed cells an attacker can solve for from all row/column equations (linear algebra)."""
    nr, nc = truth.shape[0] - 1, truth.shape[1] - 1
    unknown = [tuple(x) for x in np.argwhere(mask)]
    pos = {cell: k for k, cell in enumerate(unknown)}
    eqs = []
    lines = [[(i, j) for j in range(nc + 1)] for i in range(nr + 1)] + \
            [[(i, j) for i in range(nr + 1)] for j in range(nc + 1)]
    for line in lines:  # inner cells minus the line's total = 0
        row = np.zeros(len(unknown))
        for cell in line:
            if cell in pos:
                row[pos[cell]] = -1.0 if cell == line[-1] else 1.0
        eqs.append(row)
    a = np.array(eqs)
    rank = np.linalg.matrix_rank(a) if unknown else 0
    return {cell for cell, k in pos.items()
            if np.linalg.matrix_rank(np.vstack([a, np.eye(len(unknown))[k]])) == rank}


counts = st.one_of(st.integers(0, 40), st.integers(0, 9), st.just(0))
tables = st.integers(1, 6).flatmap(lambda nr: st.integers(1, 6).flatmap(
    lambda nc: st.lists(st.lists(counts, min_size=nc, max_size=nc), min_size=nr, max_size=nr)))
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(grid=tables, t=st.integers(3, 15))
def test_property_cross_table_is_safe(grid, t):
    nr, nc = len(grid), len(grid[0])
    truth = true_grid(grid)
    out = protect_cross_table(long_frame(grid), "r", "c", "n", t)
    assert out.height == (nr + 1) * (nc + 1)
    assert (out["n"].is_null() == out["n_suppressed"]).all()
    shown, mask = grids(out, nr, nc)
    visible = shown[~mask]
    assert not ((visible >= 1) & (visible < t)).any()            # (a) no small visible value
    assert line_counts_ok(mask)                                   # (b) 0 or >= 2 per line
    assert (visible == truth[~mask]).all()                        # (c) shown values are true
    assert (truth[mask] > 0).all()                                # zeros never used as complements
    assert not determined_cells(truth, mask)                      # (d) nothing solvable at all


@fast
@given(grid=tables, t=st.integers(3, 15), data=st.data())
def test_property_cross_table_ignores_row_order(grid, t, data):
    df = long_frame(grid)
    perm = data.draw(st.permutations(range(df.height)))
    a = protect_cross_table(df, "r", "c", "n", t).sort(["r", "c"])
    assert a.equals(protect_cross_table(df[list(perm)], "r", "c", "n", t).sort(["r", "c"]))


@fast
@given(cells=st.lists(counts, min_size=0, max_size=12), t=st.integers(3, 15))
def test_property_one_way_is_safe(cells, t):
    labels = [f"k{i:02d}" for i in range(len(cells))]
    out = protect_one_way(pl.DataFrame({"cat": labels, "n": cells}, schema={"cat": pl.String, "n": pl.Int64}),
                          "cat", "n", t)
    truth = np.array([*cells, sum(cells)])
    mask = out["n_suppressed"].to_numpy()
    shown = out["n"].to_numpy()[~mask]
    assert out["cat"].to_list() == [*labels, "Total"]
    assert not ((shown >= 1) & (shown < t)).any()                 # (a)
    assert mask.sum() in (0,) or mask.sum() >= 2                  # (b)
    assert (shown == truth[~mask]).all()                          # (c)
    assert (truth[mask] > 0).all()
