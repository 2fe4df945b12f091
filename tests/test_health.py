"""GET /healthz reports the store's state as JSON (Flask test client, no browser)."""
from __future__ import annotations

from dashboard import create_app
from dashboard.settings import Settings
from queries.schema import SCHEMA_VERSION


def test_healthz_reports_store(seeded):
    client = create_app(Settings(database_url=seeded.url)).server.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "reachable" and body["schema_version"] == SCHEMA_VERSION
    assert body["data_as_at"] == "2024-12"
    assert body["row_counts"]["cases"] == 20_000 and body["row_counts"]["area_forces"] == 44


def test_healthz_when_store_unreachable():
    app = create_app(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = app.server.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
