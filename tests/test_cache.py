"""The query-result cache: a hit serves exactly what a fresh computation would, a finished load changes every key,
Redis shares entries between apps (hosts), and nothing computed for one user's scope reaches another."""
from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pytest
import redis
from flask import Flask

from dashboard import create_app
from dashboard.cache import cached, init_cache, store_prefix
from dashboard.context import Context
from dashboard.pages import overview, workstream
from dashboard.settings import Settings, SettingsError
from queries.db import make_engine
from queries.filters import Filters
from queries.load import ingest_cases
from queries.reference import init_store, load_reference
from sample_data.generate import generate, write_extracts

REDIS_URL = "redis://127.0.0.1:6379/15"
OVERVIEW_OUTPUT = "..overview.children...overview-summary.children.."
WORKSTREAM_OUTPUT = "workstream-content.children"


def call(app, output: str, search: str = "", pathname: str = "/") -> str:
    """POST the callback writing `output` the way the browser does; the response body."""
    spec = app.callback_map[output]
    values = {"url.search": search, "url.pathname": pathname}

    def items(kind):
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in spec[kind]]
    parts = output.strip(".").split("...")
    outputs = [dict(zip(("id", "property"), p.split("."))) for p in parts]
    body = {"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": items("inputs"),
            "state": items("state"), "changedPropIds": ["url.search"]}
    resp = app.server.test_client().post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "Something went wrong" not in text
    return text


@pytest.fixture
def computed(monkeypatch) -> dict[str, int]:
    """How many times each page's queries really ran (a cache hit runs none)."""
    counts = {"overview": 0, "workstream": 0, "effects": 0}

    def counting(module, name, key):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            counts[key] += 1
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, wrapper)
    counting(overview, "headline_tiles", "overview")
    counting(workstream, "trend_series", "workstream")   # twice a computed page
    counting(workstream, "pilot_effects", "effects")
    return counts


