"""The exports' column-at-a-time formatting gives the very bytes of the cell-by-cell formatting it replaced.

The references below are that cell-by-cell code, kept here verbatim: for the CSV, format_number per number,
neutralise per text cell and one csv.writer row per table row; for Excel, the Data sheet written from a dict per
row with the symbol and style chosen cell by cell.
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
from datetime import datetime, timezone

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

import dashboard.exports as exports_routes
from dashboard.exports import DATA_HEADER_ROW, VALUE_FORMATS, write_workbook
from queries.disclosure import to_display
from queries.exports import (ABOUT_COLUMNS, COLUMNS, NUMBERS, SYMBOLS, VIEW_COLUMNS, ExportMeta, ExportRequest,
                             canonical_query, csv_chunks, data_columns, export_table, format_number,
                             format_numbers, neutralise)
from queries.filters import Filters
from queries.metrics import metric_values

THRESHOLD = 10
fast = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_chunks(table: pl.DataFrame, meta: ExportMeta, rows_per_chunk: int = 2000):
    """The per-cell CSV writer the export used before formatting went column at a time."""
    about = [neutralise(canonical_query(meta)), neutralise(meta.data_as_at)]
    columns = data_columns(meta.request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*columns, *ABOUT_COLUMNS])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for batch in table.iter_slices(rows_per_chunk):
        buffer.seek(0)
        buffer.truncate()
        formatted = batch.with_columns(pl.col(c).map_elements(format_number, return_dtype=pl.String)
                                       for c in NUMBERS)
        shown_df = to_display(formatted, list(NUMBERS))
        rows = ([row[c] if c in NUMBERS else neutralise(row[c] or "") for c in columns]
                for row in shown_df.select(columns).iter_rows(named=True))
        writer.writerows(cells + about for cells in rows)
        yield buffer.getvalue().encode("utf-8")


def _meta(request: ExportRequest, as_at: str = "2024-12") -> ExportMeta:
    return ExportMeta(request, "2019-01", "2024-12", as_at, datetime(2025, 1, 2, tzinfo=timezone.utc))


def test_national_force_by_month_export_is_byte_identical(seeded):
    """The benchmark's export (every force, month and measure) on each backend, chunk for chunk."""
    codes = tuple(seeded.ref.metrics)
    values = metric_values(seeded.engine, Filters(), codes, seeded.ref, level="force", grain="month",
                           threshold=THRESHOLD)
    table = export_table(values, seeded.ref)
    meta = _meta(ExportRequest(Filters(), codes, False, "force", "month"))
    got, want = list(csv_chunks(table, meta)), list(reference_chunks(table, meta))
    assert got == want
    body = b"".join(got)
    assert body.count(b"\r\n") == len(table) + 1 > 10_000
    assert b",[c]," in body and b",[x]," in body and b"." in body   # symbols and decimals were exercised


def test_a_pages_figures_are_byte_identical(seeded_sqlite):
    """The figure and series columns of a page export go through the same path."""
    ref = seeded_sqlite.ref
    values = metric_values(seeded_sqlite.engine, Filters(), tuple(ref.metrics), ref, level="area", grain="year",
                           threshold=THRESHOLD)
    values = values.with_columns(pl.lit("trend").alias("figure"), pl.lit("").alias("series"))
    table = export_table(values, ref)
    meta = _meta(ExportRequest(Filters(), tuple(ref.metrics), False, view="overview"))
    assert table.columns[:14] == [*COLUMNS, *VIEW_COLUMNS]
    assert list(csv_chunks(table, meta, 50)) == list(reference_chunks(table, meta, 50))


AWKWARD = [0.0, -0.0, 1e-7, -1e-7, 5e-7, -5e-7, 4.9999999999e-7, 0.0078125, -0.0078125, 2.5e-6, 1.5e-6,
           0.1234565, 0.5, -0.5, 1 / 3, 2 / 3, 19.0, 1e20, -1e20, 9.007199254740992e9, 4503599627.370496,
           5e-324, 1.7976931348623157e308, -1.7976931348623157e308]
numbers = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(AWKWARD),
                    st.integers(-10**16, 10**16).map(lambda n: (2 * n + 1) / (2 * 10**6)),   # at a rounding tie
                    st.integers(-10**12, 10**12).map(lambda n: n / 2**20),                  # exact binary fractions
                    st.floats(1e9, 1e13), st.floats(-1e13, -1e9))   # where x * 10**6 outgrows a float's integers


@fast
@given(st.lists(st.one_of(st.none(), numbers), max_size=40))
@example(AWKWARD + [None])
def test_number_column_formats_as_format_number(values):
    got = format_numbers(pl.Series("value", values, dtype=pl.Float64))
    assert got.name == "value" and got.dtype == pl.String
    assert got.to_list() == [None if v is None else format_number(v) for v in values]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused_as_before(bad):
    with pytest.raises(ValueError, match="non-finite"):
        format_numbers(pl.Series([1.0, bad, None]))


