"""Reference data: Areas, forces, the units they form, workstreams, the metric catalogue and pilot sites.

Reference data ships as CSV in sample_data/reference/ and is loaded by `init`. It is data, not code: the pilot
allocation in particular is illustrative and is replaced by loading a different pilot_sites.csv.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa

from queries import schema as s
from queries.rollups import rebuild_rollups, take_turn

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "sample_data" / "reference"

UNITS = ("count", "rate", "ratio", "mean_days")
DIRECTIONS = ("up", "down", "neutral")
SOURCES = ("cases", "returns")
MONTH_BASES = ("referral_month", "decision_month", "month")
PERIOD_AGGREGATIONS = ("sum", "mean")


@dataclass(frozen=True)
class Metric:
    metric_code: str
    workstream_code: str
    name: str
    unit: str
    direction: str
    source: str
    month_basis: str
    period_aggregation: str
    numerator: str
    denominator: str
    target: float | None
    definition: str
    sort_order: int

    @property
    def has_denominator(self) -> bool:
        return self.unit != "count"


@dataclass(frozen=True)
class Workstream:
    workstream_code: str
    name: str
    aim: str
    sort_order: int


@dataclass(frozen=True)
class PilotSite:
    workstream_code: str
    area_code: str
    force_code: str
    start_month: str
    note: str


@dataclass(frozen=True)
class Reference:
    """Everything that validates input and labels output, read once from the store."""

    areas: dict[str, str]
    forces: dict[str, str]
    populations: dict[str, int]
    pairs: frozenset[tuple[str, str]]
    workstreams: tuple[Workstream, ...]
    metrics: dict[str, Metric]
    pilot_sites: tuple[PilotSite, ...]
    targets: dict[tuple[str, str], float] = field(default_factory=dict)   # (metric_code, area_code) -> target

    def metric_for(self, metric_code: str, areas: tuple[str, ...] = ()) -> Metric:
        """The metric with the target that applies to a selection: an Area's own target when exactly that Area
        is shown, else the catalogue's national target."""
        metric = self.metrics[metric_code]
        if len(areas) == 1 and (metric_code, areas[0]) in self.targets:
            return replace(metric, target=self.targets[(metric_code, areas[0])])
        return metric

    def forces_of(self, area_codes) -> list[str]:
        wanted = set(area_codes)
        return sorted({f for a, f in self.pairs if a in wanted}, key=lambda f: self.forces[f])

    def areas_of(self, force_code: str) -> list[str]:
        return sorted(a for a, f in self.pairs if f == force_code)

    def metrics_of(self, workstream_code: str) -> list[Metric]:
        return [m for m in self.metrics.values() if m.workstream_code == workstream_code]


