"""Cohort page (/cohort): the anonymised cases behind one figure, and what they are made of.

Opened from a "See the cases" link or by clicking a chart point or ranked bar (open_cohort below). The address
carries the view's filters plus metric, period (optional: else the filters' from..to), by (one or two dimensions
for the explorer) and back (the exact view it was opened from). Every figure comes from queries.cohorts, already
protected; this module lays them out and says why when nothing can be shown.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Mapping
from urllib.parse import parse_qs, urlsplit

import dash_bootstrap_components as dbc
import polars as pl
from dash import ALL, Input, Output, State, ctx as dash_ctx, dcc, html, no_update

from dashboard import auth, ids
from dashboard.cache import cached
from dashboard.cohort_exports import cohort_href, parse_by
from dashboard.cohort_figures import (breakdown_figure, breakdown_rows, breakdown_words, capital, cross_figure,
                                      cross_rows, group_card, quartile_rows, reconcile)
from dashboard.context import Context, period_words
from dashboard.pages.common import chart_block, query_string
from dashboard.pages.definitions import MONTH_WORDS
from dashboard.tables import table_html
from queries.cohorts import (DIMENSIONS, CohortSummary, CohortTooSmall, cohort_period_bounds, cohort_profile,
                             cross_table)
from queries.audit import record_now
from queries.exports import shown
from queries.filters import Filters
from queries.months import is_month, quarter_of
from queries.reference import Metric, Reference
from queries.users import OPEN_USER, selection_areas

log = logging.getLogger(__name__)

PATH = r"/cohort"
SHOW_FILTERS = False
DEFAULT_BY = ("offence_group",)
PROFILE = tuple(k for k in DIMENSIONS if k != "days_to_decision")   # days to decision has its own section
MAX_BACK = 1000
NO_CASES = "Cases behind a figure"
Tables = dict[str, dict[str, pl.DataFrame]]   # dimension -> group -> protected one-way table


@dataclass(frozen=True)
class CohortRequest:
    metric: Metric | None = None
    period: str | None = None
    by: tuple[str, ...] = DEFAULT_BY
    back: str | None = None
    problem: str | None = None   # why no cohort can be shown: a bad metric or period
    note: str | None = None      # a forgiven problem (a bad 'by'), said beside the explorer


def safe_back(value, ref: Reference) -> str | None:
    """The view a cohort was opened from, if it is another page of this app (a workstream that exists); anything
    else is dropped, so a crafted link cannot send people elsewhere."""
    from dashboard.pages import resolve

    if (not isinstance(value, str) or len(value) > MAX_BACK or not value.startswith("/") or value.startswith("//")
            or any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in value)):
        return None
    parts = urlsplit(value)
    found = None if parts.scheme or parts.netloc or parts.fragment else resolve(parts.path)
    if not found or found[0].PATH == PATH:
        return None
    code = found[1].get("code")
    return value if code is None or code in {w.workstream_code for w in ref.workstreams} else None


def parse_request(query: Mapping[str, list[str]], ref: Reference) -> CohortRequest:
    """The page's own parameters; the filters are read by the shared parser. Never raises."""
    note = None
    try:
        by = parse_by(query.get("by") or list(DEFAULT_BY))
    except ValueError as exc:
        by, note = DEFAULT_BY, f"The breakdown in the address was not used ({exc})."
    back = safe_back((query.get("back") or [None])[0], ref)
    codes, periods = query.get("metric") or [], query.get("period") or []
    metric, problem = None, None
    if not codes:
        problem = "No measure was chosen. Open this page from a figure's \"See the cases\" link or a chart."
    elif len(codes) > 1:
        problem = "Choose one measure at a time."
    elif codes[0] not in ref.metrics:
        problem = f"There is no measure with the code '{shown(codes[0])}'."
    elif ref.metrics[codes[0]].source != "cases":
        problem = (f"{ref.metrics[codes[0]].name} is reported by Areas and forces as totals (aggregate returns), "
                   "so there are no case records behind it to show.")
    else:
        metric = ref.metrics[codes[0]]
    period = periods[0] if len(periods) == 1 else None
    if len(periods) > 1:
        problem = problem or "Choose one period at a time."
    elif period is not None:
        try:
            cohort_period_bounds(period)
        except ValueError:
            problem = problem or (f"The period '{shown(period)}' is not a month (like 2024-03), a quarter "
                                  "(2024-Q1) or a year (2024).")
    return CohortRequest(metric, period, by, back, problem, note)


