"""A page's figures in a file (`view=`) and whole-period rows (`grain=period`): each page's downloads hold exactly
what the page shows, because the export makes the page's own query calls. Checked against those calls here."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit

import openpyxl
import plotly.utils
import polars as pl
import pytest

from dashboard.context import Context
from dashboard.pages import overview, workstream
from dashboard.settings import Settings
from queries.exports import COLUMNS
from queries.filters import Filters
from queries.metrics import metric_values
from queries.tiles import headline_tiles
from queries.trends import trend_series
from test_exports import THRESHOLD, client_for, csv_rows, number


def test_grain_period_is_the_whole_range_as_one_row(seeded):
    """grain=period gives one row per unit and metric: the calendar year's figures when the range is one year."""
    client = client_for(seeded)
    whole = csv_rows(client.get("/export/metrics.csv?workstream=victims&level=area&grain=period"
                                "&from=2023-01&to=2023-12").data)
    year = csv_rows(client.get("/export/metrics.csv?workstream=victims&level=area&grain=year"
                               "&from=2023-01&to=2023-12").data)
    assert len(whole) == len(year) > 0
    assert {r["period"] for r in whole} == {"2023-01/2023-12"} and {r["period"] for r in year} == {"2023"}
    numbers = ("area_code", "metric_code", "numerator", "denominator", "value")
    assert [[r[c] for c in numbers] for r in whole] == [[r[c] for c in numbers] for r in year]
    assert {r["filters"] for r in whole} == {"workstream=victims&from=2023-01&to=2023-12&level=area&grain=period"}


def _ctx(store) -> Context:
    return Context(store.engine, Settings(database_url=store.url, disclosure_threshold=THRESHOLD))


def _shown(frame: pl.DataFrame, ref, *keys: str) -> dict:
    """A query frame as the documented CSV cells: key -> (numerator, denominator, value), symbols included."""
    def cell(v, withheld):
        return number(v) if v is not None else "[c]" if withheld else "[x]"
    return {tuple(r[k] or "" for k in keys): (
        cell(r["numerator"], r["suppressed"]),
        cell(r["denominator"], r["suppressed"] and ref.metrics[r["metric_code"]].unit != "count"),
        cell(r["value"], r["suppressed"])) for r in frame.iter_rows(named=True)}


def _figures(rows: list[dict], figure: str, *keys: str) -> dict:
    return {tuple(r[k] for k in keys): (r["numerator"], r["denominator"], r["value"])
            for r in rows if r["figure"] == figure}


@pytest.mark.parametrize("filters, series", [({}, {"Pilot sites", "Comparison sites"}),
                                             ({"areas": ("WES",)}, {"Selection", "England and Wales"})])
def test_overview_view_holds_every_tile_and_charted_trend(seeded_sqlite, filters, series):
    """view=overview: each tile's value for the page's period (the page's default: the latest 12 months) and the
    trend charts' series, from the page's own queries."""
    store = seeded_sqlite
    query = "&area=WES" if filters else ""
    rows = csv_rows(client_for(store).get(f"/export/metrics.csv?view=overview{query}").data)
    assert list(rows[0]) == [*COLUMNS, "figure", "series", "filters", "data_as_at"]
    assert {r["filters"] for r in rows} == {f"view=overview{query}&from=2024-01&to=2024-12&grain=month"}
    tiles = headline_tiles(store.engine, Filters(**filters), store.ref, ("2024-01", "2024-12"), THRESHOLD)
    tile_rows = {r["metric_code"]: r for r in rows if r["figure"] == "tile"}
    assert list(tile_rows) == list(store.ref.metrics)
    for code, tile in tiles.items():
        r = tile_rows[code]
        assert r["period"] == "2024-01/2024-12" and r["area_code"] == ""
        assert r["value"] == ("[c]" if tile.suppressed else "[x]" if tile.value is None else number(tile.value))
    lead = [overview.headline_metric(_ctx(store), w.workstream_code) for w in store.ref.workstreams]
    want = trend_series(store.engine, Filters(**filters, period_to="2024-12"), lead, store.ref, "month", THRESHOLD)
    got = _figures(rows, "trend", "period", "series", "metric_code")
    assert got == _shown(want, store.ref, "period", "series", "metric_code") and len(got) > 5 * 60
    assert {s for _, s, _ in got} == series
    assert [r["figure"] for r in rows] == sorted((r["figure"] for r in rows), key=["tile", "trend"].index)


