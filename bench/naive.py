"""The naive reference: the overview's numbers computed in pandas from case rows read into memory.

This is how a quick analysis script would do it: read every case (the selection needs the national figure beside
it, so all of them), group them in memory per measure and month, then window and split. It is vectorised pandas,
not a straw man; it stops at the numbers (no figures), so the ratio against the app understates the gap. Kept in
bench/ only; pandas is not a dependency of the app.
"""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from queries.filters import Filters
from queries.months import add_months, quarter_of
from queries.reference import Reference
from queries.tiles import baseline_window

CASE_COLUMNS = ("area_code", "force_code", "referral_month", "decision", "decision_month", "days_to_decision",
                "early_advice", "action_plans", "nfa_scrutinised", "nfa_overturned", "isva_engaged",
                "victim_withdrew")
THRESHOLD = 10


def _measures(c: pd.DataFrame) -> dict[str, tuple[str, pd.Series, pd.Series | None]]:
    """metric -> (month column, numerator per case, population per case or None for counts)."""
    legal = c.decision.isin(["charged", "nfa"])
    decided = c.decision.isin(["charged", "nfa", "admin_finalised"])
    nfa = c.decision == "nfa"
    scrutinised = nfa & (c.nfa_scrutinised == 1)
    one = pd.Series(1, index=c.index)
    some_plans = c.action_plans >= 1
    return {
        "referrals": ("referral_month", one, None),
        "early_advice_rate": ("referral_month", c.early_advice, one),
        "charge_rate": ("decision_month", (c.decision == "charged").astype(int), legal.astype(int)),
        "admin_finalised_rate": ("decision_month", (c.decision == "admin_finalised").astype(int),
                                 decided.astype(int)),
        "days_to_decision": ("decision_month", c.days_to_decision.where(legal, 0).fillna(0), legal.astype(int)),
        "action_plans_per_referral": ("referral_month", c.action_plans, one),
        "multiple_action_plans_rate": ("referral_month", (c.action_plans >= 2).astype(int),
                                       some_plans.astype(int)),
        "nfa_decisions": ("decision_month", nfa.astype(int), None),
        "nfa_scrutiny_rate": ("decision_month", scrutinised.astype(int), nfa.astype(int)),
        "nfa_overturn_rate": ("decision_month", (scrutinised & (c.nfa_overturned == 1)).astype(int),
                              scrutinised.astype(int)),
        "isva_engagement_rate": ("referral_month", c.isva_engaged, one),
        "victim_withdrawal_rate": ("referral_month", c.victim_withdrew, one),
    }


def _monthly(cases: pd.DataFrame, returns: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Long frame: month, *by, metric_code, numerator, denominator: every measure summed per month."""
    parts = []
    for code, (month, num, den) in _measures(cases).items():
        frame = pd.DataFrame({"month": cases[month], "numerator": num,
                              "denominator": den if den is not None else 0, **{k: cases[k] for k in by}})
        frame = frame[frame.month.notna()]
        g = frame.groupby(["month", *by], as_index=False)[["numerator", "denominator"]].sum()
        g["metric_code"] = code
        if den is None:
            g["denominator"] = float("nan")
        parts.append(g)
    rets = returns.groupby(["month", *by, "metric_code"], as_index=False)[["numerator", "denominator"]].sum(
        min_count=1)
    return pd.concat([*parts, rets], ignore_index=True)


def _value(rows: pd.DataFrame, ref: Reference) -> dict[str, float | None]:
    out = {}
    for code, g in rows.groupby("metric_code"):
        metric = ref.metrics[code]
        num, den = g.numerator.sum(), g.denominator.sum(min_count=1)
        if metric.period_aggregation == "mean":
            num = num / g.month.nunique()
        small = metric.source == "cases" and (0 < num < THRESHOLD or (pd.notna(den) and 0 < den < THRESHOLD))
        if small:
            out[code] = None
        elif not metric.has_denominator:
            out[code] = float(num)
        else:
            out[code] = float(num / den) if pd.notna(den) and den > 0 else None
    return out


def _tiles(monthly: pd.DataFrame, ref: Reference, period: tuple[str, str]) -> dict[str, dict]:
    def window(a, b):
        return _value(monthly[(monthly.month >= a) & (monthly.month <= b)], ref)
    first, last = period
    now, before = window(first, last), window(add_months(first, -12), add_months(last, -12))
    tiles = {}
    for code, metric in ref.metrics.items():
        base = baseline_window(ref, metric.workstream_code)
        tiles[code] = {"value": now.get(code), "year_earlier": before.get(code),
                       "baseline": window(*base).get(code) if base else None}
    return tiles


def overview_numbers(engine: sa.Engine, filters: Filters, ref: Reference, period: tuple[str, str],
                     lead: list[str]) -> dict:
    with engine.connect() as conn:
        cases = pd.read_sql_query(sa.text(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases"), conn)
        returns = pd.read_sql_query(sa.text(
            "SELECT month, area_code, force_code, metric_code, numerator, denominator FROM monthly WHERE "
            "metric_code IN (SELECT metric_code FROM metrics WHERE source = 'returns')"), conn)
    chosen = pd.Series(True, index=cases.index)
    chosen_r = pd.Series(True, index=returns.index)
    if filters.areas:
        chosen &= cases.area_code.isin(filters.areas)
        chosen_r &= returns.area_code.isin(filters.areas)
    if filters.forces:
        chosen &= cases.force_code.isin(filters.forces)
        chosen_r &= returns.force_code.isin(filters.forces)
    tiles = _tiles(_monthly(cases[chosen], returns[chosen_r], []), ref, period)
    if filters.is_national:
        pilots = pd.DataFrame([(p.workstream_code, p.area_code, p.force_code) for p in ref.pilot_sites],
                              columns=["workstream_code", "area_code", "force_code"])
        units = _monthly(cases, returns, ["area_code", "force_code"])
        units = units[units.metric_code.isin(lead) & (units.month <= period[1])]
        units["workstream_code"] = units.metric_code.map({c: ref.metrics[c].workstream_code for c in lead})
        units = units.merge(pilots.assign(pilot=True), how="left", on=["workstream_code", "area_code", "force_code"])
        units["series"] = units.pilot.fillna(False).map({True: "Pilot sites", False: "Comparison sites"})
    else:
        sel = _monthly(cases[chosen], returns[chosen_r], []).assign(series="Selection")
        nat = _monthly(cases, returns, []).assign(series="England and Wales")
        units = pd.concat([sel, nat])
        units = units[units.metric_code.isin(lead) & (units.month <= period[1])]
    if filters.grain == "quarter":
        units = units.assign(period=units.month.map(quarter_of))
    else:
        units = units.assign(period=units.month)
    trend = units.groupby(["metric_code", "series", "period"], as_index=False)[["numerator", "denominator"]].sum(
        min_count=1)
    return {"tiles": tiles, "trend": trend}
