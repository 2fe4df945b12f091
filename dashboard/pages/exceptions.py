"""Exceptions (/exceptions): every measure and CPS Area with special-cause concern or a failing target, most serious
first, each linking to its SPC chart and its cases. The list and its order come from queries.exceptions."""
from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from dashboard import ids
from dashboard.assurance_parts import assurance_status, spc_link, variation_status
from dashboard.context import Context
from dashboard.format import fmt_value, month_label
from dashboard.pages.common import cohort_link, empty_state, provisional_note, query_string
from queries.exceptions import BOTH, CONCERN, FAILING, GROUP_WORDS, MISSED, ExceptionItem, exceptions
from queries.filters import Filters
from queries.reference import Reference

PATH = r"/exceptions"
SHOW_FILTERS = True
HEADER = ("Rank", "Measure", "CPS Area", "Why it is listed", "Latest month", "Latest value", "Target", "Look closer")


def layout(ctx: Context, filters: Filters) -> html.Div:
    return html.Div([
        html.H1("Exceptions: measures needing attention"),
        html.P("Every measure and CPS Area where the latest month shows special-cause concern on its SPC chart, or "
               "a target is not being met, most serious first.", className="lead-summary"),
        dcc.Loading(html.Div(id=ids.EXCEPTIONS_CONTENT), type="dot", delay_show=400),
    ])


def ordering_note() -> html.Details:
    return html.Details([
        html.Summary("How this list is ordered"),
        html.Ol([html.Li(GROUP_WORDS[g] + extra) for g, extra in (
            (BOTH, "."),
            (FAILING, ": the target lies beyond the process limits, so it will not be met unless the process "
                      "changes."),
            (CONCERN, ": something has changed for the worse."),
            (MISSED, ": the process meets the target only some of the time (hit and miss)."))]),
        html.P("Within each group: targets by how far the process mean is from the target, concerns by how unusual "
               "the latest month is (both measured in sigma), largest first. Each chart is monthly, with limits "
               "recalculated from the Area's own pilot start."),
    ], className="table-toggle")


def area_filters(ref: Reference, filters: Filters, area: str) -> Filters:
    """The selection narrowed to one Area (and its chosen forces), for the links."""
    forces = tuple(f for f in filters.forces if (area, f) in ref.pairs)
    return filters.with_(areas=(area,), forces=forces, grain="month", workstream=None)


def reasons(item: ExceptionItem, latest: dict) -> list:
    out = []
    if item.concern:
        out.append(variation_status(item.spc.variation))
    if item.failing:
        out.append(assurance_status(item.spc.assurance))
    elif item.missed:
        out.append(html.P(f"Latest value did not meet the target ({month_label(latest['period'])})",
                          className="spc-status"))
        if item.spc.assurance:
            out.append(assurance_status(item.spc.assurance))
    return out


def row(rank: int, item: ExceptionItem, ref: Reference, filters: Filters, last: str) -> html.Tr:
    m, latest = item.metric, item.spc.latest
    here = area_filters(ref, filters, item.area_code)
    month = latest["period"]
    links = [html.Li(spc_link(m, here.with_(period_to=last)))]
    if m.source == "cases":
        links.append(html.Li(cohort_link(m, here.with_(period_from=month, period_to=month), "See the cases",
                                         back="/exceptions" + query_string(filters))))
    cells = [str(rank), m.name, ref.areas[item.area_code], reasons(item, latest), month_label(month),
             fmt_value(latest["value"], m.unit), fmt_value(m.target, m.unit) if m.target is not None else "none set",
             html.Ul(links, className="list-unstyled mb-0")]
    # data-label names each cell when a narrow screen stacks the row (see the stylesheet).
    return html.Tr([(html.Th if i == 1 else html.Td)(cell, className="num" if i in (0, 5, 6) else None,
                                                      **({"scope": "row"} if i == 1 else {}),
                                                      **{"data-label": HEADER[i]})
                    for i, cell in enumerate(cells)], id=f"exception-{item.area_code}-{m.metric_code}")


def render(ctx: Context, filters: Filters) -> list:
    ref = ctx.reference()
    period = ctx.period(filters)
    if period is None:
        return [empty_state("No data has been loaded yet.")]
    items = exceptions(ctx.engine, filters, ref, period[1], ctx.threshold)
    start = month_label(filters.period_from) if filters.period_from else "the first month of data"
    scope = f"Monthly SPC charts from {start} to {month_label(period[1])}"
    if not items:
        return [html.P(f"{scope}: no measure in any Area shows special-cause concern or a missed target.",
                       className="lead-summary"), ordering_note()]
    counts = "; ".join(f"{GROUP_WORDS[g].lower()}: {n}" for g in (BOTH, FAILING, CONCERN, MISSED)
                       if (n := sum(i.group == g for i in items)))
    table = html.Table([
        html.Caption(f"Exceptions, most serious first ({len(items)})"),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in HEADER])),
        html.Tbody([row(i, item, ref, filters, period[1]) for i, item in enumerate(items, start=1)]),
    ], className="table table-sm data-table exceptions-table", id=ids.EXCEPTIONS_TABLE)
    return [
        html.P(f"{scope}. {len(items)} exceptions: {counts}.",
               className="lead-summary"),
        ordering_note(),
        html.Div(table, className="table-responsive"),
        provisional_note(ctx.months()[1]),
    ]


def register_callbacks(app, ctx: Context) -> None:
    from dashboard.callbacks import failure, read_filters

    @app.callback(Output(ids.EXCEPTIONS_CONTENT, "children"), Input(ids.URL, "search"), State(ids.URL, "pathname"))
    def exceptions_content(search, pathname):
        if (pathname or "").rstrip("/") != PATH:
            return no_update
        try:
            filters, _ = read_filters(ctx, search)
            return render(ctx, filters)
        except Exception as exc:   # noqa: BLE001 - shown as a reference, logged in full
            return failure(exc)
