"""Plain Flask routes beside the Dash pages: health now, exports later."""
from __future__ import annotations

import logging

from importlib.resources import files

import sqlalchemy as sa
from flask import Flask, jsonify, send_file

from queries.status import store_status

log = logging.getLogger(__name__)


# Bootstrap's CSS comes from a PyPI package and is served from our own origin: no CDN (closed networks, CSP).
BOOTSTRAP_CSS = files("flask_bootstrap") / "static" / "bootstrap5" / "css" / "bootstrap.min.css"
BOOTSTRAP_URL = "/vendor/bootstrap-5.3.min.css"


def register_routes(server: Flask, engine: sa.Engine) -> None:
    @server.get(BOOTSTRAP_URL)
    def bootstrap_css():
        return send_file(BOOTSTRAP_CSS, mimetype="text/css", max_age=86400)

    @server.get("/healthz")
    def healthz():
        try:
            status = store_status(engine)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("health check: store unreachable: %s", exc)
            return jsonify(status="error", database="unreachable", schema_version=None, data_as_at=None,
                           row_counts={}), 503
        return jsonify(status="ok", database="reachable", schema_version=status.schema_version,
                       data_as_at=status.data_as_at, last_loaded_at=status.last_loaded_at,
                       row_counts=status.row_counts)
