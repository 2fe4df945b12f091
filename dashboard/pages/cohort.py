"""Cohort page (/cohort): the anonymised cases behind one figure, and what they are made of.

Opened from a "See the cases" link or by clicking a chart point or ranked bar (open_cohort below); what the
address asks for is read by dashboard.cohort_address. Every figure comes from queries.cohorts, already protected;
this module lays them out and says why when nothing can be shown.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import parse_qs

import dash_bootstrap_components as dbc
import polars as pl
from dash import ALL, Input, Output, State, ctx as dash_ctx, dcc, html, no_update

from dashboard import auth, ids
from dashboard.cache import cached
from dashboard.cohort_address import (DEFAULT_BY, NO_CASES, PATH, CohortRequest, click_target, navigation,
                                      parse_request, title)
from dashboard.cohort_exports import cohort_href
from dashboard.cohort_figures import (breakdown_figure, breakdown_rows, breakdown_words, capital, cross_figure,
                                      cross_rows, group_card, quartile_rows, reconcile)
from dashboard.context import Context, period_words
from dashboard.pages.common import chart_block
from dashboard.pages.definitions import MONTH_WORDS
from dashboard.tables import table_html
from queries.cohorts import DIMENSIONS, CohortSummary, CohortTooSmall, cohort_profile, cross_table
from queries.audit import record_now
from queries.filters import Filters
from queries.reference import Reference
from queries.users import OPEN_USER, selection_areas

log = logging.getLogger(__name__)

SHOW_FILTERS = False
PROFILE = tuple(k for k in DIMENSIONS if k != "days_to_decision")   # days to decision has its own section
Tables = dict[str, dict[str, pl.DataFrame]]   # dimension -> group -> protected one-way table


# ---------------------------------------------------------------- content
def _table(caption: str, header: list[str], rows: list[list[str]]) -> dcc.Markdown:
    return dcc.Markdown(table_html(caption, header, rows), dangerously_allow_html=True, className="table-wrap")


def _where(ref: Reference, filters: Filters) -> str:
    if filters.forces:
        return ", ".join(ref.forces[f] for f in filters.forces)
    return ", ".join(ref.areas[a] for a in filters.areas) if filters.areas else "England and Wales"


def _months(ctx: Context, summary: CohortSummary) -> tuple[str, str]:
    first, last = ctx.months()
    return summary.first_month or first, summary.last_month or last


def lead(ctx: Context, filters: Filters, summary: CohortSummary) -> html.P:
    """The filter summary: where, when, which month a case counts in, and what the cohort is compared with."""
    months = _months(ctx, summary)
    text = f"{_where(ctx.reference(), filters)}, {period_words(months) if all(months) else 'all months'}. " \
           f"Cases count in {MONTH_WORDS[summary.basis]}."
    if summary.cohort.label.startswith("Pilot sites") and not summary.restricted:
        text += (" Pilot sites are the Areas and forces running this workstream's pilot, in every month shown "
                 "(before their start month too); comparison sites are all the others.")
    elif summary.comparison:
        text += f" Compared with: {summary.comparison.label}."
    if summary.restricted:
        text += " Only cases in your Areas are shown."
    return html.P(text, className="lead-summary")


def profile(ctx: Context, filters: Filters, req: CohortRequest) -> tuple[CohortSummary, Tables]:
    """The summary and every breakdown of both groups, from one pass over each group's cases. Cached under the
    whole filters, the user's scope included, so one user's cohort is never served to another scope."""
    return cached(ctx, "cohort/profile", filters, lambda: cohort_profile(
        ctx.engine, filters, req.metric.metric_code, req.period, ctx.reference(), threshold=ctx.threshold),
        req.metric.metric_code, req.period)


def group_tables(summary: CohortSummary, tables: Tables, dim: str) -> list:
    """(label, protected frame) for each group that may be shown: the tables breakdown() gives the CSV export."""
    return [(getattr(summary, g).label, table) for g, table in tables[dim].items()]


def dimension_block(key: str, groups: list, heading: str | None = None, place: str = "cohort") -> html.Section:
    """One dimension's chart and table; `place` keeps ids unique when the explorer shows the same dimension."""
    d = DIMENSIONS[key]
    cats = list(d.categories)
    header, rows = breakdown_rows(groups, cats)
    return html.Section([
        html.H3(heading or d.label, className="chart-title"),
        chart_block(f"{place}-{key}", {"type": ids.COHORT_GRAPH, "dim": key, "place": place},
                    breakdown_figure(groups, cats),
                    breakdown_words(groups, d.label, cats), _table(f"Cases by {d.label.lower()}", header, rows)),
    ], className="cohort-dimension")


