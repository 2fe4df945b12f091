"""The store's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Months are stored as 'YYYY-MM' text on both stores: they sort correctly, compare with plain SQL, and avoid the date
type differences between the two dialects. Numerators and denominators are floating point because some returns
(full-time equivalent staff) are fractional.
"""
from __future__ import annotations

import sqlalchemy as sa

SCHEMA_VERSION = 5   # 2: users, user_areas and audit tables; 3: per-Area targets; 4: covering monthly index;
                     # 5: national roll-ups of monthly (queries/rollups.py) and population counts
# Indexes later versions replaced: dropped from existing stores by init_store.
RETIRED_INDEXES = {"monthly": ("ix_monthly_metric_month",)}

metadata = sa.MetaData()

schema_info = sa.Table(
    "schema_info", metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

areas = sa.Table(
    "areas", metadata,
    sa.Column("area_code", sa.String(8), primary_key=True),
    sa.Column("area_name", sa.String(80), nullable=False),
)

forces = sa.Table(
    "forces", metadata,
    sa.Column("force_code", sa.String(9), primary_key=True),
    sa.Column("force_name", sa.String(80), nullable=False),
    sa.Column("population", sa.Integer, nullable=False),
)

# The unit of reporting: a force can sit under two Areas (the Met under London North and London South).
area_forces = sa.Table(
    "area_forces", metadata,
    sa.Column("area_code", sa.String(8), sa.ForeignKey("areas.area_code"), primary_key=True),
    sa.Column("force_code", sa.String(9), sa.ForeignKey("forces.force_code"), primary_key=True),
)

workstreams = sa.Table(
    "workstreams", metadata,
    sa.Column("workstream_code", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("aim", sa.String(400), nullable=False),
    sa.Column("sort_order", sa.Integer, nullable=False),
)

metrics = sa.Table(
    "metrics", metadata,
    sa.Column("metric_code", sa.String(40), primary_key=True),
    sa.Column("workstream_code", sa.String(20), sa.ForeignKey("workstreams.workstream_code"), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("unit", sa.String(12), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("month_basis", sa.String(16), nullable=False),
    sa.Column("period_aggregation", sa.String(8), nullable=False),
    sa.Column("numerator", sa.String(200), nullable=False),
    sa.Column("denominator", sa.String(200), nullable=False),
    sa.Column("target", sa.Float, nullable=True),
    sa.Column("definition", sa.String(800), nullable=False),
    sa.Column("sort_order", sa.Integer, nullable=False),
)

pilot_sites = sa.Table(
    "pilot_sites", metadata,
    sa.Column("workstream_code", sa.String(20), sa.ForeignKey("workstreams.workstream_code"), primary_key=True),
    sa.Column("area_code", sa.String(8), primary_key=True),
    sa.Column("force_code", sa.String(9), primary_key=True),
    sa.Column("start_month", sa.String(7), nullable=False),
    sa.Column("note", sa.String(200), nullable=False),
    sa.ForeignKeyConstraint(["area_code", "force_code"], ["area_forces.area_code", "area_forces.force_code"]),
)

# A target an Area sets itself, overriding the catalogue's national target when that Area alone is shown.
targets = sa.Table(
    "targets", metadata,
    sa.Column("metric_code", sa.String(40), sa.ForeignKey("metrics.metric_code"), primary_key=True),
    sa.Column("area_code", sa.String(8), sa.ForeignKey("areas.area_code"), primary_key=True),
    sa.Column("target", sa.Float, nullable=False),
    sa.Column("note", sa.String(200), nullable=False),
)

loads = sa.Table(
    "loads", metadata,
    sa.Column("load_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("loaded_at", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("file_name", sa.String(260), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("rows_read", sa.Integer, nullable=False),
    sa.Column("rows_inserted", sa.Integer, nullable=False),
    sa.Column("rows_replaced", sa.Integer, nullable=False),
    sa.Column("first_month", sa.String(7), nullable=True),
    sa.Column("last_month", sa.String(7), nullable=True),
)

# One row per anonymised case: no names, no dates finer than a month, no free text.
cases = sa.Table(
    "cases", metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("area_code", sa.String(8), nullable=False),
    sa.Column("force_code", sa.String(9), nullable=False),
    sa.Column("referral_month", sa.String(7), nullable=False),
    sa.Column("offence_group", sa.String(12), nullable=False),
    sa.Column("victim_age_band", sa.String(8), nullable=False),
    sa.Column("victim_sex", sa.String(8), nullable=False),
    sa.Column("early_advice", sa.SmallInteger, nullable=False),
    sa.Column("action_plans", sa.SmallInteger, nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("decision_month", sa.String(7), nullable=True),
    sa.Column("days_to_decision", sa.Integer, nullable=True),
    sa.Column("nfa_scrutinised", sa.SmallInteger, nullable=False),
    sa.Column("nfa_overturned", sa.SmallInteger, nullable=False),
    sa.Column("isva_engaged", sa.SmallInteger, nullable=False),
    sa.Column("victim_withdrew", sa.SmallInteger, nullable=False),
    sa.Column("load_id", sa.Integer, sa.ForeignKey("loads.load_id"), nullable=False),
    sa.ForeignKeyConstraint(["area_code", "force_code"], ["area_forces.area_code", "area_forces.force_code"]),
    sa.Index("ix_cases_unit_referral", "area_code", "force_code", "referral_month"),
    sa.Index("ix_cases_unit_decision", "area_code", "force_code", "decision_month"),
)

# Monthly aggregates per (month, area, force, metric): every headline view reads only this table.
monthly = sa.Table(
    "monthly", metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("area_code", sa.String(8), primary_key=True),
    sa.Column("force_code", sa.String(9), primary_key=True),
    sa.Column("metric_code", sa.String(40), sa.ForeignKey("metrics.metric_code"), primary_key=True),
    sa.Column("numerator", sa.Float, nullable=False),
    sa.Column("denominator", sa.Float, nullable=True),
    sa.Column("load_id", sa.Integer, sa.ForeignKey("loads.load_id"), nullable=False),
    sa.ForeignKeyConstraint(["area_code", "force_code"], ["area_forces.area_code", "area_forces.force_code"]),
    # Covering: headline sums (a measure over months, any units) read the index alone, never the table.
    sa.Index("ix_monthly_cover", "metric_code", "month", "area_code", "force_code", "numerator", "denominator"),
)

# National sums of `monthly` per measure and month, whole and split into the measure's pilot sites (pilot = 1) and
# the rest: kept by every load and init_store (queries/rollups.py) so national views read ~1,200 rows, not 54,000.
national_monthly = sa.Table(
    "national_monthly", metadata,
    sa.Column("metric_code", sa.String(40), sa.ForeignKey("metrics.metric_code"), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("numerator", sa.Float, nullable=False),
    sa.Column("denominator", sa.Float, nullable=True),
)

pilot_split_monthly = sa.Table(
    "pilot_split_monthly", metadata,
    sa.Column("metric_code", sa.String(40), sa.ForeignKey("metrics.metric_code"), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("pilot", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("numerator", sa.Float, nullable=False),
    sa.Column("denominator", sa.Float, nullable=True),
)

# National counts of each case population (queries.measures.POPULATIONS) per month, kept by every case load so a
# cohort's comparison group is "national minus cohort" rather than a scan of every other case (queries.populations).
population_days = sa.Table(
    "population_days", metadata,
    sa.Column("population", sa.String(40), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("days_to_decision", sa.Integer, primary_key=True, autoincrement=False),   # decided cases only
    sa.Column("cases", sa.Integer, nullable=False),
)

population_categories = sa.Table(
    "population_categories", metadata,
    sa.Column("population", sa.String(40), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("dimension", sa.String(40), primary_key=True),   # queries.dimensions.DIMENSIONS
    sa.Column("category", sa.String(20), primary_key=True),
    sa.Column("cases", sa.Integer, nullable=False),
)

# Who may see what: a role, and for Area leads the Areas whose cohorts they may open.
users = sa.Table(
    "users", metadata,
    sa.Column("username", sa.String(120), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=True),   # null: signs in through the identity proxy only
    sa.Column("disabled", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("created_at", sa.String(32), nullable=False),
)

user_areas = sa.Table(
    "user_areas", metadata,
    sa.Column("username", sa.String(120), sa.ForeignKey("users.username", ondelete="CASCADE"), primary_key=True),
    sa.Column("area_code", sa.String(8), sa.ForeignKey("areas.area_code"), primary_key=True),
)

# Every cohort view, export and data load: who, when, what, with which filters.
audit = sa.Table(
    "audit", metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("username", sa.String(120), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target", sa.String(400), nullable=False),
    sa.Column("detail", sa.String(2000), nullable=False),
    sa.Index("ix_audit_at", "at"),
)

REFERENCE_TABLES = (areas, forces, area_forces, workstreams, metrics, pilot_sites, targets)
