"""Pure builders: figures and tables from frames, without a browser."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import pytest

from dashboard.figures import empty_figure, ranked_figure, trend_figure
from dashboard.format import fmt_change, fmt_value, period_label, period_start
from dashboard.tables import series_table, table_html
from queries.reference import Metric
from queries.trends import StartMarker

RATE = Metric("charge_rate", "early_advice", "Charge rate", "rate", "up", "cases", "decision_month", "sum", "", "",
              None, "", 0)


def series() -> pl.DataFrame:
    return pl.DataFrame({
        "period": ["2024-01", "2024-02", "2024-03"] * 2,
        "series": ["Pilot sites"] * 3 + ["Comparison sites"] * 3,
        "value": [0.30, None, 0.34, 0.25, 0.26, 0.27],
        "suppressed": [False, True, False, False, False, False],
    })


def test_trend_figure_draws_two_labelled_series_and_never_a_suppressed_value():
    fig = go.Figure(trend_figure(series(), RATE, "month", [StartMarker("2024-02", "Wessex pilot starts")],
                                 shade=("2024-02", "2024-03")))
    assert [t.name for t in fig.data] == ["Pilot sites", "Comparison sites"]
    assert list(fig.data[0].y) == [0.30, None, 0.34]
    assert fig.data[0].connectgaps is False
    assert list(fig.data[0].customdata) == ["30.0%", "[c]", "34.0%"]
    labels = [a.text for a in fig.layout.annotations]
    assert "<b>Pilot sites</b>" in labels and "Pilot starts" in labels
    assert fig.layout.showlegend is False
    assert fig.data[0].line.dash != fig.data[1].line.dash          # not colour alone
    assert fig.data[0].marker.symbol != fig.data[1].marker.symbol
    assert fig.layout.yaxis.tickformat == ".0%"


def test_pilot_starts_and_the_selected_period_are_full_height_shapes_on_the_time_axis():
    fig = go.Figure(trend_figure(series(), RATE, "month", [StartMarker("2024-02", "a"),
                                                           StartMarker("2024-03", "b")], shade=("2024-02", "2024-03")))
    shade, *starts = fig.layout.shapes
    assert (shade.type, shade.layer, shade.x0, shade.x1) == ("rect", "below", "2024-02-01", "2024-03-01")
    assert [(s.type, s.x0, s.x1) for s in starts] == [("line", "2024-02-01", "2024-02-01"),
                                                       ("line", "2024-03-01", "2024-03-01")]
    for shape in fig.layout.shapes:   # spans the plot whatever the y range: the y axis's domain, 0 to 1
        assert (shape.xref, shape.yref, shape.y0, shape.y1) == ("x", "y domain", 0, 1)
    assert "Pilots start" in [a.text for a in fig.layout.annotations]


def test_line_end_labels_sit_above_the_higher_line_and_below_the_lower():
    fig = go.Figure(trend_figure(series(), RATE, "month", []))
    ends = {a.text: a for a in fig.layout.annotations}
    pilot, comparison = ends["<b>Pilot sites</b>"], ends["<b>Comparison sites</b>"]
    assert (pilot.x, pilot.y, pilot.yanchor) == ("2024-03-01", 0.34, "bottom")
    assert (comparison.x, comparison.y, comparison.yanchor) == ("2024-03-01", 0.27, "top")


def test_empty_series_says_so():
    fig = go.Figure(trend_figure(series().clear(), RATE, "month", []))
    assert fig.layout.annotations[0].text == "No data for these filters"


def test_ranked_figure_marks_national_and_labels_suppressed_bars():
    ranked = pl.DataFrame({"label": ["Dorset", "Hampshire", "Wiltshire"], "value": [0.4, None, 0.2],
                           "suppressed": [False, True, False]})
    fig = go.Figure(ranked_figure(ranked, RATE, 0.3, "England and Wales"))
    bar = fig.data[0]
    assert list(bar.y) == ["Hampshire", "Wiltshire", "Dorset"]    # plotly draws bottom-up: highest at the top
    assert list(bar.x) == [None, 0.2, 0.4]
    assert list(bar.text) == ["[c]", "20.0%", "40.0%"]
    texts = [a.text for a in fig.layout.annotations]
    assert "[c]" in texts and "England and Wales: 30.0%" in texts
    (line,) = fig.layout.shapes
    assert (line.x0, line.x1, line.yref, line.y0, line.y1) == (0.3, 0.3, "y domain", 0, 1)
    assert go.Figure(ranked_figure(ranked, RATE, None, "England and Wales")).layout.shapes == ()


COUNT = Metric("referrals", "early_advice", "Police referrals", "count", "up", "cases", "referral_month", "sum", "",
               "", None, "", 0)
RANKED = pl.DataFrame({"label": ["Dorset", "Hampshire", "Wiltshire"], "value": [0.4, None, 0.2],
                       "suppressed": [False, True, False]})


@pytest.mark.parametrize("figure", [
    trend_figure(series(), RATE, "month", [StartMarker("2024-02", "a")], shade=("2024-02", "2024-03")),
    trend_figure(series(), COUNT, "quarter", [StartMarker("2024-02", "a"), StartMarker("2024-03", "b")]),
    trend_figure(series().filter(pl.col("series") == "Pilot sites"), RATE, "month", [], height=300),
    trend_figure(series().clear(), RATE, "month", []),
    ranked_figure(RANKED, RATE, 0.3, "England and Wales"),
    ranked_figure(RANKED, COUNT, None, "England and Wales", height=400),
    ranked_figure(RANKED.clear(), RATE, 0.3, "England and Wales"),
    empty_figure("No cases to show", 200),
], ids=["trend", "trend-count-quarters", "trend-one-series", "trend-empty", "ranked", "ranked-count",
        "ranked-empty", "empty"])
def test_builders_give_exactly_what_plotly_validation_gives(figure):
    """The builders skip plotly's validation for speed: validating their output must accept it and change
    nothing, so the browser draws what go.Figure would have sent."""
    assert isinstance(figure, dict)
    validated = go.Figure(figure)   # raises on any property plotly does not know
    assert json.loads(pio.to_json(validated)) == json.loads(pio.to_json(figure))


def test_figures_are_independent_of_each_other():
    one, two = empty_figure("a"), empty_figure("b")
    one["layout"]["template"]["data"]["scatter"].append({"type": "scatter", "mode": "markers"})
    one["layout"]["font"] = {"size": 99}
    assert two["layout"]["template"] == go.Figure(layout=dict(template="none")).to_plotly_json()["layout"]["template"]
    assert empty_figure("c")["layout"]["font"]["size"] == 13


def test_series_table_is_wide_with_symbols_and_escaped():
    html = table_html("<caption>", ["Period", "A"], [["<b>", "1"]])
    assert "&lt;caption&gt;" in html and "&lt;b&gt;" in html and "<b>" not in html
    md = series_table(series(), RATE, "month", "Charge rate").children
    assert "<th scope=\"col\">Pilot sites</th><th scope=\"col\">Comparison sites</th>" in md
    assert '<th scope="row">Feb 2024</th><td class="num">[c]</td><td class="num">26.0%</td>' in md


def test_formatting():
    assert fmt_value(0.2734, "rate") == "27.3%"
    assert fmt_value(1234.0, "count") == "1,234"
    assert fmt_value(412.5, "count") == "412.5"
    assert fmt_value(218.4, "mean_days") == "218 days"
    assert fmt_value(None, "rate") == "[x]" and fmt_value(3, "count", suppressed=True) == "[c]"
    assert fmt_change(-0.032, "rate") == "3.2 points" and fmt_change(0.07, "count") == "7%"
    assert period_label("2024-Q1", "quarter") == "2024 Q1" and period_label("2024-03", "month") == "Mar 2024"
    assert period_start("2024-Q3", "quarter") == "2024-07-01"
