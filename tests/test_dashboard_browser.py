"""What only a browser shows: the overview's panels, filters in the URL, back/forward, table alternatives and an
axe-core accessibility scan of every page, with screenshots at 1440 px and 390 px."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import assert_accessible_at_both_widths, start, wait_for
from dashboard import ids

pytestmark = pytest.mark.browser


@pytest.fixture
def app_url(dash_duo, seeded_sqlite):
    return start(dash_duo, seeded_sqlite.url)


def query(dash_duo) -> dict:
    return parse_qs(urlparse(dash_duo.driver.current_url).query)


def table_text(dash_duo, chart_id: str) -> str:
    return dash_duo.find_element(f"#{chart_id} table").get_attribute("textContent")


def choose(dash_duo, control_id: str, label: str) -> None:
    """Open a filter's checkbox list from the keyboard and tick one option."""
    details = dash_duo.find_element(f"#{control_id}").find_element(By.XPATH, "ancestor::details")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").send_keys(Keys.ENTER)
    box = dash_duo.driver.find_element(
        By.XPATH, f"//*[@id='{control_id}']//label[normalize-space()='{label}']/preceding-sibling::input")
    box.send_keys(Keys.SPACE)


def test_overview_five_panels_area_filter_narrows_forces_and_changes_charts(dash_duo, app_url):
    dash_duo.wait_for_element(".panel", timeout=60)
    wait_for(lambda: len(dash_duo.find_elements(".panel")) == 5, message="five workstream panels")
    assert dash_duo.find_element(f"#{ids.DATA_AS_AT}").text == "Data as at Dec 2024"
    assert dash_duo.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en-GB"
    assert "Pilot sites" in table_text(dash_duo, ids.chart("early_advice"))
    before = table_text(dash_duo, ids.chart("victims"))

    choose(dash_duo, ids.AREA, "Wessex")
    wait_for(lambda: query(dash_duo).get("area") == ["WES"], message="area in the URL")
    assert dash_duo.find_element(f"#{ids.AREA_SUMMARY}").text == "Wessex"
    wait_for(lambda: "Selection" in table_text(dash_duo, ids.chart("victims")), message="chart shows selection")
    assert table_text(dash_duo, ids.chart("victims")) != before
    # The force options narrow to Wessex's three forces.
    wait_for(lambda: len(dash_duo.find_elements(f"#{ids.FORCE} input")) == 3, message="three force options")
    assert sorted(e.get_attribute("textContent") for e in dash_duo.find_elements(f"#{ids.FORCE} label")) == [
        "Dorset", "Hampshire", "Wiltshire"]

    dash_duo.driver.back()
    wait_for(lambda: "area" not in query(dash_duo), message="back removes the filter")
    wait_for(lambda: "Pilot sites" in table_text(dash_duo, ids.chart("victims")), message="back restores charts")
    dash_duo.driver.forward()
    wait_for(lambda: "Selection" in table_text(dash_duo, ids.chart("victims")), message="forward re-applies")
    assert [e for e in dash_duo.get_logs() if e["level"] == "SEVERE"] == []


def test_permalink_restores_state_and_table_alternative_opens(dash_duo, app_url):
    dash_duo.driver.get(f"{app_url}/?area=SWE&force=E23000036&from=2023-01&to=2023-12&grain=quarter")
    dash_duo.wait_for_element(".panel", timeout=60)
    wait_for(lambda: dash_duo.find_element(f"#{ids.FORCE_SUMMARY}").text == "Avon and Somerset",
             message="force restored")
    assert dash_duo.find_element(f"#{ids.AREA_SUMMARY}").text == "South West"
    assert dash_duo.find_element(f"#{ids.GRAIN} input[value=quarter]").is_selected()
    assert dash_duo.find_element(f"#{ids.PERIOD_FROM}").get_attribute("value") == "2023-01"
    assert "Jan 2023 to Dec 2023" in dash_duo.find_element(f"#{ids.OVERVIEW_SUMMARY}").text
    summary = dash_duo.find_element(f"#{ids.panel('early_advice')} summary")
    table = dash_duo.find_element(f"#{ids.panel('early_advice')} table")
    assert not table.is_displayed()
    summary.send_keys(Keys.ENTER)   # keyboard, not just a mouse
    wait_for(table.is_displayed, message="table shown")
    assert "2023 Q4" in table.text and "Selection" in table.text


def test_bad_url_values_give_a_message_and_defaults(dash_duo, app_url):
    dash_duo.driver.get(f"{app_url}/?area=NOPE&from=2024-13&grain=fortnight")
    dash_duo.wait_for_contains_text(f"#{ids.MESSAGES}", "Unknown CPS Area 'NOPE'", timeout=60)
    text = dash_duo.find_element(f"#{ids.MESSAGES}").text
    assert "'from' must be a month" in text and "Unknown grain 'fortnight'" in text
    wait_for(lambda: len(dash_duo.find_elements(".panel")) == 5, message="page still renders")


@pytest.mark.parametrize("path, name", [("/", "overview"), ("/workstream/nfa_scrutiny?area=WMD", "workstream"),
                                        ("/definitions", "definitions")])
def test_pages_pass_axe_and_are_screenshotted(dash_duo, app_url, path, name):
    dash_duo.driver.get(app_url + path)
    dash_duo.wait_for_element("h1", timeout=60)
    wait_for(lambda: not dash_duo.find_elements("._dash-loading, .dash-spinner"), message="loaded")
    time.sleep(1)
    assert len(dash_duo.find_elements("h1")) == 1
    assert_accessible_at_both_widths(dash_duo.driver, name)