@pytest.fixture
def redis_url():
    """Redis db 15 with a key prefix of this test's own, removed afterwards; started when installed but down."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        if not shutil.which("redis-server"):
            pytest.skip("Redis is not answering at 127.0.0.1:6379 and redis-server is not installed")
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
                        "--save", "", "--appendonly", "no"], check=True, capture_output=True)
        for _ in range(50):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
    prefix = f"rasso-test-{uuid.uuid4().hex[:8]}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_a_hit_serves_exactly_what_a_fresh_computation_does(seeded_sqlite, computed):
    app = create_app(Settings(database_url=seeded_sqlite.url))
    uncached = create_app(Settings(database_url=seeded_sqlite.url, cache_type="null"))
    first = call(app, OVERVIEW_OUTPUT, "?area=WES&grain=quarter")
    assert computed["overview"] == 1
    again = call(app, OVERVIEW_OUTPUT, "?area=WES&grain=quarter")
    assert computed["overview"] == 1                       # the second view ran no query
    assert again == first == call(uncached, OVERVIEW_OUTPUT, "?area=WES&grain=quarter")
    call(app, OVERVIEW_OUTPUT, "?area=NEA&grain=quarter")  # other filters: computed, not served another's
    assert computed["overview"] == 3


def test_a_repeat_view_rebuilds_no_figure_and_sends_the_same_json(seeded_sqlite, monkeypatch):
    """The finished output is cached too: a hit builds no figure and no component."""
    from dashboard.pages import common
    built = []
    real = common.trend_figure
    monkeypatch.setattr(common, "trend_figure", lambda *a, **k: built.append(1) or real(*a, **k))
    app = create_app(Settings(database_url=seeded_sqlite.url))
    first = call(app, OVERVIEW_OUTPUT, "?area=SEA")
    assert len(built) == 5                                  # one lead chart per workstream
    assert call(app, OVERVIEW_OUTPUT, "?area=SEA") == first
    assert len(built) == 5                                  # the repeat built nothing
    call(app, WORKSTREAM_OUTPUT, "?area=SEA", "/workstream/people")
    charts = len(built)
    assert call(app, WORKSTREAM_OUTPUT, "?area=SEA", "/workstream/people") == call(
        create_app(Settings(database_url=seeded_sqlite.url, cache_type="null")), WORKSTREAM_OUTPUT, "?area=SEA",
        "/workstream/people")
    assert len(built) == charts + len(seeded_sqlite.ref.metrics_of("people"))   # only the uncached app built


def test_workstream_page_is_cached_too(seeded_sqlite, computed):
    app = create_app(Settings(database_url=seeded_sqlite.url))
    uncached = create_app(Settings(database_url=seeded_sqlite.url, cache_type="null"))
    page = call(app, WORKSTREAM_OUTPUT, "?area=WMD", "/workstream/victims")
    assert call(app, WORKSTREAM_OUTPUT, "?area=WMD", "/workstream/victims") == page
    assert computed["workstream"] == 2
    assert call(uncached, WORKSTREAM_OUTPUT, "?area=WMD", "/workstream/victims") == page
    call(app, WORKSTREAM_OUTPUT, "?area=WMD", "/workstream/people")
    assert computed["workstream"] == 6


def test_pilot_effects_are_estimated_once_per_workstream_whatever_the_filters(seeded_sqlite, computed):
    """The estimates use every unit and month, so a new filter state reuses them; a new workstream does not."""
    app = create_app(Settings(database_url=seeded_sqlite.url))
    call(app, WORKSTREAM_OUTPUT, "?area=WMD", "/workstream/victims")
    other = call(app, WORKSTREAM_OUTPUT, "?area=NEA&grain=quarter", "/workstream/victims")
    assert computed["workstream"] == 4 and computed["effects"] == 1
    fresh = create_app(Settings(database_url=seeded_sqlite.url, cache_type="null"))
    assert call(fresh, WORKSTREAM_OUTPUT, "?area=NEA&grain=quarter", "/workstream/victims") == other
    call(app, WORKSTREAM_OUTPUT, "", "/workstream/people")
    assert computed["effects"] == 3   # the uncached app's, then the new workstream's


def test_cache_off_computes_every_time(seeded_sqlite, computed):
    app = create_app(Settings(database_url=seeded_sqlite.url, cache_type="null"))
    call(app, OVERVIEW_OUTPUT)
    call(app, OVERVIEW_OUTPUT)
    assert computed["overview"] == 2


def test_a_finished_load_changes_the_key_and_the_numbers(tmp_path, computed):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = make_engine(url)
    init_store(engine)
    ref = load_reference(engine)

    def load(seed: int) -> None:
        cases, _ = generate(ref, 3000, seed, "2023-01", "2024-12")
        folder = tmp_path / f"extract-{seed}"
        folder.mkdir()
        ingest_cases(engine, write_extracts(cases, _, folder)[0], reference=ref, max_month="2024-12")

    load(1)
    app = create_app(Settings(database_url=url, cache_dir=str(tmp_path / "cache")))
    before = call(app, OVERVIEW_OUTPUT)
    assert call(app, OVERVIEW_OUTPUT) == before and computed["overview"] == 1
    load(2)                                                 # replaces every month with other cases
    after = call(app, OVERVIEW_OUTPUT)
    assert computed["overview"] == 2                        # the new data version missed the cache
    assert after != before
    assert after == call(create_app(Settings(database_url=url, cache_type="null")), OVERVIEW_OUTPUT)
    engine.dispose()


def test_redis_is_shared_between_apps_as_between_hosts(seeded_sqlite, computed, redis_url):
    environ = {"DATABASE_URL": seeded_sqlite.url, "CACHE_REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": redis_url}

    def host():
        return create_app(Settings.from_env(environ))
    one, two = host(), host()
    page = call(one, OVERVIEW_OUTPUT, "?area=SEA")
    assert computed["overview"] == 1
    assert call(two, OVERVIEW_OUTPUT, "?area=SEA") == page  # the other host read the first host's entry
    assert computed["overview"] == 1
    keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_url}:*"))
    assert sorted(k.decode().split(":")[1] for k in keys) == ["output/overview", "overview"]   # data and output


def test_an_unreachable_redis_never_fails_a_page(seeded_sqlite, computed, caplog):
    app = create_app(Settings(database_url=seeded_sqlite.url,
                              cache_redis_url=f"redis://127.0.0.1:{_closed_port()}/0"))
    uncached = create_app(Settings(database_url=seeded_sqlite.url, cache_type="null"))
    assert call(app, OVERVIEW_OUTPUT, "?area=LNO") == call(uncached, OVERVIEW_OUTPUT, "?area=LNO")
    assert "result cache (redis) failed" in caplog.text


def test_nothing_computed_for_one_scope_is_served_to_another(seeded_sqlite, tmp_path):
    """Cohort data depends on the user's Areas: the scope is part of every key."""
    server = Flask("scope-test")
    settings = Settings(database_url=seeded_sqlite.url, cache_dir=str(tmp_path))
    ctx = Context(seeded_sqlite.engine, settings)
    ctx.cache = init_cache(server, settings)
    chosen = Filters(areas=("WES",), period_from="2024-01", period_to="2024-12")
    with server.test_request_context():
        lead = cached(ctx, "cohort", chosen.with_(scope_areas=("WES",)), lambda: "cases in WES")
        national = cached(ctx, "cohort", chosen.with_(scope_areas=None), lambda: "cases everywhere")
        other_lead = cached(ctx, "cohort", chosen.with_(scope_areas=("NEA",)), lambda: "nothing")
        lead_again = cached(ctx, "cohort", chosen.with_(scope_areas=("WES",)), lambda: "recomputed")
    assert (lead, national, other_lead, lead_again) == ("cases in WES", "cases everywhere", "nothing",
                                                        "cases in WES")


def test_settings_choose_the_backend():
    env = {"CACHE_REDIS_URL": REDIS_URL}
    assert Settings.from_env(env).cache_redis_url == REDIS_URL
    assert Settings.from_env({}).cache_dir.endswith("var/cache")
    assert Settings.from_env({"CACHE_TYPE": "null"}).cache_type == "null"
    server = Flask("settings-test")
    assert init_cache(server, Settings(cache_type="null")) is None
    assert init_cache(server, Settings(cache_redis_url=REDIS_URL)).kind == "redis"
    with pytest.raises(SettingsError, match="CACHE_TYPE"):
        init_cache(server, Settings(cache_type="memcached"))
    with pytest.raises(SettingsError, match="CACHE_REDIS_URL"):
        init_cache(server, Settings(cache_type="redis"))


def test_stores_get_their_own_keys_and_passwords_stay_out():
    a = store_prefix("postgresql+psycopg://dash:secret@db1.example.org/rasso")
    assert a == store_prefix("postgresql+psycopg://dash:other@db1.example.org/rasso")
    assert a != store_prefix("postgresql+psycopg://dash:secret@db1.example.org/rasso_staging")


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
