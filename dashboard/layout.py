"""The app shell: skip link, header, filter bar, page container, footer. Built fresh on each page load."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import auth, ids
from dashboard.context import Context
from queries.months import month_label, month_range
from queries.reference import Reference

SERVICE = "RASSO Pilot Monitor"


def shell(ctx: Context) -> html.Div:
    try:
        first, last = ctx.months()
        ref = ctx.reference()
    except Exception:   # the store is down: still render a page that says so
        first = last = None
        ref = None
    as_at = f"Data as at {month_label(last)}" if last else "No data loaded yet"
    user = auth.current()
    return html.Div([
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Store(id=ids.TITLE_SINK),
        html.A("Skip to main content", href="#main", className="skip-link"),
        html.Header(html.Div([
            html.A(SERVICE, href="/", className="service-name"),
            html.Nav(html.Ul([
                html.Li(dcc.Link("Overview", href="/", className="nav-link-item")),
                html.Li(dcc.Link("Exceptions", href="/exceptions", className="nav-link-item")),
                html.Li(dcc.Link("Definitions", href="/definitions", className="nav-link-item")),
                html.Li(dcc.Link("Audit", href="/audit", className="nav-link-item")) if user and user.sees_audit
                and ctx.settings.auth_mode != "open" else None,
            ], className="nav-list"), **{"aria-label": "Main"}),
            html.P(as_at, id=ids.DATA_AS_AT, className="as-at"),
            _account(ctx, user),
        ], className="header-inner"), className="app-header", role="banner"),
        html.Div([html.Strong("Open mode: no sign-in. "),
                  "Everyone who can reach this address sees everything, so it serves only on this computer. "
                  "Use AUTH_MODE=accounts or proxy for anyone else."], className="open-mode-banner",
                 role="note") if ctx.settings.auth_mode == "open" else None,
        html.Div([html.Strong("Management information, not official statistics. "),
                  "All figures here are synthetic test data."], className="phase-banner"),
        html.Main([
            filter_bar(ref, first, last) if ref else html.Div(id=ids.FILTER_BAR),
            html.Div(id=ids.MESSAGES, role="status", **{"aria-live": "polite"}),
            html.Div(id=ids.PAGE),
        ], id="main", tabIndex="-1", className="app-main"),
        html.Footer(html.Div([
            html.P("Figures are management information for the RASSO 2025 pilots, not official statistics. "
                   "Rape-flagged cases keep the flag even if another offence is charged. Referral, decision and "
                   "victim measures count different cases in each month: the stages are not one cohort."),
            html.P([dcc.Link("Definitions and caveats", href="/definitions"), " · ",
                    dcc.Link("Accessibility", href="/definitions#accessibility")]),
        ], className="footer-inner"), className="app-footer", role="contentinfo"),
    ])


def _account(ctx: Context, user):
    if user is None or ctx.settings.auth_mode == "open":
        return None
    signed_in = html.Span(["Signed in as ", html.Strong(auth.describe(user))], className="account-name")
    if ctx.settings.auth_mode != "accounts":
        return html.Div(signed_in, className="account")
    return html.Form([signed_in, html.Button("Sign out", type="submit", className="btn-sign-out")],
                     method="post", action="/sign-out", className="account")


def filter_bar(ref: Reference, first: str | None, last: str | None) -> html.Section:
    """Native controls only (checkboxes, selects, radios): they work with a keyboard and screen readers as-is."""
    months = [{"label": month_label(m), "value": m} for m in month_range(first, last)] if first and last else []
    area_options = [{"label": name, "value": code} for code, name in sorted(ref.areas.items(), key=lambda x: x[1])]
    force_options = [{"label": ref.forces[f], "value": f} for f in sorted(ref.forces, key=ref.forces.get)]

    def choose_many(label, control_id, summary_id, options, summary):
        return html.Details([
            html.Summary([html.Span(label, className="field-label"), " ",
                          html.Span(summary, id=summary_id, className="choice-summary")]),
            html.Fieldset([html.Legend(f"Choose {label.lower()}s", className="visually-hidden"),
                           dbc.Checklist(id=control_id, options=options, value=[], class_name="choice-list")],
                          className="choice-panel"),
        ], className="field field-wide choice")

    def select(label, control_id, placeholder):
        return html.Div([html.Label(label, htmlFor=control_id, className="field-label"),
                         dbc.Select(id=control_id, options=[{"label": placeholder, "value": ""}] + months,
                                    value="", placeholder=placeholder, class_name="form-select")],
                        className="field field-narrow")

    return html.Section([
        html.H2("Filters", className="visually-hidden"),
        html.Div([
            choose_many("CPS Area", ids.AREA, ids.AREA_SUMMARY, area_options, "All Areas"),
            choose_many("Police force", ids.FORCE, ids.FORCE_SUMMARY, force_options, "All forces"),
            select("From", ids.PERIOD_FROM, "Latest 12 months"),
            select("To", ids.PERIOD_TO, f"Latest ({month_label(last)})" if last else "Latest"),
            html.Fieldset([
                html.Legend("Show trends by", className="field-label"),
                dbc.RadioItems(id=ids.GRAIN, options=[{"label": "Month", "value": "month"},
                                                      {"label": "Quarter", "value": "quarter"}],
                               value="month", inline=True),
            ], className="field field-narrow field-grain"),
        ], className="filter-fields"),
        html.Div([
            html.Span("Period:", className="preset-label"),
            html.Button("Last 12 months", id={"type": ids.PRESET, "preset": "last12"}, className="btn-secondary-link",
                        n_clicks=0),
            html.Button("Since pilot start", id={"type": ids.PRESET, "preset": "pilot"}, n_clicks=0,
                        className="btn-secondary-link"),
            html.Button("All months", id={"type": ids.PRESET, "preset": "all"}, className="btn-secondary-link",
                        n_clicks=0),
            html.Button("Clear all filters", id=ids.CLEAR, className="btn-clear", n_clicks=0),
        ], className="filter-actions"),
    ], id=ids.FILTER_BAR, className="filter-bar", **{"aria-label": "Filters"})