def days_section(summary: CohortSummary, groups: list) -> html.Section:
    header, rows = quartile_rows(summary)
    return html.Section([
        html.H2("Days to decision"),
        html.P("Calendar days from referral to decision, for the cases that have a decision. Half of them took "
               "between the lower and upper quartiles.", className="cohort-note"),
        html.Div([
            _table("Days to decision: median and quartiles", header, rows),
            dimension_block("days_to_decision", groups, "Days to decision, in bands (pending: no decision yet)"),
        ], className="cohort-days"),
    ], className="cohort-section")


def render(ctx: Context, filters: Filters, req: CohortRequest) -> tuple[list, CohortSummary | None]:
    """The page body, and the summary when the explorer may be shown (None: a problem or a refused cohort)."""
    if req.problem:
        return [problem_box(req.problem)], None
    try:
        summary, tables = profile(ctx, filters, req)
    except ValueError as exc:   # the period is outside the filters' months
        return [problem_box(capital(f"{exc}."))], None
    parts = [lead(ctx, filters, summary), html.Section([
        html.H2("How many cases", className="visually-hidden"),
        html.Div([group_card(g, req.metric) for g in (summary.cohort, summary.comparison) if g is not None],
                 className="cohort-cards"),
        html.P(reconcile(summary, req.metric), className="cohort-note") if not summary.cohort.message else None,
    ], className="cohort-section")]
    if summary.cohort.message:
        parts.append(html.P(f"To protect the people in these cases, nothing more is shown for a group of "
                            f"{summary.cohort.message}. Choose a longer period or a wider selection.",
                            className="notice"))
        return parts, None
    blocks = [dimension_block(k, group_tables(summary, tables, k)) for k in PROFILE]
    parts += [html.Section([html.H2("Who the cases are"),
                            html.P("Each group's cases by category, as shares of the group. [c]: withheld to "
                                   f"protect confidentiality (fewer than {ctx.threshold} cases, or a figure that "
                                   "would reveal one).", className="cohort-note"),
                            html.Div(blocks, className="cohort-grid")], className="cohort-section"),
              days_section(summary, group_tables(summary, tables, "days_to_decision"))]
    return parts, summary


def problem_box(message: str) -> html.Div:
    return html.Div([html.H2("These cases cannot be shown", className="h4"), html.P(message)],
                    className="notice", role="alert")


def explore(ctx: Context, filters: Filters, req: CohortRequest, summary: CohortSummary,
            tables: Tables | None = None) -> list:
    """The chosen breakdown: one dimension for both groups (from the profile's tables, read if not given), or the
    cohort's cross-table; and its CSV."""
    note = [html.P(req.note, className="notice")] if req.note else []
    link = html.P(html.A("Download CSV (this breakdown)", href=cohort_href(filters, req.metric.metric_code,
                                                                           req.period, req.by),
                         download="", id=ids.COHORT_DOWNLOAD, className="download-link"))
    if len(req.by) == 1:
        d = DIMENSIONS[req.by[0]]
        tables = profile(ctx, filters, req)[1] if tables is None else tables
        block = dimension_block(d.key, group_tables(summary, tables, d.key), f"Cases by {d.label.lower()}",
                                "cohort-explore")
        return [*note, block, link]
    d1, d2 = (DIMENSIONS[k] for k in req.by)
    try:
        table = cached(ctx, f"cohort/cross/{d1.key}/{d2.key}", filters, lambda: cross_table(
            ctx.engine, filters, req.metric.metric_code, req.period, ctx.reference(), d1.key, d2.key, ctx.threshold),
            req.metric.metric_code, req.period)
    except CohortTooSmall as exc:
        return [*note, problem_box(capital(exc.message) + ".")]
    header, rows = cross_rows(table, d1.key, d2.key, d1.label)
    hidden = int(table["count_suppressed"].sum())
    words = (f"Heat map of the cases ({summary.cohort.label}) by {d1.label.lower()} (rows) and "
             f"{d2.label.lower()} (columns), each cell labelled with its count"
             + (f"; {hidden} figures withheld [c]" if hidden else "") + ". Totals are in the table.")
    return [*note, html.Section([
        html.H3(f"Cases by {d1.label.lower()} and {d2.label.lower()}", className="chart-title"),
        chart_block("cohort-cross", {"type": ids.COHORT_GRAPH, "dim": "cross", "place": "cohort-explore"},
                    cross_figure(table, d1.key, d2.key, d1.label, d2.label), words,
                    _table(f"{summary.cohort.label}: cases by {d1.label.lower()} and {d2.label.lower()}, with "
                           "totals", header, rows)),
    ], className="cohort-dimension"), link]