class ReferenceError(ValueError):
    """A reference CSV that cannot be loaded; the message names the file, line and field."""


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _check(path: Path, line: int, field: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ReferenceError(f"{path.name}, line {line}, field {field}: {value!r} is not one of {', '.join(allowed)}")


def read_reference_files(directory: Path = REFERENCE_DIR) -> dict[str, list[dict]]:
    """Read and check the reference CSVs, returning rows per table name."""
    unit_rows = _read(directory / "area_forces.csv")
    area_rows = {r["area_code"]: {"area_code": r["area_code"], "area_name": r["area_name"]} for r in unit_rows}
    force_rows = {
        r["force_code"]: {"force_code": r["force_code"], "force_name": r["force_name"],
                          "population": int(r["population_2023_est"])}
        for r in unit_rows
    }
    ws_rows = [dict(r, sort_order=i) for i, r in enumerate(_read(directory / "workstreams.csv"))]
    ws_codes = {r["workstream_code"] for r in ws_rows}
    metric_rows = []
    path = directory / "metrics.csv"
    for i, r in enumerate(_read(path)):
        line = i + 2
        _check(path, line, "workstream_code", r["workstream_code"], sorted(ws_codes))
        _check(path, line, "unit", r["unit"], UNITS)
        _check(path, line, "direction", r["direction"], DIRECTIONS)
        _check(path, line, "source", r["source"], SOURCES)
        _check(path, line, "month_basis", r["month_basis"], MONTH_BASES)
        _check(path, line, "period_aggregation", r["period_aggregation"], PERIOD_AGGREGATIONS)
        try:
            target = float(r["target"]) if r["target"].strip() else None
        except ValueError:
            raise ReferenceError(f"{path.name}, line {line}, field target: {r['target']!r} is not a number") from None
        metric_rows.append(dict(r, target=target, sort_order=i))
    pairs = {(r["area_code"], r["force_code"]) for r in unit_rows}
    pilot_rows = []
    path = directory / "pilot_sites.csv"
    for i, r in enumerate(_read(path)):
        line = i + 2
        _check(path, line, "workstream_code", r["workstream_code"], sorted(ws_codes))
        if (r["area_code"], r["force_code"]) not in pairs:
            raise ReferenceError(f"{path.name}, line {line}, field force_code: {r['area_code']}/{r['force_code']} "
                                 "is not a force of that Area")
        pilot_rows.append(r)
    target_rows = []
    path = directory / "targets.csv"
    units = {r["metric_code"]: r["unit"] for r in metric_rows}
    for i, r in enumerate(_read(path) if path.exists() else []):
        line = i + 2
        _check(path, line, "metric_code", r["metric_code"], sorted(units))
        _check(path, line, "area_code", r["area_code"], sorted(area_rows))
        try:
            value = float(r["target"])
        except ValueError:
            raise ReferenceError(f"{path.name}, line {line}, field target: {r['target']!r} is not a number") from None
        if value < 0 or (units[r["metric_code"]] == "rate" and value > 1):
            raise ReferenceError(f"{path.name}, line {line}, field target: {value} is out of range for a "
                                 f"{units[r['metric_code']]} (rates are proportions, 0 to 1)")
        target_rows.append(dict(r, target=value))
    return {
        "areas": list(area_rows.values()),
        "forces": list(force_rows.values()),
        "area_forces": [{"area_code": a, "force_code": f} for a, f in sorted(pairs)],
        "workstreams": ws_rows,
        "metrics": metric_rows,
        "pilot_sites": pilot_rows,
        "targets": target_rows,
    }


def init_store(engine: sa.Engine, directory: Path = REFERENCE_DIR, recount: bool = False) -> dict[str, int]:
    """Create the schema if missing and upsert the reference data, in one transaction. Safe to run again.

    The national population counts are counted from the cases when their table is new (a store made by an earlier
    version) or when `recount` asks for it; otherwise loads keep them. It takes its turn with loads, since it
    rewrites what they change by difference, and updates the schema version row in place: a load waiting on that
    row's lock would not wait on a deleted and re-inserted one."""
    from queries import populations   # here, not at the top: it needs queries.validate, which imports this module

    rows_by_table = read_reference_files(directory)
    recount = recount or not sa.inspect(engine).has_table(s.population_days.name)
    s.metadata.create_all(engine)
    _upgrade_indexes(engine)
    counts = {}
    with engine.begin() as conn:
        take_turn(conn)
        version = s.schema_info.c.key == "schema_version"
        if not conn.execute(sa.update(s.schema_info).where(version).values(value=str(s.SCHEMA_VERSION))).rowcount:
            conn.execute(sa.insert(s.schema_info), [{"key": "schema_version", "value": str(s.SCHEMA_VERSION)}])
        if recount:
            populations.rebuild(conn)
        for table in s.REFERENCE_TABLES:
            rows = rows_by_table[table.name]
            _upsert(conn, table, rows)
            counts[table.name] = len(rows)
        # Pilot allocation and Area targets are replaced whole: a row dropped from the file must stop applying.
        for table in (s.pilot_sites, s.targets):
            keys = [c.name for c in table.primary_key.columns]
            keep = {tuple(r[k] for k in keys) for r in rows_by_table[table.name]}
            existing = conn.execute(sa.select(*table.primary_key.columns)).all()
            for key in set(map(tuple, existing)) - keep:
                conn.execute(sa.delete(table).where(sa.tuple_(*table.primary_key.columns) == key))
        # The pilot split follows the pilot sites just written; a store from before the roll-ups gets them here.
        rebuild_rollups(conn)
    return counts


def _upgrade_indexes(engine: sa.Engine) -> None:
    """Give a store made by an earlier version today's indexes (create_all skips tables that exist)."""
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        for table in s.metadata.sorted_tables:
            present = {ix["name"] for ix in inspector.get_indexes(table.name)}
            for name in sorted(present & set(s.RETIRED_INDEXES.get(table.name, ()))):
                stand_in = sa.Table(table.name, sa.MetaData(), sa.Column("c"))  # keeps the old index off the schema
                conn.execute(sa.schema.DropIndex(sa.Index(name, stand_in.c.c)))
            for index in table.indexes:
                if index.name not in present:
                    index.create(conn)


def _upsert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert new rows and update changed ones, portably (no dialect-specific ON CONFLICT)."""
    cols = [c.name for c in table.columns]
    key_cols = [c.name for c in table.primary_key.columns]
    existing = {tuple(r) for r in conn.execute(sa.select(*table.primary_key.columns)).all()}
    new, old = [], []
    for r in rows:
        clean = {c: r.get(c) for c in cols}
        (old if tuple(clean[k] for k in key_cols) in existing else new).append(clean)
    if new:
        conn.execute(sa.insert(table), new)
    for r in old if len(key_cols) < len(cols) else ():
        where = sa.and_(*(table.c[k] == r[k] for k in key_cols))
        conn.execute(sa.update(table).where(where).values({c: v for c, v in r.items() if c not in key_cols}))


def load_reference(engine: sa.Engine) -> Reference:
    with engine.connect() as conn:
        areas = dict(conn.execute(sa.select(s.areas.c.area_code, s.areas.c.area_name)).all())
        force_rows = conn.execute(sa.select(s.forces.c.force_code, s.forces.c.force_name, s.forces.c.population)).all()
        forces = {r.force_code: r.force_name for r in force_rows}
        populations = {r.force_code: r.population for r in force_rows}
        pairs = frozenset(tuple(r) for r in conn.execute(sa.select(s.area_forces)).all())
        ws = tuple(Workstream(**r._mapping) for r in
                   conn.execute(sa.select(s.workstreams).order_by(s.workstreams.c.sort_order)).all())
        metrics = {r.metric_code: Metric(**r._mapping) for r in
                   conn.execute(sa.select(s.metrics).order_by(s.metrics.c.sort_order)).all()}
        pilots = tuple(PilotSite(**r._mapping) for r in conn.execute(
            sa.select(s.pilot_sites).order_by(s.pilot_sites.c.workstream_code, s.pilot_sites.c.area_code,
                                              s.pilot_sites.c.force_code)).all())
        targets = {(r.metric_code, r.area_code): r.target for r in conn.execute(sa.select(s.targets)).all()}
    return Reference(areas, forces, populations, pairs, ws, metrics, pilots, targets)
