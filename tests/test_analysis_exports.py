"""/export/spc.csv and /export/effects.csv: exact columns, the same numbers as the pages' functions, [c] kept,
text-safe files and strict parameters (400 naming the parameter). Routes on a bare Flask app, as test_exports does."""
from __future__ import annotations

import csv
import io
import logging

import flask
import pytest

import dashboard.analysis_exports as routes
from dashboard.analysis_exports import register_analysis_export_routes
from dashboard.settings import Settings
from queries.assurance import metric_spc
from queries.filters import Filters
from queries.pilot_effects import pilot_effects

BOM = "\ufeff"
SPC_HEADER = ["period", "value", "mean", "lower_limit", "upper_limit", "lower_2sigma", "upper_2sigma",
              "special_cause", "variation", "target", "assurance", "filters", "data_as_at"]
EFFECT_HEADER = ["metric_code", "pilot_sites", "comparison_sites", "estimate", "ci_low", "ci_high", "unit",
                 "method", "note", "filters", "data_as_at"]


def client_for(store):
    app = flask.Flask(__name__)
    register_analysis_export_routes(app, store.engine, Settings(database_url=store.url))
    return app.test_client()


def read(response) -> tuple[list[str], list[dict[str, str]]]:
    text = response.data.decode("utf-8")
    assert text.startswith(BOM) and "\r\n" in text
    reader = csv.DictReader(io.StringIO(text[1:], newline=""))
    rows = list(reader)
    return reader.fieldnames, rows


def number(x: float | None) -> str:
    """The documented number format, written independently of queries.exports.format_number."""
    if x is None:
        return "[x]"
    text = ("%.6f" % x).rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def test_spc_csv_is_the_spc_pages_table(seeded):
    response = client_for(seeded).get("/export/spc.csv?metric=charge_rate&area=WES&from=2019-06")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="rasso-spc_national_month_2019-06_2024-12_metric-charge_rate_area-WES_asat-2024-12.csv"')
    header, rows = read(response)
    assert header == SPC_HEADER
    spc = metric_spc(seeded.engine, Filters(areas=("WES",), period_from="2019-06"), "charge_rate", seeded.ref,
                     "2024-12")
    assert [r["period"] for r in rows] == spc.table["period"].to_list()
    assert any(r["value"] == "[c]" for r in rows)
    for row, want in zip(rows, spc.table.iter_rows(named=True)):
        assert row["value"] == ("[c]" if want["suppressed"] else number(want["value"]))
        for column in ("mean", "lower_limit", "upper_limit", "lower_2sigma", "upper_2sigma"):
            assert row[column] == number(want[column])
        assert row["special_cause"] == want["special_cause"] and row["variation"] == want["icon"]
        assert row["target"] == "[x]" and row["assurance"] == ""       # charge rate has no target
        assert row["filters"] == "metric=charge_rate&area=WES&from=2019-06&to=2024-12&level=national&grain=month"
        assert row["data_as_at"] == "2024-12"


def test_spc_csv_gives_target_and_assurance_per_period(seeded_sqlite):
    _, rows = read(client_for(seeded_sqlite).get("/export/spc.csv?metric=early_advice_rate"))
    spc = metric_spc(seeded_sqlite.engine, Filters(), "early_advice_rate", seeded_sqlite.ref, "2024-12")
    assert {r["target"] for r in rows} == {number(spc.target)}
    assert rows[-1]["assurance"] == spc.assurance and rows[-1]["variation"] == spc.variation
    before = [r for r, s in zip(rows, spc.table["segment"]) if s == 0]
    assert before and all(r["assurance"] for r in before)           # each segment judged by its own limits
    assert any(r["special_cause"] for r in rows)


