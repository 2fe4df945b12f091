"""Ingest throughput through the command line a data team uses, into a scratch store made for the purpose.

Three loads, each a fresh `python -m dashboard ingest` process: the whole national case extract into an empty
store, the returns extract, then one month's case extract again (a monthly resubmission: it replaces that month for
every Area and force and rebuilds their aggregates). Rows per second come from each load's own summary line (the
load: validation, the transaction and the aggregate rebuild); the process's wall time and peak memory are kept too.
"""
from __future__ import annotations

import csv
from pathlib import Path

from bench.stores import CACHE, PG_SCRATCH, drop_store, pg_url, reset_store, run_cli, sqlite_url


def month_slice(cases_csv: Path, month: str, target: Path) -> int:
    """Write the cases referred in one month to `target`; returns their number."""
    rows = 0
    with cases_csv.open(newline="", encoding="utf-8") as src, target.open("w", newline="", encoding="utf-8") as dst:
        reader = csv.reader(src)
        header = next(reader)
        col = header.index("referral_month")
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(header)
        for row in reader:
            if row[col] == month:
                writer.writerow(row)
                rows += 1
    return rows


def measure_ingest(backend: str, extracts: Path, admin_url: str, cases: int, seed: int, month: str = "2024-06",
                   log=print) -> dict:
    url = sqlite_url(cases, seed, "ingest-scratch") if backend == "sqlite" else pg_url(admin_url, PG_SCRATCH)
    reset_store(url, admin_url)
    monthly = CACHE / f"cases-{month}.csv"
    month_rows = month_slice(extracts / "cases.csv", month, monthly)
    try:
        run_cli(["init"], url)
        out = {}
        for name, args in (("cases_full", ["ingest", "cases", str(extracts / "cases.csv")]),
                           ("returns", ["ingest", "returns", str(extracts / "returns.csv")]),
                           ("cases_month_reload", ["ingest", "cases", str(monthly)])):
            log(f"  {backend}: {name} ...")
            result = run_cli(args, url)
            load = result["loads"][0]
            out[name] = {"rows": load["rows"], "replaced": load["replaced"], "load_s": load["seconds"],
                         "rows_per_s": load["rows_per_s"], "process_wall_s": result["wall_s"],
                         "peak_rss_mb": result["peak_rss_mb"]}
            log(f"    {load['rows']:,} rows in {load['seconds']} s ({load['rows_per_s']:,} rows/s)")
        out["cases_month_reload"]["month"] = month
        assert out["cases_month_reload"]["rows"] == month_rows
        return out
    finally:
        drop_store(url, admin_url)
        monthly.unlink(missing_ok=True)
