"""Statistical disclosure control for anonymised case cohorts (UK practice).

The data layer calls these before anything reaches a chart, table or file.
Suppressed cells are null in their numeric column AND flagged in a boolean
``<col>_suppressed`` column; ``to_display`` renders them as ``[c]`` (GSS symbol).

Documented choices:
- Primary: counts 1..threshold-1 are suppressed; true zeros are shown.  Totals
  are checked the same way.  Rates, means, medians and quartiles built on fewer
  than ``threshold`` cases (or an unknown base) are suppressed.
- Secondary: a line (row or column with its total, including the totals row and
  totals column against the grand total) never holds exactly one suppressed
  entry.  The complement is the smallest non-zero unsuppressed cell of the line,
  ties broken by label order (string sort, so input row order never matters);
  if none exists the line's total is suppressed instead.
- Zeros are never used as complements: an attacker who knows a zero is
  structural would treat it as shown, so it protects nothing.  Hence every
  suppressed entry is non-zero.
- Published margins: where a cross-table's column totals are shown elsewhere anyway (a cohort and its
  comparison group add up to the national figures), each column's inner cells are a line of their own too.
- Cross-tables get one more check.  "Two per line" is not enough on its own:
  adding and subtracting whole rows and columns can still isolate a cell that
  links two otherwise separate groups of suppressed cells.  A cell is
  safe if it lies on a cycle of suppressed cells (rows and columns as nodes,
  suppressed cells as edges).  A cell that lies on no cycle (a bridge) gets the
  cheapest non-zero cell that closes a cycle around it.
- Not done: rounding (the ONS "10-5 rule"), and range bounds an attacker can
  infer from non-negativity.
"""
from __future__ import annotations

import numpy as np
import polars as pl

SUPPRESSED = "[c]"
NOT_AVAILABLE = "[x]"
DEFAULT_THRESHOLD = 10
TOTAL = "Total"
PUBLISHED = -1   # in place of a line's total index: the total is published elsewhere (see _line_pass)


def check_threshold(threshold: int) -> int:
    """Validate the threshold; below 3, subtraction alone can reveal a single case."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise ValueError(f"disclosure threshold must be an integer, got {threshold!r}")
    if threshold < 3:
        raise ValueError(f"disclosure threshold must be at least 3, got {threshold}")
    return int(threshold)


def cohort_too_small(n: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """True when the whole cohort (even an empty one) is under the threshold: show a message instead."""
    return n < check_threshold(threshold)


def too_small_message(threshold: int = DEFAULT_THRESHOLD) -> str:
    return f"fewer than {check_threshold(threshold)} cases"


def _flag(col: str) -> str:
    return f"{col}_suppressed"


def suppress_counts(df: pl.DataFrame, count_cols: list[str], threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Primary suppression only, cell by cell.  Nulls stay null and are not flagged (they are "[x]")."""
    t = check_threshold(threshold)
    for c in count_cols:
        if (df[c] < 0).any():
            raise ValueError(f"column {c!r} has negative counts")
    small = {c: pl.col(c).is_between(1, t - 1).fill_null(False) for c in count_cols}
    return df.with_columns(
        *[pl.when(small[c]).then(None).otherwise(pl.col(c)).alias(c) for c in count_cols],
        *[small[c].alias(_flag(c)) for c in count_cols],
    )


