"""Who is asking: sign-in, the identity proxy, and the explicit open mode, resolved once per request.

Three modes (AUTH_MODE):
- proxy: the organisation's identity-aware proxy signs people in and passes the user name in a header. The header
  is trusted only from TRUSTED_PROXIES; the user must also have an account here, which gives the role and Areas.
- accounts: built-in accounts with passwords (scrypt hashes), a sign-in page and a session cookie.
- open: no sign-in, everyone is a national leader; only on a loopback address (Settings.check), with a banner.
Every request that is not public gets `g.user` or is refused: 401 for data and API requests, a redirect to the
sign-in page for page loads.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from urllib.parse import urlparse

import sqlalchemy as sa
from flask import Flask, Response, abort, g, redirect, render_template_string, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from dashboard.settings import Settings
from queries.audit import record_now
from queries.users import OPEN_USER, ROLE_NAMES, User, authenticate, get_user

log = logging.getLogger(__name__)
PUBLIC_PREFIXES = ("/healthz", "/sign-in", "/vendor/", "/assets/", "/_favicon.ico")


class _SessionUser(UserMixin):
    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return self.user.username


def current(default: User | None = None) -> User | None:
    """The signed-in user of this request (None outside a request or when nobody is signed in)."""
    try:
        return g.get("user", default)
    except RuntimeError:
        return default


def install_auth(server: Flask, engine: sa.Engine, settings: Settings) -> None:
    server.secret_key = settings.secret_key or secrets.token_hex(32)   # open mode: a key per process is enough
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                         SESSION_COOKIE_SECURE=settings.cookie_secure and settings.auth_mode != "open",
                         REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax")
    manager = LoginManager(server)
    manager.session_protection = "strong"

    @manager.user_loader
    def load(username: str):
        user = get_user(engine, username)
        return _SessionUser(user) if user else None

    trusted = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]

    def from_proxy() -> User | None:
        try:
            peer = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return None
        if not any(peer in net for net in trusted):
            return None
        name = request.headers.get(settings.proxy_user_header, "").strip()
        return get_user(engine, name) if name else None

    @server.before_request
    def identify():
        if request.path.startswith(PUBLIC_PREFIXES):
            return None
        if settings.auth_mode == "open":
            g.user = OPEN_USER
            return None
        user = from_proxy() if settings.auth_mode == "proxy" else (
            current_user.user if current_user.is_authenticated else None)
        if user is None:
            return _refuse(settings)
        g.user = user
        return None

    @server.after_request
    def audit_exports(response):
        """Every export that was served is accounted for: who, when, which file, with which filters."""
        if request.path.startswith("/export/") and response.status_code == 200:
            action = ("cohort_export" if request.path.startswith("/export/cohort")
                      else "metrics_export" if request.path.startswith("/export/metrics") else "analysis_export")
            user = current()
            record_now(engine, user.username if user else "(nobody)", action, request.path,
                       {"query": request.query_string.decode("utf-8", "replace")[:1800]})
        return response

    if settings.auth_mode == "accounts":
        _sign_in_routes(server, engine)


def _refuse(settings: Settings):
    wants_page = request.method == "GET" and not request.path.startswith(("/_dash", "/export"))
    if settings.auth_mode == "accounts" and wants_page:
        return redirect("/sign-in?next=" + _safe_next(request.full_path))
    return Response("sign-in required\n", status=401, mimetype="text/plain",
                    headers={"WWW-Authenticate": 'Bearer realm="RASSO Pilot Monitor"'}
                    if settings.auth_mode == "proxy" else {})


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an absolute URL an attacker could send people to after sign-in."""
    target = (target or "/").rstrip("?")
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target[:500]


SIGN_IN = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - RASSO Pilot Monitor</title>
<link rel="stylesheet" href="/vendor/bootstrap-5.3.min.css"><link rel="stylesheet" href="/assets/style.css"></head>
<body><a class="skip-link" href="#main">Skip to main content</a>
<header class="app-header" role="banner"><div class="header-inner"><span class="service-name">RASSO Pilot Monitor</span>
</div></header>
<main id="main" class="app-main" tabindex="-1"><div class="sign-in">
<h1>Sign in</h1>
{% if error %}<div class="error-summary" role="alert"><h2 class="h5">There is a problem</h2><p>{{ error }}</p></div>{% endif %}
<form method="post" action="/sign-in" novalidate>
<input type="hidden" name="csrf" value="{{ csrf }}"><input type="hidden" name="next" value="{{ next }}">
<div class="mb-3"><label class="field-label" for="username">User name</label>
<input class="form-control" id="username" name="username" autocomplete="username" required value="{{ username }}"></div>
<div class="mb-3"><label class="field-label" for="password">Password</label>
<input class="form-control" id="password" name="password" type="password" autocomplete="current-password" required></div>
<button class="btn-primary-action" type="submit">Sign in</button>
</form></div></main></body></html>"""


def _sign_in_routes(server: Flask, engine: sa.Engine) -> None:
    def page(error: str = "", username: str = "", status: int = 200):
        session.setdefault("csrf", secrets.token_urlsafe(32))
        return render_template_string(SIGN_IN, error=error, username=username[:120], csrf=session["csrf"],
                                      next=_safe_next(request.values.get("next"))), status

    @server.get("/sign-in")
    def sign_in_form():
        return page()

    @server.post("/sign-in")
    def sign_in():
        token = request.form.get("csrf", "")
        if not hmac.compare_digest(token, session.get("csrf", "")) or not token:
            abort(400)
        username = request.form.get("username", "").strip()[:120]
        user = authenticate(engine, username, request.form.get("password", "")[:1000])
        if user is None:
            record_now(engine, username or "(blank)", "sign_in_failed", "/sign-in")
            return page("The user name or password is not right.", username, 401)
        session.clear()
        login_user(_SessionUser(user))
        record_now(engine, user.username, "sign_in", "/sign-in")
        return redirect(_safe_next(request.form.get("next")))

    @server.post("/sign-out")
    def sign_out():
        logout_user()
        session.clear()
        return redirect("/sign-in")


def describe(user: User | None) -> str:
    if user is None:
        return ""
    role = ROLE_NAMES.get(user.role, user.role)
    return f"{user.username} ({role}{': ' + ', '.join(user.areas) if user.areas else ''})"
