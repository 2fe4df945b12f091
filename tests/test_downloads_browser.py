"""What only a browser shows about downloads: clicking "Download CSV" and "Download Excel" on a filtered page saves
files that record the page's filters and hold the figures the page shows."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import start, wait_for
from dashboard import ids
from dashboard.format import fmt_value

pytestmark = pytest.mark.browser

FILTERS = ("area", "force", "from", "to", "grain")


@pytest.fixture
def downloads(dash_duo, seeded_sqlite, tmp_path):
    """The app on the seeded store, with Chrome saving downloads into a fresh folder."""
    url = start(dash_duo, seeded_sqlite.url)
    params = {"behavior": "allow", "downloadPath": str(tmp_path)}
    try:
        dash_duo.driver.execute_cdp_cmd("Browser.setDownloadBehavior", params)
    except Exception:   # older Chromium: the page-level command
        dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior", params)
    return url, tmp_path


def download(dash_duo, folder: Path, text: str, extension: str) -> Path:
    """Activate the download link from the keyboard and wait for the finished file."""
    before = set(folder.glob(f"*.{extension}"))
    link = dash_duo.driver.find_element(By.XPATH, f"//*[@id='{ids.DOWNLOADS}']//a[normalize-space()='{text}']")
    link.send_keys(Keys.ENTER)
    found: list[Path] = []

    def finished():
        found[:] = [p for p in set(folder.glob(f"*.{extension}")) - before if p.stat().st_size > 0]
        return found and not list(folder.glob("*.crdownload"))

    wait_for(finished, message=f"{text} saved")
    return found[0]


def read_csv(path: Path) -> list[dict[str, str]]:
    body = path.read_bytes().decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:], newline="")))


def page_filters(dash_duo) -> dict[str, list[str]]:
    query = parse_qs(urlparse(dash_duo.driver.current_url).query)
    return {k: v for k, v in query.items() if k in FILTERS}


def file_filters(rows: list[dict[str, str]]) -> dict[str, list[str]]:
    assert len({r["filters"] for r in rows}) == 1
    return {k: v for k, v in parse_qs(rows[0]["filters"]).items() if k in FILTERS}


def check_workbook(path: Path, csv_rows: list[dict[str, str]], cover_line: str) -> None:
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["Cover", "Notes", "Data"]
    assert cover_line in [r[0] for r in book["Cover"].iter_rows(values_only=True)]
    data = list(book["Data"].iter_rows(values_only=True))
    assert list(data[2]) == [c for c in csv_rows[0] if c not in ("filters", "data_as_at")]
    assert len(data) - 3 == len(csv_rows)
    book.close()


def test_overview_downloads_hold_the_tiles_shown(dash_duo, downloads, seeded_sqlite):
    url, folder = downloads
    dash_duo.driver.get(f"{url}/?area=WES&from=2024-01&to=2024-12&grain=quarter")
    wait_for(lambda: len(dash_duo.find_elements(".panel")) == 5, message="five panels")
    dash_duo.wait_for_element(f"#{ids.DOWNLOADS}", timeout=60)

    path = download(dash_duo, folder, "Download CSV", "csv")
    assert path.name == "rasso-metrics_overview_quarter_2024-01_2024-12_area-WES_asat-2024-12.csv"
    rows = read_csv(path)
    assert list(rows[0])[:2] == ["period", "area_code"] and list(rows[0])[-4:] == [
        "figure", "series", "filters", "data_as_at"]
    assert file_filters(rows) == page_filters(dash_duo) == {
        "area": ["WES"], "from": ["2024-01"], "to": ["2024-12"], "grain": ["quarter"]}
    tiles = {r["metric_code"]: r for r in rows if r["figure"] == "tile"}
    assert list(tiles) == list(seeded_sqlite.ref.metrics)
    for code in ("referrals", "charge_rate", "nfa_overturn_rate", "specialist_prosecutors"):
        shown = dash_duo.find_element(f"#{ids.tile(code)} .tile-value").text
        row = tiles[code]
        value = row["value"] if row["value"].startswith("[") else fmt_value(float(row["value"]), row["unit"])
        assert value == shown, code
    # The chart's table alternative shows the same quarterly trend figures as the file.
    table = dash_duo.find_element(f"#{ids.chart('victims')} table").get_attribute("textContent")
    trend = [r for r in rows if r["figure"] == "trend" and r["metric_code"] == "isva_engagement_rate"]
    assert {r["series"] for r in trend} == {"Selection", "England and Wales"}
    assert all(fmt_value(float(r["value"]), "rate") in table for r in trend if not r["value"].startswith("["))

    workbook = download(dash_duo, folder, "Download Excel", "xlsx")
    assert workbook.stem == path.stem
    check_workbook(workbook, rows, "CPS Areas: Wessex (WES)")


def test_workstream_downloads_hold_the_ranking_and_split_shown(dash_duo, downloads):
    url, folder = downloads
    dash_duo.driver.get(f"{url}/workstream/victims?area=WES&from=2023-07&to=2024-06")
    dash_duo.wait_for_element(f"#{ids.DOWNLOADS}", timeout=60)

    rows = read_csv(download(dash_duo, folder, "Download CSV", "csv"))
    assert file_filters(rows) == page_filters(dash_duo) | {"grain": ["month"]}
    assert {r["filters"].split("&")[0] for r in rows} == {"view=workstream"}
    split = dash_duo.find_element(".pilot-split").text   # the first measure's pilot against comparison line
    first = rows[0]["metric_code"]
    parts = [f"{r['series']}: {fmt_value(float(r['value']), r['unit'])}" for r in rows
             if r["figure"] == "pilot_vs_comparison" and r["metric_code"] == first]
    assert split == "Across England and Wales for the period, " + "; ".join(parts) + "."
    ranked = dash_duo.find_element(f"#{ids.chart(first + '-ranked')} table").get_attribute("textContent")
    forces = [r for r in rows if r["figure"] == "ranking" and r["metric_code"] == first and r["force_code"]]
    assert len(forces) == 3
    for r in forces:
        assert r["force_name"] in ranked and fmt_value(float(r["value"]), r["unit"]) in ranked

    workbook = download(dash_duo, folder, "Download Excel", "xlsx")
    check_workbook(workbook, rows, "Workstream: Supporting victims (victims)")
