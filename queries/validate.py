"""Validation of case and returns extracts: every problem found, each with its line number and field.

Validation is vectorised with polars (a million-row extract checks in about a second) and never stops at the first
problem: data teams fix a whole file in one pass. Nothing here touches the store.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from queries.reference import Reference

CASE_COLUMNS = (
    "case_id", "area_code", "force_code", "referral_month", "offence_group", "victim_age_band", "victim_sex",
    "early_advice", "action_plans", "decision", "decision_month", "days_to_decision", "nfa_scrutinised",
    "nfa_overturned", "isva_engaged", "victim_withdrew",
)
RETURN_COLUMNS = ("month", "area_code", "force_code", "metric_code", "numerator", "denominator")

OFFENCE_GROUPS = ("adult_rape", "child_rape", "other_sso")
AGE_BANDS = ("under_16", "16_17", "18_24", "25_34", "35_44", "45_54", "55_plus", "unknown")
SEXES = ("female", "male", "unknown")
DECISIONS = ("charged", "nfa", "admin_finalised", "pending")
FLAGS = ("early_advice", "nfa_scrutinised", "nfa_overturned", "isva_engaged", "victim_withdrew")
MIN_MONTH = "2010-01"
MAX_ACTION_PLANS = 99
MAX_DAYS = 3650
MAX_RETURN_VALUE = 1e9
MAX_PROBLEMS_LISTED = 50

MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"
CASE_ID_RE = r"^[A-Za-z0-9_-]{1,64}$"
INT_RE = r"^-?\d+$"
NUMBER_RE = r"^-?(\d+(\.\d*)?|\.\d+)$"


@dataclass(frozen=True)
class Problem:
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"line {self.line}" if self.line else "", self.field and f"field {self.field}")
                          if p)
        return f"{where}: {self.message}" if where else self.message


class LoadError(Exception):
    """A rejected file. Nothing was loaded; the message lists the problems (up to a cap) and how many there were."""

    def __init__(self, file_name: str, problems: list[Problem], total: int | None = None):
        self.file_name = file_name
        self.problems = problems[:MAX_PROBLEMS_LISTED]
        self.total = total if total is not None else len(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = self.total
        head = f"{self.file_name}: {n} problem{'s' if n != 1 else ''}; nothing was loaded"
        lines = [head] + [f"  {p}" for p in self.problems]
        if n > len(self.problems):
            lines.append(f"  ... and {n - len(self.problems)} more")
        return "\n".join(lines)


def current_month() -> str:
    return date.today().strftime("%Y-%m")


def read_extract(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    """Read a CSV extract as text columns plus `_line` (its line in the file), or raise LoadError for the file."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(name, [Problem(None, None, f"cannot read the file ({exc.strerror})")]) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise LoadError(name, [Problem(None, None, "the file is empty; expected a header row and data rows")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LoadError(name, [Problem(line, None, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                                                   "save the file as UTF-8 CSV")]) from None
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])))
    header = [h.strip() for h in header]
    problems = [Problem(1, h, "unknown column (extracts may hold only the contract's columns)")
                for h in header if h not in columns]
    problems += [Problem(1, c, "required column is missing from the header") for c in columns if c not in header]
    problems += [Problem(1, h, "column appears more than once") for h in sorted({h for h in header
                                                                                if header.count(h) > 1})]
    if problems:
        raise LoadError(name, problems)
    ragged = _ragged(text, len(header))
    if ragged:
        raise LoadError(name, [Problem(line, None, f"has {n} fields; the header has {len(header)}")
                               for line, n in ragged], len(ragged))
    try:
        df = pl.read_csv(io.BytesIO(raw), infer_schema=False, has_header=True, new_columns=header)
    except pl.exceptions.PolarsError as exc:
        raise LoadError(name, [Problem(None, None, f"not a readable CSV file ({str(exc).splitlines()[0]})")]) from None
    df = df.filter(~pl.all_horizontal(pl.all().is_null()))   # blank lines
    if df.height == 0:
        raise LoadError(name, [Problem(None, None, "the file has a header row but no data rows")])
    if _needs_slow_path(text):
        lines = pl.Series("_line", list(_records(text)), dtype=pl.Int64)
    else:
        lines = pl.int_range(2, df.height + 2, eager=True, dtype=pl.Int64)
    df = df.select([pl.col(c).str.strip_chars().fill_null("") for c in columns]).with_columns(lines.alias("_line"))
    return df


