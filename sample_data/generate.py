"""Deterministic synthetic extracts: realistic volumes, seasonality, noise and visible pilot effects.

Nothing here is real data. Volumes follow force population; each pilot site's effects start at its own start month
(with a six-month ramp), against comparison sites without them. The generator writes the same CSV extracts a data
team would, so `seed` exercises the real ingest path.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from queries.months import month_from_index, month_index, month_range
from queries.reference import Reference

DEFAULT_FIRST = "2019-01"
DEFAULT_LAST = "2024-12"
RAMP_MONTHS = 6
OFFENCES = np.array(["adult_rape", "child_rape", "other_sso"])
ADULT_BANDS = np.array(["16_17", "18_24", "25_34", "35_44", "45_54", "55_plus", "unknown", "under_16"])
SEXES = np.array(["female", "male", "unknown"])


@dataclass(frozen=True)
class Units:
    """The reporting units with their population weight and, per workstream, pilot start (month index or -1)."""

    area: np.ndarray
    force: np.ndarray
    weight: np.ndarray
    starts: dict[str, np.ndarray]

    @classmethod
    def from_reference(cls, ref: Reference) -> Units:
        pairs = sorted(ref.pairs)
        shared = {}  # a force under two Areas (the Met) splits its population between them
        for _, f in pairs:
            shared[f] = shared.get(f, 0) + 1
        weight = np.array([ref.populations[f] / shared[f] for _, f in pairs], dtype=float)
        starts = {w.workstream_code: np.full(len(pairs), -1) for w in ref.workstreams}
        index = {p: i for i, p in enumerate(pairs)}
        for site in ref.pilot_sites:
            starts[site.workstream_code][index[(site.area_code, site.force_code)]] = month_index(site.start_month)
        return cls(np.array([a for a, _ in pairs]), np.array([f for _, f in pairs]), weight / weight.sum(), starts)


def _ramp(starts: np.ndarray, month_idx: np.ndarray) -> np.ndarray:
    """0 before a pilot starts, rising to 1 over RAMP_MONTHS; 0 everywhere for comparison sites."""
    on = (starts >= 0) & (month_idx >= starts)
    return np.where(on, np.clip((month_idx - starts + 1) / RAMP_MONTHS, 0, 1), 0.0)


def generate(ref: Reference, n_cases: int, seed: int, first: str = DEFAULT_FIRST,
             last: str = DEFAULT_LAST) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (cases, returns) extracts as text-ready frames in the data contract's columns."""
    rng = np.random.default_rng(seed)
    units = Units.from_reference(ref)
    months = np.array([month_index(m) for m in month_range(first, last)])
    n_units, n_months = len(units.area), len(months)
    m0, m_last = months[0], months[-1]

    # Volumes: population share x seasonality x slow growth x pilot uplift x noise, then a multinomial split.
    season = 1 + 0.12 * np.cos(2 * np.pi * ((months % 12) - 6) / 12)
    growth = 1 + 0.04 * (months - m0) / 12
    ea = _ramp(units.starts["early_advice"][:, None], months[None, :])
    cell = units.weight[:, None] * season[None, :] * growth[None, :] * (1 + 0.25 * ea)
    cell *= rng.gamma(40, 1 / 40, size=cell.shape)
    counts = rng.multinomial(n_cases, (cell / cell.sum()).ravel()).reshape(n_units, n_months)
    u = np.repeat(np.arange(n_units), counts.sum(axis=1))
    m = np.concatenate([np.repeat(months, counts[i]) for i in range(n_units)])
    n = len(u)

    def pilot(ws: str, at: np.ndarray) -> np.ndarray:
        return _ramp(units.starts[ws][u], at)

    since = (m - m0) / 12
    national = np.clip((m - month_index("2023-07")) / 12, 0, 1)  # national roll-out from July 2023
    offence = OFFENCES[rng.choice(3, size=n, p=[0.55, 0.2, 0.25])]
    child = offence == "child_rape"
    age = np.where(child, np.where(rng.random(n) < 0.85, "under_16", "16_17"),
                   ADULT_BANDS[rng.choice(8, size=n, p=[0.06, 0.27, 0.25, 0.17, 0.12, 0.07, 0.04, 0.02])])
    sex = SEXES[rng.choice(3, size=n, p=[0.87, 0.11, 0.02])]

    p_ea = pilot("early_advice", m)
    early = rng.random(n) < 0.22 + 0.5 * p_ea + 0.15 * national
    p_ap = pilot("action_plans", m)
    plans = rng.poisson(np.clip(1.5 - 0.5 * p_ap - 0.2 * early, 0.2, None))
    p_vs = pilot("victims", m)
    isva = rng.random(n) < 0.42 + 0.25 * p_vs + 0.05 * national
    withdrew = rng.random(n) < np.where(isva, 0.22, 0.34) - 0.04 * p_vs

    # Days from referral to decision: national slowdown to 2022, faster with early advice and action plan pilots.
    median = 110 * (1 + 0.25 * np.clip(since, 0, 3)) * (1 - 0.15 * early) * (1 - 0.3 * p_ap)
    days = np.round(rng.lognormal(np.log(median + 20 * plans), 0.45)).astype(np.int64).clip(1, 1500)
    ref_day = (m * 30.44 + rng.integers(0, 28, size=n))
    dec_idx = np.floor((ref_day + days) / 30.44).astype(np.int64)
    pending = dec_idx > m_last

    u_r = rng.random(n)
    p_admin = np.clip(0.12 - 0.04 * p_ea - 0.03 * p_ap, 0.02, None)
    p_charge = np.clip(0.26 + 0.10 * early + 0.05 * isva - 0.18 * withdrew + 0.06 * p_ea, 0.02, 0.95)
    decision = np.where(u_r < p_admin, "admin_finalised",
                        np.where(rng.random(n) < p_charge, "charged", "nfa"))
    decision = np.where(pending, "pending", decision)
    is_nfa = decision == "nfa"
    p_ns = pilot("nfa_scrutiny", np.minimum(dec_idx, m_last))
    scrutinised = is_nfa & (rng.random(n) < 0.06 + 0.5 * p_ns + 0.1 * national)
    overturned = scrutinised & (rng.random(n) < 0.12)

    order = rng.permutation(n)  # case ids carry no information about unit or month
    case_id = np.char.add(f"S{seed}-", np.char.zfill(order.astype(str), 7))
    cases = pl.DataFrame({
        "case_id": case_id,
        "area_code": units.area[u],
        "force_code": units.force[u],
        "referral_month": _months_text(m),
        "offence_group": offence,
        "victim_age_band": age,
        "victim_sex": sex,
        "early_advice": early.astype(np.int8),
        "action_plans": plans.astype(np.int16),
        "decision": decision,
        "decision_month": pl.Series(_months_text(dec_idx), dtype=pl.String),
        "days_to_decision": days,
        "nfa_scrutinised": scrutinised.astype(np.int8),
        "nfa_overturned": overturned.astype(np.int8),
        "isva_engaged": isva.astype(np.int8),
        "victim_withdrew": withdrew.astype(np.int8),
    }).with_columns(
        pl.when(pl.Series(pending)).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("decision_month", "days_to_decision"))
    return cases, _returns(rng, units, months, counts)