# ---------------------------------------------------------------- navigation
def navigation(ref: Reference, filters: Filters, req: CohortRequest) -> list:
    """Breadcrumb (Overview > workstream > this page) and a Back link to the exact view it was opened from;
    without one, the overview for the same filters."""
    origin = urlsplit(req.back) if req.back else None
    q = ("?" + origin.query if origin.query else "") if origin else query_string(filters)
    crumbs = [html.Li(dcc.Link("Overview", href="/" + q))]
    names = {w.workstream_code: w.name for w in ref.workstreams}
    if req.metric:
        code = req.metric.workstream_code
        crumbs.append(html.Li(dcc.Link(names[code], href=f"/workstream/{code}{q}")))
    path = origin.path.rstrip("/") if origin else ""
    back_text = ("overview" if not path else names[path.rsplit("/", 1)[-1]] if path.startswith("/workstream/")
                 else "previous page")
    back = req.back or "/" + q
    crumbs.append(html.Li(title(req), **{"aria-current": "page"}))
    return [html.Nav(html.Ol(crumbs, className="breadcrumbs"), **{"aria-label": "Breadcrumb"}),
            html.P(dcc.Link(f"← Back to {back_text}", href=back, id=ids.COHORT_BACK, className="back-link"))]


def title(req: CohortRequest) -> str:
    return f"Cases behind: {req.metric.name}" if req.metric else NO_CASES


def period_at(x, grain: str) -> str | None:
    """The month, quarter or year a clicked trend point stands for (its x is the period's first day)."""
    m = re.match(r"\d{4}-\d{2}", x) if isinstance(x, str) else None
    if not m or not is_month(m.group(0)):
        return None
    month = m.group(0)
    return {"month": month, "quarter": quarter_of(month), "year": month[:4]}.get(grain)


def click_target(ctx: Context, kind, metric_code, click, pathname: str | None, search: str | None
                 ) -> tuple[str, str] | None:
    """Where a click on a chart leads: (pathname, search) of the cohort page, or None to stay.

    A trend point opens its period for the view's units, with no 'from' (the trend shows history before it); a
    ranked bar opens its Area or force for the whole period the ranking covers."""
    from dashboard.callbacks import read_filters
    from dashboard.pages.workstream import ranking

    ref = ctx.reference()
    metric = ref.metrics.get(metric_code) if isinstance(metric_code, str) else None
    points = click.get("points") if isinstance(click, dict) else None
    if metric is None or metric.source != "cases" or not points or not isinstance(points[0], dict):
        return None
    filters, _ = read_filters(ctx, search)
    back = (pathname or "/") + (search or "")
    if kind == "trend":
        period = period_at(points[0].get("x"), filters.grain)
        if period is None:
            return None
        target = filters.with_(period_from=None)
    elif kind == "ranked" and (window := ctx.period(filters)):
        rows, _ = ranking(ctx, filters, metric.metric_code, window)
        hit = rows.filter(pl.col("label") == str(points[0].get("y")))
        if hit.height != 1:
            return None
        force = hit["force_code"][0] if "force_code" in hit.columns else None
        target = filters.with_(areas=(hit["area_code"][0],), forces=(force,) if force else (),
                               period_from=window[0], period_to=window[1])
        period = None
    else:
        return None
    return PATH, query_string(target, metric=metric.metric_code, period=period,
                              back=back if len(back) <= MAX_BACK else None)


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
