"""Pure figure builders: a polars frame in, a plotly go.Figure out (graph_objects: ~1 ms a figure).

Charts follow the Government Analysis Function guidance: at most two series, labelled directly at the line end
(no legend), distinguished by line style and marker shape as well as colour, and suppressed values never drawn.
"""
from __future__ import annotations

import polars as pl
import plotly.graph_objects as go

from dashboard.format import axis_format, fmt_value, period_label, period_start
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


def base_layout(height: int) -> dict:
    return dict(template="none", height=height, font=FONT, margin=dict(l=56, r=120, t=28, b=40),
                plot_bgcolor="white", paper_bgcolor="white", showlegend=False, hovermode="x unified",
                xaxis=dict(showgrid=False, linecolor=MUTED, ticks="outside", tickcolor=MUTED),
                yaxis=dict(gridcolor="#DDDDDD", zeroline=False, linecolor=MUTED, rangemode="tozero"))


def empty_figure(message: str, height: int = 260) -> go.Figure:
    fig = go.Figure(layout=base_layout(height))
    fig.update_layout(xaxis=dict(visible=False), yaxis=dict(visible=False),
                      annotations=[dict(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                                        font=dict(size=15, color=TEXT))])
    return fig


def trend_figure(series: pl.DataFrame, metric: Metric, grain: str, markers: list[StartMarker],
                 shade: tuple[str, str] | None = None, height: int = 260) -> go.Figure:
    """Lines per series over periods; pilot starts as labelled vertical lines; the selected period shaded.

    Labels sit inside the plot at each line's end, above the higher line and below the lower one, so narrow
    charts need no legend and no wide right margin.
    """
    if series.is_empty():
        return empty_figure("No data for these filters", height)
    fig = go.Figure(layout=base_layout(height))
    names = list(dict.fromkeys(series["series"].to_list()))
    ends = []
    for i, name in enumerate(names):
        part = series.filter(pl.col("series") == name).sort("period")
        style = SERIES_STYLE[i % len(SERIES_STYLE)]
        x = [period_start(p, grain) for p in part["period"]]
        text = [fmt_value(v, metric.unit, s) for v, s in zip(part["value"], part["suppressed"])]
        fig.add_trace(go.Scatter(
            x=x, y=part["value"].to_list(), name=name, mode="lines+markers", connectgaps=False,
            line=dict(color=style["color"], width=2.5, dash=style["dash"]),
            marker=dict(symbol=style["symbol"], size=5, color=style["color"], line=dict(color=TEXT, width=0.5)),
            customdata=text, hovertemplate=f"{name}: %{{customdata}}<extra></extra>"))
        last = part.filter(pl.col("value").is_not_null()).tail(1)
        if last.height:
            ends.append((last["value"][0], name, period_start(last["period"][0], grain)))
    top = max(ends)[0] if ends else None
    for value, name, x in ends:
        above = value == top
        fig.add_annotation(x=x, y=value, text=f"<b>{name}</b>", showarrow=False, xanchor="right",
                           yanchor="bottom" if above else "top", yshift=6 if above else -6,
                           font=dict(color=TEXT, size=12), bgcolor="rgba(255,255,255,0.85)")
    if shade:
        fig.add_vrect(x0=period_start(shade[0], "month"), x1=period_start(shade[1], "month"), fillcolor=SHADE,
                      opacity=1, layer="below", line_width=0)
    for i, m in enumerate(markers):
        fig.add_vline(x=period_start(m.month, "month"), line=dict(color=MUTED, width=1.5, dash="dot"))
    if markers:
        fig.add_annotation(x=period_start(markers[0].month, "month"), y=1, yref="paper", showarrow=False,
                           text="Pilot starts" if len(markers) == 1 else "Pilots start", xanchor="right",
                           yanchor="bottom", xshift=-2, font=dict(size=11, color=TEXT))
    fig.update_layout(margin=dict(l=48, r=12, t=24, b=32))
    fig.update_xaxes(tickformat="%Y", dtick="M12", hoverformat="%b %Y" if grain == "month" else "%Y Q%q")
    fig.update_yaxes(tickformat=axis_format(metric.unit))
    return fig


def ranked_figure(ranked: pl.DataFrame, metric: Metric, national: float | None, national_label: str,
                  height: int | None = None) -> go.Figure:
    """Horizontal bars, highest first; suppressed bars are absent and labelled [c]; the national value marked."""
    if ranked.is_empty():
        return empty_figure("No data for these filters", height or 260)
    ordered = ranked.sort(["value", "label"], descending=[False, True], nulls_last=False)
    height = height or max(220, 26 * ordered.height + 70)
    fig = go.Figure(layout=base_layout(height))
    labels = ordered["label"].to_list()
    text = [fmt_value(v, metric.unit, s) for v, s in zip(ordered["value"], ordered["suppressed"])]
    fig.add_trace(go.Bar(x=ordered["value"].to_list(), y=labels, orientation="h", text=text,
                         textposition="outside", cliponaxis=False, marker=dict(color=SERIES_STYLE[0]["color"]),
                         hovertemplate="%{y}: %{text}<extra></extra>", textfont=dict(color=TEXT)))
    for label, s in zip(labels, ordered["suppressed"]):
        if s:
            fig.add_annotation(x=0, y=label, text=SUPPRESSED, showarrow=False, xanchor="left",
                               font=dict(color=TEXT))
    if national is not None:
        fig.add_vline(x=national, line=dict(color=TEXT, width=2, dash="dash"))
        fig.add_annotation(x=national, y=1, yref="paper", yanchor="bottom", showarrow=False,
                           text=f"{national_label}: {fmt_value(national, metric.unit)}", font=dict(color=TEXT))
    fig.update_layout(margin=dict(l=190, r=70, t=32, b=36), hovermode="closest")
    fig.update_xaxes(tickformat=axis_format(metric.unit), showgrid=True, gridcolor="#DDDDDD")
    fig.update_yaxes(automargin=True)
    return fig