def suppress_statistic(df: pl.DataFrame, value_col: str, base_col: str, threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Null a rate/mean/median/quartile whose base has fewer than ``threshold`` cases (unknown base counts as small)."""
    t = check_threshold(threshold)
    small = (pl.col(base_col) < t).fill_null(True)
    return df.with_columns(
        pl.when(small).then(None).otherwise(pl.col(value_col)).alias(value_col),
        small.alias(_flag(value_col)),
    )


# ---------------------------------------------------------------- core search
def _line_pass(vals: np.ndarray, mask: np.ndarray, lines: list[list[int]]) -> None:
    """Until stable: a line with exactly one suppressed entry gets a complement (last index = total).

    A line whose last index is PUBLISHED has its total shown elsewhere: its cells alone must not hold exactly one
    suppressed entry, and when the others are all zeros there is nothing to add (the total is that entry).
    Flat indices are in canonical (label-sorted) order, so index breaks value ties."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            cells, total = line[:-1], line[-1]
            if mask[cells if total == PUBLISHED else line].sum() != 1:
                continue
            cands = [k for k in cells if not mask[k] and vals[k] > 0]
            if not cands and total == PUBLISHED:
                continue
            pick = min(cands, key=lambda k: (vals[k], k)) if cands else total
            if mask[pick]:  # cannot happen (suppressed entries are non-zero); never loop or leak silently
                raise RuntimeError("secondary suppression found no complement")
            mask[pick] = changed = True


def _reach(mask: np.ndarray, start: tuple[str, int], skip: tuple[int, int]) -> set:
    """Row/column nodes connected to ``start`` through suppressed cells other than ``skip``."""
    seen, stack = {start}, [start]
    while stack:
        kind, x = stack.pop()
        if kind == "r":
            nbrs = [(("c", j), (x, j)) for j in np.flatnonzero(mask[x])]
        else:
            nbrs = [(("r", i), (i, x)) for i in np.flatnonzero(mask[:, x])]
        for node, cell in nbrs:
            if cell != skip and node not in seen:
                seen.add(node)
                stack.append(node)
    return seen


def _fix_one_bridge(vals: np.ndarray, mask: np.ndarray) -> bool:
    """Close a cycle around the first suppressed cell that lies on none; False if there is none."""
    for i, j in map(tuple, np.argwhere(mask)):
        a = _reach(mask, ("r", i), (i, j))
        if ("c", j) in a:
            continue
        b = _reach(mask, ("c", j), (i, j))
        rows = [sorted(x for k, x in side if k == "r") for side in (a, b)]
        cols = [sorted(x for k, x in side if k == "c") for side in (a, b)]
        cands = [(r, c) for s in (0, 1) for r in rows[s] for c in cols[1 - s]
                 if not mask[r, c] and vals[r, c] > 0]
        if cands:
            mask[min(cands, key=lambda rc: (vals[rc], rc))] = True
        else:  # only zeros link the two groups: route through the (then unused) totals row
            last = mask.shape[0] - 1
            if ("r", last) in a | b:  # cannot happen: a totals-row node would offer a non-zero link
                raise RuntimeError("secondary suppression found no cycle")
            for s in (0, 1):
                mask[last, min(cols[s], key=lambda c: (vals[last, c], c))] = True
        return True
    return False


def _labels(df: pl.DataFrame, col: str) -> list[str]:
    s = df[col].cast(pl.String)
    if s.null_count():
        raise ValueError(f"{col!r} has null labels; map them to a category such as 'Unknown' first")
    if (s == TOTAL).any():
        raise ValueError(f"{col!r} already contains a {TOTAL!r} label; pass category rows only")
    return s.to_list()


def _counts(df: pl.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    if s.null_count() or (s < 0).any():
        raise ValueError(f"{col!r} must hold non-negative counts without nulls")
    return s.cast(pl.Int64).to_numpy()


def _out(cols: dict, count_col: str, vals, mask) -> pl.DataFrame:
    shown = [None if m else int(v) for v, m in zip(vals, mask)]
    return pl.DataFrame({**cols, count_col: pl.Series(shown, dtype=pl.Int64),
                         _flag(count_col): pl.Series([bool(m) for m in mask], dtype=pl.Boolean)})


# ---------------------------------------------------------------- public tables
def protect_one_way(df: pl.DataFrame, label_col: str, count_col: str, threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Category rows in, category rows plus a final "Total" row out, with primary and secondary suppression."""
    t = check_threshold(threshold)
    labels, counts = _labels(df, label_col), _counts(df, count_col)
    if len(set(labels)) != len(labels):
        raise ValueError(f"{label_col!r} has duplicate categories")
    order = sorted(range(len(labels)), key=labels.__getitem__)  # canonical: label order
    vals = np.append(counts[order], counts.sum())
    mask = (vals >= 1) & (vals < t)
    _line_pass(vals, mask, [list(range(len(vals)))])
    back = np.empty(len(labels), dtype=int)
    back[order] = np.arange(len(labels))
    idx = [*back, len(labels)]
    return _out({label_col: [*labels, TOTAL]}, count_col, vals[idx], mask[idx])


def protect_cross_table(df: pl.DataFrame, row_col: str, col_col: str, count_col: str,
                        threshold: int = DEFAULT_THRESHOLD, column_totals_published: bool = False) -> pl.DataFrame:
    """Long (row, col, count) inner cells in; long table with "Total" margins out, fully protected.

    With `column_totals_published`, each column's total is taken as known whatever this table shows (a cohort
    and its comparison group add up to England and Wales, whose figures other views show), so a column's inner
    cells never hold exactly one suppressed entry either.
    Missing combinations count as 0.  Output keeps first-appearance order of labels,
    but every choice is made in label-sorted order, so shuffling the input changes nothing."""
    t = check_threshold(threshold)
    rl, cl, counts = _labels(df, row_col), _labels(df, col_col), _counts(df, count_col)
    if len(set(zip(rl, cl))) != len(rl):
        raise ValueError(f"duplicate ({row_col}, {col_col}) combinations")
    rows, cols = sorted(set(rl)), sorted(set(cl))
    ri, ci = {v: i for i, v in enumerate(rows)}, {v: j for j, v in enumerate(cols)}
    nr, nc = len(rows), len(cols)
    grid = np.zeros((nr + 1, nc + 1), dtype=np.int64)
    for r, c, n in zip(rl, cl, counts):
        grid[ri[r], ci[c]] = n
    grid[nr, :nc] = grid[:nr, :nc].sum(axis=0)
    grid[:, nc] = grid[:, :nc].sum(axis=1)
    mask = (grid >= 1) & (grid < t)
    flat_idx = np.arange(grid.size).reshape(grid.shape)
    lines = [list(x) for x in flat_idx] + [list(x) for x in flat_idx.T]  # total is each line's last entry
    if column_totals_published:
        lines += [[*x[:-1], PUBLISHED] for x in flat_idx.T[:-1]]
    while True:
        _line_pass(grid.reshape(-1), mask.reshape(-1), lines)  # reshape gives views: edits land in mask
        if not _fix_one_bridge(grid, mask):
            break
    out_r = [*dict.fromkeys(rl), TOTAL]
    out_c = [*dict.fromkeys(cl), TOTAL]
    ri[TOTAL], ci[TOTAL] = nr, nc
    pairs = [(r, c) for r in out_r for c in out_c]
    return _out({row_col: [r for r, _ in pairs], col_col: [c for _, c in pairs]}, count_col,
                [grid[ri[r], ci[c]] for r, c in pairs], [mask[ri[r], ci[c]] for r, c in pairs])


# ---------------------------------------------------------------- display
def to_display(df: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Strings for charts/tables/files: "[c]" suppressed, "[x]" not available; flag columns dropped.

    Refuses columns that never went through suppression, so raw counts cannot slip out."""
    missing = [c for c in cols if _flag(c) not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} have no suppression flag; protect them first")
    return df.with_columns(
        pl.when(pl.col(_flag(c))).then(pl.lit(SUPPRESSED))
        .when(pl.col(c).is_null()).then(pl.lit(NOT_AVAILABLE))
        .otherwise(pl.col(c).cast(pl.String)).alias(c)
        for c in cols
    ).drop([_flag(c) for c in cols])


def cross_table_wide(protected: pl.DataFrame, row_col: str, col_col: str, count_col: str) -> pl.DataFrame:
    """Pivot the output of ``protect_cross_table`` to rows x columns of display strings, totals last."""
    shown = to_display(protected, [count_col])
    cols = list(dict.fromkeys(shown[col_col].to_list()))
    cell = {(r, c): v for r, c, v in shown.select(row_col, col_col, count_col).iter_rows()}
    rows = list(dict.fromkeys(shown[row_col].to_list()))
    if row_col in cols:
        raise ValueError(f"column label {row_col!r} clashes with the row header")
    return pl.DataFrame({row_col: rows, **{c: [cell[(r, c)] for r in rows] for c in cols}})
