"""Pilot effect estimates: stacked difference-in-differences against never-treated sites.

Why stacked, not plain two-way fixed effects (TWFE): pilots start in different
months.  Plain TWFE then also uses already-piloting units as "controls" for later
starters, so when effects grow over time it can give badly weighted (even wrong-
signed) answers.  Here every pilot cohort (pilot units sharing a start month) gets
its own stack: the cohort plus all never-treated comparison sites, over all months.
Within each stack we fit TWFE (unit-in-stack and month-in-stack fixed effects,
post = pilot unit and month >= its own start); one effect is estimated over the
pooled stacks.  It is a variance-weighted average of clean cohort-versus-comparison
DiDs, never a comparison against a site that is itself piloting (Cengiz et al. 2019).

Outcome and scale, by metric ``unit``:
  * count      -> log(count + 1), unweighted; reported as exp(b) - 1, a proportional
                  change ("percent": 0.18 = 18% higher than expected without pilot).
                  For very small counts log(y+1) only approximates a proportion.
  * rate       -> numerator / denominator weighted by denominator (ratio-of-sums in
                  spirit); reported in proportion units ("points": 0.05 = 5 pp).
  * mean_days, ratio -> numerator / denominator weighted by denominator ("absolute":
                  days, or ratio units).  An all-null denominator means the
                  numerator already is the value (weight 1).
Inference: standard errors clustered by site (comparison sites appear in several
stacks, so clustering by site, not by stack-unit, is required), CR1 correction
G/(G-1) * (N-1)/(N-K) with absorbed unit effects (nested in clusters) not counted
in K, and a t(G-1) critical value computed exactly (no scipy).  With few pilot sites
cluster-robust intervals are too narrow; a single pilot site is flagged in ``note``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

MIN_PRE_MONTHS = 3  # pilot sites need this many pre-start months with data
_UNITS = {"count": "percent", "rate": "points", "mean_days": "absolute", "ratio": "absolute"}


@dataclass(frozen=True)
class Effect:
    metric_code: str
    unit: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    scale: str
    pilot_sites: int
    comparison_sites: int
    method: str
    note: str | None
    level: float = 0.95


# --- t quantile without scipy: exact CDF via the regularised incomplete beta -----
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for I_x(a, b) (modified Lentz, Numerical Recipes 6.4)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for aa in (m * (b - m) * x / ((qam + 2 * m) * (a + 2 * m)),
                   -(a + m) * (qab + m) * x / ((a + 2 * m) * (qap + 2 * m))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student t CDF: 1 - I_{df/(df+t^2)}(df/2, 1/2) / 2 for t >= 0."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Inverse of t_cdf by bisection (to ~1e-12); p in (0, 1)."""
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
        if hi - lo < 1e-12:
            break
    return 0.5 * (lo + hi)


