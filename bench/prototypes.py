"""Prototypes of page-level changes, measured here before anyone changes the pages.

trend_figure_one_pass builds exactly the figure dashboard.figures.trend_figure builds (the smoke test checks the
JSON is identical) in one go.Figure(data, layout) call: plotly validates a figure each time it is changed, so
add_trace, add_annotation, add_vrect, add_vline, update_layout and update_xaxes each cost a validation pass (and
add_vline/add_vrect resolve subplot references besides). `python -m bench.prototypes URL` times both.
"""
from __future__ import annotations

import sys
import time

import plotly.graph_objects as go
import polars as pl

from dashboard.figures import MUTED, SERIES_STYLE, SHADE, TEXT, base_layout, empty_figure
from dashboard.format import axis_format, fmt_value, period_start
from queries.reference import Metric
from queries.trends import StartMarker


def _vertical(x: str, **style) -> dict:
    return dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", **style)


def trend_figure_one_pass(series: pl.DataFrame, metric: Metric, grain: str, markers: list[StartMarker],
                          shade: tuple[str, str] | None = None, height: int = 260) -> go.Figure:
    if series.is_empty():
        return empty_figure("No data for these filters", height)
    traces, ends = [], []
    for i, ((name,), part) in enumerate(series.group_by("series", maintain_order=True)):
        part = part.sort("period")
        style = SERIES_STYLE[i % len(SERIES_STYLE)]
        periods, values = part["period"].to_list(), part["value"].to_list()
        x = [period_start(p, grain) for p in periods]
        traces.append(go.Scatter(
            x=x, y=values, name=name, mode="lines+markers", connectgaps=False,
            line=dict(color=style["color"], width=2.5, dash=style["dash"]),
            marker=dict(symbol=style["symbol"], size=5, color=style["color"], line=dict(color=TEXT, width=0.5)),
            customdata=[fmt_value(v, metric.unit, s) for v, s in zip(values, part["suppressed"].to_list())],
            hovertemplate=f"{name}: %{{customdata}}<extra></extra>"))
        last = next(((v, x[j]) for j, v in reversed(list(enumerate(values))) if v is not None), None)
        if last:
            ends.append((last[0], name, last[1]))
    top = max(ends)[0] if ends else None
    annotations = [dict(x=x, y=value, text=f"<b>{name}</b>", showarrow=False, xanchor="right",
                        yanchor="bottom" if value == top else "top", yshift=6 if value == top else -6,
                        font=dict(color=TEXT, size=12), bgcolor="rgba(255,255,255,0.85)") for value, name, x in ends]
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
    return go.Figure(data=traces, layout=dict(layout, annotations=annotations, shapes=shapes))


def compare(url: str, reps: int = 30) -> dict:
    """Time the current builder and the one-pass prototype on the overview's five lead series."""
    from bench.scenarios import Scenarios
    from dashboard.figures import trend_figure
    from queries.trends import start_markers, trend_series

    bench = Scenarios(url)
    ctx, ref = bench.ctx, bench.ctx.reference()
    filters = bench.filters("")
    period = ctx.period(filters)
    lead = bench.lead()
    series = trend_series(ctx.engine, filters.with_(period_to=period[1]), lead, ref, "month", ctx.threshold)
    inputs = [(series.filter(pl.col("metric_code") == code), ref.metrics[code], "month",
               start_markers(ref, ref.metrics[code].workstream_code, filters), period, 230) for code in lead]
    out = {}
    for name, build in (("current", trend_figure), ("one_pass", trend_figure_one_pass)):
        for args in inputs:
            build(*args)
        t0 = time.perf_counter()
        for _ in range(reps):
            for args in inputs:
                build(*args)
        out[f"{name}_ms_per_five"] = round((time.perf_counter() - t0) * 1000 / reps, 2)
    return out


if __name__ == "__main__":
    print(compare(sys.argv[1]))
