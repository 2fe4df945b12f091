"""With plotly.js's cartesian bundle installed, the page draws every chart from it under the strict CSP: the
overview's five charts and the cohort page's heatmap, without fetching Dash's full bundle, and no console errors."""
from __future__ import annotations

import os

import pytest
from selenium.webdriver.common.by import By

from browser import start, wait_for
from dashboard import chart_bundle

pytestmark = pytest.mark.browser

RESOURCES = "return performance.getEntriesByType('resource').map(r => new URL(r.name).pathname)"


@pytest.fixture
def app_url(dash_duo, seeded_sqlite):
    if not chart_bundle.BUNDLE.is_file():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{chart_bundle.PACKAGE} is not installed: run npm ci")
        pytest.skip(f"{chart_bundle.PACKAGE} is not installed (npm ci)")
    return start(dash_duo, seeded_sqlite.url)


def drawn_panels(dash_duo) -> int:
    return sum(1 for p in dash_duo.find_elements(".panel")
               if p.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg"))


def test_overview_and_cohort_heatmap_draw_with_the_cartesian_bundle(dash_duo, app_url):
    dash_duo.wait_for_element(".panel", timeout=60)
    wait_for(lambda: len(dash_duo.find_elements(".panel")) == 5 and drawn_panels(dash_duo) == 5,
             message="five panels, each with a drawn chart")
    assert len(dash_duo.find_elements(".panel .scatterlayer .trace")) >= 5
    paths = dash_duo.driver.execute_script(RESOURCES)
    assert any(p.startswith("/vendor/plotly-cartesian-") for p in paths)
    assert not [p for p in paths if p.endswith("plotly.min.js")], "Dash's full bundle was fetched too"

    dash_duo.driver.get(f"{app_url}/cohort?area=WES&metric=charge_rate&period=2024&by=decision,offence_group")
    wait_for(lambda: dash_duo.find_elements("#cohort-cross .heatmaplayer image"), message="heatmap drawn")
    assert not [p for p in dash_duo.driver.execute_script(RESOURCES) if p.endswith("plotly.min.js")]
    assert [e for e in dash_duo.get_logs() if e["level"] in ("SEVERE", "WARNING")] == []
