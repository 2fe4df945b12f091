"""Building blocks shared by pages: chart blocks with their table alternative, tiles, notes."""
from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from dash import dcc, html

from dashboard import ids
from dashboard.assurance_parts import spc_link, status_html
from dashboard.figures import trend_figure
from dashboard.format import fmt_change, fmt_value
from dashboard.tables import series_table, show_as_table
from queries.filters import Filters
from queries.months import add_months, month_label
from queries.reference import Metric
from queries.tiles import Comparison, Tile

# The mode bar is mouse-only and crowds small charts; the table alternative and exports carry the figures.
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


def query_string(filters: Filters, **extra) -> str:
    q = {**filters.to_query(), **{k: v for k, v in extra.items() if v is not None}}
    return ("?" + urlencode(q, doseq=True)) if q else ""


def definition_link(metric: Metric, text: str = "Definition") -> dcc.Link:
    return dcc.Link(text, href=f"/definitions#{metric.metric_code}", className="definition-link",
                    title=f"Definition of {metric.name}")


def chart_block(block_id: str, graph_id: dict, figure, description: str, table) -> html.Figure:
    """A chart with a text description for screen readers and a 'show as table' alternative."""
    return html.Figure([
        html.Div(dcc.Graph(id=graph_id, figure=figure, config=GRAPH_CONFIG, className="chart"),
                 role="img", **{"aria-label": description}),
        html.Figcaption(description, className="chart-caption"),
        show_as_table(table),
    ], id=block_id, className="chart-block")


def trend_block(block_id: str, series, metric: Metric, grain: str, markers, shade, short: bool = False):
    names = " and ".join(dict.fromkeys(series["series"].to_list())) if not series.is_empty() else "no data"
    grain_word = "Quarterly" if grain == "quarter" else "Monthly"
    description = f"{grain_word} trend in {metric.name}: {names}."
    if markers:
        description += " Dotted lines mark pilot starts: " + "; ".join(
            f"{m.label.removesuffix(' pilot starts')} ({month_label(m.month)})" for m in markers) + "."
    if shade:
        description += " Shaded: the selected period."
    fig = trend_figure(series, metric, grain, markers, shade, height=230 if short else 300)
    table = series_table(series, metric, grain, f"{metric.name}, {grain_word.lower()}")
    return chart_block(block_id, ids.graph("trend", metric.metric_code), fig, description, table)


def comparison_html(c: Comparison, metric: Metric) -> str:
    """One comparison line of a tile: the arrow is hidden from screen readers, the words say the same."""
    if c.change is None:
        return f'<p class="tile-change">{escape(c.label)}: <span class="change-na">not available</span></p>'
    tone = {"improving": "change-good", "worsening": "change-bad"}.get(c.words, "change-neutral")
    words = c.words.capitalize() if c.words != "no change" else "No change"
    size = f" ({fmt_change(c.change, metric.unit)} {'up' if c.change > 0 else 'down'})" \
        if c.words != "no change" else ""
    return (f'<p class="tile-change"><span class="arrow {tone}" aria-hidden="true">{escape(c.arrow)}</span> '
            f'<span class="{tone}">{escape(words)}</span>{escape(size)} vs {escape(c.label)}</p>')


def tile_card(tile: Tile, tile_id: str, back: str | None = None) -> html.Div:
    """A measure's tile. The comparisons, target and SPC words are one block of escaped HTML, as the tables are:
    the browser's renderer pays per component, and they were 14 of a tile's 22 (17 tiles on the overview).
    `back`: the address of the page the tile is on, for the cohort page's Back link."""
    m = tile.metric
    details = comparison_html(tile.year_earlier, m) + comparison_html(tile.baseline, m)
    if m.target is not None:
        status = {True: "met", False: "not met", None: "not assessed"}[tile.target_met]
        details += f'<p class="tile-target">{escape(f"Target {fmt_value(m.target, m.unit)}: {status}")}</p>'
    if tile.spc:
        details += f'<div class="tile-spc">{status_html(tile.spc.variation, tile.spc.assurance)}</div>'
    return html.Div([
        html.H3(m.name, className="tile-title"),
        html.P(fmt_value(tile.value, m.unit, tile.suppressed), className="tile-value"),
        dcc.Markdown(details, dangerously_allow_html=True, className="tile-details"),
        html.P([definition_link(m, "What this measures"),
                spc_link(m, tile.chart_filters or tile.filters) if tile.spc else None,
                cohort_link(m, tile.filters, "See the cases", back=back) if m.source == "cases" else None],
               className="tile-links"),
    ], id=tile_id, className="tile")


def cohort_link(metric: Metric, filters: Filters, text: str, period: str | None = None,
                back: str | None = None) -> dcc.Link:
    """Drill-down to the anonymised cases behind a figure, keeping the filters (and the clicked period).

    `back` is the address of the view the link sits on (path and query string), for the cohort page's Back link;
    without it, Back leads to the overview for the cohort's own filters."""
    return dcc.Link(text, href="/cohort" + query_string(filters, metric=metric.metric_code, period=period, back=back),
                    className="cohort-link", title=f"Cases behind {metric.name}")


def downloads(filters: Filters, period: tuple[str, str], what: str, **params) -> html.Div:
    """Download links for every figure on a view, and on the overview its print view.

    The links are the stable export URLs with `view=` (the export runs this page's own query calls, so the file
    holds exactly what is shown) and the page's filters with the period made explicit. `workstream` in params
    marks the workstream page; `level` is the page's own choice, so the view decides it and it is not passed on.
    """
    workstream = params.get("workstream")
    view = "workstream" if workstream else "overview"
    shown = filters.with_(period_from=period[0], period_to=period[1], workstream=workstream)
    q = f"?view={view}&" + query_string(shown, grain=params.get("grain", filters.grain)).lstrip("?")
    items = [html.Li(html.A("Download CSV", href=f"/export/metrics.csv{q}", download="", className="download-link")),
             html.Li(html.A("Download Excel", href=f"/export/metrics.xlsx{q}", download="",
                            className="download-link"))]
    if view == "overview":
        items.append(html.Li(dcc.Link("Print view (A4 landscape)", id=ids.PRINT_LINK, className="download-link",
                                      href="/print" + query_string(filters.with_(workstream=None)))))
    return html.Div([
        html.H2("Download these figures", className="h5"),
        html.P(f"Every figure on this page ({what}) for the filters shown, with the filters and data as-at written "
               "in the file.", className="download-note"),
        html.Ul(items, className="download-list"),
    ], id=ids.DOWNLOADS, className="downloads")


def provisional_note(last: str) -> html.P:
    first = add_months(last, -2)
    return html.P(f"Figures for {month_label(first)} to {month_label(last)} are provisional [p] and may be "
                  "revised when later extracts are loaded.", className="provisional-note")


def empty_state(message: str = "No data for these filters.") -> html.Div:
    return html.Div([html.H2("No data", className="h4"), html.P(message)], className="empty-state")