TRICKY_TEXT = ["", "=cmd", "+1", "-x", "@a", "\tb", "\rc", 'a,"b"', "x\r\ny", "'", " lead", "é ✓", ","]
texts = st.one_of(st.none(), st.sampled_from(TRICKY_TEXT), st.text(max_size=8))


@st.composite
def tables(draw):
    """Export-shaped frames with any text in the label columns and any numbers, nulls and flags."""
    n = draw(st.integers(0, 12))
    data = {c: draw(st.lists(texts, min_size=n, max_size=n)) for c in COLUMNS if c not in NUMBERS}
    for c in NUMBERS:
        data[c] = draw(st.lists(st.one_of(st.none(), numbers), min_size=n, max_size=n))
        data[f"{c}_suppressed"] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    schema = {c: pl.Float64 if c in NUMBERS else pl.Boolean if c.endswith("_suppressed") else pl.String
              for c in data}
    return pl.DataFrame(data, schema=schema)


@fast
@given(tables(), st.sampled_from(["2024-12", "none", "=1", ""]), st.integers(1, 5))
def test_any_table_is_written_byte_identically(table, as_at, rows_per_chunk):
    """Quoting, empty cells, neutralised text, symbols and numbers, whatever the cells hold."""
    meta = _meta(ExportRequest(Filters(), ("charge_rate",), False), as_at)
    assert list(csv_chunks(table, meta, rows_per_chunk)) == list(reference_chunks(table, meta, rows_per_chunk))


# ---------------------------------------------------------------- Excel: the Data sheet's cells are unchanged
def reference_data(book, styles, table: pl.DataFrame, meta: ExportMeta) -> None:
    """The per-cell Data sheet writer the Excel export used before its symbols went column at a time (the sheet's
    title and header rows, which did not change, are the export's own)."""
    sheet, columns = exports_routes.data_sheet(book, styles, table, meta)
    numbers = set(NUMBERS)
    for r, row in enumerate(table.iter_rows(named=True), start=DATA_HEADER_ROW + 1):
        for col, name in enumerate(columns):
            v = row[name]
            if name not in numbers:
                if v:
                    sheet.write_string(r, col, v)
            elif v is None:
                sheet.write_string(r, col, SYMBOLS[0][0] if row[f"{name}_suppressed"] else SYMBOLS[1][0])
            else:
                v = round(v, 6)
                style = styles[row["unit"]] if name == "value" and row["unit"] in VALUE_FORMATS else (
                    styles["int"] if v == int(v) else styles["dec"])
                sheet.write_number(r, col, v, style)


def workbook_parts(table: pl.DataFrame, meta: ExportMeta, ref, monkeypatch, data=None) -> dict[str, bytes]:
    """Every part of the .xlsx but its creation time, written with the given Data sheet writer."""
    if data is not None:
        monkeypatch.setattr(exports_routes, "_data", data)
    target = io.BytesIO()
    write_workbook(target, table, meta, ref)
    monkeypatch.undo()
    with zipfile.ZipFile(target) as book:
        return {name: book.read(name) for name in book.namelist() if name != "docProps/core.xml"}


def test_excel_data_sheet_is_byte_identical(seeded_sqlite, monkeypatch):
    ref = seeded_sqlite.ref
    codes = tuple(ref.metrics)
    values = metric_values(seeded_sqlite.engine, Filters(areas=("WES", "SWE")), codes, ref, level="force",
                           grain="month", threshold=THRESHOLD)
    table = export_table(values, ref)
    meta = _meta(ExportRequest(Filters(areas=("WES", "SWE")), codes, False, "force", "month"))
    got = workbook_parts(table, meta, ref, monkeypatch)
    assert got == workbook_parts(table, meta, ref, monkeypatch, reference_data)
    data = got["xl/worksheets/sheet3.xml"]
    assert len(table) > 1000 and b">[c]<" in data and b">[x]<" in data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(tables(), st.lists(st.sampled_from(["count", "rate", "ratio", "mean_days", None]), min_size=12,
                          max_size=12))
def test_any_table_gives_the_same_excel_cells(seeded_sqlite, monkeypatch, table, units):
    table = table.with_columns(pl.Series("unit", units[:len(table)], dtype=pl.String))
    meta = _meta(ExportRequest(Filters(), ("charge_rate",), False))
    ref = seeded_sqlite.ref
    assert workbook_parts(table, meta, ref, monkeypatch) == workbook_parts(table, meta, ref, monkeypatch,
                                                                           reference_data)
