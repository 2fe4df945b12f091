"""Pure figure builders: a polars frame in, a plotly figure out, as the plain dict plotly.js reads.

Plain dicts, not go.Figure: plotly's validation of a built figure cost about 5 ms a chart, most of an overview
render's figure time, and dcc.Graph takes either. The dicts are exactly what go.Figure would send (the template
expanded as plotly expands it), and the tests validate every builder's output with go.Figure and check that
validation changes nothing.

Charts follow the Government Analysis Function guidance: at most two series, labelled directly at the line end
(no legend), distinguished by line style and marker shape as well as colour, and suppressed values never drawn.
"""
from __future__ import annotations

import json
from functools import lru_cache

import polars as pl
import plotly.graph_objects as go

from dashboard.format import axis_format, fmt_value, period_start
from queries.disclosure import SUPPRESSED
from queries.reference import Metric
from queries.trends import StartMarker

SERIES_STYLE = (
    {"color": "#12436D", "dash": "solid", "symbol": "circle"},
    {"color": "#F46A25", "dash": "dash", "symbol": "square"},
)
TEXT = "#0B0C0C"
MUTED = "#505A5F"
SHADE = "#F3F2F1"
FONT = dict(family='"Helvetica Neue", Helvetica, Arial, sans-serif', size=13, color=TEXT)

Figure = dict   # {"data": [trace, ...], "layout": {...}}, as plotly.js takes it


@lru_cache(maxsize=1)
def _template_json() -> str:
    return json.dumps(go.Figure(layout=dict(template="none")).to_plotly_json()["layout"]["template"])


def plain_template() -> dict:
    """The "none" template as go.Figure expands the name (plotly.js knows no template names); a fresh copy."""
    return json.loads(_template_json())


def base_layout(height: int) -> dict:
    return dict(template=plain_template(), height=height, font=FONT, margin=dict(l=56, r=120, t=28, b=40),
                plot_bgcolor="white", paper_bgcolor="white", showlegend=False, hovermode="x unified",
                xaxis=dict(showgrid=False, linecolor=MUTED, ticks="outside", tickcolor=MUTED),
                yaxis=dict(gridcolor="#DDDDDD", zeroline=False, linecolor=MUTED, rangemode="tozero"))


def empty_figure(message: str, height: int = 260) -> Figure:
    layout = base_layout(height)
    layout["xaxis"].update(visible=False)
    layout["yaxis"].update(visible=False)
    layout["annotations"] = [dict(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                                  font=dict(size=15, color=TEXT))]
    return {"data": [], "layout": layout}


def _vertical(x, **style) -> dict:
    """A full-height line at x: the shape add_vline makes, without its per-call validation and subplot lookup."""
    return dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", **style)


def trend_figure(series: pl.DataFrame, metric: Metric, grain: str, markers: list[StartMarker],
                 shade: tuple[str, str] | None = None, height: int = 260) -> Figure:
    """Lines per series over periods; pilot starts as labelled vertical lines; the selected period shaded.

    Labels sit inside the plot at each line's end, above the higher line and below the lower one, so narrow
    charts need no legend and no wide right margin.
    """
    if series.is_empty():
        return empty_figure("No data for these filters", height)
    traces, ends = [], []
    for i, ((name,), part) in enumerate(series.group_by("series", maintain_order=True)):
        part = part.sort("period")
        style = SERIES_STYLE[i % len(SERIES_STYLE)]
        values = part["value"].to_list()
        x = [period_start(p, grain) for p in part["period"].to_list()]
        traces.append(dict(
            type="scatter", x=x, y=values, name=name, mode="lines+markers", connectgaps=False,
            line=dict(color=style["color"], width=2.5, dash=style["dash"]),
            marker=dict(symbol=style["symbol"], size=5, color=style["color"], line=dict(color=TEXT, width=0.5)),
            customdata=[fmt_value(v, metric.unit, s) for v, s in zip(values, part["suppressed"].to_list())],
            hovertemplate=f"{name}: %{{customdata}}<extra></extra>"))
        last = next(((v, x[j]) for j in range(len(values) - 1, -1, -1) if (v := values[j]) is not None), None)
        if last:
            ends.append((last[0], name, last[1]))
    top = max(ends)[0] if ends else None
    annotations = [dict(x=x, y=value, text=f"<b>{name}</b>", showarrow=False, xanchor="right",
                        yanchor="bottom" if value == top else "top", yshift=6 if value == top else -6,
                        font=dict(color=TEXT, size=12), bgcolor="rgba(255,255,255,0.85)")
                   for value, name, x in ends]
    shapes = []
    if shade:
        shapes.append(dict(type="rect", x0=period_start(shade[0], "month"), x1=period_start(shade[1], "month"),
                           xref="x", y0=0, y1=1, yref="y domain", fillcolor=SHADE, opacity=1, layer="below",
                           line=dict(width=0)))
    shapes += [_vertical(period_start(m.month, "month"), line=dict(color=MUTED, width=1.5, dash="dot"))
               for m in markers]
    if markers:
        annotations.append(dict(x=period_start(markers[0].month, "month"), y=1, yref="paper", showarrow=False,
                                text="Pilot starts" if len(markers) == 1 else "Pilots start", xanchor="right",
                                yanchor="bottom", xshift=-2, font=dict(size=11, color=TEXT)))
    layout = base_layout(height)
    layout["margin"] = dict(l=48, r=12, t=24, b=32)
    layout["xaxis"].update(tickformat="%Y", dtick="M12", hoverformat="%b %Y" if grain == "month" else "%Y Q%q")
    layout["yaxis"].update(tickformat=axis_format(metric.unit))
    return {"data": traces, "layout": dict(layout, annotations=annotations, shapes=shapes)}


def ranked_figure(ranked: pl.DataFrame, metric: Metric, national: float | None, national_label: str,
                  height: int | None = None) -> Figure:
    """Horizontal bars, highest first; suppressed bars are absent and labelled [c]; the national value marked."""
    if ranked.is_empty():
        return empty_figure("No data for these filters", height or 260)
    ordered = ranked.sort(["value", "label"], descending=[False, True], nulls_last=False)
    labels, values = ordered["label"].to_list(), ordered["value"].to_list()
    suppressed = ordered["suppressed"].to_list()
    bars = dict(type="bar", x=values, y=labels, orientation="h",
                text=[fmt_value(v, metric.unit, s) for v, s in zip(values, suppressed)],
                textposition="outside", cliponaxis=False, marker=dict(color=SERIES_STYLE[0]["color"]),
                hovertemplate="%{y}: %{text}<extra></extra>", textfont=dict(color=TEXT))
    annotations = [dict(x=0, y=label, text=SUPPRESSED, showarrow=False, xanchor="left", font=dict(color=TEXT))
                   for label, s in zip(labels, suppressed) if s]
    shapes = []
    if national is not None:
        shapes.append(_vertical(national, line=dict(color=TEXT, width=2, dash="dash")))
        annotations.append(dict(x=national, y=1, yref="paper", yanchor="bottom", showarrow=False,
                                text=f"{national_label}: {fmt_value(national, metric.unit)}",
                                font=dict(color=TEXT)))
    layout = base_layout(height or max(220, 26 * ordered.height + 70))
    layout.update(margin=dict(l=190, r=70, t=32, b=36), hovermode="closest")
    layout["xaxis"].update(tickformat=axis_format(metric.unit), showgrid=True, gridcolor="#DDDDDD")
    layout["yaxis"].update(automargin=True)
    return {"data": [bars], "layout": dict(layout, annotations=annotations, shapes=shapes)}
