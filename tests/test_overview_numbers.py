"""What tiles and charts show equals an independent SQL computation over the seeded cases, on both stores."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.context import Context
from dashboard.format import fmt_value
from dashboard.pages import overview
from dashboard.settings import Settings
from queries.filters import Filters
from queries.tiles import baseline_window, headline_tiles
from queries.trends import COMPARISON, PILOT, trend_series

PERIOD = ("2024-01", "2024-12")


def scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def charge_rate(engine, area, first, last):
    charged = scalar(engine, "SELECT COUNT(*) FROM cases WHERE area_code = :a AND decision = 'charged' "
                             "AND decision_month BETWEEN :f AND :l", a=area, f=first, l=last)
    legal = scalar(engine, "SELECT COUNT(*) FROM cases WHERE area_code = :a AND decision IN ('charged', 'nfa') "
                           "AND decision_month BETWEEN :f AND :l", a=area, f=first, l=last)
    return charged / legal


def test_tiles_match_independent_sql(seeded):
    engine, ref = seeded.engine, seeded.ref
    tiles = headline_tiles(engine, Filters(areas=("WES",)), ref, PERIOD)
    now, before = charge_rate(engine, "WES", *PERIOD), charge_rate(engine, "WES", "2023-01", "2023-12")
    tile = tiles["charge_rate"]
    assert tile.value == pytest.approx(now)
    assert tile.year_earlier.change == pytest.approx(now - before)          # percentage points
    assert tile.year_earlier.words == ("improving" if now > before else "worsening")
    b0, b1 = baseline_window(ref, "early_advice")
    assert (b0, b1) == ("2019-11", "2020-10")
    assert tile.baseline.change == pytest.approx(now - charge_rate(engine, "WES", b0, b1))

    refs_now = scalar(engine, "SELECT COUNT(*) FROM cases WHERE area_code = 'WES' AND referral_month BETWEEN "
                              "'2024-01' AND '2024-12'")
    refs_base = scalar(engine, "SELECT COUNT(*) FROM cases WHERE area_code = 'WES' AND referral_month BETWEEN "
                               ":f AND :l", f=b0, l=b1)
    assert tiles["referrals"].value == refs_now
    assert tiles["referrals"].baseline.change == pytest.approx(refs_now / refs_base - 1)   # 12 vs 12 months

    fte = scalar(engine, "SELECT SUM(numerator) / COUNT(DISTINCT month) FROM monthly WHERE area_code = 'WES' AND "
                         "metric_code = 'specialist_prosecutors' AND month BETWEEN '2024-01' AND '2024-12'")
    assert tiles["specialist_prosecutors"].value == pytest.approx(fte)


def test_pilot_and_comparison_series_match_independent_sql(seeded):
    engine, ref = seeded.engine, seeded.ref
    series = trend_series(engine, Filters(period_to="2024-12"), ["nfa_scrutiny_rate"], ref, "quarter")
    pilot_units = {(p.area_code, p.force_code) for p in ref.pilot_sites if p.workstream_code == "nfa_scrutiny"}
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT area_code, force_code, SUM(nfa_scrutinised), COUNT(*) FROM cases WHERE decision = 'nfa' "
            "AND decision_month BETWEEN '2022-04' AND '2022-06' GROUP BY area_code, force_code")).all()
    want = {PILOT: [0, 0], COMPARISON: [0, 0]}
    for a, f, n, d in rows:
        key = PILOT if (a, f) in pilot_units else COMPARISON
        want[key][0] += n
        want[key][1] += d
    got = {r["series"]: r["value"] for r in series.filter(series["period"] == "2022-Q2").iter_rows(named=True)}
    assert got[PILOT] == pytest.approx(want[PILOT][0] / want[PILOT][1])
    assert got[COMPARISON] == pytest.approx(want[COMPARISON][0] / want[COMPARISON][1])
    assert got[PILOT] > got[COMPARISON]


def find(component, component_id):
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        if hasattr(child, "to_plotly_json") and (hit := find(child, component_id)) is not None:
            return hit
    return None


def test_rendered_tile_shows_the_independent_figure(seeded):
    ctx = Context(seeded.engine, Settings(database_url=seeded.url))
    content, summary = overview.render(ctx, Filters(areas=("WES",), period_from="2024-01", period_to="2024-12"))
    tile = find(content[1], "tile-charge_rate")
    assert tile is not None and "Wessex, Jan 2024 to Dec 2024" in summary
    shown = tile.children[1].children
    assert shown == fmt_value(charge_rate(seeded.engine, "WES", *PERIOD), "rate")
