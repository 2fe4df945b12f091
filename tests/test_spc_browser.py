"""What only a browser shows for SPC: icon words on the tiles, the SPC page with its table alternative and CSV link,
the exceptions page's links, axe scans and screenshots at 1440 px and 390 px."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import assert_accessible_at_both_widths, start, wait_for
from dashboard import ids
from queries.assurance import metric_spc
from queries.exceptions import exceptions
from queries.filters import Filters

pytestmark = pytest.mark.browser
LAST = "2024-12"


@pytest.fixture
def app_url(dash_duo, seeded_sqlite):
    return start(dash_duo, seeded_sqlite.url)


def loaded(dash_duo):
    wait_for(lambda: not dash_duo.find_elements("._dash-loading, .dash-spinner"), message="loaded")


def test_tiles_show_variation_words_and_link_to_the_spc_chart(dash_duo, app_url, seeded_sqlite):
    dash_duo.driver.get(f"{app_url}/?area=WES")
    dash_duo.wait_for_element(f"#{ids.tile('early_advice_rate')} .spc-status", timeout=60)
    expected = metric_spc(seeded_sqlite.engine, Filters(areas=("WES",)), "early_advice_rate", seeded_sqlite.ref, LAST)
    tile = dash_duo.find_element(f"#{ids.tile('early_advice_rate')}")
    words = [e.text for e in tile.find_elements(By.CSS_SELECTOR, ".spc-status")]
    assert words[0].lower().endswith(expected.variation)
    if expected.assurance:
        assert words[1].lower().endswith(expected.assurance)
    icon = tile.find_element(By.CSS_SELECTOR, ".spc-icon")
    assert icon.get_attribute("aria-hidden") == "true"
    link = tile.find_element(By.CSS_SELECTOR, "a.spc-link")
    link.send_keys(Keys.ENTER)
    wait_for(lambda: urlparse(dash_duo.driver.current_url).path == "/spc/early_advice_rate", message="SPC page")
    assert parse_qs(urlparse(dash_duo.driver.current_url).query)["area"] == ["WES"]
    dash_duo.wait_for_element(f"#{ids.chart('spc')} .js-plotly-plot", timeout=60)
    assert dash_duo.find_element("h1").text == "Referrals with early advice: statistical process control"


def test_spc_page_has_icons_chart_table_alternative_and_csv_link(dash_duo, app_url, seeded_sqlite):
    dash_duo.driver.get(f"{app_url}/spc/early_advice_rate")
    dash_duo.wait_for_element(f"#{ids.chart('spc')} .js-plotly-plot", timeout=60)
    loaded(dash_duo)
    spc = metric_spc(seeded_sqlite.engine, Filters(), "early_advice_rate", seeded_sqlite.ref, LAST)
    icons = dash_duo.find_element("#spc-icons").text.lower()
    assert spc.variation in icons and spc.assurance in icons
    caption = dash_duo.find_element(f"#{ids.chart('spc')} figcaption").text
    assert "Limits recalculated from the pilot start" in caption
    summary = dash_duo.find_element(f"#{ids.chart('spc')} summary")
    table = dash_duo.find_element(f"#{ids.table('spc')} table")
    assert not table.is_displayed()
    summary.send_keys(Keys.ENTER)
    wait_for(table.is_displayed, message="table shown")
    assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == spc.table.height
    href = dash_duo.find_element("a[href^='/export/spc.csv']").get_attribute("href")
    assert parse_qs(urlparse(href).query)["metric"] == ["early_advice_rate"]
    # Only this page's own errors: other pages' callbacks are tested with those pages.
    severe = [e["message"] for e in dash_duo.get_logs() if e["level"] == "SEVERE"]
    assert [m for m in severe if "spc" in m or "Callback error" in m] == [], severe


def test_exceptions_page_lists_items_linking_to_spc_and_cohort(dash_duo, app_url, seeded_sqlite):
    items = exceptions(seeded_sqlite.engine, Filters(), seeded_sqlite.ref, LAST)
    dash_duo.driver.get(f"{app_url}/")
    dash_duo.wait_for_element(".panel", timeout=60)
    dash_duo.driver.find_element(By.LINK_TEXT, "Exceptions").send_keys(Keys.ENTER)
    dash_duo.wait_for_element(f"#{ids.EXCEPTIONS_TABLE}", timeout=60)
    rows = dash_duo.find_elements(f"#{ids.EXCEPTIONS_TABLE} tbody tr")
    assert len(rows) == len(items)
    first = items[0]
    assert rows[0].get_attribute("id") == f"exception-{first.area_code}-{first.metric.metric_code}"
    spc_href = rows[0].find_element(By.CSS_SELECTOR, "a.spc-link").get_attribute("href")
    assert urlparse(spc_href).path == f"/spc/{first.metric.metric_code}"
    assert parse_qs(urlparse(spc_href).query)["area"] == [first.area_code]
    case_item = next(i for i, it in enumerate(items) if it.metric.source == "cases")
    cohort = rows[case_item].find_element(By.CSS_SELECTOR, "a.cohort-link").get_attribute("href")
    assert urlparse(cohort).path == "/cohort"
    assert parse_qs(urlparse(cohort).query)["metric"] == [items[case_item].metric.metric_code]


@pytest.mark.parametrize("path, name", [("/spc/victim_letters_on_time_rate?area=SWE", "spc"),
                                        ("/exceptions", "exceptions")])
def test_spc_and_exceptions_pages_pass_axe_and_are_screenshotted(dash_duo, app_url, path, name):
    dash_duo.driver.get(app_url + path)
    dash_duo.wait_for_element("h1", timeout=60)
    dash_duo.wait_for_element(f"#{ids.SPC_CONTENT if name == 'spc' else ids.EXCEPTIONS_CONTENT} *", timeout=60)
    loaded(dash_duo)
    time.sleep(1)
    assert len(dash_duo.find_elements("h1")) == 1
    assert_accessible_at_both_widths(dash_duo.driver, name)
