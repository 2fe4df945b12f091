"""Board-paper exports (/export/metrics.csv and .xlsx): right figures, the screens' code path, safe and stable files.

Routes are mounted on a bare Flask app so these tests do not depend on how create_app wires them.
"""
from __future__ import annotations

import csv
import io
import logging
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

import flask
import openpyxl
import polars as pl
import pytest
import sqlalchemy as sa

import dashboard.exports as exports_routes
from dashboard.exports import register_export_routes, write_workbook
from dashboard.settings import Settings
from queries.db import make_engine
from queries.exports import (COLUMNS, BadParameter, ExportMeta, ExportRequest, csv_chunks, file_name,
                             format_number, neutralise, parse_export_query)
from queries.filters import Filters
from queries.metrics import metric_values

BOM = "\ufeff"
HEADER = ",".join(COLUMNS) + ",filters,data_as_at"
THRESHOLD = 10


def client_for(store, threshold: int = THRESHOLD):
    app = flask.Flask(__name__)
    register_export_routes(app, store.engine, Settings(database_url=store.url, disclosure_threshold=threshold))
    return app.test_client()


def csv_rows(body: bytes) -> list[dict[str, str]]:
    text = body.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def number(x: float) -> str:
    """The documented CSV number format, written independently of queries.exports.format_number."""
    text = ("%.6f" % x).rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# ---------------------------------------------------------------- figures and code path
def test_csv_exact_output_against_plain_sql(seeded):
    """The whole file, byte for byte, against sums computed here with plain SQL over the monthly table."""
    response = client_for(seeded).get("/export/metrics.csv?metric=charge_rate&area=SWE&level=area&grain=year")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    name = "rasso-metrics_area_year_2019-01_2024-12_metric-charge_rate_area-SWE_asat-2024-12.csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    with seeded.engine.connect() as conn:
        sums = conn.execute(sa.text(
            "SELECT substr(month, 1, 4) AS y, SUM(numerator), SUM(denominator) FROM monthly "
            "WHERE metric_code = 'charge_rate' AND area_code = 'SWE' GROUP BY substr(month, 1, 4) ORDER BY y")).all()
    assert [y for y, _, _ in sums] == [str(y) for y in range(2019, 2025)]
    assert all(n >= THRESHOLD and d >= THRESHOLD for _, n, d in sums)   # nothing here is suppressed
    about = "metric=charge_rate&area=SWE&from=2019-01&to=2024-12&level=area&grain=year,2024-12"
    lines = [HEADER] + [f"{y},SWE,South West,,,early_advice,charge_rate,Charge rate,{number(n)},{number(d)},"
                        f"{number(n / d)},rate,{about}" for y, n, d in sums]
    assert response.get_data(as_text=True) == BOM + "\r\n".join(lines) + "\r\n"


def test_csv_figures_are_metric_values_with_symbols(seeded, monkeypatch):
    """The route calls the screens' metric_values, and every cell is that frame's figure or the right symbol."""
    calls = []

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        frame = metric_values(*args, **kwargs)
        calls[-1] = (args, kwargs, frame)
        return frame

    monkeypatch.setattr(exports_routes, "metric_values", spy)
    query = "workstream=nfa_scrutiny&area=WES&area=SWE&level=force&grain=quarter&from=2023-01&to=2024-06"
    rows = csv_rows(client_for(seeded).get(f"/export/metrics.csv?{query}").data)
    assert len(calls) == 1
    _, kwargs, _ = calls[0]
    assert kwargs["level"] == "force" and kwargs["grain"] == "quarter" and kwargs["threshold"] == THRESHOLD
    want = metric_values(seeded.engine, Filters(areas=("WES", "SWE"), period_from="2023-01", period_to="2024-06"),
                         ["nfa_decisions", "nfa_scrutiny_rate", "nfa_overturn_rate"], seeded.ref, level="force",
                         grain="quarter", threshold=THRESHOLD)
    assert len(rows) == len(want) > 0
    got = {(r["period"], r["area_code"], r["force_code"], r["metric_code"]): r for r in rows}
    seen = set()
    for w in want.iter_rows(named=True):
        r = got[(w["period"], w["area_code"], w["force_code"], w["metric_code"])]
        for col in ("numerator", "denominator", "value"):
            v = w[col]
            if v is not None:
                assert r[col] == number(v)
            elif w["suppressed"] and not (col == "denominator" and w["metric_code"] == "nfa_decisions"):
                assert r[col] == "[c]"
            else:
                assert r[col] == "[x]"
            seen.add(r[col] if r[col].startswith("[") else "number")
        assert r["force_name"] == seeded.ref.forces[w["force_code"]]
        assert r["workstream"] == "nfa_scrutiny" and r["filters"] == (
            "workstream=nfa_scrutiny&area=SWE&area=WES&from=2023-01&to=2024-06&level=force&grain=quarter")
    assert seen == {"number", "[c]", "[x]"}   # the test exercised both symbols


