"""The cohort page without a browser, and GET /export/cohort.csv with the Flask test client.

Expected figures come from plain SQL over the case rows or from queries.metrics (the headline a cohort is opened
from), never from the code under test.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import plotly.utils
import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings, strategies as st

from dashboard import cohort_address, create_app, ids
from dashboard.cohort_exports import COLUMNS, csv_text
from dashboard.cohort_figures import breakdown_figure, category_label, cross_figure
from dashboard.context import Context
from dashboard.format import fmt_value
from dashboard.pages import PAGES, cohort, resolve
from dashboard.pages.common import cohort_link
from dashboard.pages.workstream import ranking
from dashboard.settings import Settings
from queries.cohorts import DIMENSIONS
from queries.disclosure import TOTAL
from queries.filters import Filters
from queries.metrics import metric_values

T = 10
_CLIENTS: dict = {}


def client_for(store, **overrides):
    key = (store.url, tuple(sorted(overrides.items())))
    if key not in _CLIENTS:
        _CLIENTS[key] = create_app(Settings(database_url=store.url, **overrides)).server.test_client()
    return _CLIENTS[key]


def ctx_for(store, threshold: int = T) -> Context:
    return Context(store.engine, Settings(database_url=store.url, disclosure_threshold=threshold))


def text_of(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.data
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff") and "\r\n" in text
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def headline(store, filters: Filters, metric: str, period: str | None) -> dict:
    grain = ("period" if period is None else "quarter" if "Q" in period else "year" if len(period) == 4
             else "month")
    df = metric_values(store.engine, filters, [metric], store.ref, grain=grain, threshold=T)
    return df.filter(pl.col("period") == (period or "period")).row(0, named=True)


def size_of(store, metric: str, h: dict) -> int:
    return int(h["denominator"] if store.ref.metrics[metric].has_denominator else h["numerator"])


# ---------------------------------------------------------------- request parsing, links, clicks (pure)
def test_registered_with_its_own_breadcrumb_and_no_filter_bar():
    assert cohort in PAGES and resolve("/cohort") == (cohort, {}) and cohort.SHOW_FILTERS is False


def test_parse_request(reference):
    ok = cohort_address.parse_request({"metric": ["charge_rate"], "period": ["2024-Q2"], "by": ["decision,victim_sex"],
                               "back": ["/workstream/early_advice?area=WES"]}, reference)
    assert (ok.metric.metric_code, ok.period, ok.by, ok.back, ok.problem) == (
        "charge_rate", "2024-Q2", ("decision", "victim_sex"), "/workstream/early_advice?area=WES", None)
    assert cohort_address.parse_request({"metric": ["charge_rate"]}, reference).by == cohort_address.DEFAULT_BY
    for query, words in [({}, "No measure"), ({"metric": ["nope<b>"]}, "'nope<b>'"),
                         ({"metric": ["joint_training_sessions"]}, "aggregate returns"),
                         ({"metric": ["charge_rate", "referrals"]}, "one measure"),
                         ({"metric": ["charge_rate"], "period": ["2024-13"]}, "'2024-13' is not a month"),
                         ({"metric": ["charge_rate"], "period": ["2024", "2023"]}, "one period")]:
        assert words in cohort_address.parse_request(query, reference).problem
    forgiven = cohort_address.parse_request({"metric": ["charge_rate"], "by": ["case_id"]}, reference)
    assert forgiven.problem is None and forgiven.by == cohort_address.DEFAULT_BY and "case_id" in forgiven.note


@pytest.mark.parametrize("back, kept", [
    ("/", True), ("/?area=WES&grain=quarter", True), ("/workstream/victims?area=WES", True),
    ("/spc/charge_rate?area=WES", True), ("/exceptions", True),
    ("/workstream/nope", False), ("/cohort?metric=referrals", False), ("//evil.example/", False),
    ("https://evil.example/", False), ("/\\evil.example", False), ("javascript:alert(1)", False),
    ("/?a=1#x", False), ("/ x", False), ("/" + "a" * 2000, False), (None, False), (["/"], False),
])
def test_back_is_only_ever_this_apps_own_view(reference, back, kept):
    assert cohort_address.safe_back(back, reference) == (back if kept else None)


def test_cohort_link_carries_back(reference):
    link = cohort_link(reference.metrics["charge_rate"], Filters(areas=("WES",)), "See", "2024-Q1",
                       back="/?area=WES&grain=quarter")
    q = parse_qs(urlsplit(link.href).query)
    assert link.href.startswith("/cohort?")
    assert q == {"area": ["WES"], "metric": ["charge_rate"], "period": ["2024-Q1"],
                 "back": ["/?area=WES&grain=quarter"]}


@pytest.mark.parametrize("page, args, here", [
    ("overview", (), "/?area=WES&grain=quarter"),
    ("workstream", ("victims",), "/workstream/victims?area=WES&grain=quarter"),
    ("spc_page", ("charge_rate",), "/spc/charge_rate?area=WES&grain=quarter"),
    ("exceptions", (), "/exceptions?area=WES&grain=quarter"),
])
def test_see_the_cases_links_lead_back_to_the_page_they_are_on(seeded_sqlite, page, args, here):
    """A cohort opened from the overview, a workstream, SPC or exceptions page offers Back to that page, as it
    was (a tile's link carries the tile's own period, which is not the overview's)."""
    import importlib
    module = importlib.import_module(f"dashboard.pages.{page}")
    filters = Filters(areas=("WES",), grain="quarter")
    rendered = module.render(ctx_for(seeded_sqlite), *args, filters) if args else module.render(
        ctx_for(seeded_sqlite), filters)
    hrefs = re.findall(r'"href": "(/cohort\?[^"]+)"', text_of(rendered))
    assert hrefs
    for href in hrefs:
        back = parse_qs(urlsplit(href).query)["back"]
        assert back == [here] and cohort_address.safe_back(back[0], seeded_sqlite.ref) == here


def test_navigation_goes_back_to_the_exact_view(reference):
    req = cohort_address.parse_request({"metric": ["charge_rate"], "back": ["/workstream/early_advice?grain=quarter&area=WES"]},
                               reference)
    nav = text_of(cohort_address.navigation(reference, Filters(areas=("WES",), period_from="2024-01"), req))
    assert '"href": "/workstream/early_advice?grain=quarter&area=WES"' in nav
    assert "Back to Closer partnership on investigations" in nav and '"aria-current": "page"' in nav
    assert '"href": "/?grain=quarter&area=WES"' in nav    # the breadcrumb keeps the view's own query too
    plain = text_of(cohort_address.navigation(reference, Filters(areas=("WES",)), cohort_address.parse_request(
        {"metric": ["charge_rate"]}, reference)))
    assert '"href": "/?area=WES"' in plain and "Back to overview" in plain
    spc = cohort_address.parse_request({"metric": ["charge_rate"], "back": ["/spc/charge_rate?area=WES"]}, reference)
    assert "Back to previous page" in text_of(cohort_address.navigation(reference, Filters(), spc))


@pytest.mark.parametrize("x, grain, period", [
    ("2024-04-01", "month", "2024-04"), ("2024-04-01", "quarter", "2024-Q2"), ("2023-10-01 00:00", "quarter",
                                                                               "2023-Q4"),
    ("2024-01-01", "year", "2024"), ("2024-13-01", "month", None), ("x", "month", None), (None, "month", None),
])
def test_period_at(x, grain, period):
    assert cohort_address.period_at(x, grain) == period


def query_of(target) -> dict:
    path, search = target
    assert path == "/cohort"
    return parse_qs(search.lstrip("?"))


def test_trend_click_opens_the_clicked_period(seeded_sqlite):
    ctx = ctx_for(seeded_sqlite)
    search = "?area=WES&from=2024-01&to=2024-06&grain=quarter"
    q = query_of(cohort_address.click_target(ctx, "trend", "charge_rate", {"points": [{"x": "2022-04-01", "y": 0.3}]},
                                     "/", search))
    # 'from' is dropped (the trend shows history before it); 'to' stays: it cuts the last point as the chart does
    assert q == {"area": ["WES"], "to": ["2024-06"], "grain": ["quarter"], "metric": ["charge_rate"],
                 "period": ["2022-Q2"], "back": ["/" + search]}
    assert cohort_address.click_target(ctx, "trend", "joint_training_sessions", {"points": [{"x": "2022-04-01"}]}, "/",
                               search) is None                                     # returns: no cohort
    for click in (None, {}, {"points": []}, {"points": ["x"]}, {"points": [{"x": "nonsense"}]}):
        assert cohort_address.click_target(ctx, "trend", "charge_rate", click, "/", search) is None
    assert cohort_address.click_target(ctx, "pie", "charge_rate", {"points": [{"x": "2022-04-01"}]}, "/", search) is None


def test_ranked_click_opens_the_bar_for_the_whole_period(seeded_sqlite):
    ctx = ctx_for(seeded_sqlite)
    path, search = "/workstream/early_advice", "?area=WES&from=2024-01&to=2024-06"
    bars, _ = ranking(ctx, Filters(areas=("WES",)), "charge_rate", ("2024-01", "2024-06"))   # the chart's labels
    dorset = bars.filter(pl.col("force_code") == "E23000039")["label"][0]
    q = query_of(cohort_address.click_target(ctx, "ranked", "charge_rate", {"points": [{"y": dorset, "x": 0.3}]}, path,
                                     search))
    assert q == {"area": ["WES"], "force": ["E23000039"], "from": ["2024-01"], "to": ["2024-06"],
                 "metric": ["charge_rate"], "back": [path + search]}
    bars, _ = ranking(ctx, Filters(), "charge_rate", ("2024-01", "2024-06"))
    wessex = bars.filter(pl.col("area_code") == "WES")["label"][0]
    q = query_of(cohort_address.click_target(ctx, "ranked", "charge_rate", {"points": [{"y": wessex}]}, path,
                                     "?from=2024-01&to=2024-06"))
    assert (q["area"], "force" in q, "period" in q) == (["WES"], False, False)
    assert cohort_address.click_target(ctx, "ranked", "charge_rate", {"points": [{"y": "Atlantis"}]}, path, search) is None


# ---------------------------------------------------------------- page content
def page(store, filters: Filters, query: dict, threshold: int = T):
    ctx = ctx_for(store, threshold)
    req = cohort_address.parse_request(query, store.ref)
    content, summary = cohort.render(ctx, filters, req)
    explore = cohort.explore(ctx, filters, req, summary) if summary else None
    return text_of(content), summary, text_of(explore)


@pytest.mark.parametrize("filters, metric, period", [
    (Filters(areas=("WES",)), "charge_rate", "2024"),
    (Filters(forces=("E23000001",)), "referrals", "2023-Q3"),
    (Filters(areas=("NEA",), period_from="2023-01", period_to="2023-12"), "days_to_decision", None),
])
def test_page_shows_the_headline_figure_and_size(seeded_sqlite, filters, metric, period):
    text, summary, _ = page(seeded_sqlite, filters, {"metric": [metric], **({"period": [period]} if period else {})})
    h = headline(seeded_sqlite, filters, metric, period)
    unit = seeded_sqlite.ref.metrics[metric].unit
    assert f"{size_of(seeded_sqlite, metric, h):,} cases" in text
    assert fmt_value(h["value"], unit) in text
    assert "These are the cases behind the figure for the selection" in text


def test_national_page_adds_up_to_the_national_headline(seeded_sqlite):
    text, summary, _ = page(seeded_sqlite, Filters(), {"metric": ["charge_rate"], "period": ["2024"]})
    nat = headline(seeded_sqlite, Filters(), "charge_rate", "2024")
    assert (summary.cohort.label, summary.comparison.label) == ("Pilot sites", "Comparison sites")
    assert f"England and Wales: {int(nat['denominator']):,} cases (Charge rate: {fmt_value(nat['value'], 'rate')})" \
           in text


def test_page_has_every_breakdown_with_charts_and_tables(seeded_sqlite):
    text, summary, explore = page(seeded_sqlite, Filters(areas=("WES",)), {"metric": ["charge_rate"],
                                                                          "period": ["2024"]})
    for key in DIMENSIONS:
        assert f'"dim": "{key}"' in text and f"Cases by {DIMENSIONS[key].label.lower()}" in text
    assert text.count("Show as table") == len(DIMENSIONS) and "Lower quartile" in text and "Median" in text
    assert f'"id": "{ids.COHORT_DOWNLOAD}"' in explore and "/export/cohort.csv?metric=charge_rate" in explore
    assert '"type": "graph"' not in text          # the page's own charts are not drill-down charts


def test_ids_are_unique_when_the_explorer_repeats_a_breakdown(seeded_sqlite):
    ctx = ctx_for(seeded_sqlite)
    req = cohort_address.parse_request({"metric": ["referrals"], "period": ["2024"], "by": ["victim_sex"]}, seeded_sqlite.ref)
    content, summary = cohort.render(ctx, Filters(areas=("WES",)), req)
    tree = json.loads(text_of([cohort.layout(ctx, Filters()), content, cohort.explore(ctx, Filters(areas=("WES",)),
                                                                                     req, summary)]))
    found = [json.dumps(p["props"]["id"], sort_keys=True) for p in _walk(tree) if "id" in p["props"]]
    assert len(found) == len(set(found)) and any("cohort-explore-victim_sex" in i for i in found)


def test_a_cached_cohort_is_never_served_to_another_scope(seeded_sqlite, tmp_path, monkeypatch):
    """The page caches its cohort profile under the whole filters: the same address opened by an Area lead and by
    a national lead computes each scope's own cohort, and a repeat within a scope is served from the cache."""
    from flask import Flask

    from dashboard.cache import init_cache
    settings = Settings(database_url=seeded_sqlite.url, disclosure_threshold=T, cache_dir=str(tmp_path))
    ctx = Context(seeded_sqlite.engine, settings)
    ctx.cache = init_cache(Flask("cohort-cache-test"), settings)
    computed = []
    real = cohort.cohort_profile

    def counting(engine, filters, *args, **kwargs):
        computed.append(filters.scope_areas)
        return real(engine, filters, *args, **kwargs)
    monkeypatch.setattr(cohort, "cohort_profile", counting)
    chosen, req = Filters(areas=("WES", "SEA")), cohort_address.parse_request({"metric": ["charge_rate"],
                                                                       "period": ["2024"]}, seeded_sqlite.ref)
    wes = headline(seeded_sqlite, Filters(areas=("WES",)), "charge_rate", "2024")
    both = headline(seeded_sqlite, chosen, "charge_rate", "2024")
    assert wes["denominator"] < both["denominator"]               # precondition: the scopes' cohorts differ
    seen = {}
    for scope in (("WES",), None, ("SEA",), ("WES",), None):
        text, summary = cohort.render(ctx, chosen.with_(scope_areas=scope), req)
        seen.setdefault(scope, []).append((text_of(text), summary))
    assert computed == [("WES",), None, ("SEA",)]                  # the repeats were cache hits
    lead, national = seen[("WES",)][0][1], seen[None][0][1]
    assert (lead.cohort.size, lead.cohort.label) == (wes["denominator"], "Selection (your Areas only)")
    assert (national.cohort.size, national.cohort.label) == (both["denominator"], "Selection")
    assert seen[("SEA",)][0][1].cohort.size == both["denominator"] - wes["denominator"]
    for scope, views in seen.items():
        assert len({text for text, _ in views}) == 1 and len({s for _, s in views}) == 1, scope
        req_by = cohort_address.parse_request({"metric": ["charge_rate"], "period": ["2024"]}, seeded_sqlite.ref)
        explore = text_of(cohort.explore(ctx, chosen.with_(scope_areas=scope), req_by, views[0][1]))
        assert f"{views[0][1].cohort.label}: cases" in explore
    assert len(computed) == 3                                     # the explorer read the cached profiles


@pytest.mark.parametrize("query, filters, words", [
    ({"metric": ["nope"]}, Filters(), "no measure with the code"),
    ({"metric": ["action_plans_assured_rate"]}, Filters(), "aggregate returns"),
    ({"metric": ["charge_rate"], "period": ["2024-Q9"]}, Filters(), "is not a month"),
    ({"metric": ["charge_rate"], "period": ["2024"]}, Filters(period_from="2023-01", period_to="2023-06"),
     "outside the filters"),
])
def test_bad_parameters_give_a_message_not_a_traceback(seeded_sqlite, query, filters, words):
    text, summary, _ = page(seeded_sqlite, filters, query)
    assert summary is None and "These cases cannot be shown" in text and words in text
    assert "Traceback" not in text


def test_tiny_cohort_shows_only_fewer_than_n(seeded_sqlite):
    f = Filters(areas=("WES",), forces=("E23000030",))
    with seeded_sqlite.engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM cases WHERE force_code = 'E23000030' AND decision = 'nfa' "
                                 "AND nfa_scrutinised = 1 AND decision_month = '2024-03'")).scalar_one()
    assert 1 <= n < T                                             # precondition: genuinely tiny
    text, summary, _ = page(seeded_sqlite, f, {"metric": ["nfa_overturn_rate"], "period": ["2024-03"]})
    assert summary is None and "Fewer than 10 cases" in text and f'"{n} cases"' not in text
    assert ids.COHORT_GRAPH not in text


