"""Board-paper exports: GET /export/metrics.csv and /export/metrics.xlsx, and the Excel writer.

The routes are thin: parse and validate the query (queries.exports.parse_export_query, built on the shared Filters
parser), fetch the figures with queries.metrics.metric_values (the screens' own aggregation) or, for a page's
figures (`view=`), with the very calls that page makes (view_figures), protect and label them
(queries.exports.export_table), then stream a CSV or write an .xlsx to a temporary file. A bad parameter is a
400 with a one-line message; anything unexpected is logged with a reference and answered without a traceback.
"""
from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from typing import BinaryIO

import polars as pl
import sqlalchemy as sa
import xlsxwriter
from flask import Flask, Response, request, send_file, stream_with_context

from dashboard.context import Context
from dashboard.pages import overview, workstream as workstream_page
from dashboard.responses import guarded
from queries.exports import (NUMBERS, SYMBOLS, BadParameter, ExportMeta, ExportRequest, canonical_query,
                             csv_chunks, data_columns, export_table, file_name, filters_in_words,
                             parse_export_query, partial_period_note, whole_period)
from queries.filters import Filters
from queries.metrics import metric_values
from queries.reference import Reference, load_reference
from queries.status import data_months, store_status
from queries.trends import NATIONAL, SELECTION, trend_series

log = logging.getLogger(__name__)

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_MAX_ROWS = 1_048_576
TITLE = "RASSO Pilot Monitor: pilot metrics"
SOURCE = ("RASSO Pilot Monitor store: monthly aggregates built from police and CPS case extracts and from "
          "aggregate returns by each Area and force. Management information, not official statistics.")
WIDTHS = {"period": 10, "area_code": 10, "area_name": 24, "force_code": 12, "force_name": 30, "workstream": 14,
          "metric_code": 28, "metric_name": 52, "numerator": 13, "denominator": 13, "value": 12, "unit": 10,
          "figure": 20, "series": 18}
VALUE_FORMATS = {"rate": "0.0%", "ratio": "0.00", "mean_days": "0.0"}
DATA_HEADER_ROW = 2   # zero-based: title, one line of explanation, then the table's single header row
NOTES_COLUMNS = (("Measure code", 28), ("Measure name", 40), ("Workstream", 14), ("Unit", 10),
                 ("Definition", 80), ("Numerator", 40), ("Denominator", 40), ("Source", 10),
                 ("Over several months", 22))


# ---------------------------------------------------------------- Excel writer (pure: frame + metadata in)
def write_workbook(target: str | BinaryIO, table: pl.DataFrame, meta: ExportMeta, ref: Reference) -> None:
    """Write a GSS-style workbook: Cover, Notes, then the Data table. Rows are written in order with
    xlsxwriter's constant_memory mode, so memory stays flat however many rows there are."""
    if len(table) + DATA_HEADER_ROW + 1 > EXCEL_MAX_ROWS:
        raise BadParameter("level", f"{len(table)} rows is more than a worksheet holds; use metrics.csv")
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    styles = {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "heading": book.add_format({"bold": True, "font_size": 12}),
        "header": book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "int": book.add_format({"num_format": "0"}),
        "dec": book.add_format({"num_format": "0.0#####"}),
        **{unit: book.add_format({"num_format": f}) for unit, f in VALUE_FORMATS.items()},
    }
    _cover(book, styles, meta, ref)
    _notes(book, styles, meta, ref)
    _data(book, styles, table, meta)
    book.close()