def _needs_slow_path(text: str) -> bool:
    """Quoted fields or blank lines break the row-to-line arithmetic; then we ask the csv module for line numbers."""
    return '"' in text or "\n\n" in text or "\r\n\r\n" in text


def _records(text: str):
    reader = csv.reader(io.StringIO(text))
    next(reader)
    start = reader.line_num + 1
    for row in reader:
        if row:
            yield start
        start = reader.line_num + 1


def _ragged(text: str, width: int) -> list[tuple[int, int]]:
    """Lines whose field count differs from the header's. A cheap check: no codes contain commas."""
    out = []
    for i, line in enumerate(text.splitlines()[1:], start=2):
        if line.strip() and '"' not in line and line.count(",") != width - 1:
            out.append((i, line.count(",") + 1))
    return out


# ---- rules --------------------------------------------------------------------------------------------------------

def _one_of(field: str, allowed) -> tuple[str, pl.Expr, pl.Expr]:
    col = pl.col(field)
    return field, ~col.is_in(list(allowed)), (pl.lit("'") + col + pl.lit(f"' is not one of {', '.join(allowed)}"))


def _required(field: str) -> tuple[str, pl.Expr, pl.Expr]:
    return field, pl.col(field) == "", pl.lit("is required")


def _month(field: str, max_month: str, optional: bool = False) -> list[tuple[str, pl.Expr, pl.Expr]]:
    col = pl.col(field)
    present = col != ""
    wrong = present & ~col.str.contains(MONTH_RE)
    out = [] if optional else [_required(field)]
    out.append((field, wrong, pl.lit("'") + col + pl.lit("' is not a month in the form YYYY-MM")))
    out.append((field, present & ~wrong & ((col < MIN_MONTH) | (col > max_month)),
                pl.lit("'") + col + pl.lit(f"' is outside the accepted range {MIN_MONTH} to {max_month}")))
    return out


def _whole(field: str, low: int, high: int, when: pl.Expr = pl.lit(True)) -> list[tuple[str, pl.Expr, pl.Expr]]:
    col = pl.col(field)
    not_int = when & ~col.str.contains(INT_RE)
    out_of_range = when & ~not_int & ~col.cast(pl.Float64, strict=False).is_between(low, high)
    return [
        (field, not_int, pl.lit("'") + col + pl.lit("' is not a whole number")),
        (field, out_of_range, pl.lit("'") + col + pl.lit(f"' is out of range (allowed {low} to {high})")),
    ]


def _duplicates(fields: list[str]) -> tuple[str, pl.Expr, pl.Expr]:
    key = pl.concat_str([pl.col(f) for f in fields], separator="|")
    first = pl.col("_line").min().over(key).cast(pl.String)
    return fields[0], key.is_duplicated() & (pl.col("_line") != pl.col("_line").min().over(key)), (
        pl.lit(f"duplicate {'/'.join(fields)} (first seen on line ") + first + pl.lit(")"))


def _unit_rules(ref: Reference) -> list[tuple[str, pl.Expr, pl.Expr]]:
    pair = pl.col("area_code") + "|" + pl.col("force_code")
    known = (pl.col("area_code").is_in(list(ref.areas))) & (pl.col("force_code").is_in(list(ref.forces)))
    return [
        _one_of("area_code", sorted(ref.areas)),
        ("force_code", ~pl.col("force_code").is_in(list(ref.forces)),
         pl.lit("'") + pl.col("force_code") + pl.lit("' is not a known police force area code")),
        ("force_code", known & ~pair.is_in([f"{a}|{f}" for a, f in ref.pairs]),
         pl.lit("force ") + pl.col("force_code") + pl.lit(" is not served by CPS Area ") + pl.col("area_code")),
    ]


