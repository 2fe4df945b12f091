"""The audit trail: every cohort view, export and data load, in the store, with who, when, what and the filters.

Where the action itself writes to the store (a data load), the audit row goes in the same transaction, so an
action is never recorded without happening or the other way round.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from queries import schema as s

ACTIONS = ("cohort_view", "cohort_export", "metrics_export", "analysis_export", "load", "sign_in",
           "sign_in_failed", "forbidden")


@dataclass(frozen=True)
class AuditEntry:
    at: str
    username: str
    action: str
    target: str
    detail: dict


def record(conn: sa.Connection, username: str, action: str, target: str, detail: dict | None = None) -> None:
    """Write one audit row on the caller's connection (and so in the caller's transaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    conn.execute(sa.insert(s.audit).values(
        at=datetime.now(timezone.utc).isoformat(timespec="seconds"), username=username[:120], action=action,
        target=target[:400], detail=json.dumps(detail or {}, sort_keys=True)[:2000]))


def record_now(engine: sa.Engine, username: str, action: str, target: str, detail: dict | None = None) -> None:
    with engine.begin() as conn:
        record(conn, username, action, target, detail)


def entries(engine: sa.Engine, since: str | None = None, limit: int = 1000) -> list[AuditEntry]:
    """Newest first. `since` is an ISO date or date-time (UTC)."""
    query = sa.select(s.audit).order_by(s.audit.c.audit_id.desc()).limit(limit)
    if since:
        query = query.where(s.audit.c.at >= since)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [AuditEntry(r.at, r.username, r.action, r.target, json.loads(r.detail)) for r in rows]