def test_layout_one_h1_and_labelled_native_selects(seeded_sqlite):
    text = text_of(cohort.layout(ctx_for(seeded_sqlite), Filters()))
    assert text.count('"type": "H1"') == 1
    for control in (ids.COHORT_BY, ids.COHORT_BY_SECOND):
        assert f'"htmlFor": "{control}"' in text and f'"id": "{control}"' in text
    assert '"type": "Select", "namespace": "dash_bootstrap_components"' in text


# ---------------------------------------------------------------- figures
def frame(counts: list, hidden: list[bool]) -> pl.DataFrame:
    cats = ["a", "b", "c", TOTAL]
    total = counts[-1]
    share = [None if h or total is None else n / total for n, h in zip(counts, hidden)]
    return pl.DataFrame({"category": cats, "count": counts, "count_suppressed": hidden, "share": share},
                        schema={"category": pl.String, "count": pl.Int64, "count_suppressed": pl.Boolean,
                                "share": pl.Float64})


def test_breakdown_figure_never_draws_a_suppressed_bar():
    groups = [("Selection", frame([None, None, 40, 50], [True, True, False, False])),
              ("Rest", frame([300, 0, 200, 500], [False, False, False, False]))]
    fig = breakdown_figure(groups, ["a", "b", "c"])
    data, layout = fig["data"], fig["layout"]
    assert data[0]["x"] == [None, None, 0.8] and data[1]["x"] == [0.6, 0.0, 0.4]
    labels = [a for a in layout["annotations"] if a["text"] == "[c]"]
    assert len(labels) == 2 and all(a["x"] == 0 for a in labels)
    # each [c] sits where its own bar would be: the first group's slot of rows 0 and 1
    assert sorted(a["y"] for a in labels) == pytest.approx([-0.2, 0.8])
    assert "[c]" not in "".join(t for t in data[0]["text"])
    assert_plotly_accepts_unchanged(fig)


