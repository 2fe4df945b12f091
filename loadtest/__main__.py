"""`python -m loadtest`: gunicorn on the load-test store, Locust at each number of users, one table of results.

The server runs as production does (gunicorn.conf.py, identity-proxy sign-in, the result cache) on a free loopback
port. An unrecorded warm-up comes first, then each level runs for the same time; per level: requests per second,
p50/p95/p99 over every request, failures, the slowest request kind, host CPU use and the workers' peak memory.
Results go to loadtest/results/ as JSON; the table is printed for docs/deployment.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.request import urlopen

from loadtest.store import DATABASE, ROOT, accounts, ensure_store

RESULTS = ROOT / "loadtest" / "results"
LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
DEFAULT_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not _local(args.admin_url):
        raise SystemExit("the load test runs only against a PostgreSQL server on this machine (loopback)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    run_id = datetime.now().strftime("%Y%m%d-%H%M%S")
    url = ensure_store(args.admin_url, args.cases)
    prefix = f"loadtest-{run_id}"
    server, base, log_path = start_server(url, args, run_id, prefix)
    levels = []
    try:
        if args.warmup:
            print(f"warm-up: 10 users for {args.warmup} s (not recorded)")
            run_locust(args, base, 10, args.warmup, RESULTS / f"warmup-{run_id}")
        for users in args.users:
            print(f"{users} users for {args.duration} s ...", flush=True)
            cpu0, procs0 = cpu_times(), process_cpu(server.pid)
            stats = run_locust(args, base, users, args.duration, RESULTS / f"{run_id}-{users}u")
            stats["host_cpu_busy_pct"] = busy_pct(cpu0, cpu_times())
            procs1 = process_cpu(server.pid)
            stats["cpu_cores_used"] = {k: round((procs1[k] - procs0[k]) / args.duration, 2) for k in procs1}
            stats["cpu_cores_used"]["locust"] = round(stats.pop("load_generator_cpu_s") / args.duration, 2)
            stats["worker_peak_rss_mb"] = worker_memory(server.pid)
            levels.append(stats)
            print("  " + line(stats), flush=True)
    finally:
        stop(server)
        if args.cache == "redis":
            clear_redis(prefix)
    result = {"run": run_id, "store": f"PostgreSQL, {args.cases:,} cases", "machine": machine(),
              "server": {"workers": args.workers or "from gunicorn.conf.py", "threads": args.threads or "from "
                         "gunicorn.conf.py", "cache": args.cache, "auth": "proxy"},
              "think_time_s": args.wait, "duration_s": args.duration, "cohort_step": not args.no_cohorts,
              "levels": levels,
              "access_log": str(log_path.relative_to(ROOT))}
    out = RESULTS / f"loadtest-{run_id}.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"\n{table(levels)}\nresults: {out.relative_to(ROOT)}")
    worst = max(levels, key=lambda s: s["users"]) if levels else None
    return 0 if worst and worst["failures"] == 0 else 1


def start_server(url: str, args, run_id: str, prefix: str) -> tuple[subprocess.Popen, str, Path]:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "HOST": "127.0.0.1", "PORT": str(port), "AUTH_MODE": "proxy",
           "SECRET_KEY": secrets.token_hex(32), "TRUSTED_PROXIES": "127.0.0.1/32", "CACHE_TYPE": args.cache,
           "CACHE_DIR": tempfile.mkdtemp(prefix="rasso-loadtest-cache-"), "LOG_LEVEL": "warning"}
    if args.cache == "redis":
        env.update(CACHE_REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=prefix)
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    log_path = RESULTS / f"gunicorn-{run_id}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "app:server"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}; see {log_path}")
        try:
            with urlopen(base + "/healthz", timeout=5) as resp:
                if resp.status == 200:
                    print(f"gunicorn at {base} (access log {log_path.relative_to(ROOT)})")
                    return proc, base, log_path
        except OSError:
            time.sleep(0.5)
    stop(proc)
    raise SystemExit("gunicorn did not answer /healthz within 120 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_locust(args, base: str, users: int, seconds: int, prefix: Path) -> dict:
    env = {**os.environ, "LOADTEST_ACCOUNTS": json.dumps(accounts()), "LOADTEST_WAIT": args.wait,
           "LOADTEST_COHORTS": "0" if args.no_cohorts else "1"}
    cmd = [args.locust, "-f", str(LOCUSTFILE), "--headless", "--host", base, "-u", str(users),
           "-r", str(max(1, users // 5)), "-t", f"{seconds}s", "--csv", str(prefix), "--only-summary",
           "--loglevel", "WARNING", "--stop-timeout", "10"]
    with open(f"{prefix}.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, _, usage = os.wait4(proc.pid, 0)        # reaps it, with the CPU time it used
        proc.returncode = 0
    stats = summarise(prefix, users)
    stats["load_generator_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
    return stats


def summarise(prefix: Path, users: int) -> dict:
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    kinds = {r["Name"]: {"requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
                         "p50_ms": _num(r["50%"]), "p95_ms": _num(r["95%"]), "max_ms": _num(r["Max Response Time"])}
             for r in rows if r["Name"] != "Aggregated"}
    slowest = max(kinds, key=lambda k: kinds[k]["p95_ms"] or 0) if kinds else None
    failures = []
    if Path(f"{prefix}_failures.csv").exists():
        with open(f"{prefix}_failures.csv", newline="", encoding="utf-8") as fh:
            failures = [{"name": r["Name"], "error": r["Error"][:200], "count": int(r["Occurrences"])}
                        for r in csv.DictReader(fh)]
    return {"users": users, "requests": int(total["Request Count"]), "failures": int(total["Failure Count"]),
            "rps": round(float(total["Requests/s"]), 1), "p50_ms": _num(total["50%"]), "p95_ms": _num(total["95%"]),
            "p99_ms": _num(total["99%"]), "max_ms": _num(total["Max Response Time"]),
            "slowest_kind": slowest, "slowest_p95_ms": kinds[slowest]["p95_ms"] if slowest else None,
            "by_kind": kinds, "failure_kinds": failures}


def _num(value: str) -> float | None:
    try:
        return round(float(value), 1)
    except ValueError:
        return None


def cpu_times() -> tuple[int, int]:
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]   # total, idle + iowait


def process_cpu(master: int) -> dict[str, float]:
    """CPU seconds so far of the gunicorn master and workers, and of the PostgreSQL backends serving the store
    (their process titles name the database; other databases on the server are not counted, nor are short-lived
    parallel query workers, so the PostgreSQL figure is a floor)."""
    tick = os.sysconf("SC_CLK_TCK")
    workers = {master, *map(int, Path(f"/proc/{master}/task/{master}/children").read_text().split())}
    out = {"gunicorn": 0.0, "postgresql": 0.0}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(proc.name) in workers:
            out["gunicorn"] += seconds
        elif name == "postgres" and DATABASE.encode() in _cmdline(proc):
            out["postgresql"] += seconds
    return out


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def busy_pct(before: tuple[int, int], after: tuple[int, int]) -> float:
    total, idle = after[0] - before[0], after[1] - before[1]
    return round(100 * (total - idle) / total, 1) if total else 0.0


def worker_memory(master: int) -> dict:
    """Peak resident memory (VmHWM) of each gunicorn worker so far, in MB."""
    peaks = []
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        try:
            for row in Path(f"/proc/{child}/status").read_text().splitlines():
                if row.startswith("VmHWM:"):
                    peaks.append(round(int(row.split()[1]) / 1024, 1))
        except OSError:
            continue
    return {"workers": len(peaks), "max": max(peaks, default=None), "sum": round(sum(peaks), 1)}


def clear_redis(prefix: str) -> None:
    import redis
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
        for row in fh:
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": model,
            "note": "server, PostgreSQL and the load generator share these cores"}


def line(s: dict) -> str:
    return (f"{s['users']} users: {s['rps']} req/s, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, "
            f"{s['failures']} failures of {s['requests']}, CPU {s['host_cpu_busy_pct']}% "
            f"(cores: {s['cpu_cores_used']}), slowest "
            f"{s['slowest_kind']} (p95 {s['slowest_p95_ms']} ms)")


def table(levels: list[dict]) -> str:
    rows = ["| users | requests/s | p50 ms | p95 ms | p99 ms | failures | host CPU busy | cores: app / PostgreSQL / "
            "load generator | slowest request (p95) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in levels:
        cores = s["cpu_cores_used"]
        rows.append(f"| {s['users']} | {s['rps']} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | {s['p99_ms']:.0f} | "
                    f"{s['failures']} of {s['requests']} | {s['host_cpu_busy_pct']}% | "
                    f"{cores['gunicorn']} / {cores['postgresql']} / {cores['locust']} | "
                    f"{s['slowest_kind']} ({s['slowest_p95_ms']:.0f} ms) |")
    return "\n".join(rows)


def _local(url: str) -> bool:
    import ipaddress

    from sqlalchemy.engine import make_url
    host = make_url(url).host or ""
    if host in ("", "localhost") or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _users(value: str) -> list[int]:
    levels = [int(v) for v in value.split(",") if v.strip()]
    if not levels or any(n < 1 or n > 500 for n in levels):
        raise argparse.ArgumentTypeError("a comma-separated list of user counts between 1 and 500")
    return levels


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.splitlines()[0])
    p.add_argument("--users", type=_users, default=[50], help="users at each level, e.g. 10,25,50,100 (50)")
    p.add_argument("--duration", type=int, default=60, help="seconds at each level (60)")
    p.add_argument("--warmup", type=int, default=20, help="seconds of unrecorded warm-up at 10 users (20; 0: none)")
    p.add_argument("--wait", default="1-3", help="seconds a user reads between steps, min-max (1-3)")
    p.add_argument("--cases", type=int, default=1_000_000, help="cases in the store (1,000,000)")
    p.add_argument("--cache", choices=["filesystem", "redis", "null"], default="filesystem")
    p.add_argument("--no-cohorts", action="store_true",
                   help="leave the cohort step out of the journey (to see what the rest of the app sustains)")
    p.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    p.add_argument("--threads", type=int, help="threads per worker (default: gunicorn.conf.py)")
    p.add_argument("--admin-url", default=os.environ.get("LOADTEST_ADMIN_URL", DEFAULT_ADMIN),
                   help="PostgreSQL URL allowed to create the rasso_loadtest database (local server)")
    p.add_argument("--locust", default=str(ROOT / ".venv-loadtest" / "bin" / "locust"), help="the locust program")
    return p


if __name__ == "__main__":
    sys.exit(main())
