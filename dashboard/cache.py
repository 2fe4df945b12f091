"""Query results cached by the filters that produced them, so a view someone has already seen skips the SQL.

A page's data functions (the overview's tiles and trends; a workstream's series, rankings and effects) are cached
under a key made of: what was computed, the whole Filters value (the user's cohort scope included, so nothing
computed for one user's scope can be served to another), the disclosure threshold, the data version and the code
version.

Invalidation is the data version: the count and latest id of the `loads` table, read before computing. Every load,
from any host, adds its `loads` row in the same transaction as its data, so the moment it commits every key changes,
on every worker and every host at once; entries from before it are never read again and expire (CACHE_TIMEOUT). No
message has to reach each cache (a clear() from the loading host could not reach other hosts' file-system caches).
The code version, a digest of the app's source, does the same for a new release that shares Redis with an old one.

Two layers use it. A page's data (`cached`) is shared by whatever shows it; a callback's finished output
(`cached_output`) is what a repeat view of the same filters needs: without it a hit still rebuilt every figure and
component (110-130 ms of the overview at 1,000,000 cases; docs/performance.md).

Backends (CACHE_TYPE): filesystem, the default, shared by one host's workers (CACHE_DIR); redis, shared by every
host (CACHE_REDIS_URL); null, off. A cache that fails is bypassed for a while: never a reason for a page to fail.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import tempfile
import time
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Callable, TypeVar

import sqlalchemy as sa
from flask import Flask, g, has_request_context
from flask_caching import Cache
from sqlalchemy.engine import make_url

from dashboard.settings import ROOT, Settings, SettingsError
from queries import schema as s
from queries.filters import Filters

log = logging.getLogger(__name__)
BACKENDS = {"filesystem": "FileSystemCache", "redis": "RedisCache", "null": None}
RETRY_AFTER = 30.0          # seconds a failing cache is bypassed before it is tried again
REDIS_TIMEOUT = 0.5         # seconds: a slow or unreachable Redis must not hold a page up
FILE_ENTRIES = 2000         # the file-system cache prunes itself past this many entries
T = TypeVar("T")


class ResultCache:
    """One app's cache backend; after a failure it is bypassed for RETRY_AFTER seconds."""

    def __init__(self, backend, kind: str):
        self.backend, self.kind = backend, kind
        self._bypass_until = 0.0

    def key(self, name: str, filters: Filters, threshold: int, version: str, parts: tuple) -> str:
        what = json.dumps([code_version(), version, threshold, dataclasses.asdict(filters), list(parts)],
                          sort_keys=True, default=str)
        return f"{name}:{hashlib.sha256(what.encode()).hexdigest()[:40]}"

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        if time.monotonic() < self._bypass_until:
            return compute()
        try:
            hit = self.backend.get(key)
        except Exception as exc:   # noqa: BLE001 - any backend failure means "compute it"
            self._failed(exc)
            return compute()
        if hit is not None:
            return hit[0]
        value = compute()
        try:
            self.backend.set(key, (value,))   # wrapped, so a cached None is still a hit
        except Exception as exc:   # noqa: BLE001
            self._failed(exc)
        return value

    def _failed(self, exc: Exception) -> None:
        if time.monotonic() >= self._bypass_until:
            log.warning("result cache (%s) failed, serving uncached for %.0f s: %s", self.kind, RETRY_AFTER, exc)
        self._bypass_until = time.monotonic() + RETRY_AFTER


def init_cache(server: Flask, settings: Settings) -> ResultCache | None:
    """The app's result cache from its settings; None when CACHE_TYPE is null."""
    kind = settings.cache_type or ("redis" if settings.cache_redis_url else "filesystem")
    if kind not in BACKENDS:
        raise SettingsError(f"CACHE_TYPE must be one of {', '.join(BACKENDS)}, not {kind!r}")
    if kind == "null":
        return None
    prefix = settings.cache_key_prefix or store_prefix(settings.database_url)
    config = {"CACHE_TYPE": BACKENDS[kind], "CACHE_DEFAULT_TIMEOUT": settings.cache_timeout}
    if kind == "redis":
        if not settings.cache_redis_url:
            raise SettingsError("CACHE_REDIS_URL must be set when CACHE_TYPE is redis")
        config.update(CACHE_REDIS_URL=settings.cache_redis_url, CACHE_KEY_PREFIX=f"{prefix}:",
                      CACHE_OPTIONS={"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT})
    else:
        base = Path(settings.cache_dir) if settings.cache_dir else _own_temporary_dir(server)
        config.update(CACHE_DIR=str(base / prefix), CACHE_THRESHOLD=FILE_ENTRIES)
    cache = Cache(server, config=config)
    return ResultCache(server.extensions["cache"][cache], kind)


def cached(ctx, name: str, filters: Filters, compute: Callable[[], T], *parts) -> T:
    """compute(), or what it returned before for the same name, filters, parts, threshold and data.

    `name` says what is computed (and for which page part); `parts` are any other inputs the result depends on
    that the filters do not determine (e.g. the period resolved against the data's months).
    """
    results: ResultCache | None = getattr(ctx, "cache", None)
    if results is None:
        return compute()
    key = results.key(name, filters, ctx.threshold, request_data_version(ctx.engine), parts)
    return results.get_or_compute(key, compute)


def cached_output(ctx, name: str, filters: Filters, build: Callable[[], T], *parts) -> T:
    """build(), or the output it gave before for the same inputs (the key as `cached`).

    Kept as the JSON-ready structure Dash sends (components and figures as plain dicts), which pickles quickly
    and serialises without plotly's encoder walking component objects; the browser receives the same JSON.
    """
    if getattr(ctx, "cache", None) is None:
        return build()
    return cached(ctx, f"output/{name}", filters, lambda: json_ready(build()), *parts)


def json_ready(value):
    """What Dash would send for `value`, as plain lists, dicts and scalars."""
    from plotly.io.json import to_json_plotly
    return json.loads(to_json_plotly(value))


def data_version(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        count, last = conn.execute(sa.select(sa.func.count(), sa.func.max(s.loads.c.load_id))
                                   .select_from(s.loads)).one()
    return f"{count}.{last}"


def request_data_version(engine: sa.Engine) -> str:
    """Read once per request, before anything is computed: a load that commits later can only make a result
    newer than its key says, never older. Outside a request (the CLI, benchmarks) it is read every time."""
    if not has_request_context():
        return data_version(engine)
    versions = g.setdefault("data_versions", {})
    if id(engine) not in versions:
        versions[id(engine)] = data_version(engine)
    return versions[id(engine)]


def store_prefix(database_url: str) -> str:
    """Two stores (say staging and production) sharing a Redis or a directory never see each other's entries."""
    where = make_url(database_url).render_as_string(hide_password=True)
    return "rasso-" + hashlib.sha256(where.encode()).hexdigest()[:12]


@lru_cache(maxsize=1)
def code_version() -> str:
    digest = hashlib.sha256()
    for package in ("queries", "dashboard"):
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _own_temporary_dir(server: Flask) -> Path:
    """Settings built in code (tests, benchmarks) get a directory of their own, removed with the app."""
    path = tempfile.mkdtemp(prefix="rasso-cache-")
    weakref.finalize(server, shutil.rmtree, path, True)
    return Path(path)
