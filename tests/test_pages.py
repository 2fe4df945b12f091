"""Routing and page layouts without a browser: the registry, not-found handling, definitions content."""
from __future__ import annotations

import pytest

from dashboard.context import Context
from dashboard.pages import NotFound, definitions, overview, resolve, workstream
from dashboard.settings import Settings
from queries.filters import Filters


@pytest.mark.parametrize("path, page, groups", [
    ("/", overview, {}), ("", overview, {}), ("/definitions", definitions, {}),
    ("/workstream/victims", workstream, {"code": "victims"}), ("/workstream/victims/", workstream, {"code": "victims"}),
])
def test_resolve(path, page, groups):
    assert resolve(path) == (page, groups)


@pytest.mark.parametrize("path", ["/nope", "/workstream/", "/workstream/BAD;drop", "/definitions/x"])
def test_unknown_paths_do_not_resolve(path):
    assert resolve(path) is None


def test_unknown_workstream_is_not_found(seeded_sqlite):
    ctx = Context(seeded_sqlite.engine, Settings(database_url=seeded_sqlite.url))
    with pytest.raises(NotFound):
        workstream.layout(ctx, Filters(), code="nonexistent")


def test_definitions_page_has_an_anchor_per_metric_and_the_caveats(seeded_sqlite):
    ctx = Context(seeded_sqlite.engine, Settings(database_url=seeded_sqlite.url))
    import json

    import plotly.utils
    text = json.dumps(definitions.layout(ctx), cls=plotly.utils.PlotlyJSONEncoder)
    for code in seeded_sqlite.ref.metrics:
        assert f'"id": "{code}"' in text
    assert "not official statistics" in text and "not one cohort" in text and "[c]" in text


def test_app_serves_shell_and_assets(seeded_sqlite):
    from dashboard import create_app
    client = create_app(Settings(database_url=seeded_sqlite.url)).server.test_client()
    page = client.get("/workstream/victims?area=WES")
    assert page.status_code == 200 and b'<html lang="en-GB">' in page.data
    css = client.get("/vendor/bootstrap-5.3.min.css")
    assert css.status_code == 200 and b"Bootstrap" in css.data[:200]
    assert client.get("/assets/style.css").status_code == 200
