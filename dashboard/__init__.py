"""The web app: create_app(settings) builds the Dash app, its pages and its Flask routes."""
from __future__ import annotations

import logging

import dash
import sqlalchemy as sa
from dash import html

from dashboard.routes import BOOTSTRAP_URL, register_routes
from dashboard.settings import Settings
from queries.db import engine_for
from queries.reference import load_reference
from queries.status import store_status

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> dash.Dash:
    settings = settings or Settings.from_env()
    engine = engine_for(settings.database_url)
    app = dash.Dash(__name__, title="RASSO Pilot Monitor", external_stylesheets=[BOOTSTRAP_URL],
                    suppress_callback_exceptions=True)
    app.index_string = app.index_string.replace("<html>", '<html lang="en-GB">')

    def layout():
        try:
            ref = load_reference(engine)
            status = store_status(engine)
        except sa.exc.SQLAlchemyError:
            log.exception("page layout: store unavailable")
            return html.Main(id="main", children=[html.H1("RASSO Pilot Monitor"),
                                                  html.P("The data store cannot be reached. Try again shortly.")])
        return html.Main(id="main", children=[
            html.H1("RASSO Pilot Monitor"),
            html.P(f"Data as at {status.data_as_at or 'no data loaded'}", id="data-as-at"),
            html.Ul([html.Li(w.name) for w in ref.workstreams], id="workstream-list"),
        ], className="container")

    app.layout = layout
    register_routes(app.server, engine)
    return app
