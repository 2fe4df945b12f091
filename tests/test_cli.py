"""The command line, as a data team uses it: real processes, exit codes and messages."""
from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from conftest import write_csv
from queries.validate import CASE_COLUMNS


def run(*args, url):
    return subprocess.run([sys.executable, "-m", "dashboard", *args, "--database-url", url],
                          capture_output=True, text=True, timeout=300)


def test_init_seed_ingest_round_trip(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    init = run("init", url=url)
    assert init.returncode == 0 and "43 forces" in init.stdout and "17 metrics" in init.stdout
    seed = run("seed", "--cases", "3000", "--seed", "5", url=url)
    assert seed.returncode == 0, seed.stderr
    assert "cases.csv: 3,000 rows read, 3,000 inserted, 0 replaced" in seed.stdout
    again = run("seed", "--cases", "3000", "--seed", "5", "--if-empty", url=url)
    assert "not seeding" in again.stdout
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM cases")).scalar() == 3000


def test_bad_extract_exits_non_zero_naming_file_line_and_field(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert run("init", url=url).returncode == 0
    row = dict(case_id="X1", area_code="SWE", force_code="E23000036", referral_month="2023-01",
               offence_group="adult_rape", victim_age_band="25_34", victim_sex="female", early_advice=0,
               action_plans=0, decision="pending", decision_month="", days_to_decision="", nfa_scrutinised=0,
               nfa_overturned=0, isva_engaged=0, victim_withdrew="maybe")
    path = write_csv(tmp_path / "extract.csv", list(CASE_COLUMNS), [row])
    result = run("ingest", "cases", str(path), url=url)
    assert result.returncode == 1
    assert "extract.csv: 1 problem; nothing was loaded" in result.stderr
    assert "line 2, field victim_withdrew: 'maybe' must be 0 or 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_before_init_is_explained(tmp_path):
    result = run("ingest", "returns", str(tmp_path / "none.csv"), url=f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert result.returncode == 1 and "run `python -m dashboard init` first" in result.stderr


def test_unreachable_store_is_explained():
    result = run("init", url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert result.returncode == 2 and "cannot reach the store" in result.stderr
    assert "Traceback" not in result.stderr