def test_cross_figure_leaves_suppressed_cells_empty_and_labelled():
    table = pl.DataFrame({"r": ["x", "x", "x", "y", "y", "y", TOTAL, TOTAL, TOTAL],
                          "c": ["p", "q", TOTAL] * 3,
                          "count": [None, 20, None, None, 30, None, 12, 50, 62],
                          "count_suppressed": [True, False, True, True, False, True, False, False, False]})
    fig = cross_figure(table, "r", "c", "Row", "Col")
    assert fig["data"][0]["z"] == [[None, 20], [None, 30]]
    assert [(a["x"], a["y"]) for a in fig["layout"]["annotations"] if a["text"] == "[c]"] == [(0, 0), (0, 1)]
    assert_plotly_accepts_unchanged(fig)


def assert_plotly_accepts_unchanged(figure: dict) -> None:
    """The builders skip plotly's validation for speed: validating their output must accept it and change
    nothing, so the browser draws what go.Figure would have sent."""
    import plotly.graph_objects as go
    import plotly.io as pio
    assert isinstance(figure, dict)
    assert json.loads(pio.to_json(go.Figure(figure))) == json.loads(pio.to_json(figure))


def test_one_group_bars_and_empty_figures_are_valid_too():
    one = breakdown_figure([("Selection", frame([5, 15, 30, 50], [False, False, False, False]))], ["a", "b", "c"])
    assert one["layout"]["showlegend"] is False and "annotations" not in one["layout"]
    assert_plotly_accepts_unchanged(one)
    assert_plotly_accepts_unchanged(breakdown_figure([], ["a"]))
    assert_plotly_accepts_unchanged(cross_figure(pl.DataFrame({"r": [TOTAL], "c": [TOTAL], "count": [0],
                                                               "count_suppressed": [False]}), "r", "c", "R", "C"))


