"""Workstream page (/workstream/<code>): every measure's trend, a ranked comparison and pilot vs comparison."""
from __future__ import annotations

import polars as pl
from dash import Input, Output, State, dcc, html, no_update

from dashboard import ids
from dashboard.assurance_parts import effect_line, effects_caveats
from dashboard.cache import cached, cached_output
from dashboard.context import Context, period_words
from dashboard.figures import ranked_figure
from dashboard.format import fmt_value
from dashboard.pages.common import (chart_block, cohort_link, definition_link, downloads, empty_state,
                                    provisional_note, query_string, trend_block)
from dashboard.tables import ranked_table
from queries.filters import Filters
from queries.metrics import metric_values
from queries.pilot_effects import pilot_effects
from queries.trends import NATIONAL, pilot_units, start_markers, trend_series


PATH = r"/workstream/(?P<code>[a-z_]{1,30})"
SHOW_FILTERS = True


def layout(ctx: Context, filters: Filters, code: str) -> html.Div:
    from dashboard.pages import NotFound

    ref = ctx.reference()
    ws = next((w for w in ref.workstreams if w.workstream_code == code), None)
    if ws is None:
        raise NotFound(code)
    return html.Div([
        html.P(dcc.Link("← Back to overview", href="/" + query_string(filters).lstrip("/"), className="back-link",
                        id="back-to-overview")),
        html.H1(ws.name),
        html.P(ws.aim, className="lead-summary"),
        dcc.Loading(html.Div(id=ids.WORKSTREAM_CONTENT), type="dot", delay_show=400),
    ])


def ranking(ctx: Context, filters: Filters, metric_code: str, period: tuple[str, str]) -> tuple[pl.DataFrame, str]:
    """Areas, or the forces of a single chosen Area (or the chosen forces), for the period; pilot sites marked."""
    ref = ctx.reference()
    window = filters.with_(period_from=period[0], period_to=period[1])
    by_force = bool(filters.forces) or len(filters.areas) == 1
    level = "force" if by_force else "area"
    rows = cached(ctx, f"ranking/{metric_code}/{level}", window, lambda: metric_values(
        ctx.engine, window, [metric_code], ref, level=level, grain="period", threshold=ctx.threshold))
    sites = pilot_units(ref, ref.metrics[metric_code].workstream_code)
    if by_force:
        pilots = {(a, f) for a, f in sites.select("area_code", "force_code").iter_rows()}
        shared = {f for _, f in ref.pairs if len(ref.areas_of(f)) > 1}
        labels = [ref.forces[f] + (f" ({ref.areas[a]})" if f in shared else "")
                  + (" (pilot)" if (a, f) in pilots else "")
                  for a, f in rows.select("area_code", "force_code").iter_rows()]
        return rows.with_columns(pl.Series("label", labels, dtype=pl.String)), "force"
    pilots = set(sites["area_code"].to_list())
    labels = [ref.areas[a] + (" (pilot)" if a in pilots else "") for a in rows["area_code"]]
    return rows.with_columns(pl.Series("label", labels, dtype=pl.String)), "CPS Area"


def render(ctx: Context, code: str, filters: Filters) -> list:
    ref = ctx.reference()
    period = ctx.period(filters)
    if period is None:
        return [empty_state("No data has been loaded yet.")]
    metrics = ref.metrics_of(code)
    codes = [m.metric_code for m in metrics]
    series, national, split = cached(ctx, f"workstream/{code}", filters, lambda: (
        trend_series(ctx.engine, filters.with_(period_to=period[1]), codes, ref, filters.grain, ctx.threshold),
        metric_values(ctx.engine, Filters(period_from=period[0], period_to=period[1]), codes, ref,
                      grain="period", threshold=ctx.threshold),
        trend_series(ctx.engine, Filters(period_from=period[0], period_to=period[1]), codes, ref, "period",
                     ctx.threshold, history=False)), period)
    # The estimates use every unit and month whatever the filters: one entry per workstream and data version, not
    # one per filter state (they were half of a workstream's cache miss: docs/performance.md).
    effect_list = cached(ctx, f"effects/{code}", Filters(), lambda: pilot_effects(ctx.engine, ref, codes))
    markers = start_markers(ref, code, filters)
    effects = {e.metric_code: e for e in effect_list}
    sections = [provisional_note(ctx.months()[1]),
                html.P(f"Period: {period_words(period)}. Ranked comparisons use the whole period.",
                       className="lead-summary")]
    for m in metrics:
        code_ = m.metric_code
        nat = national.filter(pl.col("metric_code") == code_)
        nat_value = nat["value"][0] if nat.height else None
        ranked, unit_word = ranking(ctx, filters, code_, period)
        ranked_desc = f"Bar chart ranking each {unit_word} by {m.name} for {period_words(period)}"
        # A national total is not comparable with one Area's count: mark the national value for rates only.
        marker = nat_value if m.unit != "count" else None
        ranked_desc += (f"; the dashed line marks {NATIONAL} ({fmt_value(nat_value, m.unit)})." if marker is not None
                        else f". {NATIONAL} in total: {fmt_value(nat_value, m.unit)}.")
        sections.append(html.Section([
            html.H2([m.name, " ", definition_link(m)], id=f"metric-{code_}"),
            html.Div([
                html.Div(trend_block(ids.chart(code_), series.filter(pl.col("metric_code") == code_), m,
                                     filters.grain, markers, period), className="col-lg-7"),
                html.Div(chart_block(ids.chart(f"{code_}-ranked"), ids.graph("ranked", code_),
                                     ranked_figure(ranked, m, marker, NATIONAL),
                                     ranked_desc,
                                     ranked_table(ranked, m, f"{m.name} by {unit_word}, {period_words(period)}",
                                                  nat_value, NATIONAL)), className="col-lg-5"),
            ], className="row g-4"),
            _pilot_vs_comparison(split.filter(pl.col("metric_code") == code_), m),
            effect_line(effects.get(code_), m, filters.with_(period_to=period[1])),
            html.P(cohort_link(m, filters.with_(period_from=period[0], period_to=period[1]),
                               f"See the cases behind {m.name.lower()}",
                               back=f"/workstream/{code}{query_string(filters)}")) if m.source == "cases" else None,
        ], className="metric-section"))
    sections.append(effects_caveats(code))
    level = "force" if filters.forces or len(filters.areas) == 1 else "area"
    sections.append(downloads(filters, period, f"{level} level, {filters.grain}ly", workstream=code, level=level,
                              grain=filters.grain))
    return sections


def _pilot_vs_comparison(split: pl.DataFrame, metric) -> html.P:
    if split.is_empty():
        return html.P("Pilot and comparison sites: no data for this period.", className="pilot-split")
    parts = [f"{name}: {fmt_value(v, metric.unit, s)}"
             for name, v, s in split.select("series", "value", "suppressed").iter_rows()]
    return html.P("Across England and Wales for the period, " + "; ".join(parts) + ".", className="pilot-split")


def register_callbacks(app, ctx: Context) -> None:
    import re

    from dashboard.callbacks import failure, read_filters

    @app.callback(Output(ids.WORKSTREAM_CONTENT, "children"), Input(ids.URL, "search"),
                  State(ids.URL, "pathname"))
    def workstream_content(search, pathname):
        match = re.fullmatch(PATH, (pathname or "").rstrip("/"))
        if not match:
            return no_update
        try:
            filters, _ = read_filters(ctx, search)
            code = match.group("code")
            return cached_output(ctx, f"workstream/{code}", filters, lambda: render(ctx, code, filters))
        except Exception as exc:   # noqa: BLE001
            return failure(exc)
