"""How large is each pilot's effect? The unit-month panel for queries.effects, from the store.

Pilot sites are the (Area, force) units that run the metric's workstream, each with its own start month (starts
are staggered); comparison sites are every unit that never ran that workstream. A unit running a different
workstream is still a comparison site for this one (a caveat the pages state). The panel covers every unit and every
month held, whatever the dashboard's filters: the estimate is about the pilot, not about a selection.

The model sees each unit-month's unsuppressed sums: it publishes one estimate, an interval and counts of sites per
metric, none of which reveals a unit-month figure, so disclosure control applies to the displayed cells elsewhere
and not here.
"""
from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from queries.effects import Effect, estimate_effect
from queries.filters import Filters
from queries.metrics import monthly_sums
from queries.reference import Reference

LEVEL = 0.95


def pilot_starts(ref: Reference, workstream: str) -> pl.DataFrame:
    rows = [(p.area_code, p.force_code, p.start_month) for p in ref.pilot_sites if p.workstream_code == workstream]
    return pl.DataFrame(rows, schema={"area_code": pl.String, "force_code": pl.String, "start_month": pl.String},
                        orient="row")


def effect_panel(sums: pl.DataFrame, ref: Reference, metric_code: str) -> pl.DataFrame:
    """Pure: monthly sums by force (monthly_sums level "force") -> site, month, numerator, denominator,
    start_month (null for comparison sites) for one metric."""
    metric = ref.metrics[metric_code]
    starts = pilot_starts(ref, metric.workstream_code)
    return (sums.filter(pl.col("metric_code") == metric_code)
            .join(starts, on=["area_code", "force_code"], how="left")
            .select((pl.col("area_code") + "/" + pl.col("force_code")).alias("site"), "month", "numerator",
                    "denominator", "start_month"))


def metric_effects(sums: pl.DataFrame, ref: Reference, metric_codes: list[str], level: float = LEVEL) -> list[Effect]:
    """Pure: one Effect per metric, in the order given."""
    out = []
    for code in metric_codes:
        metric = ref.metrics[code]
        out.append(estimate_effect(effect_panel(sums, ref, code), metric_code=code, unit=metric.unit, level=level))
    return out


def pilot_effects(engine: sa.Engine, ref: Reference, metric_codes: list[str], level: float = LEVEL) -> list[Effect]:
    """One query (every unit's monthly sums for the metrics), then the pure estimate per metric."""
    sums = monthly_sums(engine, Filters(), metric_codes, level="force")
    return metric_effects(sums, ref, metric_codes, level)
