"""SPC chart (/spc/<metric_code>): is a change real or noise, and is the target met reliably?

One metric's XmR chart for the selection (queries.assurance): icons with their words, the chart with a text
description and a table alternative, a CSV of the same numbers, and how to read it.
"""
from __future__ import annotations

from urllib.parse import urlencode

from dash import Input, Output, State, dcc, html, no_update

from dashboard import ids
from dashboard.assurance_parts import assurance_status, variation_status
from dashboard.context import Context
from dashboard.format import month_label
from dashboard.pages.common import (chart_block, cohort_link, definition_link, empty_state, provisional_note,
                                    query_string)
from dashboard.spc_figures import XMR_HEADER, xmr_description, xmr_figure, xmr_rows
from dashboard.tables import table_html
from queries.assurance import metric_spc
from queries.filters import Filters
from queries.reference import Reference
from queries.spc import SPCSettings

PATH = r"/spc/(?P<metric_code>[a-z_]{1,40})"
SHOW_FILTERS = True


def _metric(ctx: Context, metric_code: str):
    from dashboard.pages import NotFound

    metric = ctx.reference().metrics.get(metric_code)
    if metric is None:
        raise NotFound(metric_code)
    return metric


def layout(ctx: Context, filters: Filters, metric_code: str) -> html.Div:
    metric = _metric(ctx, metric_code)
    return html.Div([
        html.P(dcc.Link("← Back to overview", href="/" + query_string(filters).lstrip("/"), className="back-link")),
        html.H1(f"{metric.name}: statistical process control"),
        html.P("Is a change real or noise, and is the target met reliably? Each point is one month for the "
               "selection; the lines show the range the process normally varies within.", className="lead-summary"),
        dcc.Loading(html.Div(id=ids.SPC_CONTENT), type="dot", delay_show=400),
    ])


def selection_words(ref: Reference, filters: Filters) -> str:
    if filters.forces:
        return ", ".join(ref.forces[f] for f in filters.forces)
    if filters.areas:
        return ", ".join(ref.areas[a] for a in filters.areas)
    return "England and Wales"


def export_href(metric_code: str, filters: Filters) -> str:
    q = {"metric": metric_code, **filters.with_(grain="month", workstream=None).to_query()}
    return "/export/spc.csv?" + urlencode(q, doseq=True)


def how_to_read(settings: SPCSettings = SPCSettings()) -> html.Details:
    return html.Details([
        html.Summary("How to read this chart"),
        html.Ul([
            html.Li("Mean: the average of the months. Process limits: the mean plus or minus 2.66 times the average "
                    "month-to-month change; nearly every month falls between them when nothing has changed."),
            html.Li("Special cause (a real change, not noise) is flagged when: a month is outside a process limit; "
                    f"{settings.shift_length} or more months in a row are on one side of the mean (a shift); "
                    f"{settings.trend_length} or more months in a row each rise or each fall (a trend); or two of "
                    "three months in a row are beyond the same two-sigma line."),
            html.Li("Improvement (diamond markers) or concern (square markers) depends on whether higher is better "
                    "for this measure; other months are common cause (small circles)."),
            html.Li("Limits need at least 13 months. Where the selection includes a pilot site, limits are "
                    "recalculated from the first pilot start, so the chart compares the months before with after."),
            html.Li("Assurance compares the target with the latest process limits: outside them on the right side, "
                    "consistently passing; on the wrong side, consistently failing; between them, hit and miss."),
            html.Li("Withheld months ([c], too few cases) are gaps, left out of the mean and limits."),
        ]),
    ], className="table-toggle")


def render(ctx: Context, metric_code: str, filters: Filters) -> list:
    ref = ctx.reference()
    metric = _metric(ctx, metric_code)
    period = ctx.period(filters)
    if period is None:
        return [empty_state("No data has been loaded yet.")]
    spc = metric_spc(ctx.engine, filters, metric_code, ref, period[1], ctx.threshold)
    if spc.latest is None:
        return [empty_state("No months with a value for these filters: nothing to chart.")]
    table = spc.table
    words = (f"{selection_words(ref, filters)}, monthly from {month_label(table['period'][0])} to "
             f"{month_label(table['period'][-1])}.")
    description = xmr_description(spc)
    alternative = dcc.Markdown(table_html(f"{metric.name}: SPC table, {words}", XMR_HEADER, xmr_rows(spc)),
                               dangerously_allow_html=True, className="table-wrap", id=ids.table("spc"))
    latest = spc.latest["period"]
    ws = next(w for w in ref.workstreams if w.workstream_code == metric.workstream_code)
    return [
        html.P(words, className="lead-summary"),
        html.Div([variation_status(spc.variation), assurance_status(spc.assurance)], className="spc-summary",
                 id="spc-icons"),
        chart_block(ids.chart("spc"), ids.SPC_GRAPH, xmr_figure(spc), description, alternative),
        html.Ul([
            html.Li(html.A("Download CSV", href=export_href(metric_code, filters.with_(period_to=period[1])),
                           download="", className="download-link")),
            html.Li(definition_link(metric, f"Definition of {metric.name.lower()}")),
            html.Li(dcc.Link(f"{ws.name}: all measures",
                             href=f"/workstream/{ws.workstream_code}" + query_string(filters))),
            html.Li(cohort_link(metric, filters.with_(period_from=latest, period_to=latest),
                                f"See the cases behind {month_label(latest)}",
                                back=f"/spc/{metric_code}{query_string(filters)}"))
            if metric.source == "cases" else None,
        ], className="download-list spc-links"),
        how_to_read(),
        provisional_note(ctx.months()[1]),
    ]


def register_callbacks(app, ctx: Context) -> None:
    import re

    from dashboard.callbacks import failure, read_filters
    from dashboard.pages import NotFound

    @app.callback(Output(ids.SPC_CONTENT, "children"), Input(ids.URL, "search"), State(ids.URL, "pathname"))
    def spc_content(search, pathname):
        match = re.fullmatch(PATH, (pathname or "").rstrip("/"))
        if not match:
            return no_update
        try:
            filters, _ = read_filters(ctx, search)
            return render(ctx, match.group("metric_code"), filters)
        except NotFound:
            return empty_state("There is no measure with this code.")
        except Exception as exc:   # noqa: BLE001 - shown as a reference, logged in full
            return failure(exc)