def test_effects_csv_is_the_workstream_pages_estimates(seeded_sqlite):
    response = client_for(seeded_sqlite).get("/export/effects.csv?workstream=early_advice")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="rasso-effects_ws-early_advice_asat-2024-12.csv"'
    header, rows = read(response)
    assert header == EFFECT_HEADER
    codes = [m.metric_code for m in seeded_sqlite.ref.metrics_of("early_advice")]
    effects = pilot_effects(seeded_sqlite.engine, seeded_sqlite.ref, codes)
    assert [r["metric_code"] for r in rows] == codes
    units = {"percent": "relative", "points": "proportion_points"}
    for row, e in zip(rows, effects):
        assert row["pilot_sites"] == str(e.pilot_sites) and row["comparison_sites"] == str(e.comparison_sites)
        assert [row["estimate"], row["ci_low"], row["ci_high"]] == [number(e.estimate), number(e.ci_low),
                                                                     number(e.ci_high)]
        assert row["unit"] == units.get(e.scale, {"mean_days": "days", "ratio": "ratio"}.get(e.unit))
        assert row["method"] == e.method and row["filters"] == "workstream=early_advice"
    assert any(r["estimate"].startswith("-") for r in rows)        # negative numbers are not "neutralised"


def test_effects_csv_by_metric_and_for_every_metric(seeded_sqlite):
    client = client_for(seeded_sqlite)
    _, rows = read(client.get("/export/effects.csv?metric=referrals,nfa_overturn_rate"))
    assert [r["metric_code"] for r in rows] == ["referrals", "nfa_overturn_rate"]
    assert rows[0]["filters"] == "metric=referrals&metric=nfa_overturn_rate"
    _, every = read(client.get("/export/effects.csv"))
    assert [r["metric_code"] for r in every] == list(seeded_sqlite.ref.metrics)


@pytest.mark.parametrize("url, parameter", [
    ("/export/spc.csv", "metric"),
    ("/export/spc.csv?metric=referrals,charge_rate", "metric"),
    ("/export/spc.csv?metric=nope", "metric"),
    ("/export/spc.csv?metric=referrals&grain=quarter", "grain"),
    ("/export/spc.csv?metric=referrals&level=area", "level"),
    ("/export/spc.csv?metric=referrals&areas=WES", "areas"),
    ("/export/spc.csv?metric=referrals&view=overview", "view"),
    ("/export/spc.csv?metric=referrals&grain=period", "grain"),
    ("/export/spc.csv?metric=referrals&area=XYZ", "area"),
    ("/export/spc.csv?metric=referrals&from=2024-05&to=2024-01", "from"),
    ("/export/spc.csv?metric=referrals&from=2024-13", "from"),
    ("/export/spc.csv?metric=referrals&workstream=victims", "metric"),
    ("/export/effects.csv?area=WES", "area"),
    ("/export/effects.csv?workstream=nope", "workstream"),
    ("/export/effects.csv?workstream=victims&workstream=people", "workstream"),
    ("/export/effects.csv?metric=nope", "metric"),
    ("/export/effects.csv?workstream=victims&metric=referrals", "metric"),
])
def test_bad_parameters_are_400_naming_the_parameter(seeded_sqlite, url, parameter):
    response = client_for(seeded_sqlite).get(url)
    assert response.status_code == 400 and response.mimetype == "text/plain"
    body = response.data.decode()
    assert body.startswith(f"bad parameter '{parameter}'") and body.count("\n") == 1


def test_failure_is_500_with_a_reference_and_no_traceback(seeded_sqlite, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(routes, "metric_spc", broken)
    with caplog.at_level(logging.ERROR):
        response = client_for(seeded_sqlite).get("/export/spc.csv?metric=referrals")
    body = response.data.decode()
    assert response.status_code == 500 and body.startswith("internal error, reference ")
    assert "secret" not in body and "Traceback" not in body
    assert "secret internals" in caplog.text


def test_the_app_serves_both_exports(seeded_sqlite):
    from dashboard import create_app
    client = create_app(Settings(database_url=seeded_sqlite.url)).server.test_client()
    assert client.get("/export/spc.csv?metric=referrals").status_code == 200
    assert client.get("/export/effects.csv?workstream=victims").status_code == 200
