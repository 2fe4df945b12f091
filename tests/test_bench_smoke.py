"""The benchmark harness runs on the seeded store, and its references answer the overview's own question.

One repetition of each scenario, no timing assertions: this guards the harness against the app changing under it,
so `make bench` does not fail an hour in. The naive pandas reference needs the bench-only requirements.
"""
from __future__ import annotations


import pytest

from bench import floor, report
from bench.scenarios import OVERVIEW_QUERIES, VARIANTS, Scenarios
from bench.timing import percentile, warm
from queries.metrics import metric_values, monthly_sums

QUICK = ("overview", "overview_callback", "floor", "workstream", "cohort", "export_csv")


@pytest.fixture(scope="module")
def bench(seeded_sqlite):
    return Scenarios(seeded_sqlite.url)


def test_each_scenario_runs_once(bench):
    for name in QUICK:
        result = warm(bench.operation(name), reps=1, variants=VARIANTS[name])
        assert result["n"] == 1 and result["p50_ms"] > 0, name


def test_overview_callback_answers_with_the_five_panels(bench):
    from dashboard import ids
    body = bench.dash.call(f"{ids.OVERVIEW}.children", {f"{ids.URL}.search": "?area=WMD"}, [f"{ids.URL}.search"])
    text = body.decode()
    assert all(ids.panel(w.workstream_code) in text for w in bench.ctx.reference().workstreams)


def test_floor_fetches_the_sums_the_overview_uses(bench):
    filters = bench.filters("area=WMD")
    period = bench.ctx.period(filters)
    ref = bench.ctx.reference()
    sql = floor.compile_all(bench.ctx.engine, floor.overview_statements(filters, ref, period, bench.lead()))
    raw = bench.ctx.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(sql[0])
        rows = cur.fetchall()
    finally:
        raw.close()
    tiles = monthly_sums(bench.ctx.engine, filters.with_(period_from=None, period_to=None), list(ref.metrics))
    assert sorted((r[0], r[1], r[2], r[3]) for r in rows) == sorted(tiles.select(
        "month", "metric_code", "numerator", "denominator").rows())
    assert floor.run(bench.ctx.engine, sql) > len(rows)   # the trend statements fetch rows too


@pytest.mark.parametrize("query", ["", "area=SEA&area=WES"])
def test_naive_reference_computes_the_same_tile_values(bench, query):
    pytest.importorskip("pandas", reason="bench-only requirement (bench/requirements.txt)")
    from bench import naive
    filters = bench.filters(query)
    period = bench.ctx.period(filters)
    ref = bench.ctx.reference()
    got = naive.overview_numbers(bench.ctx.engine, filters, ref, period, bench.lead())
    app = metric_values(bench.ctx.engine, filters.with_(period_from=period[0], period_to=period[1]),
                        list(ref.metrics), ref, grain="period")
    expected = dict(app.select("metric_code", "value").rows())
    for code, value in expected.items():
        assert got["tiles"][code]["value"] == pytest.approx(value, rel=1e-12, nan_ok=True), code
    assert set(got["trend"]["series"]) == ({"Pilot sites", "Comparison sites"} if filters.is_national
                                           else {"Selection", "England and Wales"})


def test_report_judges_targets_and_rewrites_only_its_block(tmp_path):
    results = {
        "started": 0, "config": {"cases": 1000, "seed": 1, "reps": 1, "cold_reps": 0},
        "machine": {"cpu": "test", "cores": 2, "ram_gb": 1, "python": "3", "sqlite": "3", "postgresql": None,
                    "packages": {}},
        "stores": {"sqlite": {"scenarios": {"overview": {"warm": {"p50_ms": 50.0, "p95_ms": 150.0}},
                                            "floor": {"warm": {"p50_ms": 20.0, "p95_ms": 30.0}}}}},
    }
    results["stores"]["sqlite"]["ratios"] = report.ratios(results["stores"]["sqlite"]["scenarios"])
    results["targets"] = report.targets(results)
    by_name = {t["target"]: t for t in results["targets"]}
    assert by_name["overview p95, SQLite warm (ms)"]["met"] is False
    assert by_name["overview / floor, sqlite (p50 ratio)"]["measured"] == 2.5
    assert by_name["cohort p95, sqlite warm (ms)"]["met"] is None
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nWritten by hand.\n\n{report.BEGIN}\nSTALE TABLE\n{report.END}\n\nAfter.\n")
    report.update_doc(report.render(results, "x.json"), doc)
    text = doc.read_text()
    assert "Written by hand." in text and "After." in text and "STALE TABLE" not in text
    assert "| overview p95, SQLite warm (ms) | 100 | 150 | **no** |" in text


def test_percentile_interpolates_like_numpy():
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([5], 0.95) == 5
    assert percentile(list(range(101)), 0.95) == 95
    assert len(OVERVIEW_QUERIES) == VARIANTS["overview"]