# ---------------------------------------------------------------- /export/cohort.csv
def number(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def test_csv_exact_output_matches_plain_sql(seeded):
    with seeded.engine.connect() as conn:
        counts = {group: dict(conn.execute(sa.text(
            f"SELECT decision, count(*) FROM cases WHERE area_code {op} 'WES' AND decision IN ('charged', 'nfa') "
            "AND decision_month BETWEEN '2024-01' AND '2024-12' GROUP BY decision")).all())
            for group, op in (("Selection", "="), ("Rest of England and Wales", "<>"))}
        as_at = conn.execute(sa.text("SELECT max(month) FROM monthly")).scalar_one()
    about = f"metric=charge_rate&period=2024&by=decision&area=WES&from=2024-01&to=2024-12,{as_at}"
    lines = [",".join((*COLUMNS, "filters", "data_as_at"))]
    for group, c in counts.items():
        total = sum(c.values())
        for cat in ("charged", "nfa", "admin_finalised", "pending", TOTAL):
            n = total if cat == TOTAL else c.get(cat, 0)
            assert n == 0 or n >= T                                  # precondition: nothing to suppress
            lines.append(f"charge_rate,Charge rate,2024-01,2024-12,{group},decision,{cat},,,{n},"
                         f"{number(n / total)},,{about}")
    r = client_for(seeded).get("/export/cohort.csv?metric=charge_rate&period=2024&by=decision&area=WES")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.data.decode("utf-8") == "\ufeff" + "\r\n".join(lines) + "\r\n"
    assert r.headers["Content-Disposition"] == ('attachment; filename="rasso-cohort_charge_rate_2024-01_2024-12_'
                                                f'by-decision_area-WES_asat-{as_at}.csv"')
    assert r.headers["Cache-Control"] == "no-store"


def assert_protected(rows: list[dict], threshold: int) -> None:
    """No small count shown, and no line (a group's categories, a cross-table row or column) with exactly one
    suppressed entry; a suppressed count's share is suppressed too; nothing identifies a case."""
    assert all("case_id" not in k for k in rows[0]) if rows else True
    data = [r for r in rows if not r["note"]]
    for r in data:
        assert r["count"] == "[c]" or not 1 <= int(r["count"]) < threshold
        assert r["count"] != "[c]" or r["share"] in ("[c]", "[x]")
    two_way = any(r["dimension_2"] for r in data)
    keys = [("group", "category_2"), ("group", "category_1")] if two_way else [("group",)]
    for key in keys:
        lines = Counter(tuple(r[k] for k in key) for r in data if r["count"] == "[c]")
        assert 1 not in lines.values(), lines
    if not two_way:   # cohort + comparison = the published national figure: a hidden cell stays hidden
        by_cat: dict = {}
        for r in data:
            by_cat.setdefault(r["category_1"], []).append(r["count"])
        for cells in by_cat.values():
            assert "[c]" not in cells or all(c in ("[c]", "0") for c in cells), cells


def test_csv_suppression_one_way_and_cross(seeded_sqlite):
    client = client_for(seeded_sqlite)
    one = csv_rows(client.get("/export/cohort.csv?metric=charge_rate&period=2024&by=victim_age_band&area=WES"))
    cross = csv_rows(client.get("/export/cohort.csv?metric=charge_rate&period=2024&by=offence_group,"
                                "victim_age_band&area=WES"))
    assert any(r["count"] == "[c]" for r in one) and any(r["count"] == "[c]" for r in cross)   # precondition
    assert_protected(one, T)
    assert_protected(cross, T)
    assert {r["group"] for r in cross} == {"Selection"} and all(r["share"] == "[x]" for r in cross)
    assert len(cross) == (len(DIMENSIONS["offence_group"].categories) + 1) * (
        len(DIMENSIONS["victim_age_band"].categories) + 1)


CASE_METRICS = ["referrals", "early_advice_rate", "charge_rate", "admin_finalised_rate", "days_to_decision",
                "multiple_action_plans_rate", "nfa_scrutiny_rate", "nfa_overturn_rate", "victim_withdrawal_rate"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(metric=st.sampled_from(CASE_METRICS), place=st.sampled_from(["", "area=WES", "area=WMD&force=E23000014",
                                                                   "area=LNO,LSO", "area=CYM", "force=E23000001"]),
       period=st.sampled_from(["2024-03", "2023-Q2", "2024", "2022-11"]),
       by=st.lists(st.sampled_from(list(DIMENSIONS)), min_size=1, max_size=2, unique=True),
       threshold=st.sampled_from([T, 20]))
@example(metric="charge_rate", place="area=LNO,LSO", period="2023-Q2", by=["victim_sex"], threshold=T)   # found once
def test_csv_never_shows_a_small_or_recoverable_count(seeded_sqlite, metric, place, period, by, threshold):
    client = client_for(seeded_sqlite, disclosure_threshold=threshold)
    rows = csv_rows(client.get(f"/export/cohort.csv?metric={metric}&period={period}&by={','.join(by)}&{place}"))
    assert_protected(rows, threshold)
    if rows[0]["note"].startswith("fewer than"):
        assert len(rows) == 1 and rows[0]["count"] == "[c]" and rows[0]["note"] == f"fewer than {threshold} cases"


@pytest.mark.parametrize("metric, place, filters, period", [
    ("charge_rate", "area=WES", Filters(areas=("WES",)), "2024"),
    ("referrals", "force=E23000001", Filters(forces=("E23000001",)), "2023-Q3"),
    ("early_advice_rate", "area=NEA,SWE&from=2021-01&to=2023-12",
     Filters(areas=("NEA", "SWE"), period_from="2021-01", period_to="2023-12"), None),
])
def test_csv_totals_reconcile_with_the_headline(seeded, metric, place, filters, period):
    q = f"/export/cohort.csv?metric={metric}&by=early_advice&{place}" + (f"&period={period}" if period else "")
    rows = csv_rows(client_for(seeded).get(q))
    totals = {r["group"]: int(r["count"]) for r in rows if r["category_1"] == TOTAL}
    h = headline(seeded, filters, metric, period)
    nat = headline(seeded, Filters(period_from=filters.period_from, period_to=filters.period_to), metric, period)
    assert totals["Selection"] == size_of(seeded, metric, h)
    assert totals["Selection"] + totals["Rest of England and Wales"] == size_of(seeded, metric, nat)


def test_csv_matches_what_the_page_shows(seeded_sqlite):
    filters = Filters(areas=("WES",))
    _, _, explore = page(seeded_sqlite, filters, {"metric": ["charge_rate"], "period": ["2024"],
                                                  "by": ["victim_age_band"]})
    href = next(p["props"]["href"] for p in _walk(json.loads(explore)) if p["props"].get("id") == ids.COHORT_DOWNLOAD)
    rows = csv_rows(client_for(seeded_sqlite).get(href))
    table = next(p["props"]["children"] for p in _walk(json.loads(explore)) if p.get("type") == "Markdown")
    assert [r["group"] for r in rows].count("Rest of England and Wales") == len(rows) // 2
    for category in dict.fromkeys(r["category_1"] for r in rows):   # each table row holds the CSV's figures
        cells = []
        for r in (r for r in rows if r["category_1"] == category):
            hidden = r["count"] == "[c]"
            cells += [fmt_value(None if hidden else int(r["count"]), "count", hidden),
                      fmt_value(None if r["share"] == "[c]" else float(r["share"]), "rate", r["share"] == "[c]")]
        row = f'<th scope="row">{category_label(category)}</th>' + "".join(f'<td class="num">{c}</td>' for c in cells)
        assert row in table


def _walk(node):
    if isinstance(node, dict):
        if "props" in node:
            yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_too_small_cohort_exports_only_the_message(seeded_sqlite):
    rows = csv_rows(client_for(seeded_sqlite).get(
        "/export/cohort.csv?metric=nfa_overturn_rate&period=2024-03&by=victim_sex&area=WES&force=E23000030"))
    assert len(rows) == 1
    assert {k: rows[0][k] for k in ("group", "category_1", "count", "share", "note")} == {
        "group": "Selection", "category_1": "", "count": "[c]", "share": "[c]", "note": "fewer than 10 cases"}


@pytest.mark.parametrize("query, parameter", [
    ("metric=charge_rate&by=decision&areas=WES", "areas"),
    ("metric=charge_rate&by=decision&grain=quarter", "grain"),
    ("by=decision", "metric"),
    ("metric=nope&by=decision", "metric"),
    ("metric=charge_rate,referrals&by=decision", "metric"),
    ("metric=joint_training_sessions&by=decision", "metric"),
    ("metric=charge_rate", "by"),
    ("metric=charge_rate&by=case_id", "by"),
    ("metric=charge_rate&by=decision,decision", "by"),
    ("metric=charge_rate&by=decision,victim_sex,offence_group", "by"),
    ("metric=charge_rate&by=decision&period=2024-Q5", "period"),
    ("metric=charge_rate&by=decision&period=2024&period=2023", "period"),
    ("metric=charge_rate&by=decision&period=2024&from=2023-01&to=2023-06", "period"),
    ("metric=charge_rate&by=decision&area=XYZ", "area"),
    ("metric=charge_rate&by=decision&area=WES&force=E23000001", "force"),
    ("metric=charge_rate&by=decision&from=2024-13", "from"),
])
def test_bad_parameters_are_400_naming_the_parameter(seeded_sqlite, query, parameter):
    r = client_for(seeded_sqlite).get("/export/cohort.csv?" + query)
    assert r.status_code == 400 and r.mimetype == "text/plain"
    body = r.data.decode()
    assert body.startswith(f"bad parameter '{parameter}'") and body.count("\n") == 1


def test_csv_text_neutralises_formulas_but_not_numbers():
    row = {"metric_code": "m", "metric_name": "=HYPERLINK(1)", "first_month": "2024-01", "last_month": "2024-01",
           "group": "@g", "dimension_1": "d", "category_1": "-x", "dimension_2": "", "category_2": "",
           "count": "12", "share": "-0.5", "note": ""}
    line = csv_text([row], {"filters": "+f", "data_as_at": "2024-12"}).split("\r\n")[1]
    assert line == "m,'=HYPERLINK(1),2024-01,2024-01,'@g,d,'-x,,,12,-0.5,,'+f,2024-12"
