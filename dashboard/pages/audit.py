"""Audit (/audit): the latest cohort views, exports, loads and sign-ins, for national leaders only."""
from __future__ import annotations

import json

from dash import dcc, html

from dashboard import auth
from dashboard.context import Context
from dashboard.tables import table_html
from queries.audit import entries

PATH = r"/audit"
SHOW_FILTERS = False
SHOWN = 500


def layout(ctx: Context, filters=None) -> html.Div:
    user = auth.current()
    if user is None or not user.sees_audit:
        return html.Div([html.H1("Audit trail"),
                         html.P("Only national leaders can see the audit trail.", className="notice")])
    rows = [[e.at.replace("T", " ").replace("+00:00", " UTC"), e.username, e.action.replace("_", " "), e.target,
             json.dumps(e.detail, sort_keys=True)[:300]] for e in entries(ctx.write_engine, limit=SHOWN)]
    return html.Div([
        html.H1("Audit trail"),
        html.P(f"The latest {SHOWN} recorded actions, newest first. The full trail: "
               "python -m dashboard audit --since YYYY-MM-DD.", className="lead-summary"),
        dcc.Markdown(table_html("Recorded actions", ["When", "Who", "Action", "What", "Filters"], rows),
                     dangerously_allow_html=True, className="table-scroll audit-table"),
    ])
