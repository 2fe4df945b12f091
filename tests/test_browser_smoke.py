"""The app serves in a real headless Chromium: title, data as-at and the five workstreams."""
from __future__ import annotations

import pytest

from dashboard import create_app
from dashboard.settings import Settings


@pytest.mark.browser
def test_home_page_shows_as_at_and_workstreams(dash_duo, seeded_sqlite):
    app = create_app(Settings(database_url=seeded_sqlite.url))
    dash_duo.start_server(app)
    dash_duo.wait_for_contains_text("#data-as-at", "2024-12", timeout=10)
    text = dash_duo.find_element("body").text
    for ws in seeded_sqlite.ref.workstreams:
        assert ws.name in text
    assert dash_duo.driver.find_element("tag name", "html").get_attribute("lang") == "en-GB"
    assert dash_duo.get_logs() == []
