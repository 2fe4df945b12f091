"""Board-paper exports of headline metrics: parameter checks, the tidy table, file naming and the CSV text.

Everything here is pure (reference data and polars frames in, values or bytes out) so it can be tested without
Flask; dashboard/exports.py holds the routes, the Excel writer and the assembly of a page's figures (`view=`).
The figures themselves always come from the query functions the screens use (queries.metrics.metric_values,
queries.trends.trend_series): this module only labels and formats them.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, Mapping
from urllib.parse import urlencode

import polars as pl

from queries.disclosure import NOT_AVAILABLE, SUPPRESSED, to_display
from queries.filters import GRAINS, LEVELS, MAX_LIST, MAX_VALUE_LENGTH, Filters, parse_filters
from queries.months import is_month
from queries.reference import Reference
from queries.trends import SERIES_ORDER

COLUMNS = ("period", "area_code", "area_name", "force_code", "force_name", "workstream", "metric_code",
           "metric_name", "numerator", "denominator", "value", "unit")
NUMBERS = ("numerator", "denominator", "value")
# A page's export (view=) says which figure on the page each row is, and which series of units it covers.
VIEW_COLUMNS = ("figure", "series")
# The CSV records what it holds in two constant columns after the data columns (see docs/exports.md).
ABOUT_COLUMNS = ("filters", "data_as_at")
PARAMETERS = ("view", "metric", "workstream", "area", "force", "from", "to", "level", "grain")
SINGLE_VALUED = ("view", "workstream", "from", "to", "level", "grain")
EXPORT_GRAINS = (*GRAINS, "period")   # "period": the whole from..to as one row, as tiles and rankings show it
# Each page's figures, in the order the page shows them (docs/exports.md, "A page's figures").
VIEW_FIGURES = {"overview": ("tile", "trend"), "workstream": ("trend", "ranking", "pilot_vs_comparison")}
VIEW_WORDS = {"overview": "the overview page: each measure for the period (tiles) and each workstream's lead "
                          "measure over time (trend charts)",
              "workstream": "the workstream page: each measure over time (trend charts), ranked for the period "
                            "(ranking) and for pilot against comparison sites (pilot_vs_comparison)"}
GRAIN_WORDS = {"month": "months", "quarter": "calendar quarters", "year": "calendar years",
               "period": "the whole period as one"}
DECIMALS = 6
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
LEVEL_WORDS = {"national": "all selected units together", "area": "each CPS Area",
               "force": "each police force within each CPS Area"}
FILTER_PARAMETERS = ("area", "force", "from", "to", "workstream")


class BadParameter(ValueError):
    """A query parameter the export refuses; str() is the one-line message the client gets with HTTP 400."""

    def __init__(self, parameter: str, detail: str):
        self.parameter = parameter
        super().__init__(f"bad parameter '{shown(parameter)}': {detail}")


@dataclass(frozen=True)
class ExportRequest:
    filters: Filters
    metric_codes: tuple[str, ...]      # what is exported, in catalogue order
    metrics_named: bool                # True when metric= was given (file name and filters record it)
    level: str = "national"
    grain: str = "month"
    view: str | None = None            # "overview" or "workstream": the figures that page shows


@dataclass(frozen=True)
class ExportMeta:
    """What a file says about itself: the request, effective period, data as-at and the URLs that made it."""
    request: ExportRequest
    period_from: str
    period_to: str
    data_as_at: str
    generated_at: datetime
    request_url: str = ""
    reproduce_url: str = ""
    threshold: int = 10


def shown(value: str) -> str:
    """A user-supplied value made safe to echo in a one-line message: truncated, control characters replaced."""
    text = str(value)[:MAX_VALUE_LENGTH]
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def split_values(query: Mapping, key: str) -> list[str]:
    """Values of a parameter, repeated or comma-separated, as the Filters parser reads them."""
    raw = query.get(key, [])
    raw = [raw] if isinstance(raw, str) else raw
    return [v.strip() for item in raw for v in str(item).split(",") if v.strip()]


def _describe(key: str, value: str) -> str:
    if key in ("from", "to"):
        return f"'{shown(value)}' is not a month like 2024-03"
    label = {"area": "CPS Area code", "force": "police force code", "workstream": "workstream code"}[key]
    return f"unknown {label} '{shown(value)}'"


def _check_alone(query: Mapping, key: str, ref: Reference) -> None:
    """Validate one parameter with the shared Filters parser; refuse it, naming the first bad value."""
    values = split_values(query, key)
    if not parse_filters({key: values}, ref).errors:
        return
    if len(values) > MAX_LIST:
        raise BadParameter(key, f"more than {MAX_LIST} values")
    for v in values:
        if parse_filters({key: [v]}, ref).errors:
            raise BadParameter(key, _describe(key, v))
    raise BadParameter(key, "invalid value")


def select_metrics(query: Mapping, ref: Reference, workstream: str | None) -> tuple[tuple[str, ...], bool]:
    """The metrics an export asks for: the `metric=` values (checked, in catalogue order, duplicates dropped), else
    the workstream's, else all; and whether they were named. Shared by every export that takes `metric=`."""
    named = split_values(query, "metric")
    if len(named) > MAX_LIST:
        raise BadParameter("metric", f"more than {MAX_LIST} values")
    for code in named:
        if code not in ref.metrics:
            raise BadParameter("metric", f"unknown metric code '{shown(code)}'")
        if workstream and ref.metrics[code].workstream_code != workstream:
            raise BadParameter("metric", f"metric '{code}' is not in workstream '{workstream}'")
    if named:
        return tuple(c for c in ref.metrics if c in set(named)), True
    if workstream:
        return tuple(m.metric_code for m in ref.metrics_of(workstream)), False
    return tuple(ref.metrics), False


