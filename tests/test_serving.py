"""Production serving: the gunicorn config, `make serve` (gunicorn with that config) on a real port, and surviving a
PostgreSQL restart without restarting the app (the engine's pre-ping replaces connections the server dropped)."""
from __future__ import annotations

import json
import os
import re
import runpy
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import pytest
import sqlalchemy as sa
from gunicorn.config import Config

from dashboard import ids
from browser import free_port

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "gunicorn.conf.py"
OVERVIEW = {"output": f"..{ids.OVERVIEW}.children...{ids.OVERVIEW_SUMMARY}.children..",
            "outputs": [{"id": ids.OVERVIEW, "property": "children"},
                        {"id": ids.OVERVIEW_SUMMARY, "property": "children"}],
            "inputs": [{"id": ids.URL, "property": "search", "value": "?grain=quarter"}], "changedPropIds": []}


def load_config(monkeypatch, **env) -> dict:
    for key in ("WEB_CONCURRENCY", "HOST", "PORT", "TRUSTED_PROXIES", "GUNICORN_THREADS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(CONFIG))


def test_config_sizes_workers_from_cores(monkeypatch):
    conf = load_config(monkeypatch)
    count = conf["worker_count"]
    assert [count(1, {}), count(2, {}), count(4, {})] == [3, 5, 9]
    assert count(64, {}) == conf["MAX_WORKERS"]
    assert count(64, {"WEB_CONCURRENCY": "3"}) == 3
    assert conf["workers"] == count(os.cpu_count(), {})
    assert conf["preload_app"] is False and conf["threads"] >= 2


def test_config_binds_from_the_environment_and_every_name_is_a_gunicorn_setting(monkeypatch):
    conf = load_config(monkeypatch, HOST="0.0.0.0", PORT="9000", TRUSTED_PROXIES="10.1.0.0/16,127.0.0.1")
    assert conf["bind"] == "0.0.0.0:9000"
    cfg = Config()
    settings = {k: v for k, v in conf.items() if not k.startswith("_") and k.islower() and k != "worker_count"
                and not callable(v) and not isinstance(v, type(os))}
    unknown = set(settings) - set(cfg.settings)
    assert not unknown, f"gunicorn would silently ignore {unknown}"
    for key, value in settings.items():
        if value is not None:
            cfg.set(key, value)                     # gunicorn's own validation of each value
    assert cfg.forwarded_allow_ips == ["10.1.0.0/16", "127.0.0.1"]
    assert "%(M)s" in conf["access_log_format"]       # request time in the access log


@contextmanager
def gunicorn(tmp_path: Path, database_url: str, *extra: str, **env):
    """`make serve` on a free loopback port: gunicorn with the checked-in config and app:server."""
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    environ = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "DATABASE_URL": database_url,
               "WEB_CONCURRENCY": "2", "CACHE_DIR": str(tmp_path / "cache"), **env}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(CONFIG), *extra, "app:server"],
                                cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        yield proc, base, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until_up(proc, base: str, log: Path, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if get(base + "/healthz")[0] == 200:
                return
        except (URLError, ConnectionError):
            pass
        time.sleep(0.3)
    pytest.fail(f"gunicorn did not answer /healthz in {timeout} s:\n{log.read_text()[-3000:]}")


def get(url: str) -> tuple[int, str]:
    try:
        with urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except HTTPError as err:
        return err.code, err.read().decode()


def overview(base: str) -> tuple[int, str]:
    req = Request(base + "/_dash-update-component", data=json.dumps(OVERVIEW).encode(),
                  headers={"Content-Type": "application/json"})
    try:
        with urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture
def seeded_copy(seeded_sqlite, tmp_path) -> str:
    """The seeded store, copied: gunicorn's workers get a file of their own and the session's shared store is only
    ever opened by the test process (when they shared it, a later browser test's new connections to it failed with
    SQLite's "disk I/O error")."""
    import sqlite3
    source = sqlite3.connect(sa.engine.make_url(seeded_sqlite.url).database)
    target = sqlite3.connect(tmp_path / "seeded-copy.sqlite")
    source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{tmp_path / 'seeded-copy.sqlite'}"


def test_make_serve_runs_gunicorn_with_an_access_log(seeded_copy, tmp_path):
    with gunicorn(tmp_path, seeded_copy) as (proc, base, log):
        wait_until_up(proc, base, log)
        status, body = overview(base)
        assert status == 200 and "England and Wales" in body and "Something went wrong" not in body
        assert get(base + "/")[0] == 200
    text = log.read_text()
    assert re.search(r"Booting worker with pid", text)
    assert re.search(r'"GET /healthz HTTP/1\.1" 200 \d+ \d+ms', text), text[-2000:]
    assert re.search(r'"POST /_dash-update-component HTTP/1\.1" 200 \d+ \d+ms', text)


def test_make_serve_refuses_open_mode_on_a_network_address(seeded_copy, tmp_path):
    # The app reads HOST; the socket itself stays on loopback (--bind overrides the config's bind).
    bind = f"127.0.0.1:{free_port()}"
    with gunicorn(tmp_path, seeded_copy, "--bind", bind, HOST="0.0.0.0", AUTH_MODE="open") as (proc, _, log):
        assert proc.wait(timeout=120) != 0
    assert "open mode (no sign-in) serves only on a loopback address" in log.read_text()


@pytest.mark.postgres
def test_a_postgresql_restart_is_survived_without_restarting_the_app(pg_database, tmp_path):
    """Terminating the app's server-side connections is what a database restart or failover does to a pool."""
    from queries.db import make_engine
    from queries.load import ingest_cases
    from queries.reference import init_store, load_reference
    from sample_data.generate import generate, write_extracts

    url = pg_database("serving")
    engine = make_engine(url)
    init_store(engine)
    ref = load_reference(engine)
    cases, returns = generate(ref, 3000, 5, "2023-01", "2024-12")
    ingest_cases(engine, write_extracts(cases, returns, tmp_path)[0], reference=ref, max_month="2024-12")
    engine.dispose()

    # One worker, so the connections killed below are the ones the next requests would reuse.
    with gunicorn(tmp_path, url, WEB_CONCURRENCY="1", CACHE_TYPE="null") as (proc, base, log):
        wait_until_up(proc, base, log)
        assert overview(base)[0] == 200
        admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            killed = conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalars().all()
        admin.dispose()
        assert killed and all(killed)                  # the app had pooled connections, and they are gone
        status, body = get(base + "/healthz")
        assert status == 200 and json.loads(body)["database"] == "reachable"
        status, body = overview(base)
        assert status == 200 and "Something went wrong" not in body and "England and Wales" in body
        assert proc.poll() is None                     # the same server, never restarted