# --- estimation -----------------------------------------------------------------
def _demean(v: np.ndarray, w: np.ndarray, g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
    """Weighted two-way within transformation by alternating projections.

    One sweep is exact on a balanced panel; gaps (missing months, zero
    denominators) need a few more, hence the loop.
    """
    sw1, sw2 = np.bincount(g1, weights=w), np.bincount(g2, weights=w)
    v = v.copy()
    for _ in range(1000):
        old = v.copy()
        for g, sw in ((g1, sw1), (g2, sw2)):
            for j in range(v.shape[1]):
                v[:, j] -= (np.bincount(g, weights=w * v[:, j]) / sw)[g]
        if np.max(np.abs(v - old)) < 1e-11:
            break
    return v


def _none(metric_code, unit, scale, n_p, n_c, note, level) -> Effect:
    return Effect(metric_code, unit, None, None, None, scale, n_p, n_c,
                  "Stacked DiD vs never-treated sites", note, level)


def estimate_effect(panel: pl.DataFrame, *, metric_code: str, unit: str, level: float = 0.95,
                    min_pre_months: int = MIN_PRE_MONTHS) -> Effect:
    """Stacked DiD pilot effect with a unit-clustered t(G-1) interval (see module doc).

    ``panel``: site, month ("YYYY-MM"), numerator, denominator, start_month (null =
    comparison site).  Pilot sites with fewer than ``min_pre_months`` pre-start
    months, or no post-start months, are excluded and counted in ``note``.
    """
    if unit not in _UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {sorted(_UNITS)}")
    scale = _UNITS[unit]
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    if "metric_code" in panel.columns:
        panel = panel.filter(pl.col("metric_code") == metric_code)
    if "denominator" not in panel.columns:  # count metrics may omit it
        panel = panel.with_columns(denominator=pl.lit(None, pl.Float64))
    mi = pl.col("month").str.slice(0, 4).cast(pl.Int32) * 12 + pl.col("month").str.slice(5, 2).cast(pl.Int32)
    df = panel.with_columns(pl.col("numerator").cast(pl.Float64), pl.col("denominator").cast(pl.Float64))
    df = df.filter(pl.col("numerator").is_not_null() & pl.col("numerator").is_finite())
    if unit == "count":
        df = df.filter(pl.col("numerator") >= 0).with_columns(
            y=pl.col("numerator").log1p(), w=pl.lit(1.0))
    elif df["denominator"].null_count() == df.height:
        df = df.with_columns(y=pl.col("numerator"), w=pl.lit(1.0))
    else:
        df = df.filter(pl.col("denominator") > 0).with_columns(
            y=pl.col("numerator") / pl.col("denominator"), w=pl.col("denominator"))
    starts = (panel.group_by("site").agg(pl.col("start_month").cast(pl.String).drop_nulls().min())
              .with_columns(s=pl.col("start_month").str.slice(0, 4).cast(pl.Int32) * 12
                            + pl.col("start_month").str.slice(5, 2).cast(pl.Int32)))
    df = (df.with_columns(m=mi).drop("start_month").join(starts, on="site", how="left")
          .sort("site", "month"))
    per_site = df.group_by("site").agg(
        pl.col("s").first(), pre=(pl.col("m") < pl.col("s")).sum(), post=(pl.col("m") >= pl.col("s")).sum())
    comp = sorted(per_site.filter(pl.col("s").is_null())["site"].to_list())
    pil = per_site.filter(pl.col("s").is_not_null())
    ok = pil.filter((pl.col("pre") >= min_pre_months) & (pl.col("post") >= 1))
    notes = []
    if (n_no_post := pil.filter(pl.col("post") == 0).height):
        notes.append(f"{n_no_post} pilot site(s) excluded: no months after the pilot start")
    if (n_short := pil.height - ok.height - n_no_post):
        notes.append(f"{n_short} pilot site(s) excluded: fewer than {min_pre_months} pre-pilot months")
    n_p, n_c = ok.height, len(comp)
    if n_c == 0:
        return _none(metric_code, unit, scale, n_p, 0, "no comparison sites", level)
    if n_p == 0:
        why = "; ".join(notes) if notes else "no pilot sites"
        if n_short:
            why = f"too few pre-pilot months ({why})"
        return _none(metric_code, unit, scale, 0, n_c, why, level)

    comp_df = df.filter(pl.col("site").is_in(comp))
    site_ids = {s: i for i, s in enumerate(sorted(comp + ok["site"].to_list()))}
    ys, ws, gs, n_fe = [], [], [], 0
    xs: list[np.ndarray] = []
    for cohort in sorted(set(ok["s"].to_list())):
        sites = ok.filter(pl.col("s") == cohort)["site"].to_list()
        st = pl.concat([df.filter(pl.col("site").is_in(sites)), comp_df])
        site = st["site"].to_list()
        uid = np.unique(np.array(site), return_inverse=True)[1]
        mid = np.unique(st["m"].to_numpy(), return_inverse=True)[1]
        x = st.select((pl.col("s").is_not_null() & (pl.col("m") >= pl.col("s"))).cast(pl.Float64)).to_series().to_numpy()
        w = st["w"].to_numpy()
        v = _demean(np.column_stack([st["y"].to_numpy(), x]), w, uid, mid)
        ys.append(v[:, 0]); xs.append(v[:, 1]); ws.append(w)
        gs.append(np.array([site_ids[s] for s in site]))
        n_fe += mid.max()  # month effects in this stack, less one (collinear with unit effects)
    y, x, w, g = (np.concatenate(a) for a in (ys, xs, ws, gs))
    sxx = float(np.sum(w * x * x))
    if sxx < 1e-9 * max(1.0, float(np.sum(w))):
        return _none(metric_code, unit, scale, n_p, n_c, "pilot and comparison months do not overlap", level)
    b = float(np.sum(w * x * y)) / sxx
    e = y - b * x
    G, N, K = n_p + n_c, len(y), 1 + n_fe
    scores = np.bincount(g, weights=w * x * e, minlength=G)
    cr1 = G / (G - 1) * (N - 1) / max(N - K, 1)
    se = math.sqrt(cr1 * float(np.sum(scores**2))) / sxx
    tcrit = t_quantile(0.5 + level / 2.0, G - 1)
    lo, hi = b - tcrit * se, b + tcrit * se
    if unit == "count":
        b, lo, hi = math.expm1(b), math.expm1(lo), math.expm1(hi)
    if n_p == 1:
        notes.append("only one pilot site: the interval is likely too narrow")
    outcome = {"count": "log count", "rate": "rate, weighted"}.get(unit, "mean, weighted")
    method = f"Stacked DiD ({outcome}) vs never-treated sites, unit-clustered SE (CR1), t({G - 1})"
    return Effect(metric_code, unit, b, lo, hi, scale, n_p, n_c, method,
                  "; ".join(notes) or None, level)


# --- wording --------------------------------------------------------------------
def _fmt(v: float, scale: str, unit: str, big: bool) -> str:
    """Round like a person would: 18% not 18.3%, 4.2 points, 12.5 days, 0.12 per referral."""
    if scale == "percent":
        return f"{v * 100:.0f}%" if big else f"{v * 100:.1f}%"
    if scale == "points":
        return f"{v * 100:.1f}"
    return f"{v:.1f}" if unit == "mean_days" or big else f"{v:.2f}"


def describe(effect: Effect, metric_name: str) -> str:
    """One plain-English sentence for boards; says 'no clear difference' when the
    interval covers zero, and gives the reason when there is no estimate."""
    est, lo, hi = effect.estimate, effect.ci_low, effect.ci_high
    if est is None or lo is None or hi is None:
        return f"{metric_name}: no estimate ({effect.note or 'not enough data'})."
    sc, u = effect.scale, effect.unit
    big = max(abs(est), abs(lo), abs(hi)) >= (0.1 if sc == "percent" else 10.0)
    tail = {"points": " points", "percent": ""}.get(sc, " days" if u == "mean_days" else "")
    size = _fmt(abs(est), sc, u, big) + (" percentage points" if sc == "points" else tail)
    way = "higher" if est >= 0 else "lower"
    ci = f"{effect.level * 100:g}% interval {_fmt(lo, sc, u, big)} to {_fmt(hi, sc, u, big)}{tail}"
    if lo <= 0.0 <= hi:
        return (f"{metric_name}: no clear difference from what was expected without the pilot "
                f"(estimate {size} {way}; {ci}).")
    return f"{metric_name} about {size} {way} than expected without the pilot ({ci})."


# --- synthetic data for tests and demos -------------------------------------------
def _ar1(rng: np.random.Generator, n: int, rho: float = 0.5) -> np.ndarray:
    """Unit-level AR(1) noise with unit variance: real monthly series are serially
    correlated, which is exactly why standard errors are clustered by site."""
    z = rng.normal(0.0, 1.0, n)
    e = np.empty(n)
    e[0] = z[0]
    for k in range(1, n):
        e[k] = rho * e[k - 1] + math.sqrt(1 - rho * rho) * z[k]
    return e


def synthetic_panel(n_pilot: int, n_comparison: int, months: int, effect: float, kind: str,
                    seed: int, *, noise: float = 1.0, start: str = "2019-01") -> pl.DataFrame:
    """Synthetic unit-month panel with unit and month effects, noise and staggered
    pilot starts (spread over the middle third of the months).

    kind "count": Poisson counts, effect proportional (0.2 = +20%).
    kind "rate": binomial rates, effect additive in proportion units (0.08 = +8 pp).
    ``noise`` scales the extra AR(1) unit-month noise (sampling noise stays).
    """
    rng = np.random.default_rng(seed)
    n = n_pilot + n_comparison
    y0, m0 = int(start[:4]), int(start[5:7]) - 1
    labels = [f"{(y0 * 12 + m0 + t) // 12}-{(m0 + t) % 12 + 1:02d}" for t in range(months)]
    t = np.arange(months)
    month_fx = 0.08 * np.sin(2 * np.pi * t / 12) + 0.003 * t + rng.normal(0, 0.03, months)
    start_idx = [months // 3 + (i * (months // 3)) // max(n_pilot, 1) for i in range(n_pilot)]
    rows = []
    for u in range(n):
        pilot = u < n_pilot
        d = (t >= start_idx[u]).astype(float) if pilot else np.zeros(months)
        if kind == "count":
            mu = np.exp(rng.uniform(np.log(50), np.log(300)) + month_fx
                        + np.log1p(effect) * d + 0.15 * noise * _ar1(rng, months))
            num, den = rng.poisson(mu).astype(float), [None] * months
        elif kind == "rate":
            p = np.clip(rng.uniform(0.2, 0.6) + 0.5 * month_fx + effect * d
                        + 0.03 * noise * _ar1(rng, months), 0.01, 0.99)
            size = rng.poisson(rng.uniform(30, 120), months) + 1
            num, den = rng.binomial(size, p).astype(float), size.astype(float)
        else:
            raise ValueError(f"unknown kind {kind!r}")
        site = f"P{u + 1:02d}" if pilot else f"C{u - n_pilot + 1:02d}"
        sm = labels[start_idx[u]] if pilot else None
        rows += [(site, labels[k], float(num[k]), None if den[k] is None else float(den[k]), sm)
                 for k in range(months)]
    return pl.DataFrame(rows, schema={"site": pl.String, "month": pl.String, "numerator": pl.Float64,
                                      "denominator": pl.Float64, "start_month": pl.String}, orient="row")