def _apply(df: pl.DataFrame, rules) -> list[Problem]:
    frames = [
        df.lazy().select(pl.col("_line"), bad.fill_null(False).alias("_bad"), pl.lit(field).alias("field"),
                         msg.alias("message")).filter(pl.col("_bad")).drop("_bad")
        for field, bad, msg in rules
    ]
    found = pl.concat(pl.collect_all(frames)).sort("_line", maintain_order=True)
    return [Problem(r[0], r[1], r[2]) for r in found.iter_rows()]


def validate_cases(df: pl.DataFrame, ref: Reference, max_month: str | None = None) -> list[Problem]:
    max_month = max_month or current_month()
    pending = pl.col("decision") == "pending"
    decided = pl.col("decision").is_in(["charged", "nfa", "admin_finalised"])
    months_between = _month_index(pl.col("decision_month")) - _month_index(pl.col("referral_month"))
    days = pl.col("days_to_decision").cast(pl.Float64, strict=False)
    dm_ok = pl.col("decision_month").str.contains(MONTH_RE) & pl.col("referral_month").str.contains(MONTH_RE)
    rules = [
        _required("case_id"),
        ("case_id", (pl.col("case_id") != "") & ~pl.col("case_id").str.contains(CASE_ID_RE),
         pl.lit("must be an opaque code of 1 to 64 letters, digits, '-' or '_'")),
        _duplicates(["case_id"]),
        *_unit_rules(ref),
        *_month("referral_month", max_month),
        _one_of("offence_group", OFFENCE_GROUPS),
        _one_of("victim_age_band", AGE_BANDS),
        _one_of("victim_sex", SEXES),
        *[(f, ~pl.col(f).is_in(["0", "1"]), pl.lit("'") + pl.col(f) + pl.lit("' must be 0 or 1")) for f in FLAGS],
        *_whole("action_plans", 0, MAX_ACTION_PLANS),
        _one_of("decision", DECISIONS),
        ("decision_month", pending & (pl.col("decision_month") != ""), pl.lit("must be empty when decision is pending")),
        ("decision_month", decided & (pl.col("decision_month") == ""), pl.lit("is required when a decision is made")),
        *_month("decision_month", max_month, optional=True),
        ("decision_month", decided & dm_ok & (pl.col("decision_month") < pl.col("referral_month")),
         pl.lit("is before referral_month ") + pl.col("referral_month")),
        ("days_to_decision", pending & (pl.col("days_to_decision") != ""),
         pl.lit("must be empty when decision is pending")),
        ("days_to_decision", decided & (pl.col("days_to_decision") == ""),
         pl.lit("is required when a decision is made")),
        *_whole("days_to_decision", 0, MAX_DAYS, when=pl.col("days_to_decision") != ""),
        ("days_to_decision", decided & dm_ok & days.is_between(0, MAX_DAYS)
         & ((days < (months_between - 1) * 28) | (days > (months_between + 1) * 31)),
         pl.lit("'") + pl.col("days_to_decision") + pl.lit("' does not fit referral_month ")
         + pl.col("referral_month") + pl.lit(" and decision_month ") + pl.col("decision_month")),
        ("nfa_scrutinised", (pl.col("nfa_scrutinised") == "1") & (pl.col("decision") != "nfa"),
         pl.lit("is 1 but decision is '") + pl.col("decision") + pl.lit("' (only NFA decisions are scrutinised)")),
        ("nfa_overturned", (pl.col("nfa_overturned") == "1") & (pl.col("nfa_scrutinised") != "1"),
         pl.lit("is 1 but nfa_scrutinised is not (only scrutinised NFAs can be overturned)")),
    ]
    return _apply(df, rules)


