"""Small page parts for SPC and pilot effects: the icons with their words, chart links, effect sentences, caveats.

An icon is a CSS shape with a letter, hidden from screen readers; the words beside it say the same thing, so the
meaning never rests on colour (or on the shape) alone. Variation icons are circles, assurance icons squares, in
the Making Data Count colours with a dark ring for contrast.
"""
from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from dash import dcc, html

from queries.effects import Effect, describe
from queries.filters import Filters
from queries.reference import Metric
from queries.spc import CONSISTENTLY_FAILING, CONSISTENTLY_PASSING, HIT_AND_MISS, NOT_ENOUGH_POINTS

ASSURANCE_ICONS = {CONSISTENTLY_PASSING: ("P", "spc-pass"), CONSISTENTLY_FAILING: ("F", "spc-fail"),
                   HIT_AND_MISS: ("?", "spc-hit-and-miss")}
CAVEATS = (
    "These are estimates from monitoring data, not a randomised trial: pilot sites were chosen, not drawn at random, "
    "and anything else that changed at pilot sites from their start month is counted as the pilot's effect.",
    "Each pilot site is compared with itself before its own start month, and with sites that never ran this "
    "workstream over the same months (difference-in-differences). Comparison sites may adopt the pilot's practices "
    "too, which makes the estimate smaller than the true effect.",
    "The national roll-out from July 2023 brought these practices to every Area, so later months compare pilot sites "
    "with sites that were catching up.",
    "Some comparison sites ran other workstreams' pilots, which can move these measures too.",
    "The 95% interval allows for month-to-month correlation within each site; with few pilot sites it may still be "
    "too narrow.",
)


def sentence(words: str) -> str:
    return words[:1].upper() + words[1:]


NO_LIMITS = "Variation: not enough months for SPC limits (13 needed)"


def _icon(letter: str, classes: str) -> html.Span:
    return html.Span(letter, className=f"spc-icon {classes}", **{"aria-hidden": "true"})


def variation_mark(words: str) -> tuple[str, str]:
    """'special cause concern (low)' -> ('L', 'spc-concern'): the icon's letter and classes."""
    if words.startswith("special cause "):
        return "H" if words.endswith("(high)") else "L", f"spc-{words.split()[2]}"
    return "~", "spc-common"


def variation_status(words: str) -> html.P:
    """'special cause concern (low)' -> an orange circle marked L, and the words."""
    if words == NOT_ENOUGH_POINTS:
        return html.P(NO_LIMITS, className="spc-status")
    return html.P([_icon(*variation_mark(words)), html.Span(sentence(words))], className="spc-status")


def assurance_status(words: str | None) -> html.P | None:
    if words is None:
        return None
    letter, kind = ASSURANCE_ICONS[words]
    return html.P([_icon(letter, f"spc-assurance {kind}"), html.Span(sentence(words))], className="spc-status")


def status_html(variation: str, assurance: str | None) -> str:
    """variation_status and assurance_status as escaped HTML, the same markup, for a tile's one HTML block."""
    def line(letter: str, classes: str, words: str) -> str:
        return (f'<p class="spc-status"><span class="spc-icon {classes}" aria-hidden="true">{escape(letter)}</span>'
                f"<span>{escape(sentence(words))}</span></p>")
    out = f'<p class="spc-status">{escape(NO_LIMITS)}</p>' if variation == NOT_ENOUGH_POINTS \
        else line(*variation_mark(variation), variation)
    if assurance is not None:
        letter, kind = ASSURANCE_ICONS[assurance]
        out += line(letter, f"spc-assurance {kind}", assurance)
    return out


def spc_href(metric: Metric, filters: Filters) -> str:
    """The SPC page for the selection; grain and workstream do not apply there, so they are left out."""
    q = filters.with_(grain="month", workstream=None).to_query()
    return f"/spc/{metric.metric_code}" + (("?" + urlencode(q, doseq=True)) if q else "")


def spc_link(metric: Metric, filters: Filters, text: str = "SPC chart") -> dcc.Link:
    """A link to the metric's SPC chart for the same selection; the hidden words name the metric for screen
    readers listing links out of context."""
    return dcc.Link([text, html.Span(f" of {metric.name}", className="visually-hidden")],
                    href=spc_href(metric, filters), className="spc-link")


def effect_line(effect: Effect | None, metric: Metric, filters: Filters) -> html.Div:
    """The workstream page's per-metric line: the plain-words estimate and the SPC chart link."""
    parts = []
    if effect is not None:
        sites = (f" Pilot sites: {effect.pilot_sites}; comparison sites: {effect.comparison_sites}; all months of "
                 "data, England and Wales.")
        note = f" Note: {effect.note}." if effect.note and effect.estimate is not None else ""
        parts.append(html.P([html.Strong("Pilot effect: "), describe(effect, metric.name), sites, note],
                            className="effect-estimate"))
    parts.append(html.P(spc_link(metric, filters, "Statistical process control chart")))
    return html.Div(parts, className="effect-line")


def effects_caveats(workstream: str) -> html.Section:
    return html.Section([
        html.H2("About the pilot effect estimates", className="h4"),
        html.Ul([html.Li(c) for c in CAVEATS]),
        html.P(html.A("Download effects CSV", href=f"/export/effects.csv?workstream={workstream}", download="",
                      className="download-link")),
    ], className="effects-caveats")
