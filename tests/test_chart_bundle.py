"""plotly.js's cartesian bundle replaces Dash's full one only when it is installed and the same major version."""
from __future__ import annotations

import re

import pytest
from plotly.offline import get_plotlyjs_version

from dashboard import chart_bundle, create_app
from dashboard.chart_bundle import bundle_version, chart_bundle_url, same_major
from dashboard.settings import Settings

SHIPPED = get_plotlyjs_version()
HEADER = "/**\n* plotly.js (cartesian - minified) v{}\n* Copyright 2012-2026, Plotly, Inc.\n*/\n(function(){{}})"


def test_bundle_version_reads_the_licence_header():
    assert bundle_version(HEADER.format("4.1.1")) == "4.1.1"
    assert bundle_version("/**\n* plotly.js v3.0.10\n*/") == "3.0.10"
    assert bundle_version("(function(){})") is None


def test_same_major_only():
    assert same_major("4.2.0", "4.1.1")
    assert not same_major("3.9.9", "4.1.1")
    assert not same_major(None, "4.1.1")


def test_url_names_the_version_and_none_when_missing_or_another_major(tmp_path):
    bundle = tmp_path / "plotly-cartesian.min.js"
    assert chart_bundle_url(bundle) is None   # not installed
    bundle.write_text(HEADER.format(SHIPPED))
    assert chart_bundle_url(bundle) == f"/vendor/plotly-cartesian-{SHIPPED}.min.js"
    other = int(SHIPPED.split(".")[0]) - 1
    bundle.write_text(HEADER.format(f"{other}.9.0"))
    assert chart_bundle_url(bundle) is None


def scripts(app) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', app.server.test_client().get("/").get_data(as_text=True))


def test_page_loads_the_installed_bundle_from_our_origin(seeded_sqlite, tmp_path, monkeypatch):
    bundle = tmp_path / "plotly-cartesian.min.js"
    bundle.write_text(HEADER.format(SHIPPED))
    monkeypatch.setattr(chart_bundle, "BUNDLE", bundle)
    app = create_app(Settings(database_url=seeded_sqlite.url))
    url = f"/vendor/plotly-cartesian-{SHIPPED}.min.js"
    srcs = scripts(app)
    assert url in srcs
    assert srcs.index(url) < next(i for i, s in enumerate(srcs) if "dash_core_components" in s)
    resp = app.server.test_client().get(url)
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert resp.get_data(as_text=True) == HEADER.format(SHIPPED)
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize("content", [None, HEADER.format("1.0.0")])
def test_without_a_usable_bundle_the_page_is_as_dash_makes_it(seeded_sqlite, tmp_path, monkeypatch, content):
    bundle = tmp_path / "plotly-cartesian.min.js"
    if content:
        bundle.write_text(content)
    monkeypatch.setattr(chart_bundle, "BUNDLE", bundle)
    app = create_app(Settings(database_url=seeded_sqlite.url))
    assert not [s for s in scripts(app) if "plotly" in s]
    served = app.server.test_client().get("/vendor/plotly-cartesian-1.0.0.min.js")   # the page, as any path
    assert served.mimetype == "text/html"
