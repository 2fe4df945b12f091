"""Where the overview's time goes, stage by stage, timed without a profiler's overhead.

The stages are the calls the overview render makes, run separately on the same inputs: the tiles' SQL, building
the tiles from those sums (windows, comparisons, SPC), the trend series (SQL and roll-up), the five trend figures,
their table alternatives; "the rest" is the full render minus those (components, reference lookups).
"""
from __future__ import annotations

import time
from typing import Callable

import polars as pl

from bench.scenarios import Scenarios
from bench.timing import percentile

STAGE_QUERIES = {"national": "", "one_area": "area=WMD"}


def _median_ms(fn: Callable[[], object], reps: int) -> float:
    fn()
    xs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t0) * 1000)
    return round(percentile(xs, 0.5), 2)


def overview_stages(url: str, reps: int = 20) -> dict:
    from dashboard.figures import trend_figure
    from dashboard.pages import overview
    from dashboard.tables import series_table
    from queries.metrics import monthly_sums
    from queries.tiles import build_tiles
    from queries.trends import start_markers, trend_series

    bench = Scenarios(url)
    ctx, ref = bench.ctx, bench.ctx.reference()
    out = {}
    for label, query in STAGE_QUERIES.items():
        filters = bench.filters(query)
        period = ctx.period(filters)
        lead = bench.lead()
        whole = filters.with_(period_from=None, period_to=None)
        sums = monthly_sums(ctx.engine, whole, list(ref.metrics))
        upto = filters.with_(period_to=period[1])
        series = trend_series(ctx.engine, upto, lead, ref, filters.grain, ctx.threshold)
        charts = [(series.filter(pl.col("metric_code") == c), ref.metrics[c], filters.grain,
                   start_markers(ref, ref.metrics[c].workstream_code, filters), period, 230) for c in lead]
        stages = {
            "tiles_sql": lambda: monthly_sums(ctx.engine, whole, list(ref.metrics)),
            "tiles_build": lambda: build_tiles(sums, ref, period, ctx.threshold, filters),
            "trend_series": lambda: trend_series(ctx.engine, upto, lead, ref, filters.grain, ctx.threshold),
            "figures_x5": lambda: [trend_figure(*a) for a in charts],
            "tables_x5": lambda: [series_table(a[0], a[1], a[2], "caption") for a in charts],
        }
        row = {}
        for name, fn in stages.items():
            try:
                row[name] = _median_ms(fn, reps)
            except Exception as exc:   # noqa: BLE001 - an API changed under the bench: say so, keep going
                row[name] = None
                row[f"{name}_error"] = f"{type(exc).__name__}: {exc}"[:200]
        row["render_total"] = _median_ms(lambda: overview.render(ctx, filters), reps)
        row["rest"] = round(row["render_total"] - sum(v for k, v in row.items()
                                                      if k in stages and isinstance(v, float)), 2)
        out[label] = row
    return out
