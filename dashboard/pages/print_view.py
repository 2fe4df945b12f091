"""Print view (/print): the overview's five workstream panels laid out for an A4 landscape board paper.

Built in one go when the page loads (no callback), from the overview's own queries and building blocks, so paper
and screen agree. Charts are static SVG at a fixed size that fits the page; the print rules in assets/style.css
hide the navigation, filter bar and banners, set the page to A4 landscape and keep each panel on one page.
"""
from __future__ import annotations

import flask
from dash import Input, Output, dcc, html

from dashboard import ids
from dashboard.context import Context, period_words
from dashboard.pages.common import empty_state, provisional_note, query_string, tile_card, trend_block
from dashboard.pages.overview import _where, headline_metric
from queries.disclosure import NOT_AVAILABLE, SUPPRESSED
from queries.filters import Filters
from queries.months import month_label
from queries.tiles import headline_tiles
from queries.trends import start_markers, trend_series

PATH = r"/print"
SHOW_FILTERS = False
TITLE = "RASSO pilots: summary of the five workstreams"
# An A4 landscape page less 10 mm margins is 277 mm (about 1,045 CSS px) wide: tiles on the left, chart beside.
CHART_WIDTH, CHART_HEIGHT = 460, 220
STATIC_CHART = {"staticPlot": True, "responsive": False, "displayModeBar": False}


def layout(ctx: Context, filters: Filters) -> html.Div:
    ref = ctx.reference()
    period = ctx.period(filters)
    head = [html.Div([dcc.Link("← Back to the overview", href="/" + query_string(filters), className="back-link"),
                      html.Button("Print or save as PDF", id=ids.PRINT_BUTTON, className="btn-secondary-link",
                                  n_clicks=0)], className="print-actions"),
            html.H1(TITLE)]
    if period is None:
        return html.Div([*head, empty_state("No data has been loaded yet.")], id=ids.PRINT_VIEW,
                        className="print-view")
    tiles = headline_tiles(ctx.engine, filters, ref, period, ctx.threshold)
    lead = {w.workstream_code: headline_metric(ctx, w.workstream_code) for w in ref.workstreams}
    series = trend_series(ctx.engine, filters.with_(period_to=period[1]), list(lead.values()), ref,
                          filters.grain, ctx.threshold)
    panels = []
    for w in ref.workstreams:
        metric = ref.metrics[lead[w.workstream_code]]
        chart = trend_block(ids.chart(f"print-{w.workstream_code}"),
                            series.filter(series["metric_code"] == metric.metric_code), metric, filters.grain,
                            start_markers(ref, w.workstream_code, filters), period)
        panels.append(html.Section([
            html.H2(w.name, className="print-panel-title"),
            html.Div([
                html.Div([tile_card(tiles[m.metric_code], ids.tile(m.metric_code))
                          for m in ref.metrics_of(w.workstream_code)], className="print-tiles"),
                html.Div([html.H3(f"Trend: {metric.name}", className="chart-title"), fixed_size(chart)],
                         className="print-chart"),
            ], className="print-panel-body"),
        ], id=ids.panel(w.workstream_code), className="print-panel", **{"aria-label": w.name}))
    return html.Div([
        *head,
        about(ctx, filters, period),
        provisional_note(ctx.months()[1]),
        *panels,
        footnotes(ctx),
        dcc.Store(id=ids.PRINT_SINK),
    ], id=ids.PRINT_VIEW, className="print-view")


def fixed_size(block: html.Figure) -> html.Figure:
    """The overview's chart block with its graph at a fixed size and static (no hover, no resizing), for paper."""
    graph = block.children[0].children
    graph.figure["layout"].update(width=CHART_WIDTH, height=CHART_HEIGHT)
    graph.config = STATIC_CHART
    graph.style = {"width": f"{CHART_WIDTH}px", "height": f"{CHART_HEIGHT}px"}
    return block


def about(ctx: Context, filters: Filters, period: tuple[str, str]) -> html.Dl:
    """The filters in words, the data as-at and where to see the same figures online."""
    ref = ctx.reference()
    first, last = ctx.months()
    where = _where(ref, filters)
    if filters.areas and not filters.forces:
        where += ": all forces" if len(filters.areas) == 1 else ": all their forces"
    online = "/" + query_string(filters)
    if flask.has_request_context():
        online = flask.request.host_url.rstrip("/") + online
    rows = [
        ("Area or forces", where),
        ("Period", period_words(period) + ("" if filters.period_from else " (the latest 12 months)")),
        ("Trends", f"by {filters.grain}, {period_words((first, period[1]))}; the period is shaded"),
        ("Charts compare", "pilot sites with comparison sites" if filters.is_national
         else "the selection with England and Wales"),
        ("Data as at", month_label(last)),
        ("Online", online),
    ]
    return html.Dl([el for label, text in rows for el in (html.Dt(label), html.Dd(text))], className="print-about")


def footnotes(ctx: Context) -> html.Section:
    ref = ctx.reference()
    t = ctx.threshold
    definitions = [html.Li([html.Strong(m.name + ": "), m.definition]) for m in ref.metrics.values()]
    return html.Section([
        html.H2("Notes", className="print-panel-title"),
        html.Div([
            html.P([html.Strong("Management information, not official statistics. "),
                    "Figures monitor the RASSO 2025 joint pilots and may be revised; all figures here are "
                    "synthetic test data. Pilot allocation and start months are illustrative."]),
            html.P([html.Strong("How figures are combined. "),
                    "A rate across forces or months is the total numerator over the total denominator, never an "
                    "average of rates. Staff in post is averaged over months. Referral, decision and victim measures "
                    "count different cases in each month: the stages are not one cohort. Comparisons are with the "
                    "same months a year earlier and with the 12 months before the workstream's first pilot."]),
            html.P([html.Strong("Disclosure rule. "),
                    f"For measures from case records, a count of 1 to {t - 1} is withheld, and so is any figure built "
                    "on one. Zeros are shown. Measures from aggregate returns (staff, training, sampled checks) are "
                    "not withheld."]),
            html.P([html.Strong("Symbols. "), f"{SUPPRESSED} confidential (withheld by the disclosure rule); "
                    f"{NOT_AVAILABLE} not available; [p] provisional."]),
            html.P([html.Strong("Variation and assurance. "),
                    "The icons on the tiles are statistical process control (Making Data Count) readings of the "
                    "monthly series: whether a change is more than noise, and whether the target is met reliably."]),
        ], className="print-notes"),
        html.H3("Definitions", className="chart-title"),
        html.Ul(definitions, className="print-definitions"),
    ], className="print-footnotes")


def register_callbacks(app, ctx: Context) -> None:
    app.clientside_callback(
        "function(n) { if (n) { window.print(); } return window.dash_clientside.no_update; }",
        Output(ids.PRINT_SINK, "data"), Input(ids.PRINT_BUTTON, "n_clicks"), prevent_initial_call=True)
