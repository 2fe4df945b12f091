"""National population counts: equal to a fresh count of the case table after any sequence of loads, on both
stores; a cohort's derived group equals a scan of its cases; drift is refused, and `init --recount` repairs it."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from queries import populations, schema as s
from queries.cohorts import _counts, _plan, _Plan, _scan, cohort_summary
from queries.db import make_engine
from queries.dimensions import DIMENSIONS, OutOfStep
from queries.filters import Filters
from queries.load import ingest_cases
from queries.measures import POPULATIONS
from queries.reference import init_store
from sample_data.generate import generate, write_extracts

DIMS = list(DIMENSIONS.values())


def kept(engine) -> dict:
    """The stored counts as {(population, month, kind, key): cases}."""
    with engine.connect() as conn:
        days = conn.execute(sa.select(s.population_days)).all()
        cats = conn.execute(sa.select(s.population_categories)).all()
    return {**{(p, m, "days", v): n for p, m, v, n in days}, **{(p, m, d, k): n for p, m, d, k, n in cats}}


def fresh(engine) -> dict:
    """The same, counted now from every case."""
    with engine.connect() as conn:
        counts = populations.count(conn, [])
    out = {}
    for (p, m), t in counts.items():
        out.update({(p, m, "days", v): n for v, n in t.days.items() if n})
        out.update({(p, m, d, k): n for d, ks in t.categories.items() for k, n in ks.items() if n})
    return out


def test_a_seeded_store_keeps_exactly_what_its_cases_give(seeded):
    stored = kept(seeded.engine)
    assert stored == fresh(seeded.engine)
    assert {k[0] for k in stored} == set(POPULATIONS)
    with seeded.engine.connect() as conn:   # the national size of a population is its count of cases
        n = conn.execute(sa.text("SELECT COUNT(*) FROM cases WHERE decision IN ('charged', 'nfa') "
                                 "AND decision_month BETWEEN '2024-01' AND '2024-12'")).scalar_one()
        assert n > 0 and populations.national(conn, POPULATIONS["legal_decisions"], "2024-01", "2024-12").size == n


def test_reloads_keep_the_counts_exact(empty_store, tmp_path):
    """Replacing months moves decision months and removes and adds cases; the counts follow by difference."""
    engine, ref = empty_store.engine, empty_store.ref

    def load(seed: int, first: str, last: str, areas: set[str] | None = None) -> None:
        cases, returns = generate(ref, 2500, seed, first, last)
        if areas:
            cases = cases.filter(cases["area_code"].is_in(list(areas)))
        folder = tmp_path / f"extract-{seed}"
        folder.mkdir()
        ingest_cases(engine, write_extracts(cases, returns, folder)[0], reference=ref, max_month="2024-12")

    load(1, "2022-01", "2024-12")
    first = kept(engine)
    assert first and first == fresh(engine)
    load(2, "2023-06", "2024-12", {"WES", "LSO"})       # two Areas' later months replaced with other cases
    second = kept(engine)
    assert second == fresh(engine) and second != first
    load(3, "2022-01", "2024-12")                        # every month of every unit replaced
    assert kept(engine) == fresh(engine)


PLANS = [   # metric, filters, period
    ("charge_rate", Filters(), "2024"),                                                # pilot sites scanned
    ("days_to_decision", Filters(areas=("WES",)), None),                               # a selection
    ("referrals", Filters(areas=("NEA", "WES"), scope_areas=("NEA",)), "2023-Q2"),   # an Area lead's scope
    ("nfa_overturn_rate", "all but WES", "2023"),                                      # comparison scanned
]


@pytest.mark.parametrize("metric,filters,period", PLANS)
def test_the_derived_group_is_what_scanning_it_gives(seeded, metric, filters, period):
    rest = filters == "all but WES"
    if rest:
        filters = Filters(areas=tuple(sorted(a for a in seeded.ref.areas if a != "WES")))
    plan = _plan(filters, metric, period, seeded.ref)
    assert (len(plan.units["comparison"]) < len(plan.units["cohort"])) == rest
    assert set(plan.units) == {"cohort", "comparison"}
    with seeded.engine.connect() as conn:
        derived = _counts(conn, plan, DIMS)
        scanned = {g: _scan(conn, plan, g, DIMS) for g in plan.units}
    for g in plan.units:
        assert derived[g].size == scanned[g].size > 0, g
        assert derived[g].numerator == scanned[g].numerator, g
        assert derived[g].histogram() == scanned[g].histogram(), g
        assert derived[g].categories == scanned[g].categories, g


def test_a_cohort_of_every_unit_is_the_national_counts_alone(seeded_sqlite):
    base = _plan(Filters(), "isva_engagement_rate", "2024", seeded_sqlite.ref)
    everyone = _Plan(base.measure, base.first, base.last, {"cohort": tuple(sorted(seeded_sqlite.ref.pairs))},
                     {"cohort": "England and Wales"}, False)
    statements, engine = [], seeded_sqlite.engine

    def capture(conn, cursor, statement, *rest):
        statements.append(statement)
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        with engine.connect() as conn:
            derived = _counts(conn, everyone, DIMS)["cohort"]
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert not any("FROM cases" in st for st in statements)
    with engine.connect() as conn:
        scanned = _scan(conn, everyone, "cohort", DIMS)
    assert (derived.size, derived.numerator, derived.histogram(), derived.categories) == \
        (scanned.size, scanned.numerator, scanned.histogram(), scanned.categories)


@pytest.fixture
def copied(seeded_sqlite, tmp_path):
    path = tmp_path / "copy.sqlite"
    shutil.copy(seeded_sqlite.url.removeprefix("sqlite:///"), path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine, f"sqlite:///{path}"
    engine.dispose()


def test_a_store_made_before_the_counts_gets_them_from_init(copied):
    engine, _ = copied
    expected = kept(engine)
    s.population_days.drop(engine)
    s.population_categories.drop(engine)
    init_store(engine)
    assert kept(engine) == expected != {}


def test_drifted_counts_are_refused_and_init_recount_repairs_them(copied, seeded_sqlite):
    from dashboard.__main__ import main
    engine, url = copied
    good = cohort_summary(engine, Filters(), "charge_rate", "2024", seeded_sqlite.ref)
    pc = s.population_categories.c
    with engine.begin() as conn:   # as if a case row had been edited by hand
        conn.execute(sa.update(s.population_categories).values(cases=pc.cases + 1).where(
            pc.population == "legal_decisions", pc.month == "2024-03", pc.dimension == "offence_group"))
    with pytest.raises(OutOfStep, match="init --recount"):
        cohort_summary(engine, Filters(), "charge_rate", "2024", seeded_sqlite.ref)
    assert main(["init", "--recount", "--database-url", url]) == 0
    assert cohort_summary(engine, Filters(), "charge_rate", "2024", seeded_sqlite.ref) == good
    assert kept(engine) == fresh(engine)


def held_load(engine, ref, tmp_path, monkeypatch):
    """Two case extracts (western Areas, the rest) and a loader whose first load stays open, just after changing
    the population counts, until `release` is set: (paths, load, held, release, errors)."""
    import threading
    cases, returns = generate(ref, 3000, 11, "2023-01", "2024-06")
    west = cases["area_code"].is_in(["WES", "SWE"])
    paths = []
    for name, part in (("west", cases.filter(west)), ("rest", cases.filter(~west))):
        (tmp_path / name).mkdir()
        paths.append(write_extracts(part, returns, tmp_path / name)[0])
    held, release, errors = threading.Event(), threading.Event(), []
    original = populations.apply_change

    def apply_and_hold(conn, before, after):
        changed = original(conn, before, after)
        if not held.is_set():
            held.set()
            release.wait(timeout=10)
        return changed
    monkeypatch.setattr(populations, "apply_change", apply_and_hold)

    def load(path):
        try:
            ingest_cases(engine, path, reference=ref, max_month="2024-12")
        except BaseException as exc:   # noqa: BLE001 - reported by the caller's assertion
            errors.append(exc)
    return paths, load, held, release, errors


def test_two_case_loads_at_once_keep_the_counts_exact(empty_store, tmp_path, monkeypatch):
    """Loads change the counts by difference, so a load that starts while another is open must wait for it rather
    than work from the counts as they were before either (on PostgreSQL the later one's rows would collide with
    the earlier one's). The first load is held open just after changing the counts while the second starts."""
    import threading
    engine, ref = empty_store.engine, empty_store.ref
    paths, load, held, release, errors = held_load(engine, ref, tmp_path, monkeypatch)
    first = threading.Thread(target=load, args=(paths[0],))
    first.start()
    assert held.wait(timeout=30)
    second = threading.Thread(target=load, args=(paths[1],))
    second.start()
    second.join(timeout=1.5)
    waited = second.is_alive()   # it cannot finish while the first is open
    release.set()
    first.join()
    second.join()
    assert errors == [] and waited
    assert kept(engine) == fresh(engine) != {}


def test_a_recount_waits_for_a_load_that_is_open(empty_store, tmp_path, monkeypatch):
    """`init --recount` rewrites the counts a load changes by difference: it waits for the open load, then counts
    what that load wrote (without waiting, PostgreSQL refuses its rows as duplicates of the load's)."""
    import threading
    engine, ref = empty_store.engine, empty_store.ref
    paths, load, held, release, errors = held_load(engine, ref, tmp_path, monkeypatch)
    release.set()
    load(paths[1])   # something to count already (not held)
    held.clear()
    release.clear()

    def recount():
        try:
            init_store(engine, recount=True)
        except BaseException as exc:   # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
    first = threading.Thread(target=load, args=(paths[0],))
    first.start()
    assert held.wait(timeout=30)
    second = threading.Thread(target=recount)
    second.start()
    second.join(timeout=1.5)
    waited = second.is_alive()
    release.set()
    first.join()
    second.join()
    assert errors == [] and waited
    assert kept(engine) == fresh(engine) != {}