def chosen_by(first: str | None, second: str | None) -> tuple[str, ...]:
    return (first,) if not second or second == first else (first, second)


def layout(ctx: Context, filters: Filters) -> html.Div:
    options = [{"label": d.label, "value": d.key} for d in DIMENSIONS.values()]

    def select(label, control_id, choices, value):
        return html.Div([html.Label(label, htmlFor=control_id, className="field-label"),
                         dbc.Select(id=control_id, options=choices, value=value, class_name="form-select")],
                        className="field field-narrow")

    return html.Div([
        html.Div(id=ids.COHORT_BREADCRUMB),
        html.H1(NO_CASES, id=ids.COHORT_TITLE),
        dcc.Loading(html.Div(id=ids.COHORT_CONTENT), type="dot", delay_show=400),
        html.Section([
            html.H2("Break the cases down"),
            html.P("Choose one characteristic for counts and shares, or two for a cross-table with totals.",
                   className="cohort-note"),
            html.Div([select("Break down by", ids.COHORT_BY, options, DEFAULT_BY[0]),
                      select("and by (optional)", ids.COHORT_BY_SECOND,
                             [{"label": "Nothing else", "value": ""}, *options], "")],
                     className="filter-fields cohort-controls"),
            dcc.Loading(html.Div(id=ids.COHORT_EXPLORE), type="dot", delay_show=400),
        ], id=ids.COHORT_EXPLORER, hidden=True, className="cohort-section cohort-explorer"),
        dcc.Store(id=ids.COHORT_SINK),
    ])


def _outside_scope(ctx: Context, filters: Filters, search: str | None):
    """An Area lead asking for cases outside their Areas gets a refusal (and an audit entry), not a cohort."""
    user = auth.current()
    if user is not None and user.may_see_cohort(selection_areas(filters, ctx.reference())):
        return None
    name = user.username if user else "(nobody)"
    record_now(ctx.write_engine, name, "forbidden", PATH, {"query": (search or "")[:2000]})
    areas = ", ".join(ctx.reference().areas[a] for a in (user.areas if user else ()))
    return problem_box("You can open the cases behind figures only for your own Areas"
                       + (f" ({areas}). Choose one of them in the filters." if areas else "."))


