"""Built-in accounts in a real browser: sign in from the form with the keyboard, see who you are, sign out.
The strict Content-Security-Policy must not break any script the pages need (no console errors)."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import axe_violations, start
from queries.users import add_user, remove_user

pytestmark = pytest.mark.browser
PASSWORD = "a long enough passphrase"


def test_sign_in_scope_banner_and_sign_out(dash_duo, seeded_sqlite):
    add_user(seeded_sqlite.engine, "wessex.lead", "area_lead", ["WES"], PASSWORD)
    try:
        url = start(dash_duo, seeded_sqlite.url, auth_mode="accounts", secret_key="browser-test-only",
                    cookie_secure=False)
        dash_duo.driver.get(url + "/workstream/victims")
        dash_duo.wait_for_element("#username", timeout=60)
        assert dash_duo.driver.current_url.endswith("/sign-in?next=/workstream/victims")
        assert axe_violations(dash_duo.driver) == []
        dash_duo.find_element("#username").send_keys("wessex.lead")
        dash_duo.find_element("#password").send_keys(PASSWORD + Keys.ENTER)
        dash_duo.wait_for_contains_text(".account-name", "wessex.lead (Area lead: WES)", timeout=60)
        assert dash_duo.driver.current_url.endswith("/workstream/victims")
        dash_duo.wait_for_element(".metric-section", timeout=60)
        assert not dash_duo.find_elements(".open-mode-banner")
        # Cases outside their Area are refused on the page itself.
        dash_duo.driver.get(url + "/cohort?metric=charge_rate&area=NEA")
        dash_duo.wait_for_contains_text("#main", "only for your own Areas", timeout=60)
        severe = [e for e in dash_duo.get_logs() if e["level"] == "SEVERE"]
        assert severe == [], severe
        dash_duo.find_element(".btn-sign-out").click()
        dash_duo.wait_for_element("#username", timeout=60)
        assert dash_duo.driver.find_element(By.TAG_NAME, "h1").text == "Sign in"
    finally:
        remove_user(seeded_sqlite.engine, "wessex.lead")
