"""One cold sample: `python -m bench.cold SCENARIO URL VARIANT` prints {"ms": ..., "cpu_ms": ..., "evicted": ...}.

The code is imported and the app built before the clock starts; the store is not touched until the timed call.
"""
from __future__ import annotations

import json
import sys
import time

from sqlalchemy.engine import make_url


def main(scenario: str, url: str, variant: int) -> dict:
    from bench.scenarios import Scenarios
    from bench.stores import sqlite_files
    from bench.timing import evict

    import dashboard.pages.overview  # noqa: F401 - imports are not part of a request
    import dashboard.pages.workstream  # noqa: F401
    import queries.cohorts  # noqa: F401

    bench = Scenarios(url)
    op = bench.operation(scenario)
    if scenario in ("overview_callback", "export_csv", "export_xlsx"):
        bench.app   # noqa: B018 - build the app (no store access) before the clock starts
    if scenario == "overview_callback":
        bench.dash   # noqa: B018 - reads the callback map from the app, not the store
    evicted = evict(sqlite_files(url)) if make_url(url).get_backend_name() == "sqlite" else False
    c0, t0 = time.process_time(), time.perf_counter()
    op(variant)
    return {"ms": round((time.perf_counter() - t0) * 1000, 2), "cpu_ms": round((time.process_time() - c0) * 1000, 2),
            "evicted": evicted}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
