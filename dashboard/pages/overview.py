"""Overview (/): the five workstreams side by side: tiles, a trend chart each, pilot against comparison."""
from __future__ import annotations

from dash import Input, Output, dcc, html

from dashboard import ids
from dashboard.cache import cached, cached_output
from dashboard.context import Context, period_words
from dashboard.pages.common import (downloads, empty_state, provisional_note, query_string, tile_card,
                                    trend_block)
from queries.filters import Filters
from queries.tiles import headline_tiles
from queries.trends import start_markers, trend_series


PATH = r"/"
SHOW_FILTERS = True


def layout(ctx: Context, filters: Filters) -> html.Div:
    return html.Div([
        html.H1("RASSO pilots: overview"),
        html.P(id=ids.OVERVIEW_SUMMARY, className="lead-summary"),
        html.Div(id=ids.OVERVIEW, className="panels"),
    ])


def headline_metric(ctx: Context, workstream: str) -> str:
    """The first measure in catalogue order is the workstream's lead measure, charted on the overview."""
    return ctx.reference().metrics_of(workstream)[0].metric_code


def render(ctx: Context, filters: Filters) -> tuple[list, str]:
    ref = ctx.reference()
    period = ctx.period(filters)
    if period is None:
        return [empty_state("No data has been loaded yet.")], ""
    lead = {w.workstream_code: headline_metric(ctx, w.workstream_code) for w in ref.workstreams}
    tiles, series = cached(ctx, "overview", filters, lambda: (
        headline_tiles(ctx.engine, filters, ref, period, ctx.threshold),
        trend_series(ctx.engine, filters.with_(period_to=period[1]), list(lead.values()), ref, filters.grain,
                     ctx.threshold)), period)
    where = _where(ref, filters)
    summary = f"{where}, {period_words(period)}. " + (
        "Charts compare pilot sites with comparison sites." if filters.is_national
        else "Charts compare the selection with England and Wales.")
    panels = []
    for w in ref.workstreams:
        metrics = ref.metrics_of(w.workstream_code)
        lead_metric = ref.metrics[lead[w.workstream_code]]
        lead_series = series.filter(series["metric_code"] == lead_metric.metric_code)
        panels.append(html.Section([
            html.H2(dcc.Link(w.name, href=f"/workstream/{w.workstream_code}{query_string(filters)}"),
                    className="panel-title"),
            html.Div([tile_card(tiles[m.metric_code], ids.tile(m.metric_code), back="/" + query_string(filters))
                      for m in metrics],
                     className="tiles"),
            html.H3(f"Trend: {lead_metric.name}", className="chart-title"),
            trend_block(ids.chart(w.workstream_code), lead_series, lead_metric, filters.grain,
                        start_markers(ref, w.workstream_code, filters), period, short=True),
        ], id=ids.panel(w.workstream_code), className="panel", **{"aria-label": w.name}))
    if all(t.value is None for t in tiles.values()):
        return [empty_state()], summary
    return [provisional_note(ctx.months()[1]), html.Div(panels, className="panel-grid"),
            downloads(filters, period, f"all measures, {filters.grain}ly", grain=filters.grain)], summary


def _where(ref, filters: Filters) -> str:
    if filters.forces:
        return ", ".join(ref.forces[f] for f in filters.forces)
    if filters.areas:
        return ", ".join(ref.areas[a] for a in filters.areas)
    return "England and Wales"


def register_callbacks(app, ctx: Context) -> None:
    from dashboard.callbacks import failure, read_filters

    @app.callback(Output(ids.OVERVIEW, "children"), Output(ids.OVERVIEW_SUMMARY, "children"),
                  Input(ids.URL, "search"))
    def overview_content(search):
        try:
            filters, _ = read_filters(ctx, search)
            return cached_output(ctx, "overview", filters, lambda: render(ctx, filters))
        except Exception as exc:   # noqa: BLE001 - shown as a reference, logged in full
            return failure(exc), ""
