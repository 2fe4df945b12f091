"""A tile's comparisons, target and SPC words are one block of escaped HTML: the same words and markup the
components gave (arrows and icons hidden from screen readers, words beside them), far fewer components, and no
way for a label to inject markup."""
from __future__ import annotations

from html.parser import HTMLParser

from dash import dcc

from dashboard.assurance_parts import status_html
from dashboard.context import Context
from dashboard.pages import overview
from dashboard.pages.common import comparison_html, tile_card
from dashboard.settings import Settings
from queries.filters import Filters
from queries.spc import CONSISTENTLY_FAILING, NOT_ENOUGH_POINTS
from queries.tiles import Comparison, headline_tiles


class Markup(HTMLParser):
    """Text, and every element with its attributes, of an HTML fragment; fails on unbalanced tags."""

    def __init__(self, fragment: str):
        super().__init__()
        self.text, self.elements, self.open = [], [], []
        self.feed(fragment)
        assert self.open == [], f"unclosed: {self.open}"

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data):
        self.text.append(data)

    @property
    def words(self) -> str:
        return "".join(self.text)


def components(node) -> int:
    children = getattr(node, "children", None)
    items = children if isinstance(children, list) else [children]
    return 1 + sum(components(c) for c in items if hasattr(c, "_type"))


def test_comparison_lines_hide_the_arrow_and_say_it_in_words(reference):
    metric = reference.metrics["charge_rate"]
    up = Markup(comparison_html(Comparison("a year earlier", 0.5, 0.021, "improving", "▲"), metric))
    assert up.words == "▲ Improving (2.1 points up) vs a year earlier"
    assert ("span", {"class": "arrow change-good", "aria-hidden": "true"}) in up.elements
    same = Markup(comparison_html(Comparison("a year earlier", 0.5, 0.0001, "no change", "▬"), metric))
    assert same.words == "▬ No change vs a year earlier"
    gone = Markup(comparison_html(Comparison("pre-pilot baseline", None, None, "not available", ""), metric))
    assert gone.words == "pre-pilot baseline: not available" and gone.elements[0] == ("p", {"class": "tile-change"})


def test_labels_and_words_are_escaped(reference):
    metric = reference.metrics["charge_rate"]
    line = comparison_html(Comparison("<img src=x onerror=alert(1)>", 0.5, 0.02, "worsening", "▼"), metric)
    assert "<img" not in line and Markup(line).words.endswith("vs <img src=x onerror=alert(1)>")


def test_spc_words_sit_beside_hidden_icons():
    lines = Markup(status_html("special cause concern (low)", CONSISTENTLY_FAILING))
    assert lines.words == "LSpecial cause concern (low)FConsistently failing the target"
    icons = [a for tag, a in lines.elements if "spc-icon" in a.get("class", "")]
    assert [i["class"] for i in icons] == ["spc-icon spc-concern", "spc-icon spc-assurance spc-fail"]
    assert all(i["aria-hidden"] == "true" for i in icons)
    too_short = Markup(status_html(NOT_ENOUGH_POINTS, None))
    assert too_short.words == "Variation: not enough months for SPC limits (13 needed)"


def test_every_overview_tile_is_one_html_block_and_few_components(seeded_sqlite):
    ctx = Context(seeded_sqlite.engine, Settings(database_url=seeded_sqlite.url))
    ref = ctx.reference()
    tiles = headline_tiles(ctx.engine, Filters(), ref, ("2024-01", "2024-12"), ctx.threshold)
    for code, tile in tiles.items():
        card = tile_card(tile, f"tile-{code}")
        details = [c for c in card.children if isinstance(c, dcc.Markdown)]
        assert len(details) == 1 and details[0].dangerously_allow_html
        html = details[0].children
        # One raw HTML block for the Markdown parser: it starts with a tag and has no blank line to end it early.
        assert html.startswith("<p ") and "\n\n" not in html
        markup = Markup(html)
        said = "not enough months" if tile.spc.variation == NOT_ENOUGH_POINTS else tile.spc.variation
        assert tile.year_earlier.label in markup.words and said.lower() in markup.words.lower()
        assert components(card) <= 9
    content, _ = overview.render(ctx, Filters())
    assert sum(components(c) for c in content) < 250   # it was about 500 with a component per line and word
