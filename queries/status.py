"""What the store holds: schema version, data as-at month, row counts. Read by /healthz and the page header."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from queries import schema as s


@dataclass(frozen=True)
class StoreStatus:
    schema_version: int | None
    data_as_at: str | None
    last_loaded_at: str | None
    row_counts: dict[str, int]


def store_status(engine: sa.Engine) -> StoreStatus:
    """Raises sqlalchemy errors when the store is unreachable or not initialised; callers decide what to show."""
    with engine.connect() as conn:
        version = conn.execute(sa.select(s.schema_info.c.value)
                               .where(s.schema_info.c.key == "schema_version")).scalar()
        as_at, loaded_at = conn.execute(sa.select(sa.func.max(s.loads.c.last_month),
                                                  sa.func.max(s.loads.c.loaded_at))).one()
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in (s.cases, s.monthly, s.loads, s.area_forces, s.metrics, s.pilot_sites)}
    return StoreStatus(int(version) if version else None, as_at, loaded_at, counts)


def is_initialised(engine: sa.Engine) -> bool:
    return sa.inspect(engine).has_table(s.schema_info.name)


def data_months(engine: sa.Engine) -> tuple[str | None, str | None]:
    """First and last month held in the monthly aggregates: the range the period pickers offer."""
    with engine.connect() as conn:
        first, last = conn.execute(sa.select(sa.func.min(s.monthly.c.month), sa.func.max(s.monthly.c.month))).one()
    return first, last
