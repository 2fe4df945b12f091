"""`python -m bench [run|build|profile]`: the benchmark suite (see docs/performance.md for what each figure means).

run      build or reuse the stores, measure everything, write bench/results/<timestamp>.json and the docs table
build    only build (or check) the cached stores and extracts
profile  pyinstrument profiles of the pages and the case ingest, into bench/results/profiles/
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from sqlalchemy.engine import make_url

from bench import machine, report
from bench.scenarios import SCENARIOS, VARIANTS, Scenarios
from bench.stages import overview_stages
from bench.stores import CACHE, DEFAULT_PG_ADMIN, ROOT, ensure_extracts, ensure_store, sqlite_url
from bench.timing import cold, warm

COLD = ("overview", "floor", "workstream", "cohort", "export_csv")
STEPS = ("cold", "naive", "serving", "browser", "ingest")


def log(message: str) -> None:
    print(message, flush=True)


def scenario_reps(reps: int) -> dict[str, int]:
    """Fewer repetitions where one call takes seconds (exports, the naive reference)."""
    return {"overview": reps, "overview_callback": max(1, reps // 2), "overview_cached": max(1, reps // 2),
            "floor": reps, "naive": max(1, reps // 20),
            "workstream": max(1, reps // 2), "cohort": reps, "export_csv": max(1, reps // 3),
            "export_xlsx": max(1, reps // 8)}


def display_url(url: str) -> str:
    """Where the store was, without machine paths or credentials."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return f"sqlite:///{os.path.relpath(u.database, ROOT)}"
    return f"postgresql://{u.host}:{u.port or 5432}/{u.database}"


def pg_reachable(admin_url: str) -> bool:
    import sqlalchemy as sa
    engine = sa.create_engine(admin_url)
    try:
        with engine.connect():
            return True
    except sa.exc.SQLAlchemyError as exc:
        log(f"postgresql: not reachable ({str(exc).splitlines()[0][:120]}); skipped")
        return False
    finally:
        engine.dispose()


def measure_scenarios(url: str, reps: int, cold_reps: int, skip: set[str], names=SCENARIOS) -> dict:
    bench = Scenarios(url)
    out = {}
    counts = scenario_reps(reps)
    for name in names:
        if name == "naive" and "naive" in skip:
            continue
        log(f"  {name}")
        out[name] = {"warm": warm(bench.operation(name), counts[name], VARIANTS[name], log,
                                  warmup=1 if name == "naive" else None)}
        if name in COLD and cold_reps and "cold" not in skip:
            out[name]["cold"] = cold(name, url, cold_reps, VARIANTS[name], log)
    return out