def _months_text(idx: np.ndarray) -> np.ndarray:
    lookup = {i: month_from_index(int(i)) for i in np.unique(idx)}
    return np.array([lookup[i] for i in idx.tolist()], dtype=object)


def _returns(rng, units: Units, months: np.ndarray, counts: np.ndarray) -> pl.DataFrame:
    """Aggregate-only measures (quality assurance and workforce), one row per unit, month and metric."""
    shape = counts.shape
    ap = _ramp(units.starts["action_plans"][:, None], months[None, :])
    vs = _ramp(units.starts["victims"][:, None], months[None, :])
    pp = _ramp(units.starts["people"][:, None], months[None, :])
    sampled = rng.poisson(18, size=shape) + 2
    assured = rng.binomial(sampled, 0.70 + 0.16 * ap)
    due = rng.poisson(counts * 1.5) + 1
    on_time = rng.binomial(due, 0.76 + 0.13 * vs)
    sessions = rng.poisson(0.4 + 2.6 * pp)
    fte = np.maximum(1.0, np.round(2 * (units.weight[:, None] * 400) * (1 + 0.3 * pp)) / 2) * np.ones(shape)
    live = np.round(fte * rng.normal(45 - 12 * pp, 3)).clip(0)
    month_text = np.array([month_from_index(int(i)) for i in months], dtype=object)
    frames = []
    for code, num, den in (("action_plans_assured_rate", assured, sampled),
                           ("victim_letters_on_time_rate", on_time, due),
                           ("joint_training_sessions", sessions, None),
                           ("specialist_prosecutors", fte, None),
                           ("caseload_per_prosecutor", live, fte)):
        frames.append(pl.DataFrame({
            "month": np.tile(month_text, shape[0]),
            "area_code": np.repeat(units.area, shape[1]),
            "force_code": np.repeat(units.force, shape[1]),
            "metric_code": code,
            "numerator": num.ravel().astype(float),
            "denominator": pl.Series(den.ravel().astype(float) if den is not None else [None] * num.size,
                                     dtype=pl.Float64),
        }))
    return pl.concat(frames)


def write_extracts(cases: pl.DataFrame, returns: pl.DataFrame, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    case_path, returns_path = directory / "cases.csv", directory / "returns.csv"
    cases.write_csv(case_path)
    returns.write_csv(returns_path, float_precision=None)
    return case_path, returns_path
