"""Call-stack profiles (pyinstrument) of the pages, the cohort queries, the exports and the case ingest.

`python -m bench profile` writes text summaries to bench/results/profiles/; the ones that justified a change are
quoted in docs/performance.md. Profile before optimising: the percentages say where the time goes.
"""
from __future__ import annotations

import time
from pathlib import Path

from bench.report import RESULTS
from bench.scenarios import COHORT_CASES, OVERVIEW_QUERIES, WORKSTREAM_CASES, Scenarios

PROFILES = RESULTS / "profiles"


def _save(name: str, profiler) -> Path:
    PROFILES.mkdir(parents=True, exist_ok=True)
    path = PROFILES / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    path.write_text(profiler.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")
    return path


def profile_pages(url: str, backend: str, rounds: int = 3, log=print) -> list[Path]:
    from pyinstrument import Profiler

    bench = Scenarios(url)
    out = []
    for name, count in (("overview", len(OVERVIEW_QUERIES)), ("workstream", len(WORKSTREAM_CASES)),
                        ("cohort", len(COHORT_CASES)), ("export_csv", 1), ("export_xlsx", 1)):
        op = bench.operation(name)
        for i in range(count):   # warm: the profile is of steady-state requests
            op(i)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for i in range(count * rounds):
            op(i)
        profiler.stop()
        out.append(_save(f"{name}-{backend}", profiler))
        log(f"  {name}: {out[-1].relative_to(RESULTS.parent.parent)}")
    return out


def profile_ingest(url: str, backend: str, extracts: Path, log=print) -> Path:
    """One whole-extract case load into an empty store, in this process."""
    from pyinstrument import Profiler

    from queries import schema
    from queries.db import make_engine
    from queries.load import ingest_cases
    from queries.reference import init_store, load_reference

    engine = make_engine(url)
    schema.metadata.drop_all(engine)
    init_store(engine)
    ref = load_reference(engine)
    profiler = Profiler(interval=0.005)
    profiler.start()
    summary = ingest_cases(engine, extracts / "cases.csv", reference=ref)
    profiler.stop()
    engine.dispose()
    path = _save(f"ingest-{backend}", profiler)
    log(f"  ingest: {summary}; {path.relative_to(RESULTS.parent.parent)}")
    return path
