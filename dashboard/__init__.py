"""The web app: create_app(settings) builds the Dash app, its shell, callbacks and Flask routes."""
from __future__ import annotations

import logging

import dash

from dashboard.analysis_exports import register_analysis_export_routes
from dashboard.auth import install_auth
from dashboard.cache import init_cache
from dashboard.callbacks import register_callbacks
from dashboard.chart_bundle import chart_bundle_url, serve_chart_bundle
from dashboard.cohort_exports import register_cohort_export_routes
from dashboard.context import Context
from dashboard.exports import register_export_routes
from dashboard.layout import SERVICE, shell
from dashboard.routes import BOOTSTRAP_URL, register_routes
from dashboard.security import install_security
from dashboard.settings import ROOT, Settings
from queries.db import engine_for

log = logging.getLogger(__name__)


def callback_error(exc: Exception) -> None:
    """Any callback that fails leaves the page as it was and logs why; nothing reaches the browser."""
    log.error("callback failed: %s", exc, exc_info=exc)


def create_app(settings: Settings | None = None) -> dash.Dash:
    settings = (settings or Settings.from_env()).check()
    # Pages and exports read through `reader` (a replica when DATABASE_READ_URL is set); the audit trail, accounts
    # and sign-in use the primary, so no audit row waits on (or is lost to) a read-only server.
    writer = engine_for(settings.database_url)
    reader = engine_for(settings.database_read_url) if settings.database_read_url else writer
    ctx = Context(reader, settings, writer=writer)
    plotly_url = chart_bundle_url()   # None: dcc.Graph fetches Dash's full plotly.js itself
    app = dash.Dash(__name__, title=SERVICE, external_stylesheets=[BOOTSTRAP_URL],
                    external_scripts=[plotly_url] if plotly_url else [],
                    assets_folder=str(ROOT / "assets"), suppress_callback_exceptions=True,
                    update_title=None, serve_locally=True, on_error=callback_error)
    if plotly_url:
        serve_chart_bundle(app.server, plotly_url)
    app.index_string = app.index_string.replace("<html>", '<html lang="en-GB">')
    app.layout = lambda: shell(ctx)
    ctx.cache = init_cache(app.server, settings)   # query results by filters and data version
    install_auth(app.server, writer, settings)
    register_callbacks(app, ctx)
    register_routes(app.server, reader)
    register_export_routes(app.server, reader, settings)
    register_cohort_export_routes(app.server, reader, settings, writer=writer)
    register_analysis_export_routes(app.server, reader, settings)
    install_security(app)   # last: its CSP hashes cover every inline script the callbacks added
    return app