def test_default_export_is_every_metric_nationally_by_month(seeded_sqlite):
    response = client_for(seeded_sqlite).get("/export/metrics.csv")
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="rasso-metrics_national_month_2019-01_2024-12_asat-2024-12.csv"')
    rows = csv_rows(response.data)
    assert [*dict.fromkeys(r["metric_code"] for r in rows)] == list(seeded_sqlite.ref.metrics)   # catalogue order
    assert {r["area_code"] + r["force_code"] for r in rows} == {""}
    with seeded_sqlite.engine.connect() as conn:
        pairs = conn.execute(sa.text("SELECT COUNT(*) FROM (SELECT DISTINCT month, metric_code FROM monthly) x"))
        assert len(rows) == pairs.scalar_one() > 17 * 60
    assert {(r["filters"], r["data_as_at"]) for r in rows} == {("from=2019-01&to=2024-12&level=national&grain=month",
                                                                "2024-12")}


def test_empty_store_gives_header_only(empty_store):
    response = client_for(empty_store).get("/export/metrics.csv?level=area")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == BOM + HEADER + "\r\n"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="rasso-metrics_area_month_none_none_asat-none.csv"')
    page = client_for(empty_store).get("/export/metrics.csv?view=overview")
    assert page.status_code == 200
    assert page.get_data(as_text=True) == BOM + HEADER.replace(",filters", ",figure,series,filters") + "\r\n"


@pytest.mark.postgres
def test_same_files_from_sqlite_and_postgresql(seeded_sqlite, seeded_pg):
    """The production store and the default store give byte-identical exports."""
    for query in ("level=force&grain=quarter", "grain=year&area=LNO&area=LSO&level=force",
                  "workstream=people&level=area", "grain=period&level=area&from=2023-04&to=2024-03",
                  "view=overview&area=WES&from=2023-01&to=2023-12", "view=workstream&workstream=victims&grain=quarter"):
        a = client_for(seeded_sqlite).get(f"/export/metrics.csv?{query}")
        a_body = a.data   # read each stream before the next request starts
        b = client_for(seeded_pg).get(f"/export/metrics.csv?{query}")
        b_body = b.data
        assert a.status_code == b.status_code == 200
        assert a.headers["Content-Disposition"] == b.headers["Content-Disposition"]
        assert a_body == b_body and a_body.count(b"\r\n") > 100, query


# ---------------------------------------------------------------- formatting units (no store)
def test_formula_like_text_is_neutralised_but_numbers_stay_numbers():
    assert neutralise("=cmd") == "'=cmd"
    assert [neutralise(t) for t in ("+1", "-x", "@a", "\tb", "\rc", "ok", "")] == ["'+1", "'-x", "'@a", "'\tb",
                                                                                   "'\rc", "ok", ""]
    row = {"period": "2024-01", "area_code": "SWE", "area_name": "=cmd|' /C calc'!A0", "force_code": "-2",
           "force_name": "@SUM(A1)", "workstream": "+w", "metric_code": "m", "metric_name": "\tname",
           "numerator": -3.0, "denominator": None, "value": -0.5, "unit": "count",
           "numerator_suppressed": False, "denominator_suppressed": False, "value_suppressed": False}
    body = b"".join(csv_chunks(pl.DataFrame([row]), _meta())).decode("utf-8")
    cells = next(csv.reader(io.StringIO(body[1:].split("\r\n", 1)[1])))
    assert cells[:12] == ["2024-01", "SWE", "'=cmd|' /C calc'!A0", "'-2", "'@SUM(A1)", "'+w", "m", "'\tname",
                          "-3", "[x]", "-0.5", "count"]


def test_number_format_is_fixed_point_and_stable():
    assert [format_number(x) for x in (19.0, 0.2641509433962264, 1 / 3, 2 / 3, -3.0, -0.0, -1e-9, 1e20, 0.5)] == [
        "19", "0.264151", "0.333333", "0.666667", "-3", "0", "0", "100000000000000000000", "0.5"]
    with pytest.raises(ValueError):
        format_number(float("nan"))


def _meta(**request) -> ExportMeta:
    req = ExportRequest(Filters(**request.pop("filters", {})), ("charge_rate",), False, **request)
    return ExportMeta(req, "2019-01", "2024-12", "2024-12", datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc))