def run(args) -> int:
    skip = set(args.skip)
    backends = [b for b in args.stores if b != "postgresql" or pg_reachable(args.pg_admin_url)]
    results = {"started": time.time(), "command": " ".join(["python -m bench", *sys.argv[1:]]),
               "code": machine.commit(), "machine": machine.describe(args.pg_admin_url if "postgresql" in backends
                                                                      else None),
               "load_average": {"start": machine.load_average()},
               "config": {"cases": args.cases, "seed": args.seed, "reps": args.reps, "cold_reps": args.cold_reps,
                          "reps_per_scenario": scenario_reps(args.reps), "serving_rounds": args.serving_rounds,
                          "browser_samples": args.browser_samples, "skipped": sorted(skip)},
               "stores": {}}
    extracts = ensure_extracts(args.cases, args.seed, log) if "ingest" not in skip else None
    for backend in backends:
        store = ensure_store(backend, args.cases, args.seed, args.pg_admin_url, log)
        entry = {"store": display_url(store["url"]), "cached": store["cached"], "build": store["build"]}
        results["stores"][backend] = entry
        log(f"{backend}: scenarios")
        entry["scenarios"] = measure_scenarios(store["url"], args.reps, args.cold_reps, skip)
        entry["ratios"] = report.ratios(entry["scenarios"])
        log(f"{backend}: overview stages")
        entry["overview_stages"] = overview_stages(store["url"], max(10, args.reps // 2))
        if "serving" not in skip:
            from bench.serving import measure_serving
            log(f"{backend}: serving process")
            entry["serving"] = measure_serving(store["url"], args.serving_rounds,
                                               0 if "browser" in skip else args.browser_samples, log)
        if extracts is not None:
            from bench.ingest import measure_ingest
            log(f"{backend}: ingest")
            entry["ingest"] = measure_ingest(backend, extracts, args.pg_admin_url, args.cases, args.seed, log=log)
    results["load_average"]["end"] = machine.load_average()
    results["finished"] = time.time()
    results["targets"] = report.targets(results)
    path = report.write_json(results)
    log(f"results: {path.relative_to(ROOT)}")
    if not args.no_doc:
        report.update_doc(report.render(results, path.name))
        log(f"table: {report.DOC.relative_to(ROOT)}")
    for t in results["targets"]:
        state = "reported" if t["reported_only"] else {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        log(f"  {state:8s} {t['target']}: {t['measured']} (limit {t['limit']})")
    return 0


def build(args) -> int:
    ensure_extracts(args.cases, args.seed, log)
    for backend in args.stores:
        if backend == "postgresql" and not pg_reachable(args.pg_admin_url):
            continue
        ensure_store(backend, args.cases, args.seed, args.pg_admin_url, log)
    return 0


def profile(args) -> int:
    from bench.profiles import profile_ingest, profile_pages
    extracts = ensure_extracts(args.cases, args.seed, log)
    for backend in args.stores:
        if backend == "postgresql" and not pg_reachable(args.pg_admin_url):
            continue
        store = ensure_store(backend, args.cases, args.seed, args.pg_admin_url, log)
        log(f"{backend}: profiling pages")
        profile_pages(store["url"], backend, log=log)
        if "ingest" not in args.skip:
            from bench.stores import PG_SCRATCH, drop_store, pg_url, reset_store
            scratch = (sqlite_url(args.cases, args.seed, "profile-scratch") if backend == "sqlite"
                       else pg_url(args.pg_admin_url, PG_SCRATCH))
            reset_store(scratch, args.pg_admin_url)
            try:
                profile_ingest(scratch, backend, extracts, log)
            finally:
                drop_store(scratch, args.pg_admin_url)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", nargs="?", default="run", choices=("run", "build", "profile"))
    p.add_argument("--cases", type=int, default=1_000_000, help="cases in the benchmark store (default 1,000,000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--stores", type=lambda v: v.split(","), default=["sqlite", "postgresql"],
                   help="comma-separated: sqlite,postgresql")
    p.add_argument("--reps", type=int, default=60, help="warm repetitions of the quick scenarios (default 60)")
    p.add_argument("--cold-reps", type=int, default=5, help="cold samples per scenario (default 5)")
    p.add_argument("--serving-rounds", type=int, default=40, help="user journeys against the serving process")
    p.add_argument("--browser-samples", type=int, default=5, help="cold page loads in headless Chromium")
    p.add_argument("--skip", type=lambda v: [s for s in v.split(",") if s], default=[],
                   help=f"comma-separated steps to leave out: {', '.join(STEPS)}")
    p.add_argument("--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL", DEFAULT_PG_ADMIN),
                   help="a PostgreSQL URL allowed to create databases (default: the local server's 'test')")
    p.add_argument("--no-doc", action="store_true", help="do not rewrite the table in docs/performance.md")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    unknown = (set(args.skip) - set(STEPS)) | (set(args.stores) - {"sqlite", "postgresql"})
    if unknown:
        log(f"error: unknown step or store: {', '.join(sorted(unknown))}")
        return 2
    CACHE.mkdir(parents=True, exist_ok=True)
    return {"run": run, "build": build, "profile": profile}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
