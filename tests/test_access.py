"""Who may see what: every role against pages, callbacks and export routes, through the identity proxy and
built-in accounts; and the open mode's limits. Flask test client, no browser."""
from __future__ import annotations

import re

import pytest

from dashboard import create_app
from dashboard.settings import Settings, SettingsError
from queries.audit import entries
from queries.users import add_user, remove_user

PASSWORD = "a long enough passphrase"
HEADER = "X-Forwarded-User"
USERS = {"chief": ("national", ()), "lead": ("area_lead", ("WES",)), "analyst": ("analyst", ())}


@pytest.fixture(scope="module")
def proxy_app(seeded_sqlite):
    for name, (role, areas) in USERS.items():
        add_user(seeded_sqlite.engine, name, role, areas)
    app = create_app(Settings(database_url=seeded_sqlite.url, auth_mode="proxy", secret_key="test-only",
                              trusted_proxies=("127.0.0.1/32",)))
    yield app
    for name in USERS:
        remove_user(seeded_sqlite.engine, name)


def get(app, path, user=None, addr="127.0.0.1"):
    headers = {HEADER: user} if user else {}
    return app.server.test_client().get(path, headers=headers, environ_base={"REMOTE_ADDR": addr})


def callback(app, output_part: str, inputs: dict, user=None, addr="127.0.0.1"):
    """POST a Dash callback the way the browser does, with input/state values keyed 'id.property'."""
    key = next(k for k in app.callback_map if output_part in k)
    spec = app.callback_map[key]
    def items(kind):
        return [{"id": i["id"], "property": i["property"], "value": inputs.get(f"{i['id']}.{i['property']}")}
                for i in spec[kind]]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]}
               for o in key.strip(".").split("...")]
    body = {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": items("inputs"),
            "state": items("state"), "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"]}
    headers = {HEADER: user} if user else {}
    return app.server.test_client().post("/_dash-update-component", json=body, headers=headers,
                                         environ_base={"REMOTE_ADDR": addr})


COHORT_NEA = "/export/cohort.csv?metric=charge_rate&by=offence_group&area=NEA"
COHORT_WES = "/export/cohort.csv?metric=charge_rate&by=offence_group&area=WES"


@pytest.mark.parametrize("user, path, status", [
    (None, "/", 401), (None, "/export/metrics.csv?grain=year", 401), (None, "/_dash-layout", 401),
    ("stranger", "/", 401),
    *[(u, "/", 200) for u in USERS], *[(u, "/export/metrics.csv?grain=year", 200) for u in USERS],
    *[(u, "/export/spc.csv?metric=charge_rate", 200) for u in USERS],
    ("chief", COHORT_NEA, 200), ("analyst", COHORT_NEA, 200), ("lead", COHORT_NEA, 403),
    ("lead", COHORT_WES, 200), ("lead", "/export/cohort.csv?metric=charge_rate&by=offence_group", 403),
    ("lead", "/export/cohort.csv?metric=charge_rate&by=offence_group&force=E23000030", 200),
    (None, "/healthz", 200),
])
def test_route_matrix(proxy_app, user, path, status):
    assert get(proxy_app, path, user).status_code == status


def test_header_from_an_untrusted_address_is_ignored(proxy_app):
    assert get(proxy_app, "/", "chief", addr="10.9.9.9").status_code == 401


def test_cohort_callback_refuses_other_areas_for_an_area_lead(proxy_app):
    search = "?metric=charge_rate&area=NEA"
    lead = callback(proxy_app, "cohort-content", {"url.search": search, "url.pathname": "/cohort"}, user="lead")
    assert lead.status_code == 200 and "only for your own Areas" in lead.get_data(as_text=True)
    chief = callback(proxy_app, "cohort-content", {"url.search": search, "url.pathname": "/cohort"}, user="chief")
    assert "only for your own Areas" not in chief.get_data(as_text=True)
    assert "North East" in chief.get_data(as_text=True)


def test_forged_callback_cannot_widen_the_scope(proxy_app, seeded_sqlite):
    """A crafted explorer request for another Area's cases gets nothing back."""
    search = "?metric=charge_rate&area=NEA&by=offence_group"
    forged = callback(proxy_app, "cohort-explore", {"url.search": search, "url.pathname": "/cohort",
                                                    "cohort-by.value": "offence_group"}, user="lead")
    allowed = callback(proxy_app, "cohort-explore", {"url.search": search, "url.pathname": "/cohort",
                                                     "cohort-by.value": "offence_group"}, user="chief")
    assert "Total" in allowed.get_data(as_text=True)          # the same request does return cases for a national leader
    assert forged.status_code in (200, 204) and "Total" not in forged.get_data(as_text=True)


def test_audit_page_only_for_national_leaders(proxy_app):
    for user, allowed in (("chief", True), ("lead", False), ("analyst", False)):
        page = callback(proxy_app, "page.children", {"url.pathname": "/audit"}, user=user).get_data(as_text=True)
        assert ("Recorded actions" in page) is allowed
        assert ("Only national leaders" in page) is not allowed


def test_exports_and_refusals_are_audited(proxy_app, seeded_sqlite):
    before = len(entries(seeded_sqlite.engine, limit=100000))
    get(proxy_app, COHORT_WES, "lead")
    get(proxy_app, COHORT_NEA, "lead")
    get(proxy_app, "/export/metrics.csv?grain=year&area=WES", "chief")
    new = entries(seeded_sqlite.engine, limit=100000)[: len(entries(seeded_sqlite.engine, limit=100000)) - before]
    got = [(e.username, e.action, e.target) for e in reversed(new)]
    assert got == [("lead", "cohort_export", "/export/cohort.csv"), ("lead", "forbidden", "/export/cohort.csv"),
                   ("chief", "metrics_export", "/export/metrics.csv")]
    assert new[0].detail["query"] == "grain=year&area=WES"


def test_built_in_accounts_sign_in_and_out(seeded_sqlite):
    add_user(seeded_sqlite.engine, "signer", "national", password=PASSWORD)
    try:
        app = create_app(Settings(database_url=seeded_sqlite.url, auth_mode="accounts", secret_key="test-only"))
        client = app.server.test_client()
        assert client.get("/workstream/victims").headers["Location"].startswith("/sign-in?next=/workstream/victims")
        assert client.get("/export/metrics.csv").status_code == 401
        form = client.get("/sign-in?next=/definitions").get_data(as_text=True)
        assert '<label class="field-label" for="username">' in form and 'lang="en-GB"' in form
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        assert client.post("/sign-in", data={"username": "signer", "password": PASSWORD}).status_code == 400
        wrong = client.post("/sign-in", data={"csrf": csrf, "username": "signer", "password": "nope"})
        assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
        ok = client.post("/sign-in", data={"csrf": csrf, "username": "signer", "password": PASSWORD,
                                           "next": "https://evil.example/"})
        assert ok.status_code == 302 and ok.headers["Location"] == "/"        # never off-site after sign-in
        cookie = ok.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
        assert client.get("/export/metrics.csv?grain=year").status_code == 200
        client.post("/sign-out")
        assert client.get("/export/metrics.csv?grain=year").status_code == 401
    finally:
        remove_user(seeded_sqlite.engine, "signer")


def test_open_mode_only_on_loopback_and_says_so(seeded_sqlite):
    with pytest.raises(SettingsError, match="open mode"):
        create_app(Settings(database_url=seeded_sqlite.url, host="0.0.0.0"))
    app = create_app(Settings(database_url=seeded_sqlite.url))
    layout = app.server.test_client().get("/_dash-layout").get_data(as_text=True)
    assert "Open mode: no sign-in." in layout
