"""What only a browser shows on the drill-down: a click on a chart point or bar opens the cases behind it, the
breakdown controls draw a cross-table, Back returns to the exact view; an axe-core scan and screenshots."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from browser import assert_accessible_at_both_widths, start, wait_for
from dashboard import ids

pytestmark = pytest.mark.browser


@pytest.fixture
def app_url(dash_duo, seeded_sqlite):
    return start(dash_duo, seeded_sqlite.url)


def click_on(dash_duo, element) -> None:
    """A real mouse click where the element is drawn (plotly takes clicks on its drag layer above the marks)."""
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    time.sleep(0.3)
    ActionChains(dash_duo.driver).move_to_element(element).click().perform()


def query(dash_duo) -> dict:
    return parse_qs(urlparse(dash_duo.driver.current_url).query)


def loaded(dash_duo) -> bool:
    return not dash_duo.find_elements("._dash-loading, .dash-spinner")


def test_click_trend_point_opens_cohort_breakdown_and_back_returns(dash_duo, app_url):
    start_url = f"{app_url}/?area=WES&grain=quarter"
    dash_duo.driver.get(start_url)
    points = f"#{ids.chart('early_advice')} .scatterlayer .trace:first-child path.point"
    wait_for(lambda: len(dash_duo.find_elements(points)) > 12, message="trend points drawn")
    index = 12
    x = dash_duo.driver.execute_script(   # the date plotly holds for that point: the period we expect
        f"return document.querySelector('#{ids.chart('early_advice')} .js-plotly-plot').data[0].x[{index}]")
    month = int(x[5:7])
    expected = f"{x[:4]}-Q{(month - 1) // 3 + 1}"
    click_on(dash_duo, dash_duo.find_elements(points)[index])

    wait_for(lambda: urlparse(dash_duo.driver.current_url).path == "/cohort", message="landed on /cohort")
    q = query(dash_duo)
    assert (q["metric"], q["period"], q["area"], q["grain"]) == (["referrals"], [expected], ["WES"], ["quarter"])
    wait_for(lambda: "cases" in dash_duo.find_element(".cohort-cards").text, message="cohort size shown")
    assert dash_duo.find_element(f"#{ids.COHORT_TITLE}").text == "Cases behind: Police referrals to CPS"
    assert "Selection" in dash_duo.find_element(".cohort-cards").text
    wait_for(lambda: len(dash_duo.find_elements("#cohort-victim_sex .js-plotly-plot")) == 1, message="breakdowns")

    Select(dash_duo.find_element(f"#{ids.COHORT_BY}")).select_by_value("decision")
    Select(dash_duo.find_element(f"#{ids.COHORT_BY_SECOND}")).select_by_value("victim_sex")
    wait_for(lambda: dash_duo.find_elements("#cohort-cross .js-plotly-plot"), message="cross-table chart")
    table = dash_duo.find_element("#cohort-cross table").get_attribute("textContent")
    assert "Female" in table and "Charged" in table and table.count("Total") >= 2
    wait_for(lambda: query(dash_duo).get("by") == ["decision,victim_sex"], message="breakdown in the address")
    assert "by=decision,victim_sex" in dash_duo.find_element(f"#{ids.COHORT_DOWNLOAD}").get_attribute("href")

    dash_duo.find_element(f"#{ids.COHORT_BACK}").send_keys(Keys.ENTER)   # the keyboard route
    wait_for(lambda: dash_duo.driver.current_url == start_url, message="back on the exact view")
    wait_for(lambda: len(dash_duo.find_elements(".panel")) == 5, message="overview drawn again")
    assert dash_duo.find_element(f"#{ids.AREA_SUMMARY}").text == "Wessex"
    assert [e for e in dash_duo.get_logs() if e["level"] == "SEVERE"] == []


def test_click_ranked_bar_opens_that_force_for_the_period(dash_duo, app_url):
    start_url = f"{app_url}/workstream/early_advice?area=WES&from=2024-01&to=2024-06"
    dash_duo.driver.get(start_url)
    bars = f"#{ids.chart('charge_rate-ranked')} .bars path"
    wait_for(lambda: dash_duo.find_elements(bars), message="ranked bars drawn")
    label = dash_duo.driver.execute_script(   # the top bar is the last point plotly holds (highest first)
        f"const d = document.querySelector('#{ids.chart('charge_rate-ranked')} .js-plotly-plot').data[0];"
        "return d.y[d.y.length - 1];")
    click_on(dash_duo, dash_duo.find_elements(bars)[-1])
    wait_for(lambda: urlparse(dash_duo.driver.current_url).path == "/cohort", message="landed on /cohort")
    q = query(dash_duo)
    assert (q["metric"], q["from"], q["to"], "period" in q) == (["charge_rate"], ["2024-01"], ["2024-06"], False)
    assert len(q["force"]) == 1
    wait_for(lambda: label.split(" (")[0] in dash_duo.find_element(".lead-summary").text, message="force named")
    dash_duo.find_element(f"#{ids.COHORT_BACK}").send_keys(Keys.ENTER)
    wait_for(lambda: dash_duo.driver.current_url == start_url, message="back on the workstream view")
    wait_for(lambda: dash_duo.find_elements(bars) and loaded(dash_duo), message="workstream drawn again")


def test_cohort_page_passes_axe_and_is_screenshotted(dash_duo, app_url):
    dash_duo.driver.get(f"{app_url}/cohort?area=WES&metric=charge_rate&period=2024&by=decision,offence_group"
                        "&back=%2F%3Farea%3DWES")
    wait_for(lambda: dash_duo.find_elements("#cohort-cross .js-plotly-plot"), message="explorer drawn")
    wait_for(lambda: loaded(dash_duo), message="loaded")
    time.sleep(1)
    assert len(dash_duo.find_elements("h1")) == 1
    assert dash_duo.driver.title == "Cases behind: Charge rate - RASSO Pilot Monitor"
    assert_accessible_at_both_widths(dash_duo.driver, "cohort")