def parse_export_query(query: Mapping[str, str | list[str]], ref: Reference) -> ExportRequest:
    """Turn request.args.to_dict(flat=False) into an ExportRequest, or raise BadParameter.

    The screens forgive a bad value (they drop it and say so); a stable URL for a scripted board pack must not,
    because a silently dropped filter yields plausible but wrong figures. So every problem the shared parser
    reports, and every unknown parameter name (a typo such as `areas=`), is refused.
    """
    for key in query:
        if key not in PARAMETERS:
            raise BadParameter(key, f"unknown parameter; use {', '.join(PARAMETERS)}")
    for key in SINGLE_VALUED:
        if len(split_values(query, key)) > 1:
            raise BadParameter(key, "give at most one value")
    for key in FILTER_PARAMETERS:
        _check_alone(query, key, ref)
    subset = {k: split_values(query, k) for k in FILTER_PARAMETERS}
    parsed = parse_filters(subset, ref)
    if parsed.errors:   # each value is fine alone, so a combination is wrong
        if parse_filters({"from": subset["from"], "to": subset["to"]}, ref).errors:
            raise BadParameter("from", f"'from' ({subset['from'][0]}) is after 'to' ({subset['to'][0]})")
        if parse_filters({"area": subset["area"], "force": subset["force"]}, ref).errors:
            outside = [f for f in subset["force"] if not set(ref.areas_of(f)) & set(subset["area"])]
            raise BadParameter("force", f"force {shown(outside[0] if outside else '')} is not in the chosen Areas")
        raise BadParameter("query", shown(parsed.errors[0]))
    grain = (split_values(query, "grain") or ["month"])[0]
    if grain not in EXPORT_GRAINS:
        raise BadParameter("grain", f"'{shown(grain)}' is not one of {', '.join(EXPORT_GRAINS)}")
    filters = parsed.filters.with_(grain=grain)
    view = (split_values(query, "view") or [None])[0]
    if view is not None:
        return _view_request(query, filters, view, ref)
    level = (split_values(query, "level") or ["national"])[0]
    if level not in LEVELS:
        raise BadParameter("level", f"'{shown(level)}' is not one of {', '.join(LEVELS)}")
    codes, named = select_metrics(query, ref, filters.workstream)
    return ExportRequest(filters, codes, named, level, grain)