def register_callbacks(app, ctx: Context) -> None:
    """Three steps, no loops: the address renders the page and sets the selects; the selects render the
    explorer; the browser then writes the chosen breakdown into the address (replaceState: no new history entry,
    so Back still leaves the page)."""
    from dashboard.callbacks import MAX_SEARCH, failure, read_filters

    def parsed(search):
        filters, _ = read_filters(ctx, search)
        return filters, parse_qs((search or "")[:MAX_SEARCH].lstrip("?"))

    @app.callback(
        Output(ids.COHORT_BREADCRUMB, "children"), Output(ids.COHORT_TITLE, "children"),
        Output(ids.COHORT_CONTENT, "children"), Output(ids.COHORT_EXPLORER, "hidden"),
        Output(ids.COHORT_BY, "value"), Output(ids.COHORT_BY_SECOND, "value"),
        Input(ids.URL, "search"), State(ids.URL, "pathname"))
    def cohort_page(search, pathname):
        if (pathname or "").rstrip("/") != PATH:
            return (no_update,) * 6
        try:
            filters, query = parsed(search)
            req = parse_request(query, ctx.reference())
            refused = _outside_scope(ctx, filters, search)
            if refused is not None:
                return navigation(ctx.reference(), filters, req), title(req), refused, True, no_update, no_update
            content, summary = render(ctx, filters, req)
            if summary is not None:
                record_now(ctx.write_engine, auth.current(OPEN_USER).username, "cohort_view", PATH,
                           {"query": (search or "")[:MAX_SEARCH]})
            return (navigation(ctx.reference(), filters, req), title(req), content, summary is None, req.by[0],
                    req.by[1] if len(req.by) > 1 else "")
        except Exception as exc:   # noqa: BLE001 - shown as a reference, logged in full
            return no_update, no_update, failure(exc), True, no_update, no_update

    @app.callback(Output(ids.COHORT_EXPLORE, "children"),
                  Input(ids.COHORT_BY, "value"), Input(ids.COHORT_BY_SECOND, "value"),
                  State(ids.URL, "search"), State(ids.URL, "pathname"), prevent_initial_call=True)
    def cohort_explore(first, second, search, pathname):
        if (pathname or "").rstrip("/") != PATH:
            return no_update
        try:
            filters, query = parsed(search)
            user = auth.current()
            if user is None or not user.may_see_cohort(selection_areas(filters, ctx.reference())):
                return None
            req = parse_request({**query, "by": [",".join(chosen_by(first, second))]}, ctx.reference())
            note = parse_request(query, ctx.reference()).note   # a bad 'by' in the address is still reported
            if req.problem:
                return None
            summary, tables = profile(ctx, filters, req)   # read by the page a moment ago: a cache hit
            if summary.cohort.message:
                return None
            return explore(ctx, filters, replace(req, note=note), summary, tables)
        except Exception as exc:   # noqa: BLE001
            return failure(exc)

    app.clientside_callback(
        """function(title, first, second) {
            if (window.location.pathname.replace(/[/]$/, '') !== '/cohort') { return window.dash_clientside.no_update; }
            const fired = window.dash_clientside.callback_context.triggered.map(t => t.prop_id);
            if (title && fired.includes('cohort-title.children')) {   // a new cohort: start at its top
                document.title = title + ' - RASSO Pilot Monitor';
                window.scrollTo(0, 0);
            }
            if (first) {
                const params = new URLSearchParams(window.location.search);
                params.set('by', second && second !== first ? first + ',' + second : first);
                const search = '?' + params.toString().replace(/%2C/g, ',');
                if (search !== window.location.search) {
                    window.history.replaceState(window.history.state, '', window.location.pathname + search);
                }
            }
            return window.dash_clientside.no_update;
        }""",
        Output(ids.COHORT_SINK, "data"), Input(ids.COHORT_TITLE, "children"), Input(ids.COHORT_BY, "value"),
        Input(ids.COHORT_BY_SECOND, "value"))

    @app.callback(Output(ids.URL, "pathname", allow_duplicate=True), Output(ids.URL, "search", allow_duplicate=True),
                  Input({"type": ids.GRAPH, "kind": ALL, "metric": ALL}, "clickData"),
                  State(ids.URL, "pathname"), State(ids.URL, "search"), prevent_initial_call=True)
    def open_cohort(_clicks, pathname, search):
        trigger, fired = dash_ctx.triggered_id, dash_ctx.triggered
        click = fired[0].get("value") if fired else None
        if not isinstance(trigger, dict) or not click:
            return no_update, no_update
        try:
            target = click_target(ctx, trigger.get("kind"), trigger.get("metric"), click, pathname, search)
        except Exception:   # noqa: BLE001 - a failed click stays on the page; the log has the cause
            log.exception("chart click could not be followed")
            return no_update, no_update
        return target or (no_update, no_update)