def test_workstream_view_holds_trends_ranking_and_pilot_split(seeded_sqlite):
    """view=workstream: trends, the ranking (forces of the one chosen Area, plus England and Wales) and pilot
    against comparison sites, each from the workstream page's own calls."""
    store, ctx = seeded_sqlite, _ctx(seeded_sqlite)
    query = "view=workstream&workstream=nfa_scrutiny&area=WES&from=2023-04&to=2024-03&grain=quarter"
    response = client_for(store).get(f"/export/metrics.csv?{query}")
    assert response.headers["Content-Disposition"] == ('attachment; filename="rasso-metrics_workstream_quarter_'
                                                       '2023-04_2024-03_ws-nfa_scrutiny_area-WES_asat-2024-12.csv"')
    rows = csv_rows(response.data)
    assert {r["filters"] for r in rows} == {query}
    assert {r["workstream"] for r in rows} == {"nfa_scrutiny"}
    period, codes = ("2023-04", "2024-03"), [m.metric_code for m in store.ref.metrics_of("nfa_scrutiny")]
    filters = Filters(areas=("WES",), grain="quarter")
    ranking = _figures(rows, "ranking", "metric_code", "area_code", "force_code", "series")
    for code in codes:
        ranked, unit = workstream.ranking(ctx, filters, code, period)
        assert unit == "force" and ranked.height == 3
        want = _shown(ranked, store.ref, "metric_code", "area_code", "force_code")
        assert {k[:3]: v for k, v in ranking.items() if k[0] == code and k[3] == ""} == want
    national = metric_values(store.engine, Filters(period_from=period[0], period_to=period[1]), codes, store.ref,
                             grain="period", threshold=THRESHOLD)
    assert {k[:1]: v for k, v in ranking.items() if k[3] == "England and Wales"} == _shown(national, store.ref,
                                                                                             "metric_code")
    split = trend_series(store.engine, Filters(period_from=period[0], period_to=period[1]), codes, store.ref,
                         "period", THRESHOLD, history=False)
    got = _figures(rows, "pilot_vs_comparison", "metric_code", "series")
    assert got == _shown(split, store.ref, "metric_code", "series") and len(got) == 2 * len(codes)
    assert {r["period"] for r in rows if r["figure"] != "trend"} == {"2023-04/2024-03"}
    trends = trend_series(store.engine, filters.with_(period_to="2024-03"), codes, store.ref, "quarter", THRESHOLD)
    assert _figures(rows, "trend", "period", "series", "metric_code") == _shown(trends, store.ref, "period",
                                                                                "series", "metric_code")


def test_view_workbook_has_the_figure_columns(seeded_sqlite, tmp_path):
    query = "view=workstream&workstream=people&area=SWE&force=E23000036&from=2024-01&to=2024-06"
    csv_body = csv_rows(client_for(seeded_sqlite).get(f"/export/metrics.csv?{query}").data)
    response = client_for(seeded_sqlite).get(f"/export/metrics.xlsx?{query}")
    path = tmp_path / "view.xlsx"
    path.write_bytes(response.data)
    response.close()
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Cover", "Notes", "Data"]
    cover = [r[0] for r in book["Cover"].iter_rows(values_only=True)]
    assert any(line.startswith("Rows for: the figures on the workstream page") for line in cover)
    rows = list(book["Data"].iter_rows(values_only=True))
    assert rows[2] == (*COLUMNS, "figure", "series")
    assert [(r[0], r[6], r[12], r[13] or "") for r in rows[3:]] == [
        (c["period"], c["metric_code"], c["figure"], c["series"]) for c in csv_body]
    assert {c["force_code"] for c in csv_body if c["figure"] == "ranking"} == {"E23000036", ""}


def test_page_download_links_export_that_page(seeded_sqlite):
    """The links under each page are view= exports of that page's filters, and the export accepts them."""
    ctx = _ctx(seeded_sqlite)
    page_filters = Filters(areas=("WES",), period_from="2023-01", period_to="2023-12", grain="quarter")
    pages = {"overview": overview.render(ctx, page_filters)[0],
             "workstream": workstream.render(ctx, "victims", page_filters)}
    client = client_for(seeded_sqlite)
    for view, children in pages.items():
        text = json.dumps(children, cls=plotly.utils.PlotlyJSONEncoder)
        hrefs = re.findall(r'"href": "(/export/metrics\.(?:csv|xlsx)\?[^"]+)"', text)
        assert len(hrefs) == 2, view
        for href in hrefs:
            response = client.get(href)
            assert response.status_code == 200, (href, response.data[:200])
            response.close()
        query = dict(parse_qsl(urlsplit(hrefs[0]).query))
        assert query["view"] == view and query["area"] == "WES" and query["grain"] == "quarter"
        assert (query["from"], query["to"]) == ("2023-01", "2023-12")
        assert ('"/print?' in text) == (view == "overview")