def _view_request(query: Mapping, filters: Filters, view: str, ref: Reference) -> ExportRequest:
    """A page's figures: the page decides the measures and levels, so metric= and level= would contradict it."""
    if view not in VIEW_FIGURES:
        raise BadParameter("view", f"'{shown(view)}' is not one of {', '.join(VIEW_FIGURES)}")
    for key in ("metric", "level"):
        if split_values(query, key):
            raise BadParameter(key, f"not used with view={view}: the page decides it")
    if filters.grain == "period":
        raise BadParameter("grain", f"view={view} draws trends: use month, quarter or year")
    if view == "overview" and filters.workstream:
        raise BadParameter("workstream", "not used with view=overview: it shows every workstream")
    if view == "workstream" and not filters.workstream:
        raise BadParameter("workstream", "view=workstream needs a workstream code")
    codes = (tuple(m.metric_code for m in ref.metrics_of(filters.workstream)) if filters.workstream
             else tuple(ref.metrics))
    return ExportRequest(filters, codes, False, "national", filters.grain, view)


def canonical_query(meta: ExportMeta) -> str:
    """The query string that reproduces the file, with the period made explicit; codes sorted so it is stable."""
    req, f = meta.request, meta.request.filters
    pairs: list[tuple[str, str]] = [("view", req.view)] if req.view else []
    if f.workstream:
        pairs.append(("workstream", f.workstream))
    if req.metrics_named:
        pairs += [("metric", c) for c in req.metric_codes]
    pairs += [("area", a) for a in sorted(f.areas)] + [("force", x) for x in sorted(f.forces)]
    pairs += [(k, v) for k, v in (("from", meta.period_from), ("to", meta.period_to)) if is_month(v)]
    pairs += [("grain", req.grain)] if req.view else [("level", req.level), ("grain", req.grain)]
    return urlencode(pairs)


def name_segment(prefix: str, codes) -> str:
    joined = "-".join(codes)
    if len(joined) > 60:   # keep names short: a count and a stable digest instead of every code
        joined = f"{len(codes)}codes-{hashlib.sha256(joined.encode()).hexdigest()[:8]}"
    return f"{prefix}-{joined}"


def file_name(meta: ExportMeta, extension: str) -> str:
    """Deterministic download name recording level (or view), grain, period, filters and data as-at."""
    req, f = meta.request, meta.request.filters
    parts = ["rasso-metrics", req.view or req.level, req.grain, meta.period_from, meta.period_to]
    if f.workstream:
        parts.append(f"ws-{f.workstream}")
    if req.metrics_named:
        parts.append(name_segment("metric", req.metric_codes))
    if f.areas:
        parts.append(name_segment("area", sorted(f.areas)))
    if f.forces:
        parts.append(name_segment("force", sorted(f.forces)))
    parts.append(f"asat-{meta.data_as_at}")
    return re.sub(r"[^A-Za-z0-9._-]", "-", "_".join(parts)) + "." + extension


def data_columns(request: ExportRequest) -> tuple[str, ...]:
    """The twelve data columns, then a page export's figure and series columns."""
    return (*COLUMNS, *VIEW_COLUMNS) if request.view else COLUMNS


def whole_period(meta: ExportMeta) -> str:
    """The `period` label of a grain=period row: an ISO 8601 interval of months, e.g. 2024-01/2024-12."""
    return f"{meta.period_from}/{meta.period_to}"


