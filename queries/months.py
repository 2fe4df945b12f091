"""Month arithmetic on 'YYYY-MM' strings, the store's month format."""
from __future__ import annotations

import re

MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def is_month(value: str) -> bool:
    return isinstance(value, str) and bool(MONTH_PATTERN.match(value))


def month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_from_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(month: str, n: int) -> str:
    return month_from_index(month_index(month) + n)


def month_range(first: str, last: str) -> list[str]:
    return [month_from_index(i) for i in range(month_index(first), month_index(last) + 1)]


def quarter_of(month: str) -> str:
    """Calendar quarter label, e.g. '2024-02' -> '2024-Q1'."""
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_label(month: str) -> str:
    """'2024-03' -> 'Mar 2024', as GOV.UK style writes short dates."""
    return f"{_NAMES[int(month[5:7]) - 1]} {month[:4]}"
