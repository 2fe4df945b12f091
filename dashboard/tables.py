"""Table alternatives for every chart, and the small tables pages show. Pure: frame in, Dash components out.

A table is rendered as one Markdown component holding escaped HTML rather than hundreds of html.Td components:
the Dash renderer's cost grows with the number of components, and five 72-row tables made the overview take
seconds to draw. Every cell is escaped, so no data can inject markup.
"""
from __future__ import annotations

from html import escape

import polars as pl
from dash import dcc, html

from dashboard.format import fmt_value, period_label
from queries.reference import Metric


def table_html(caption: str, header: list[str], rows: list[list[str]]) -> str:
    """Pure: an accessible HTML table (caption, column and row headers) with every cell escaped."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join("<tr>" + f'<th scope="row">{escape(r[0])}</th>'
                   + "".join(f'<td class="num">{escape(c)}</td>' for c in r[1:]) + "</tr>" for r in rows)
    return (f'<table class="table table-sm data-table"><caption>{escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _table(caption: str, header: list[str], rows: list[list[str]], table_id: str | None = None) -> dcc.Markdown:
    props = {"id": table_id} if table_id else {}
    return dcc.Markdown(table_html(caption, header, rows), dangerously_allow_html=True, className="table-wrap",
                        **props)


def series_table(series: pl.DataFrame, metric: Metric, grain: str, caption: str,
                 table_id: str | None = None) -> dcc.Markdown:
    """Wide table: one row per period, one column per series, suppressed cells as [c]."""
    names = list(dict.fromkeys(series["series"].to_list()))
    cells: dict[tuple[str, str], str] = {
        (p, n): fmt_value(v, metric.unit, s)
        for p, n, v, s in series.select("period", "series", "value", "suppressed").iter_rows()}
    periods = sorted(set(series["period"].to_list()))
    rows = [[period_label(p, grain)] + [cells.get((p, n), "[x]") for n in names] for p in periods]
    return _table(caption, ["Period", *names], rows, table_id)


def ranked_table(ranked: pl.DataFrame, metric: Metric, caption: str, national: float | None,
                 national_label: str, table_id: str | None = None) -> dcc.Markdown:
    ordered = ranked.sort(["value", "label"], descending=[True, False], nulls_last=True)
    rows = [[label, fmt_value(v, metric.unit, s)]
            for label, v, s in ordered.select("label", "value", "suppressed").iter_rows()]
    rows.append([national_label, fmt_value(national, metric.unit)])
    return _table(caption, ["", metric.name], rows, table_id)


def show_as_table(table: html.Table, summary: str = "Show as table") -> html.Details:
    """A native disclosure widget: keyboard and screen-reader friendly with no script."""
    return html.Details([html.Summary(summary), html.Div(table, className="table-scroll")], className="table-toggle")