def export_table(values: pl.DataFrame, ref: Reference, period: str = "period") -> pl.DataFrame:
    """metric_values output (already suppressed there) -> the export's rows: labels and catalogue order.

    metric_values applies disclosure control and flags a row `suppressed`; here that row flag becomes one flag per
    number column (`<column>_suppressed`, the convention of queries.disclosure) so "[c]" lands only on the cells
    that were withheld, while a count's missing denominator and a zero denominator's missing value stay "[x]".
    Whole-period rows (grain "period") take the label given as `period`. Frames with `figure` and `series` columns
    (a page's figures) keep them and are ordered as the page shows them.
    """
    catalogue = pl.DataFrame(
        [(m.metric_code, m.workstream_code, m.name, m.unit, m.sort_order) for m in ref.metrics.values()],
        schema={"metric_code": pl.String, "workstream": pl.String, "metric_name": pl.String, "unit": pl.String,
                "sort_order": pl.Int64}, orient="row")
    df = values.join(catalogue, on="metric_code", how="left")
    for key in ("area_code", "force_code"):
        if key not in df.columns:
            df = df.with_columns(pl.lit("").alias(key))
    df = df.with_columns(pl.col("area_code", "force_code").fill_null(""),
                         pl.col("period").replace("period", period))
    names = {"area_name": ("area_code", ref.areas), "force_name": ("force_code", ref.forces)}
    hidden = pl.col("suppressed").fill_null(False)
    df = df.with_columns(
        *[pl.col(code).replace_strict(mapping, default="", return_dtype=pl.String).alias(name)
          for name, (code, mapping) in names.items()],
        (hidden & pl.col("numerator").is_null()).alias("numerator_suppressed"),
        (hidden & pl.col("denominator").is_null() & (pl.col("unit") != "count")).alias("denominator_suppressed"),
        (hidden & pl.col("value").is_null()).alias("value_suppressed"),
    )
    flags = [f"{c}_suppressed" for c in NUMBERS]
    order = ["sort_order", "area_code", "force_code", "period"]
    if "figure" not in df.columns:
        return df.sort(order).select(*COLUMNS, *flags)
    figures = [f for shown_figures in VIEW_FIGURES.values() for f in shown_figures]
    ranks = {"figure": {f: i for i, f in enumerate(dict.fromkeys(figures))},
             "series": {s: i for i, s in enumerate(("", *SERIES_ORDER))}}
    df = df.with_columns(pl.col("series").fill_null(""))
    df = df.with_columns(*[pl.col(c).replace_strict(r, default=len(r), return_dtype=pl.Int16).alias(f"{c}_rank")
                           for c, r in ranks.items()])
    return df.sort(["figure_rank", "sort_order", "series_rank", *order[1:]]).select(*COLUMNS, *VIEW_COLUMNS, *flags)


def format_number(x: float) -> str:
    """Fixed-point, at most DECIMALS places, no exponent, no thousands separator: stable text for exact tests."""
    if not math.isfinite(x):
        raise ValueError(f"cannot export a non-finite number {x!r}")
    text = f"{x:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def neutralise(text: str) -> str:
    """A text cell that a spreadsheet would run as a formula gets a leading quote (OWASP CSV injection advice)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def format_numbers(values: pl.Series) -> pl.Series:
    """format_number over a whole column without a Python call per value: the same text for every value.

    Each value is scaled to a whole number of millionths and split into whole and decimal digits. The product
    x * 10**6 in floats is within |x * 10**6| * 2**-53 of the exact one, so away from a rounding tie it rounds to
    the same integer; values near a tie, huge ones and non-finite ones (which format_number refuses) go through
    format_number itself. Nulls stay null.
    """
    x = values.cast(pl.Float64)
    scale = 10 ** DECIMALS
    scaled = pl.col("x") * scale
    off_tie = (scaled - scaled.floor() - 0.5).abs() > scaled.abs().clip(lower_bound=1) * 2.0 ** -50
    safe = (pl.col("x").is_finite() & (scaled.abs() < 2.0 ** 52) & off_tie).fill_null(False)
    units = pl.when(safe).then(scaled.round()).cast(pl.Int64)
    whole, part = units.abs() // scale, units.abs() % scale
    decimals = pl.when(part > 0).then(pl.concat_str(pl.lit("."), (part + scale).cast(pl.String).str.slice(1)
                                                     .str.strip_chars_end("0"))).otherwise(pl.lit(""))
    frame = pl.DataFrame({"x": x}).select(
        pl.concat_str(pl.when(units < 0).then(pl.lit("-")).otherwise(pl.lit("")), whole.cast(pl.String),
                      decimals).alias("text"),
        (pl.col("x").is_not_null() & ~safe).alias("slow"))
    text, slow = frame["text"].alias(values.name), frame["slow"].arg_true()
    if len(slow):
        text = text.scatter(slow, [format_number(v) for v in x.gather(slow)])
    return text


def neutralised(column: str) -> pl.Expr:
    """neutralise over a text column (a null is an empty cell)."""
    text = pl.col(column).cast(pl.String).fill_null("")
    risky = pl.any_horizontal([text.str.starts_with(trigger) for trigger in FORMULA_TRIGGERS])
    return pl.when(risky).then(pl.concat_str(pl.lit("'"), text)).otherwise(text).alias(column)


def display_table(table: pl.DataFrame, columns: tuple[str, ...] = COLUMNS) -> pl.DataFrame:
    """The CSV's cells as text: numbers formatted, "[c]"/"[x]" from the one display function, text neutralised."""
    formatted = table.with_columns(format_numbers(table[c]) for c in NUMBERS)
    return to_display(formatted, list(NUMBERS)).select(c if c in NUMBERS else neutralised(c) for c in columns)


