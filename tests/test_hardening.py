"""Hardening: security headers, and fuzzing every route and the Dash callback endpoint: no 500 and no traceback,
and the server keeps serving afterwards."""
from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dashboard import create_app
from dashboard.settings import Settings

ROUTES = ["/", "/healthz", "/export/metrics.csv", "/export/metrics.xlsx", "/export/cohort.csv", "/export/spc.csv",
          "/export/effects.csv", "/workstream/victims", "/cohort", "/sign-in"]
KEYS = ["area", "force", "from", "to", "grain", "level", "metric", "workstream", "by", "period", "view", "back",
        "x", "area[]", ""]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def app(seeded_sqlite):
    return create_app(Settings(database_url=seeded_sqlite.url))


def assert_clean(response):
    body = response.get_data().decode("utf-8", "replace")
    assert response.status_code < 500, (response.status_code, body[:300])
    assert "Traceback" not in body and 'File "' not in body


def test_security_headers(app):
    client = app.server.test_client()
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self' 'sha256-" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers
    assert "max-age" in client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"]


values = st.one_of(st.text(max_size=40), st.sampled_from(["SWE", "E23000036", "2024-01", "2024-13", "quarter",
                                                           "charge_rate", "offence_group", "../../etc", "=cmd",
                                                           "'; DROP TABLE cases; --", "%00", "9" * 40]))


@FUZZ
@given(path=st.sampled_from(ROUTES), params=st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=6))
def test_random_query_strings_never_500(app, path, params):
    assert_clean(app.server.test_client().get(path, query_string=params))


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=20)


@FUZZ
@given(body=json_values)
def test_random_json_bodies_to_the_callback_endpoint(app, body):
    response = app.server.test_client().post("/_dash-update-component", json=body)
    assert_clean(response)
    assert response.status_code == 400


@FUZZ
@given(data=st.data())
def test_well_formed_callbacks_with_random_values(app, data):
    """Right shape, wrong values: each real callback gets random input values and must answer cleanly."""
    key = data.draw(st.sampled_from(sorted(app.callback_map)))
    spec = app.callback_map[key]
    def items(kind):
        return [{"id": i["id"], "property": i["property"], "value": data.draw(json_values)} for i in spec[kind]]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in key.strip(".").split("...")]
    body = {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": items("inputs"),
            "state": items("state"), "changedPropIds": []}
    assert_clean(app.server.test_client().post("/_dash-update-component", json=body))


def test_server_keeps_serving_after_the_fuzz(app):
    client = app.server.test_client()
    for junk in ("{", "[]", "null", "x" * 10_000):
        assert_clean(client.post("/_dash-update-component", data=junk, content_type="application/json"))
    assert client.post("/_dash-update-component", data="x" * 300_000, content_type="application/json").status_code == 413
    assert client.get("/healthz").status_code == 200
