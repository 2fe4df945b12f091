"""Print view (/print): the five workstream panels for an A4 landscape board paper.

Layout and content without a browser; then a real headless Chromium prints it to PDF, and the PDF's text, page
count, page size and page breaks are checked with poppler's pdftotext and pdfinfo.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import plotly.utils
import pytest
from selenium.webdriver.common.keys import Keys

from browser import ROOT, axe_violations, start, wait_for
from dashboard import ids
from dashboard.context import Context
from dashboard.format import fmt_value
from dashboard.pages import print_view, resolve
from dashboard.pages.overview import headline_metric
from dashboard.settings import Settings
from queries.filters import Filters
from queries.tiles import headline_tiles

A4_LANDSCAPE_PX = 1045   # 277 mm of printable width (297 mm less 10 mm margins) at 96 CSS px per inch
STYLE = ROOT / "assets" / "style.css"


def _ctx(store) -> Context:
    return Context(store.engine, Settings(database_url=store.url))


def _json(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def _find(component, predicate) -> list:
    """Every component in a Dash tree that satisfies predicate."""
    found = [component] if predicate(component) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found += _find(child, predicate)
    return found


def test_print_path_resolves_and_hides_the_filter_bar():
    assert resolve("/print") == (print_view, {})
    assert print_view.SHOW_FILTERS is False


def test_layout_has_title_filters_as_at_panels_and_footnotes(seeded_sqlite):
    ctx, ref = _ctx(seeded_sqlite), seeded_sqlite.ref
    page = print_view.layout(ctx, Filters(areas=("WES",)))
    text = _json(page)
    assert len(_find(page, lambda c: type(c).__name__ == "H1")) == 1
    assert print_view.TITLE in text
    about = _json(_find(page, lambda c: getattr(c, "className", "") == "print-about"))
    for words in ("Wessex: all forces", "Jan 2024 to Dec 2024 (the latest 12 months)", "Data as at", "Dec 2024",
                  "the selection with England and Wales", "by month, Jan 2019 to Dec 2024"):
        assert words in about, words
    panels = _find(page, lambda c: getattr(c, "className", "") == "print-panel")
    assert [p.id for p in panels] == [ids.panel(w.workstream_code) for w in ref.workstreams]
    for panel, w in zip(panels, ref.workstreams):
        assert w.name in _json(panel)
        assert f"Trend: {ref.metrics[headline_metric(ctx, w.workstream_code)].name}" in _json(panel)
    for phrase in ("not official statistics", "a count of 1 to 9 is withheld", "[c] confidential", "[x] not available"):
        assert phrase in text, phrase
    assert all(m.definition in text for m in ref.metrics.values())


def test_tiles_show_the_overview_figures(seeded_sqlite):
    ctx, ref = _ctx(seeded_sqlite), seeded_sqlite.ref
    filters = Filters(areas=("SWE",), period_from="2023-01", period_to="2023-12")
    page = print_view.layout(ctx, filters)
    tiles = headline_tiles(ctx.engine, filters, ref, ("2023-01", "2023-12"), ctx.threshold)
    for code, tile in tiles.items():
        card = _find(page, lambda c, code=code: getattr(c, "id", None) == ids.tile(code))
        assert len(card) == 1
        values = _find(card[0], lambda c: getattr(c, "className", "") == "tile-value")
        assert values[0].children == fmt_value(tile.value, tile.metric.unit, tile.suppressed)


def test_charts_are_static_and_fit_a4_landscape(seeded_sqlite):
    page = print_view.layout(_ctx(seeded_sqlite), Filters(grain="quarter"))
    graphs = _find(page, lambda c: type(c).__name__ == "Graph")
    assert len(graphs) == 5
    for graph in graphs:
        assert graph.config["staticPlot"] is True and graph.config["responsive"] is False
        width = graph.figure["layout"]["width"]
        assert width == print_view.CHART_WIDTH and width < A4_LANDSCAPE_PX / 2
    # Each chart keeps its text description and table alternative on screen.
    assert len(_find(page, lambda c: type(c).__name__ == "Figcaption")) == 5
    assert len(_find(page, lambda c: type(c).__name__ == "Details")) == 5


def test_empty_store_says_so(empty_store):
    page = print_view.layout(_ctx(empty_store), Filters())
    assert "No data has been loaded yet." in _json(page)


def test_print_rules_hide_navigation_and_set_a4_landscape():
    css = STYLE.read_text(encoding="utf-8")
    assert re.search(r"@page\s*\{[^}]*size:\s*A4 landscape", css)
    media = css[css.index("@media print"):]
    hidden = media[:media.index("display: none")]
    for selector in (".app-header", ".filter-bar", ".skip-link", ".phase-banner"):
        assert selector in hidden, selector
    assert re.search(r"\.print-panel[^{]*\{[^}]*break-inside: avoid", media)


def test_app_serves_the_print_page(seeded_sqlite):
    from dashboard import create_app
    response = create_app(Settings(database_url=seeded_sqlite.url)).server.test_client().get("/print?area=WES")
    assert response.status_code == 200 and b'<html lang="en-GB">' in response.data


# ---------------------------------------------------------------- a real browser prints it
def _pdf_text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(["pdftotext", *pages, str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


@pytest.mark.browser
def test_print_view_prints_to_a_clean_a4_landscape_pdf(dash_duo, seeded_sqlite):
    url = start(dash_duo, seeded_sqlite.url)
    ref = seeded_sqlite.ref
    dash_duo.driver.get(f"{url}/?area=WES")
    dash_duo.wait_for_element(f"#{ids.PRINT_LINK}", timeout=60).send_keys(Keys.ENTER)   # keyboard, not a mouse
    wait_for(lambda: urlparse(dash_duo.driver.current_url).path == "/print", message="print link followed")
    assert parse_qs(urlparse(dash_duo.driver.current_url).query) == {"area": ["WES"]}
    wait_for(lambda: len(dash_duo.find_elements(".print-panel .main-svg")) >= 5, message="five charts drawn")
    assert len(dash_duo.find_elements("h1")) == 1
    assert axe_violations(dash_duo.driver) == []

    pdf = dash_duo.driver.execute_cdp_cmd("Page.printToPDF", {
        "landscape": True, "paperWidth": 11.69, "paperHeight": 8.27, "printBackground": True})
    path = ROOT / "var" / "print" / f"print-view-WES.{os.getpid()}.pdf"   # a run of its own, kept below
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(pdf["data"]))

    text = _pdf_text(path)
    for words in (print_view.TITLE, "Wessex", "Data as at", *[w.name for w in ref.workstreams]):
        assert words in text, words
    for hidden in ("Skip to main content", "Print or save as PDF", "Show as table", "Clear all filters"):
        assert hidden not in text, hidden
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    width, height = map(float, re.search(r"^Page size:\s+([\d.]+) x ([\d.]+)", info, re.M).groups())
    assert 3 <= pages <= 8 and width > height and abs(width - 842) < 3
    # No panel is cut: each workstream's heading and its chart's title are on the same page.
    by_page = [_pdf_text(path, n) for n in range(1, pages + 1)]
    for w in ref.workstreams:
        chart = f"Trend: {ref.metrics[headline_metric(_ctx(seeded_sqlite), w.workstream_code)].name}"
        holding = [n for n, page in enumerate(by_page) if w.name in page]
        assert len(holding) == 1 and chart in by_page[holding[0]], w.name
    path.replace(path.with_name("print-view-WES.pdf"))   # the latest print, for people to look at
