"""User accounts, roles and the scope each role may see. Enforced here, below every page, callback and route.

Roles: a national leader sees everything; an Area lead sees national headline views but cohorts (case-level
breakdowns) only for their own Areas; an analyst sees everything and may load data. Passwords are hashed with
scrypt (Werkzeug's current default); accounts without a password sign in only through the identity proxy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from queries import schema as s

ROLES = ("national", "area_lead", "analyst")
ROLE_NAMES = {"national": "National leader", "area_lead": "Area lead", "analyst": "Analyst"}
USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,120}$")
MIN_PASSWORD = 12


class UserError(ValueError):
    """A request about users that cannot be done; the message says why."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    areas: tuple[str, ...] = ()

    @property
    def cohort_scope(self) -> tuple[str, ...] | None:
        """Areas whose cohorts this user may open; None means every Area."""
        return self.areas if self.role == "area_lead" else None

    @property
    def may_load(self) -> bool:
        return self.role == "analyst"

    @property
    def sees_audit(self) -> bool:
        return self.role == "national"

    def may_see_cohort(self, areas: tuple[str, ...]) -> bool:
        """Whether the Areas a selection covers (see selection_areas) lie inside this user's scope."""
        scope = self.cohort_scope
        return scope is None or (bool(areas) and set(areas) <= set(scope))


# The explicit open mode (`make run` on a loopback address): a national view with no accounts.
OPEN_USER = User("local (open mode)", "national")


def _check(username: str, role: str, areas: tuple[str, ...], known_areas) -> None:
    if not USERNAME.match(username or ""):
        raise UserError("username must be 1 to 120 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    unknown = [a for a in areas if a not in known_areas]
    if unknown:
        raise UserError(f"unknown CPS Area code(s): {', '.join(unknown)}")
    if role == "area_lead" and not areas:
        raise UserError("an Area lead needs at least one Area (--area CODE)")
    if role != "area_lead" and areas:
        raise UserError("only Area leads are limited to Areas")


def add_user(engine: sa.Engine, username: str, role: str, areas=(), password: str | None = None) -> User:
    areas = tuple(sorted(set(areas)))
    with engine.begin() as conn:
        known = set(conn.execute(sa.select(s.areas.c.area_code)).scalars())
        _check(username, role, areas, known)
        if password is not None and len(password) < MIN_PASSWORD:
            raise UserError(f"password must be at least {MIN_PASSWORD} characters")
        if conn.execute(sa.select(s.users.c.username).where(s.users.c.username == username)).first():
            raise UserError(f"user {username!r} already exists")
        conn.execute(sa.insert(s.users).values(
            username=username, role=role, disabled=0, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            password_hash=generate_password_hash(password) if password else None))
        if areas:
            conn.execute(sa.insert(s.user_areas), [{"username": username, "area_code": a} for a in areas])
    return User(username, role, areas)


def remove_user(engine: sa.Engine, username: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(s.user_areas).where(s.user_areas.c.username == username))
        if not conn.execute(sa.delete(s.users).where(s.users.c.username == username)).rowcount:
            raise UserError(f"no user {username!r}")


def get_user(engine: sa.Engine, username: str) -> User | None:
    """The active user of that name, or None (unknown or disabled)."""
    if not username or len(username) > 120:
        return None
    with engine.connect() as conn:
        row = conn.execute(sa.select(s.users.c.username, s.users.c.role)
                           .where(s.users.c.username == username, s.users.c.disabled == 0)).first()
        if row is None:
            return None
        areas = tuple(conn.execute(sa.select(s.user_areas.c.area_code).where(s.user_areas.c.username == username)
                                   .order_by(s.user_areas.c.area_code)).scalars())
    return User(row.username, row.role, areas)


def authenticate(engine: sa.Engine, username: str, password: str) -> User | None:
    """Check a password. Unknown users cost the same hash check, so timing does not reveal who exists."""
    with engine.connect() as conn:
        stored = conn.execute(sa.select(s.users.c.password_hash)
                              .where(s.users.c.username == (username or "")[:120], s.users.c.disabled == 0)).scalar()
    if not stored:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return get_user(engine, username) if check_password_hash(stored, password or "") else None


def list_users(engine: sa.Engine) -> list[User]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(s.users.c.username, s.users.c.role).order_by(s.users.c.username)).all()
        areas: dict[str, list[str]] = {}
        for u, a in conn.execute(sa.select(s.user_areas.c.username, s.user_areas.c.area_code)
                                 .order_by(s.user_areas.c.area_code)).all():
            areas.setdefault(u, []).append(a)
    return [User(r.username, r.role, tuple(areas.get(r.username, ()))) for r in rows]


_DUMMY_HASH = generate_password_hash("not a real password, used to keep timing even")


def selection_areas(filters, ref) -> tuple[str, ...]:
    """The Areas whose units a selection covers: chosen Areas, else the Areas of chosen forces, else every Area."""
    if filters.areas:
        return tuple(filters.areas)
    if filters.forces:
        return tuple(sorted({a for f in filters.forces for a in ref.areas_of(f)}))
    return tuple(sorted(ref.areas))
