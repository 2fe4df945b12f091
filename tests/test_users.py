"""Accounts, roles and scope in the data layer; settings that refuse unsafe combinations; the audit trail."""
from __future__ import annotations

import subprocess
import sys

import pytest

from dashboard.settings import Settings, SettingsError
from queries.audit import entries, record_now
from queries.users import UserError, add_user, authenticate, get_user, list_users, remove_user

PASSWORD = "a long enough passphrase"


def test_add_authenticate_and_scope(empty_store):
    engine = empty_store.engine
    lead = add_user(engine, "lead@wes", "area_lead", ["WES", "SWE"], PASSWORD)
    assert lead.areas == ("SWE", "WES") and lead.cohort_scope == ("SWE", "WES")
    assert authenticate(engine, "lead@wes", PASSWORD) == lead
    assert authenticate(engine, "lead@wes", "wrong password!!") is None
    assert authenticate(engine, "nobody", PASSWORD) is None
    assert lead.may_see_cohort(("WES",)) and not lead.may_see_cohort(("WES", "NEA"))
    assert not lead.may_see_cohort(())          # a national cohort is wider than their Areas
    national = add_user(engine, "chief", "national", password=PASSWORD)
    assert national.cohort_scope is None and national.may_see_cohort(()) and national.sees_audit
    analyst = add_user(engine, "analyst", "analyst", password=None)
    assert analyst.may_load and authenticate(engine, "analyst", "") is None   # proxy-only account
    assert [u.username for u in list_users(engine)] == ["analyst", "chief", "lead@wes"]
    remove_user(engine, "chief")
    assert get_user(engine, "chief") is None


@pytest.mark.parametrize("username, role, areas, password, words", [
    ("bad name", "national", [], PASSWORD, "username must be"),
    ("x", "king", [], PASSWORD, "role must be one of"),
    ("x", "area_lead", [], PASSWORD, "needs at least one Area"),
    ("x", "area_lead", ["ZZZ"], PASSWORD, "unknown CPS Area"),
    ("x", "national", ["WES"], PASSWORD, "only Area leads"),
    ("x", "national", [], "short", "at least 12 characters"),
])
def test_bad_accounts_are_refused(empty_store, username, role, areas, password, words):
    with pytest.raises(UserError, match=words):
        add_user(empty_store.engine, username, role, areas, password)


def test_password_is_hashed_not_stored(empty_store):
    import sqlalchemy as sa
    add_user(empty_store.engine, "h", "national", password=PASSWORD)
    with empty_store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM users")).scalar_one()
    assert PASSWORD not in stored and stored.startswith("scrypt:")


def test_audit_records_and_lists_newest_first(empty_store):
    record_now(empty_store.engine, "a", "cohort_view", "/cohort", {"metric": "charge_rate", "area": ["WES"]})
    record_now(empty_store.engine, "b", "metrics_export", "/export/metrics.csv", {"grain": "year"})
    got = entries(empty_store.engine, since="2000-01-01")
    assert [(e.username, e.action) for e in got] == [("b", "metrics_export"), ("a", "cohort_view")]
    assert got[1].detail == {"area": ["WES"], "metric": "charge_rate"}
    assert entries(empty_store.engine, since="2999-01-01") == []
    with pytest.raises(ValueError):
        record_now(empty_store.engine, "a", "made_up", "/")


@pytest.mark.parametrize("changes, words", [
    (dict(host="0.0.0.0"), "open mode"),
    (dict(auth_mode="accounts"), "SECRET_KEY"),
    (dict(auth_mode="proxy", secret_key="k"), "TRUSTED_PROXIES"),
    (dict(auth_mode="proxy", secret_key="k", trusted_proxies=("not-an-ip",)), "not an address"),
    (dict(auth_mode="sso"), "AUTH_MODE"),
    (dict(disclosure_threshold=2), "at least 3"),
])
def test_unsafe_settings_refused(changes, words):
    with pytest.raises(SettingsError, match=words):
        Settings(**changes).check()


def test_safe_settings_accepted():
    Settings().check()
    Settings(host="0.0.0.0", open_on_network=True).check()
    Settings(host="10.0.0.5", auth_mode="proxy", secret_key="k", trusted_proxies=("10.0.0.0/8",)).check()
    env = Settings.from_env({"AUTH_MODE": "accounts", "SECRET_KEY": "s", "HOST": "0.0.0.0"})
    assert env.check().auth_mode == "accounts"


def test_users_cli(tmp_path):
    url = f"sqlite:///{tmp_path / 'u.sqlite'}"
    def run(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "dashboard", *args, "--database-url", url], input=stdin,
                              capture_output=True, text=True, timeout=120)
    assert run("init").returncode == 0
    added = run("users", "add", "lead", "--role", "area_lead", "--area", "WES", "--password-stdin", stdin=PASSWORD)
    assert added.returncode == 0 and "added lead (Area lead)" in added.stdout
    assert run("users", "list").stdout.strip() == "lead\tarea_lead\tWES"
    refused = run("users", "add", "x", "--role", "area_lead", "--no-password")
    assert refused.returncode == 1 and "needs at least one Area" in refused.stderr
    assert run("users", "add", "y", "--role", "national").returncode == 1     # no terminal, no password flag
    assert run("audit", "--since", "yesterday").returncode == 2