def validate_returns(df: pl.DataFrame, ref: Reference, max_month: str | None = None) -> list[Problem]:
    max_month = max_month or current_month()
    returns = {code: m for code, m in ref.metrics.items() if m.source == "returns"}
    counts = [c for c, m in returns.items() if m.unit == "count"]
    rates = [c for c, m in returns.items() if m.unit == "rate"]
    num = pl.col("numerator").cast(pl.Float64, strict=False)
    den = pl.col("denominator").cast(pl.Float64, strict=False)
    num_ok = pl.col("numerator").str.contains(NUMBER_RE)
    den_ok = pl.col("denominator").str.contains(NUMBER_RE)
    known = pl.col("metric_code").is_in(list(returns))
    wants_den = known & ~pl.col("metric_code").is_in(counts)
    rules = [
        *_month("month", max_month),
        *_unit_rules(ref),
        ("metric_code", pl.col("metric_code").is_in([c for c in ref.metrics if c not in returns]),
         pl.lit("'") + pl.col("metric_code") + pl.lit("' is computed from case extracts, not loaded as a return")),
        ("metric_code", ~pl.col("metric_code").is_in(list(ref.metrics)),
         pl.lit("'") + pl.col("metric_code") + pl.lit(f"' is not a returns metric ({', '.join(returns)})")),
        _required("numerator"),
        ("numerator", (pl.col("numerator") != "") & ~num_ok, pl.lit("'") + pl.col("numerator")
         + pl.lit("' is not a number")),
        ("numerator", num_ok & ~num.is_between(0, MAX_RETURN_VALUE),
         pl.lit("'") + pl.col("numerator") + pl.lit(f"' is out of range (allowed 0 to {MAX_RETURN_VALUE:,.0f})")),
        ("denominator", pl.col("metric_code").is_in(counts) & (pl.col("denominator") != ""),
         pl.lit("must be empty for a count metric")),
        ("denominator", wants_den & (pl.col("denominator") == ""), pl.lit("is required for this metric")),
        ("denominator", (pl.col("denominator") != "") & ~den_ok,
         pl.lit("'") + pl.col("denominator") + pl.lit("' is not a number")),
        ("denominator", den_ok & ~den.is_between(0, MAX_RETURN_VALUE),
         pl.lit("'") + pl.col("denominator") + pl.lit(f"' is out of range (allowed 0 to {MAX_RETURN_VALUE:,.0f})")),
        ("numerator", pl.col("metric_code").is_in(rates) & num_ok & den_ok & (num > den),
         pl.lit("numerator ") + pl.col("numerator") + pl.lit(" is greater than denominator ")
         + pl.col("denominator")),
        ("denominator", wants_den & den_ok & num_ok & (den == 0) & (num > 0),
         pl.lit("is 0 but numerator is ") + pl.col("numerator")),
        _duplicates(["month", "area_code", "force_code", "metric_code"]),
    ]
    return _apply(df, rules)


def _month_index(col: pl.Expr) -> pl.Expr:
    return col.str.slice(0, 4).cast(pl.Int32, strict=False) * 12 + col.str.slice(5, 2).cast(pl.Int32, strict=False)


def typed_cases(df: pl.DataFrame) -> pl.DataFrame:
    """Cast a validated case extract to the store's types."""
    ints = [*FLAGS, "action_plans", "days_to_decision"]
    return df.with_columns(
        [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).cast(pl.Int64).alias(c) for c in ints]
        + [pl.when(pl.col("decision_month") == "").then(None).otherwise(pl.col("decision_month"))
           .alias("decision_month")]
    ).select(CASE_COLUMNS)


def typed_returns(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.col("numerator").cast(pl.Float64),
        pl.when(pl.col("denominator") == "").then(None).otherwise(pl.col("denominator")).cast(pl.Float64)
        .alias("denominator"),
    ).select(RETURN_COLUMNS)