def test_file_names_are_deterministic_and_safe():
    assert file_name(_meta(), "csv") == "rasso-metrics_national_month_2019-01_2024-12_asat-2024-12.csv"
    forces = tuple(f"E230000{i:02d}" for i in range(10, 30))
    a = file_name(_meta(filters={"forces": forces, "areas": ("WES", "SWE")}, level="force"), "xlsx")
    b = file_name(_meta(filters={"forces": forces[::-1], "areas": ("SWE", "WES")}, level="force"), "xlsx")
    assert a == b and len(a) < 120 and re.fullmatch(r"[A-Za-z0-9._-]+", a)
    assert re.fullmatch(r"rasso-metrics_force_month_2019-01_2024-12_area-SWE-WES_force-20codes-[0-9a-f]{8}"
                        r"_asat-2024-12\.xlsx", a)


def test_csv_is_written_in_chunks():
    rows = [{"period": f"{2000 + i // 12}-{i % 12 + 1:02d}", **{c: "x" for c in COLUMNS[1:8]}, "numerator": 1.0,
             "denominator": 2.0, "value": 0.5, "unit": "rate", "numerator_suppressed": False,
             "denominator_suppressed": False, "value_suppressed": False} for i in range(2500)]
    chunks = list(csv_chunks(pl.DataFrame(rows), _meta(), rows_per_chunk=1000))
    assert len(chunks) == 4 and chunks[0] == (BOM + HEADER + "\r\n").encode()
    assert sum(c.count(b"\r\n") for c in chunks) == 2501


