"""Benchmark stores: one seeded national-scale store per backend, built through the real CLI and cached.

A store is reused while its stamp (case count, seed and a digest of the generator, schema, measures and reference
data) matches and it still holds that many cases; otherwise it is rebuilt from scratch with `python -m dashboard
seed`. SQLite stores live under bench/cache/ (gitignored); PostgreSQL stores are databases of their own on the
local server, created through an administrative connection.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
CACHE = BENCH_DIR / "cache"
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DATABASE = "rasso_bench"
PG_SCRATCH = "rasso_bench_scratch"
STAMP_KEY = "bench_stamp"
SUMMARY = re.compile(r"^(?P<file>\S+): (?P<rows>[\d,]+) rows read, (?P<inserted>[\d,]+) inserted, "
                     r"(?P<replaced>[\d,]+) replaced.* in (?P<seconds>[\d.]+) s$")


# What a stored benchmark store depends on: a change to any of these rebuilds it.
STORE_INPUTS = ("sample_data/generate.py", "queries/schema.py", "queries/reference.py", "queries/measures.py")


def generator_stamp(cases: int, seed: int) -> str:
    """Size, seed, and a digest of the generator, the schema, the measures and the reference data."""
    digest = hashlib.sha256()
    for path in [*(ROOT / p for p in STORE_INPUTS), *sorted((ROOT / "sample_data" / "reference").glob("*.csv"))]:
        digest.update(path.read_bytes())
    return f"cases={cases};seed={seed};data={digest.hexdigest()[:16]}"


def sqlite_url(cases: int, seed: int, name: str = "rasso") -> str:
    return f"sqlite:///{CACHE / f'{name}-{cases}-s{seed}.sqlite'}"


def pg_url(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def sqlite_files(url: str) -> list[Path]:
    """The database file and its WAL companions (what a cold run evicts from the page cache)."""
    path = Path(make_url(url).database)
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def reset_store(url: str, admin_url: str) -> None:
    """Remove a store entirely: delete the SQLite files, or drop and recreate the PostgreSQL database."""
    drop_store(url, admin_url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        _admin(admin_url, f'CREATE DATABASE "{parsed.database}"')


def drop_store(url: str, admin_url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for p in sqlite_files(url):
            p.unlink()
        return
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _admin(admin_url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE), on the administrative URL."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        admin.dispose()


def store_ready(url: str, stamp: str, cases: int) -> bool:
    """True when the store exists, carries this stamp and holds exactly `cases` cases."""
    if make_url(url).get_backend_name() == "sqlite" and not sqlite_files(url):
        return False
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT value FROM schema_info WHERE key = :k"), {"k": STAMP_KEY}).scalar()
            count = conn.execute(sa.text("SELECT COUNT(*) FROM cases")).scalar()
            loads = conn.execute(sa.text("SELECT COUNT(*) FROM loads")).scalar()
        return found == stamp and count == cases and loads >= 2
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def run_cli(args: list[str], url: str) -> dict:
    """Run `python -m dashboard ...` as a data team would; wall time, peak memory and the load summaries.

    Peak memory is the child's own high-water mark (VmHWM), read while it runs: the rusage of a child started from
    a large parent reports the parent's size instead.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "dashboard", *args, "--database-url", url], cwd=ROOT,
                                stdout=out, stderr=err, text=True)
        peak = None
        while proc.poll() is None:
            peak = _peak_rss_mb(proc.pid) or peak
            time.sleep(0.05)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"dashboard {' '.join(args)} failed ({proc.returncode}): {stderr.strip()[-2000:]}")
    return {"command": " ".join(args[:2]), "wall_s": round(wall, 2), "peak_rss_mb": peak,
            "loads": parse_summaries(stdout)}


def _peak_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def parse_summaries(stdout: str) -> list[dict]:
    loads = []
    for line in stdout.splitlines():
        if m := SUMMARY.match(line.strip()):
            rows, seconds = int(m["rows"].replace(",", "")), float(m["seconds"])
            loads.append({"file": m["file"], "rows": rows, "replaced": int(m["replaced"].replace(",", "")),
                          "seconds": seconds, "rows_per_s": round(rows / seconds) if seconds else None})
    return loads


def ensure_store(backend: str, cases: int, seed: int, admin_url: str, log=print) -> dict:
    """The cached store for a backend, building it when missing or stale. Returns its URL and build record."""
    CACHE.mkdir(parents=True, exist_ok=True)
    url = sqlite_url(cases, seed) if backend == "sqlite" else pg_url(admin_url, f"{PG_DATABASE}_{cases}")
    stamp = generator_stamp(cases, seed)
    record_path = CACHE / f"build-{backend}-{cases}-s{seed}.json"
    if store_ready(url, stamp, cases):
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
        log(f"{backend}: cached store with {cases:,} cases ({stamp})")
        return {"backend": backend, "url": url, "cached": True, "build": record}
    log(f"{backend}: building a store of {cases:,} cases through `python -m dashboard seed` ...")
    reset_store(url, admin_url)
    build = run_cli(["seed", "--cases", str(cases), "--seed", str(seed)], url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM schema_info WHERE key = :k"), {"k": STAMP_KEY})
        conn.execute(sa.text("INSERT INTO schema_info (key, value) VALUES (:k, :v)"), {"k": STAMP_KEY, "v": stamp})
    engine.dispose()
    if backend == "sqlite":   # fold the WAL into the main file so every later run starts from the same layout
        _checkpoint(url)
    build["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    record_path.write_text(json.dumps(build, indent=1))
    log(f"{backend}: built in {build['wall_s']} s")
    return {"backend": backend, "url": url, "cached": False, "build": build}


def _checkpoint(url: str) -> None:
    import sqlite3
    with sqlite3.connect(make_url(url).database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def ensure_extracts(cases: int, seed: int, log=print) -> Path:
    """The generator's CSV extracts for (cases, seed), written once: the input of the ingest measurements."""
    stamp = generator_stamp(cases, seed)
    directory = CACHE / f"extracts-{cases}-s{seed}"
    marker = directory / "stamp.txt"
    if marker.exists() and marker.read_text() == stamp and (directory / "cases.csv").exists():
        return directory
    from queries.db import make_engine
    from queries.reference import init_store, load_reference
    from sample_data.generate import generate, write_extracts

    log(f"writing extracts of {cases:,} cases to {directory.relative_to(ROOT)}")
    directory.mkdir(parents=True, exist_ok=True)
    ref_path = directory / "reference.sqlite"
    ref_path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{ref_path}")
    init_store(engine)
    ref = load_reference(engine)
    engine.dispose()
    ref_path.unlink()
    for p in directory.glob("reference.sqlite-*"):
        p.unlink()
    write_extracts(*generate(ref, cases, seed), directory)
    marker.write_text(stamp)
    return directory
