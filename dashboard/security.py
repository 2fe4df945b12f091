"""Hardening applied to every response and every Dash callback request.

Content-Security-Policy, allowing only what the app uses:
- script-src 'self' plus the hashes Dash computes for its own inline scripts (the renderer start-up and any
  clientside callbacks), so no other inline script can run. Plotly.js needs no eval for the 2-D charts used here.
- style-src 'self' 'unsafe-inline': React and Plotly set style attributes on elements; styles cannot run code.
- img-src 'self' data: (Plotly's icons and downloaded images are data: URLs); connect-src 'self' (callbacks);
  font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none' (no framing).
Other headers: X-Content-Type-Options nosniff, Referrer-Policy same-origin, HSTS when the request came over TLS.

Errors: anything that escapes a route is logged with a reference the user sees; no traceback reaches the browser.
A Dash callback request whose body is not the shape Dash sends is answered 400 before Dash reads it.
"""
from __future__ import annotations

import logging
import uuid

import dash
from flask import Response, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
MAX_CALLBACK_BODY = 256 * 1024


def content_security_policy(app: dash.Dash) -> str:
    scripts = " ".join(["'self'", *app.csp_hashes()])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def install_security(app: dash.Dash) -> None:
    """Call after every callback is registered: the CSP hashes cover clientside callbacks too."""
    server = app.server
    policy = content_security_policy(app)
    server.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024

    @server.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    callbacks = app.callback_map

    @server.before_request
    def check_callback_body():
        if request.path != "/_dash-update-component" or request.method != "POST":
            return None
        if (request.content_length or 0) > MAX_CALLBACK_BODY:
            return _plain(413, "request too large")
        body = request.get_json(silent=True)
        if not _looks_like_dash(body, callbacks):
            return _plain(400, "bad callback request")
        return None

    @server.errorhandler(Exception)
    def unexpected(exc):
        if isinstance(exc, HTTPException):
            return _plain(exc.code or 500, exc.description.split(".")[0].lower() if exc.description else exc.name)
        ref = uuid.uuid4().hex[:8]
        log.exception("unhandled error [%s] %s %s", ref, request.method, request.path)
        return _plain(500, f"internal error, reference {ref}")


def _looks_like_dash(body, callbacks) -> bool:
    if not isinstance(body, dict):
        return False
    if not isinstance(body.get("output"), str) or "callback" not in callbacks.get(body["output"], {}):
        return False   # unknown, or a clientside callback, which the server never runs
    for key in ("inputs", "changedPropIds"):
        if not isinstance(body.get(key), list):
            return False
    if len(body["inputs"]) != len(callbacks[body["output"]]["inputs"]):
        return False
    if "state" in body and not isinstance(body["state"], list):
        return False
    for item in body["inputs"] + body.get("state", []):
        entries = item if isinstance(item, list) else [item]   # pattern-matching ALL inputs arrive as lists
        if not all(isinstance(e, dict) and "id" in e and isinstance(e.get("property"), str) for e in entries):
            return False
    return True


def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")