# ---------------------------------------------------------------- Excel
def test_xlsx_follows_gss_layout(seeded_sqlite, tmp_path):
    query = "workstream=nfa_scrutiny&area=WES&level=force&grain=quarter&from=2023-02&to=2024-06"
    response = client_for(seeded_sqlite).get(f"/export/metrics.xlsx?{query}")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=rasso-metrics_force_quarter_2023-02_2024-06_ws-nfa_scrutiny_area-WES_asat-2024-12.xlsx")
    path = tmp_path / "export.xlsx"
    path.write_bytes(response.data)
    response.close()
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Cover", "Notes", "Data"]
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", n) for n in book.sheetnames)
    assert not any(book[n].merged_cells.ranges for n in book.sheetnames)

    cover = [r[0] for r in book["Cover"].iter_rows(values_only=True)]
    assert cover[0] == "RASSO Pilot Monitor: pilot metrics"
    workstream = next(w.name for w in seeded_sqlite.ref.workstreams if w.workstream_code == "nfa_scrutiny")
    for line in ("CPS Areas: Wessex (WES)", f"Workstream: {workstream} (nfa_scrutiny)", "Period: 2023-02 to 2024-06",
                 "Rows for: each police force within each CPS Area", "Time periods: calendar quarters",
                 "2024-12 (the latest month of any data load)"):
        assert line in cover
    generated = cover[cover.index("Generated at (UTC)") + 1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", generated)
    url = cover[cover.index("URL that reproduces this table") + 1]
    assert urlsplit(url).path == "/export/metrics.xlsx"
    assert parse_qsl(urlsplit(url).query) == [("workstream", "nfa_scrutiny"), ("area", "WES"), ("from", "2023-02"),
                                              ("to", "2024-06"), ("level", "force"), ("grain", "quarter")]
    assert cover[cover.index("Request URL") + 1] == f"http://localhost/export/metrics.xlsx?{query}"

    notes = book["Notes"]
    text = [c for row in notes.iter_rows(values_only=True) for c in row if c]
    for m in seeded_sqlite.ref.metrics_of("nfa_scrutiny"):
        assert m.definition in text and m.numerator in text and (m.denominator or "none (a count)") in text
    assert not any(m.definition in text for m in seeded_sqlite.ref.metrics_of("people"))
    assert any("from 1 to 9 is withheld" in t for t in text)
    assert any(t.startswith("Symbols: [c] confidential") and "[x] not available: the measure has no denominator" in t
               for t in text)
    assert any("first or last period covers only the months inside it" in t for t in text)   # 2023-02 start
    assert notes.freeze_panes is not None

    data = book["Data"]
    rows = list(data.iter_rows(values_only=True))
    assert rows[0][0].startswith("Table 1:")
    assert rows[2] == COLUMNS and data.freeze_panes == "A4" and data.auto_filter.ref.startswith("A3:L")
    csv_body = csv_rows(client_for(seeded_sqlite).get(f"/export/metrics.csv?{query}").data)
    assert len(rows) - 3 == len(csv_body) > 0
    kinds = set()
    for cells, line in zip(data.iter_rows(min_row=4), csv_body):
        for cell, name in zip(cells, COLUMNS):
            if name in ("numerator", "denominator", "value"):
                if line[name].startswith("["):
                    assert cell.data_type == "s" and cell.value == line[name]
                    kinds.add(cell.value)
                else:
                    assert cell.data_type == "n" and number(cell.value) == line[name]
                    kinds.add("number")
            else:
                assert (cell.value or "") == line[name]
    assert kinds == {"number", "[c]", "[x]"}
    widths = {c: data.column_dimensions[c].width for c in "ABCDEFGHIJKL"}
    assert all(8 <= w <= 60 for w in widths.values())


def test_xlsx_writer_never_writes_formulas(tmp_path):
    row = {"period": "2024-01", "area_code": "=1+1", "area_name": "@x", "force_code": "", "force_name": "",
           "workstream": "w", "metric_code": "charge_rate", "metric_name": "n", "numerator": -3.0,
           "denominator": 4.0, "value": -0.75, "unit": "rate", "numerator_suppressed": False,
           "denominator_suppressed": False, "value_suppressed": False}
    from queries.reference import Metric, Reference
    metric = Metric("charge_rate", "w", "n", "rate", "up", "cases", "decision_month", "sum", "num", "den", None,
                    "def", 0)
    ref = Reference({}, {}, {}, frozenset(), (), {"charge_rate": metric}, ())
    path = tmp_path / "x.xlsx"
    write_workbook(str(path), pl.DataFrame([row]), _meta(), ref)
    cells = list(openpyxl.load_workbook(path)["Data"].iter_rows(min_row=4, values_only=False))[0]
    assert cells[1].value == "=1+1" and cells[1].data_type == "s"
    assert cells[8].value == -3 and cells[8].data_type == "n" and cells[10].value == -0.75


# ---------------------------------------------------------------- refusing bad requests
BAD = [
    ("area=XX", "area"), ("area=SWE&area=" + "A" * 300, "area"), ("area=" + ",".join(["SWE"] * 61), "area"),
    ("force=E99999999", "force"), ("area=SWE&force=E23000001", "force"),
    ("from=2024-13", "from"), ("to=24-01", "to"), ("from=2024-01&from=2024-02", "from"),
    ("from=2024-05&to=2024-01", "from"),
    ("metric=nope", "metric"), ("metric=referrals&workstream=people", "metric"),
    ("level=region", "level"), ("level=area&level=force", "level"), ("level=NATIONAL", "level"),
    ("grain=week", "grain"), ("grain=PERIOD", "grain"), ("grain=year,month", "grain"),
    ("workstream=x", "workstream"), ("areas=SWE", "areas"), ("metric=referrals&callback=x", "callback"),
    ("area=%0D%0A%3Dcmd%0A", "area"),
    ("view=summary", "view"), ("view=overview&view=workstream", "view"), ("view=overview&level=area", "level"),
    ("view=overview&metric=referrals", "metric"), ("view=workstream", "workstream"),
    ("view=overview&workstream=people", "workstream"), ("view=overview&grain=period", "grain"),
    ("view=workstream&workstream=people&area=XX", "area"),
]


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
@pytest.mark.parametrize("query, parameter", BAD)
def test_bad_parameter_is_400_naming_it(seeded_sqlite, query, parameter, extension):
    response = client_for(seeded_sqlite).get(f"/export/metrics.{extension}?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert body.endswith("\n") and "\n" not in body[:-1] and "\r" not in body
    assert body.startswith(f"bad parameter '{parameter}': ")


def test_force_outside_area_is_named(seeded_sqlite):
    ref = seeded_sqlite.ref
    outside = next(f for a, f in sorted(ref.pairs) if "SWE" not in ref.areas_of(f))
    with pytest.raises(BadParameter) as err:
        parse_export_query({"area": ["SWE"], "force": [outside]}, ref)
    assert err.value.parameter == "force" and outside in str(err.value)


def test_unexpected_failure_is_500_with_reference_and_no_traceback(seeded_sqlite, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(exports_routes, "metric_values", broken)
    with caplog.at_level(logging.ERROR, logger="dashboard.exports"):
        response = client_for(seeded_sqlite).get("/export/metrics.csv")
    assert response.status_code == 500 and response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    match = re.fullmatch(r"internal error, reference ([0-9a-f]{12})\n", body)
    assert match and "secret" not in body
    assert match.group(1) in caplog.text and "secret detail" in caplog.text


def test_unreachable_store_is_503_not_a_traceback():
    app = flask.Flask(__name__)
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    register_export_routes(app, make_engine(url), Settings(database_url=url))
    response = app.test_client().get("/export/metrics.xlsx")
    assert response.status_code == 503
    assert re.fullmatch(r"data store unavailable, reference [0-9a-f]{12}\n", response.get_data(as_text=True))