def csv_chunks(table: pl.DataFrame, meta: ExportMeta, rows_per_chunk: int = 2000) -> Iterator[bytes]:
    """The CSV file as UTF-8 byte chunks (BOM first, CRLF line ends), written a slice at a time for streaming.

    The cells are formatted for the whole table at once (per slice, polars' fixed cost per call would dominate).
    Quoting is the csv module's minimal quoting, which polars' writer shares except that it quotes an empty
    string: empty cells are written as nulls, which it leaves bare.
    """
    about = [pl.lit(neutralise(text)).alias(name)
             for name, text in zip(ABOUT_COLUMNS, (canonical_query(meta), meta.data_as_at))]
    columns = data_columns(meta.request)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([*columns, *ABOUT_COLUMNS])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if table.is_empty():
        return
    cells = display_table(table, columns).with_columns(about)
    cells = cells.select(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in cells.columns)
    for batch in cells.iter_slices(rows_per_chunk):
        yield batch.write_csv(include_header=False, line_terminator="\r\n", quote_style="necessary").encode("utf-8")


def filters_in_words(meta: ExportMeta, ref: Reference) -> list[tuple[str, str]]:
    """(label, text) pairs describing the applied filters, for the Cover sheet."""
    req, f = meta.request, meta.request.filters
    named = lambda codes, names: "; ".join(f"{names[c]} ({c})" for c in codes)   # noqa: E731
    metrics = {c: m.name for c, m in ref.metrics.items()}
    workstreams = {w.workstream_code: w.name for w in ref.workstreams}
    return [
        ("Measures", named(req.metric_codes, metrics) if req.metrics_named or f.workstream
         else f"all {len(req.metric_codes)} measures"),
        ("Workstream", named([f.workstream], workstreams) if f.workstream else "all workstreams"),
        ("CPS Areas", named(sorted(f.areas), ref.areas) if f.areas else "all CPS Areas"),
        ("Police forces", named(sorted(f.forces), ref.forces) if f.forces
         else "all forces of the chosen Areas" if f.areas else "all police forces"),
        ("Period", f"{meta.period_from} to {meta.period_to}"),
        ("Rows for", f"the figures on {VIEW_WORDS[req.view]}" if req.view else LEVEL_WORDS[req.level]),
        ("Time periods", GRAIN_WORDS[req.grain] + (" for trends; the whole period for the other figures; trends "
                                                   "start at the first month held" if req.view else "")),
    ]


def partial_period_note(meta: ExportMeta) -> str | None:
    """Say so when from/to cut through a quarter or year: its figures then cover only some of its months."""
    if meta.request.grain == "period":
        return None
    size = {"month": 1, "quarter": 3, "year": 12}[meta.request.grain]
    starts = (int(meta.period_from[5:7]) - 1) % size == 0 if meta.period_from[5:7].isdigit() else True
    starts = starts or meta.request.view is not None   # a page's trends start at the first month held
    ends = int(meta.period_to[5:7]) % size == 0 if meta.period_to[5:7].isdigit() else True
    if starts and ends:
        return None
    return (f"The period {meta.period_from} to {meta.period_to} does not start and end on {meta.request.grain} "
            "boundaries: the first or last period covers only the months inside it.")


SYMBOLS = ((SUPPRESSED, "confidential: withheld to protect individuals (see the disclosure rule)"),
           (NOT_AVAILABLE, "not available: the measure has no denominator, or the denominator is zero"))
