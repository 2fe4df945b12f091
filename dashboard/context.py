"""What every page and callback needs: the store, the settings, reference data and the data's month range.

Reference data and the month range change only when data is loaded, so they are cached and re-read when the
`loads` table changes (one cheap query per request instead of six).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import sqlalchemy as sa

from dashboard.cache import request_data_version
from dashboard.settings import Settings
from queries.filters import Filters
from queries.months import add_months, month_label
from queries.reference import Reference, load_reference
from queries.status import data_months

DEFAULT_MONTHS = 12


@dataclass
class Context:
    engine: sa.Engine
    settings: Settings
    cache: object | None = None   # the query-result cache (dashboard.cache), set by create_app
    writer: sa.Engine | None = None   # the primary, where audit rows go, when `engine` reads a replica
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _key: tuple | None = None
    _ref: Reference | None = None
    _months: tuple[str | None, str | None] = (None, None)

    def _refresh(self) -> None:
        key = request_data_version(self.engine)   # one read of `loads` per request, however many lookups
        with self._lock:
            if key != self._key or self._ref is None:
                self._ref = load_reference(self.engine)
                self._months = data_months(self.engine)
                self._key = key

    def reference(self) -> Reference:
        self._refresh()
        return self._ref

    def months(self) -> tuple[str | None, str | None]:
        self._refresh()
        return self._months

    @property
    def write_engine(self) -> sa.Engine:
        return self.writer or self.engine

    @property
    def threshold(self) -> int:
        return self.settings.disclosure_threshold

    def period(self, filters: Filters) -> tuple[str, str] | None:
        """The months a view covers: the filter's, else the latest 12 months of data, kept inside the data."""
        first, last = self.months()
        if not last:
            return None
        end = min(filters.period_to or last, last)
        start = filters.period_from or add_months(end, -(DEFAULT_MONTHS - 1))
        start = max(start, first)
        return (start, end) if start <= end else None


def period_words(period: tuple[str, str]) -> str:
    a, b = period
    return month_label(a) if a == b else f"{month_label(a)} to {month_label(b)}"
