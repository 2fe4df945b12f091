"""How numbers are written for people: one formatter for tiles, tables, hover text and exports' labels."""
from __future__ import annotations

from queries.disclosure import NOT_AVAILABLE, SUPPRESSED
from queries.months import month_label, quarter_of  # noqa: F401  (re-exported for pages)


def fmt_value(value: float | None, unit: str, suppressed: bool = False) -> str:
    if suppressed:
        return SUPPRESSED
    if value is None:
        return NOT_AVAILABLE
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "mean_days":
        return f"{value:,.0f} days"
    if unit == "ratio":
        return f"{value:,.2f}"
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def fmt_change(change: float | None, unit: str) -> str:
    if change is None:
        return ""
    if unit == "rate":
        return f"{abs(change) * 100:.1f} points"
    return f"{abs(change):.0%}"


def period_label(period: str, grain: str) -> str:
    """Axis and table labels: 'Mar 2024', '2024 Q1', '2024'."""
    if grain == "month":
        return month_label(period)
    if grain == "quarter":
        return period.replace("-", " ")
    return period


def period_start(period: str, grain: str) -> str:
    """An ISO date for the start of a period, so charts get a real time axis."""
    if grain == "month":
        return f"{period}-01"
    if grain == "quarter":
        return f"{period[:4]}-{(int(period[-1]) - 1) * 3 + 1:02d}-01"
    return f"{period}-01-01"


def axis_format(unit: str) -> str:
    return {"rate": ".0%", "ratio": ".2f", "mean_days": ",.0f"}.get(unit, ",.0f")
