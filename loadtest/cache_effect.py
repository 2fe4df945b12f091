"""What the result cache saves: overview and workstream renders with the cache off, and warm on disk and in Redis.

`python -m loadtest.cache_effect DATABASE_URL [--reps 20]` renders each filter state of a realistic mix once to
fill the cache, then times `reps` rounds of the mix per backend, in this process (no HTTP). The time left with a
warm cache is the page building (figures and tables), which the cache does not cover.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from urllib.parse import parse_qs

from flask import Flask

OVERVIEW = ("", "grain=quarter", "area=WMD", "area=WMD&force=E23000014", "area=SEA&area=WES",
            "from=2021-01&to=2024-12", "area=NEA&from=2023-01&to=2023-12", "from=2019-01&to=2024-12&grain=quarter")
WORKSTREAM = (("early_advice", ""), ("action_plans", "area=WMD"), ("victims", "area=SWE&from=2021-01&to=2024-12"))
REDIS_URL = "redis://127.0.0.1:6379/14"


def measure(url: str, reps: int) -> dict:
    from dashboard.cache import init_cache
    from dashboard.context import Context
    from dashboard.pages import overview, workstream
    from dashboard.settings import Settings
    from queries.db import engine_for
    from queries.filters import parse_filters

    out = {}
    for kind in ("null", "filesystem", "redis"):
        server = Flask(f"cache-effect-{kind}")
        settings = Settings(database_url=url, cache_type=kind, cache_redis_url=REDIS_URL,
                            cache_dir=tempfile.mkdtemp(prefix="rasso-cache-effect-"),
                            cache_key_prefix=f"cache-effect-{time.time_ns()}")
        ctx = Context(engine_for(url), settings)
        ctx.cache = init_cache(server, settings)

        def filters(q):
            return parse_filters(parse_qs(q), ctx.reference()).filters
        timings = {"overview": [], "workstream": []}
        for rep in range(reps + 1):                   # round 0 fills the cache (and warms the store)
            for q in OVERVIEW:
                with server.test_request_context():
                    t0 = time.perf_counter()
                    overview.render(ctx, filters(q))
                    if rep:
                        timings["overview"].append((time.perf_counter() - t0) * 1000)
            for code, q in WORKSTREAM:
                with server.test_request_context():
                    t0 = time.perf_counter()
                    workstream.render(ctx, code, filters(q))
                    if rep:
                        timings["workstream"].append((time.perf_counter() - t0) * 1000)
        out[kind] = {page: {"p50_ms": round(statistics.median(v), 1), "p95_ms": round(_p95(v), 1), "n": len(v)}
                     for page, v in timings.items()}
        if kind == "redis":
            ctx.cache.backend.clear()                 # only this run's prefix
        print(kind, out[kind], flush=True)
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("database_url")
    p.add_argument("--reps", type=int, default=20)
    args = p.parse_args()
    measure(args.database_url, args.reps)


if __name__ == "__main__":
    main()
