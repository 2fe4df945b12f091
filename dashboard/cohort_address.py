"""The cohort page's address: what it asks for, where its Back link leads, and where a chart click goes.

The address carries the view's filters plus metric, period (optional: else the filters' from..to), by (one or two
dimensions for the explorer) and back (the exact view it was opened from). Everything here is read from request
input, so it is checked here: a bad value becomes a problem said on the page, never an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

import polars as pl
from dash import dcc, html

from dashboard import ids
from dashboard.cohort_exports import parse_by
from dashboard.context import Context
from dashboard.pages.common import query_string
from queries.cohorts import cohort_period_bounds
from queries.exports import shown
from queries.filters import Filters
from queries.months import is_month, quarter_of
from queries.reference import Metric, Reference

PATH = r"/cohort"
DEFAULT_BY = ("offence_group",)
MAX_BACK = 1000
NO_CASES = "Cases behind a figure"


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