def _cover(book, styles, meta: ExportMeta, ref: Reference) -> None:
    sheet = book.add_worksheet("Cover")
    sheet.set_column(0, 0, 110)
    lines: list[tuple[str, str | None]] = [
        (TITLE, "title"),
        ("Figures for RASSO 2025 joint pilot workstreams, exported for board papers.", None),
        ("Filters applied", "heading"),
        *[(f"{label}: {text}", None) for label, text in filters_in_words(meta, ref)],
        ("Data as at", "heading"), (f"{meta.data_as_at} (the latest month of any data load)", None),
        ("Generated at (UTC)", "heading"), (meta.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"), None),
        ("Source", "heading"), (SOURCE, None),
        ("URL that reproduces this table", "heading"), (meta.reproduce_url, None),
        ("Request URL", "heading"), (meta.request_url, None),
        ("Contents", "heading"),
        ("Notes: definitions of the measures, the disclosure rule and the symbols used.", None),
        ("Data: the table, one row per period, unit and measure"
         + (", for each figure on the page." if meta.request.view else "."), None),
    ]
    for row, (text, style) in enumerate(lines):
        sheet.write_string(row, 0, text, styles["wrap"] if style is None else styles[style])


def _notes(book, styles, meta: ExportMeta, ref: Reference) -> None:
    sheet = book.add_worksheet("Notes")
    for col, (_, width) in enumerate(NOTES_COLUMNS):
        sheet.set_column(col, col, width)
    threshold = meta.threshold
    lines = [
        "Notes",
        "This worksheet contains one table, of measure definitions, below these notes that apply to every measure.",
        "Combining figures: a value over several months, forces or Areas is the sum of numerators divided by the "
        "sum of denominators, never an average of rates. Staff in post is a stock: over several months it is the "
        "average of the monthly totals.",
        f"Disclosure rule: for measures computed from case records, a numerator or denominator from 1 to "
        f"{threshold - 1} is withheld, and so is the value built on it. Zeros are shown. Measures from aggregate "
        "returns (staff, training, sampled quality checks) are about no individual and are not withheld. The rule "
        "is applied to each row on its own: it does not stop a withheld figure being worked out by subtracting "
        "figures from exports at another level or grain.",
        "Symbols: " + "; ".join(f"{symbol} {meaning}" for symbol, meaning in SYMBOLS) + ".",
        "Rows follow the filters: an Area row under a force filter covers only the selected forces of that Area.",
    ]
    if note := partial_period_note(meta):
        lines.append(note)
    for row, text in enumerate(lines):
        sheet.write_string(row, 0, text, styles["title"] if row == 0 else None)
    header = len(lines)
    for col, (name, _) in enumerate(NOTES_COLUMNS):
        sheet.write_string(header, col, name, styles["header"])
    sheet.freeze_panes(header + 1, 0)
    for i, code in enumerate(meta.request.metric_codes, start=header + 1):
        m = ref.metrics[code]
        cells = (m.metric_code, m.name, m.workstream_code, m.unit, m.definition, m.numerator,
                 m.denominator or "none (a count)", m.source,
                 "averaged (a stock)" if m.period_aggregation == "mean" else "summed")
        for col, text in enumerate(cells):
            sheet.write_string(i, col, text, styles["wrap"])


def data_sheet(book, styles, table: pl.DataFrame, meta: ExportMeta):
    """The Data sheet with its title, note, header row, widths, frozen header and filter: (sheet, columns)."""
    sheet = book.add_worksheet("Data")
    req = meta.request
    columns = data_columns(req)
    for col, name in enumerate(columns):
        sheet.set_column(col, col, WIDTHS[name])
    what = f"as shown on the {req.view} page" if req.view else f"{req.level} level"
    sheet.write_string(0, 0, f"Table 1: RASSO pilot metrics, {what} by {req.grain}, "
                             f"{meta.period_from} to {meta.period_to}, data as at {meta.data_as_at}",
                       styles["title"])
    sheet.write_string(1, 0, "This worksheet contains one table. Symbols: "
                       + "; ".join(f"{symbol} {meaning}" for symbol, meaning in SYMBOLS)
                       + ". Definitions and the disclosure rule are in the Notes worksheet.")
    for col, name in enumerate(columns):
        sheet.write_string(DATA_HEADER_ROW, col, name, styles["header"])
    sheet.freeze_panes(DATA_HEADER_ROW + 1, 0)
    last = DATA_HEADER_ROW + max(len(table), 1)
    sheet.autofilter(DATA_HEADER_ROW, 0, last, len(columns) - 1)
    return sheet, columns


def _data(book, styles, table: pl.DataFrame, meta: ExportMeta) -> None:
    sheet, columns = data_sheet(book, styles, table, meta)
    # The symbols and the value's unit style are worked out column by column; each row is then a plain tuple.
    symbols = [pl.when(pl.col(c).is_not_null()).then(None).when(pl.col(f"{c}_suppressed"))
               .then(pl.lit(SYMBOLS[0][0])).otherwise(pl.lit(SYMBOLS[1][0])).alias(f"{c}_symbol") for c in NUMBERS]
    unit_style = pl.when(pl.col("unit").is_in(list(VALUE_FORMATS))).then(pl.col("unit")).alias("value_style")
    frame = table.select(*columns, *symbols, unit_style)
    at = {name: i for i, name in enumerate(frame.columns)}
    texts = [at[name] for name in columns if name not in NUMBERS]
    numbers = [(at[name], at[f"{name}_symbol"], name == "value") for name in NUMBERS]
    for r, row in enumerate(frame.iter_rows(), start=DATA_HEADER_ROW + 1):
        for col in texts:
            if row[col]:   # key columns not used at this level stay empty cells
                sheet.write_string(r, col, row[col])
        for col, symbol, is_value in numbers:
            if row[symbol] is not None:
                sheet.write_string(r, col, row[symbol])
                continue
            v = round(row[col], 6)   # the CSV's precision, so both files carry the same figures
            unit = row[-1] if is_value else None
            sheet.write_number(r, col, v, styles[unit] if unit else styles["int"] if v == int(v) else styles["dec"])


# ---------------------------------------------------------------- a page's figures
FIGURE_COLUMNS = ("period", "area_code", "force_code", "metric_code", "numerator", "denominator", "value",
                  "suppressed", "figure", "series")


def view_figures(ctx: Context, req: ExportRequest, period: tuple[str, str] | None) -> pl.DataFrame:
    """Every figure a page shows, from the calls that page itself makes (dashboard/pages/overview.py and
    workstream.py), each row tagged with its figure and series, so the file cannot drift from the screen."""
    if period is None:
        return pl.DataFrame(schema={c: pl.Boolean if c == "suppressed" else pl.Float64 if c in NUMBERS
                                    else pl.String for c in FIGURE_COLUMNS})
    ref, f, t = ctx.reference(), req.filters, ctx.threshold
    window = f.with_(period_from=period[0], period_to=period[1])
    everywhere = Filters(period_from=period[0], period_to=period[1])
    parts = []
    if req.view == "overview":
        tiles = metric_values(ctx.engine, window, req.metric_codes, ref, grain="period", threshold=t)
        parts.append(_tag(tiles, "tile", NATIONAL if f.is_national else SELECTION))
        lead = [overview.headline_metric(ctx, w.workstream_code) for w in ref.workstreams]
        parts.append(_tag(trend_series(ctx.engine, f.with_(period_to=period[1]), lead, ref, f.grain, t), "trend"))
    else:
        codes = list(req.metric_codes)
        parts.append(_tag(trend_series(ctx.engine, f.with_(period_to=period[1]), codes, ref, f.grain, t), "trend"))
        parts += [_tag(workstream_page.ranking(ctx, f, code, period)[0], "ranking", "") for code in codes]
        national = metric_values(ctx.engine, everywhere, codes, ref, grain="period", threshold=t)
        parts.append(_tag(national, "ranking", NATIONAL))
        split = trend_series(ctx.engine, everywhere, codes, ref, "period", t, history=False)
        parts.append(_tag(split, "pilot_vs_comparison"))
    return pl.concat([p.select(c for c in FIGURE_COLUMNS if c in p.columns) for p in parts], how="diagonal")


def _tag(frame: pl.DataFrame, figure: str, series: str | None = None) -> pl.DataFrame:
    tags = [pl.lit(figure).alias("figure")] + ([pl.lit(series).alias("series")] if series is not None else [])
    return frame.with_columns(*tags)


# ---------------------------------------------------------------- routes
def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def _meta(engine: sa.Engine, req: ExportRequest, settings, period: tuple[str, str] | None) -> ExportMeta:
    as_at = store_status(engine).data_as_at or "none"
    start, end = period or (req.filters.period_from or data_months(engine)[0] or "none",
                            req.filters.period_to or as_at)
    meta = ExportMeta(req, start, end, as_at, datetime.now(timezone.utc), request_url=request.url,
                      threshold=settings.disclosure_threshold)
    return replace(meta, reproduce_url=f"{request.base_url}?{canonical_query(meta)}")


def _export(ctx: Context, settings, extension: str) -> Response:
    return guarded(lambda: _export_now(ctx, settings, extension))


def _export_now(ctx: Context, settings, extension: str) -> Response:
    engine = ctx.engine
    ref = load_reference(engine)
    req = parse_export_query(request.args.to_dict(flat=False), ref)
    if req.view:   # the page's own period: the latest 12 months unless from/to say otherwise
        period = ctx.period(req.filters)
        values = view_figures(ctx, req, period)
    else:
        period = None
        values = metric_values(engine, req.filters, req.metric_codes, ref, level=req.level, grain=req.grain,
                               threshold=settings.disclosure_threshold)
    meta = _meta(engine, req, settings, period)
    table = export_table(values, ref, whole_period(meta))
    headers = {"Content-Disposition": f'attachment; filename="{file_name(meta, extension)}"',
               "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if extension == "csv":
        return Response(stream_with_context(_logged(csv_chunks(table, meta))), content_type=CSV_MIMETYPE,
                        headers=headers)
    handle = tempfile.TemporaryFile(suffix=".xlsx")   # removed when the response closes it
    try:
        write_workbook(handle, table, meta, ref)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    response = send_file(handle, mimetype=XLSX_MIMETYPE, as_attachment=True,
                         download_name=file_name(meta, extension), max_age=0)
    response.headers.update({k: v for k, v in headers.items() if k != "Content-Disposition"})
    return response


def _logged(chunks):
    """Once streaming has begun the status is sent, so a failure can only be logged (with a reference)."""
    try:
        yield from chunks
    except Exception:
        log.exception("export stream failed (reference %s)", uuid.uuid4().hex[:12])
        raise


def register_export_routes(server: Flask, engine: sa.Engine, settings) -> None:
    """Add the export URLs to the Flask server; board packs script against these, so they are stable."""
    ctx = Context(engine, settings)

    @server.get("/export/metrics.csv")
    def export_metrics_csv():
        return _export(ctx, settings, "csv")

    @server.get("/export/metrics.xlsx")
    def export_metrics_xlsx():
        return _export(ctx, settings, "xlsx")
