"""Thin callbacks: parse the URL into Filters, call a query, call a builder, return.

The URL is the single source of truth. Controls write the query string; pages read it. So a permalink restores
the view, and browser back/forward step through filter changes.
"""
from __future__ import annotations

import logging
import re
import uuid
from urllib.parse import parse_qs, urlencode

import dash
from dash import ALL, Input, Output, State, ctx as dash_ctx, html, no_update

from dashboard import auth, ids
from dashboard.context import Context
from dashboard.pages import PAGES, NotFound, resolve, workstream
from queries.filters import Filters, parse_filters
from queries.months import add_months

log = logging.getLogger(__name__)
MAX_SEARCH = 2000


def read_filters(ctx: Context, search: str | None) -> tuple[Filters, tuple[str, ...]]:
    """The filters a page shows, with the signed-in user's scope attached: no URL can widen it."""
    search = (search or "")[:MAX_SEARCH]
    filters, errors = _parsed(ctx, parse_qs(search.lstrip("?"), keep_blank_values=False))
    return with_scope(filters), errors


def with_scope(filters: Filters) -> Filters:
    user = auth.current()
    return filters.with_(scope_areas=user.cohort_scope if user else ())   # nobody signed in: no cohort rows


def _parsed(ctx: Context, query: dict) -> tuple[Filters, tuple[str, ...]]:
    parsed = parse_filters(query, ctx.reference())
    return parsed.filters, parsed.errors


def failure(exc: Exception) -> html.Div:
    """What a user sees when something breaks: a reference to the log, never a traceback."""
    ref = uuid.uuid4().hex[:8]
    log.exception("callback failed [%s]", ref, exc_info=exc)
    return html.Div([html.H2("Something went wrong", className="h4"),
                     html.P(f"The figures could not be produced. Try again, or quote reference {ref} to the "
                            "service team.")], className="error-summary", role="alert")


def register_callbacks(app: dash.Dash, ctx: Context) -> None:
    @app.callback(Output(ids.PAGE, "children"), Output(ids.FILTER_BAR, "hidden"),
                  Input(ids.URL, "pathname"), State(ids.URL, "search"))
    def route(pathname, search):
        try:
            found = resolve(pathname)
            if found:
                page, groups = found
                filters, _ = read_filters(ctx, search)
                return page.layout(ctx, filters, **groups), not page.SHOW_FILTERS
        except NotFound:
            pass
        except Exception as exc:   # noqa: BLE001 - the page must still render
            return failure(exc), True
        return html.Div([html.H1("Page not found"),
                         html.P(["There is no page at this address. ", html.A("Go to the overview", href="/"),
                                 "."])]), True

    # Each page's h1 names the browser tab too (WCAG 2.4.2).
    app.clientside_callback(
        """function(children) {
            const h1 = document.querySelector('#main h1');
            document.title = (h1 ? h1.textContent + ' - ' : '') + 'RASSO Pilot Monitor';
            return window.dash_clientside.no_update;
        }""",
        Output(ids.TITLE_SINK, "data"), Input(ids.PAGE, "children"))

    for page in PAGES:
        if hasattr(page, "register_callbacks"):
            page.register_callbacks(app, ctx)

    @app.callback(
        Output(ids.URL, "search"), Output(ids.AREA, "value"), Output(ids.FORCE, "value"),
        Output(ids.FORCE, "options"), Output(ids.PERIOD_FROM, "value"), Output(ids.PERIOD_TO, "value"),
        Output(ids.GRAIN, "value"), Output(ids.MESSAGES, "children"), Output(ids.AREA_SUMMARY, "children"),
        Output(ids.FORCE_SUMMARY, "children"),
        Input(ids.URL, "search"), Input(ids.AREA, "value"), Input(ids.FORCE, "value"),
        Input(ids.PERIOD_FROM, "value"), Input(ids.PERIOD_TO, "value"), Input(ids.GRAIN, "value"),
        Input({"type": ids.PRESET, "preset": ALL}, "n_clicks"), Input(ids.CLEAR, "n_clicks"),
        State(ids.URL, "pathname"),
    )
    def sync_filters(search, areas, forces, start, end, grain, _presets, _clear, pathname):
        ref = ctx.reference()
        trigger = dash_ctx.triggered_id
        if trigger in (None, ids.URL):
            filters, errors = read_filters(ctx, search)
            new_search = no_update
        else:
            query = {"area": areas or [], "force": forces or [], "from": start or [], "to": end or [],
                     "grain": grain or "month"}
            if isinstance(trigger, dict) and trigger.get("type") == ids.PRESET:
                query["from"], query["to"] = _preset(ctx, trigger["preset"], pathname)
            if trigger == ids.CLEAR:
                query = {}
            if trigger == ids.FORCE and forces and not areas:
                # A force chosen first brings its Area(s) with it, so the force list and charts have context.
                query["area"] = sorted({a for f in forces for a in ref.areas_of(f)})
            if trigger == ids.AREA and areas:
                query["force"] = [f for f in (forces or []) if set(ref.areas_of(f)) & set(areas)]
            filters, errors = _parsed(ctx, query)
            q = filters.to_query()
            new_search = ("?" + urlencode(q, doseq=True)) if q else ""
            if new_search == (search or ""):
                new_search = no_update
        force_codes = ref.forces_of(filters.areas) if filters.areas else sorted(ref.forces, key=ref.forces.get)
        force_options = [{"label": ref.forces[f], "value": f} for f in force_codes]
        return (new_search, list(filters.areas), list(filters.forces), force_options, filters.period_from or "",
                filters.period_to or "", filters.grain, _messages(errors),
                _chosen([ref.areas[a] for a in filters.areas], "All Areas"),
                _chosen([ref.forces[f] for f in filters.forces], "All forces"))


def _preset(ctx: Context, preset: str, pathname: str | None) -> tuple[list[str], list[str]]:
    first, last = ctx.months()
    if preset == "all":
        return [first], [last]
    if preset == "pilot":
        match = re.fullmatch(workstream.PATH, (pathname or "").rstrip("/"))   # presets use the workstream's start
        starts = [p.start_month for p in ctx.reference().pilot_sites
                  if not match or p.workstream_code == match.group(1)]
        return [max(min(starts), first) if starts else first], [last]
    return [add_months(last, -11)], [last]


def _chosen(names: list[str], none: str) -> str:
    if not names:
        return none
    return ", ".join(names) if len(names) <= 2 else f"{len(names)} chosen"


def _messages(errors: tuple[str, ...]):
    if not errors:
        return None
    return html.Div([html.H2("Some filters in the address were not used", className="h5"),
                     html.Ul([html.Li(e) for e in errors]),
                     html.P("Showing the remaining filters, or the defaults.")], className="notice")
