"""What is measured: the server-side work behind each thing a leader does, on one store.

Each scenario is a list of realistic variants (filter states a user steps through); one call runs one variant, so
repeated calls cycle through them and the percentiles cover the mix. Everything runs in-process against the real
code: the page render functions, the cohort queries, the export routes through Flask's test client, and the Dash
callback endpoint (render plus Dash's serialisation) as the browser calls it.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import Callable
from urllib.parse import parse_qs

from dashboard import ids
from dashboard.context import Context
from dashboard.settings import Settings
from queries.db import engine_for
from queries.filters import Filters, parse_filters

# Filter states a leader steps through on the overview: national, by quarter, an Area, a force, two Areas, pilot
# years, one year for an Area, and everything.
OVERVIEW_QUERIES = (
    "", "grain=quarter", "area=WMD", "area=WMD&force=E23000014", "area=SEA&area=WES", "from=2021-01&to=2024-12",
    "area=NEA&from=2023-01&to=2023-12", "from=2019-01&to=2024-12&grain=quarter",
)
WORKSTREAM_CASES = (
    ("early_advice", ""), ("action_plans", "area=WMD"), ("nfa_scrutiny", "grain=quarter"),
    ("victims", "area=SWE&from=2021-01&to=2024-12"), ("people", ""), ("early_advice", "area=SEA&force=E23000031"),
)
# (metric, filters, clicked period, two-way breakdown)
COHORT_CASES = (
    ("charge_rate", "from=2024-01&to=2024-12", None, ("offence_group", "victim_age_band")),
    ("early_advice_rate", "area=WMD", "2024-Q2", ("decision", "early_advice")),
    ("isva_engagement_rate", "", "2023", ("victim_sex", "victim_withdrew")),
    ("days_to_decision", "area=SEA&from=2024-01&to=2024-12", "2024-06", ("offence_group", "days_to_decision")),
    ("victim_withdrawal_rate", "area=SWE&force=E23000036", "2024", ("isva_engaged", "victim_age_band")),
)
EXPORTS = {
    "export_csv": "/export/metrics.csv?level=force&grain=month",
    "export_xlsx": "/export/metrics.xlsx?level=force&grain=month",
}


@dataclass
class Scenarios:
    """The operations on one store; nothing touches the store until the first operation runs.

    The app's result cache is off unless `cache` is set: the scenarios measure the work behind a filter state
    nobody has asked for yet (a cache miss); overview_cached measures a repeat (a hit).
    """

    url: str
    threshold: int = 10
    cache: bool = False

    @cached_property
    def settings(self) -> Settings:
        extra = {}
        if "cache_type" in {f.name for f in fields(Settings)}:
            extra["cache_type"] = None if self.cache else "null"
            extra["cache_dir"] = None   # an empty directory of the app's own
        return Settings(database_url=self.url, disclosure_threshold=self.threshold, **extra)

    @cached_property
    def cached(self) -> Scenarios:
        return Scenarios(self.url, self.threshold, cache=True)

    @cached_property
    def app(self):
        from dashboard import create_app
        return create_app(self.settings)

    @cached_property
    def ctx(self) -> Context:
        return Context(engine_for(self.url), self.settings)

    @cached_property
    def dash(self):
        from bench.dashcalls import DashClient, test_client_transport
        return DashClient(*test_client_transport(self.app.server.test_client()))

    def filters(self, query: str) -> Filters:
        return parse_filters(parse_qs(query), self.ctx.reference()).filters

    def lead(self) -> list[str]:
        ref = self.ctx.reference()
        return [ref.metrics_of(w.workstream_code)[0].metric_code for w in ref.workstreams]

    # ---------------------------------------------------------------- the app
    def overview(self, i: int) -> None:
        from dashboard.pages import overview
        overview.render(self.ctx, self.filters(OVERVIEW_QUERIES[i % len(OVERVIEW_QUERIES)]))

    def overview_callback(self, i: int) -> None:
        query = OVERVIEW_QUERIES[i % len(OVERVIEW_QUERIES)]
        self.dash.call(f"{ids.OVERVIEW}.children", {f"{ids.URL}.search": f"?{query}" if query else ""},
                       [f"{ids.URL}.search"])

    def overview_cached(self, i: int) -> None:
        self.cached.overview_callback(i)

    def workstream(self, i: int) -> None:
        from dashboard.pages import workstream
        code, query = WORKSTREAM_CASES[i % len(WORKSTREAM_CASES)]
        workstream.render(self.ctx, code, self.filters(query))

    def cohort(self, i: int) -> None:
        from queries.cohorts import CohortTooSmall, cohort_summary, cross_table
        metric, query, period, (d1, d2) = COHORT_CASES[i % len(COHORT_CASES)]
        ref, filters = self.ctx.reference(), self.filters(query)
        cohort_summary(self.ctx.engine, filters, metric, period, ref, self.threshold)
        try:
            cross_table(self.ctx.engine, filters, metric, period, ref, d1, d2, self.threshold)
        except CohortTooSmall:
            pass

    def _export(self, path: str) -> int:
        resp = self.app.server.test_client().get(path)
        body = resp.get_data()
        if resp.status_code != 200:
            raise RuntimeError(f"{path} answered {resp.status_code}: {body[:300]!r}")
        return len(body)

    def export_csv(self, i: int) -> None:
        self._export(EXPORTS["export_csv"])

    def export_xlsx(self, i: int) -> None:
        self._export(EXPORTS["export_xlsx"])

    # ---------------------------------------------------------------- references for the overview
    def _overview_question(self, i: int) -> tuple[Filters, tuple[str, str]]:
        filters = self.filters(OVERVIEW_QUERIES[i % len(OVERVIEW_QUERIES)])
        return filters, self.ctx.period(filters)

    @cached_property
    def _floor_sql(self) -> dict[int, list[str]]:
        from bench import floor
        out = {}
        for i in range(len(OVERVIEW_QUERIES)):
            filters, period = self._overview_question(i)
            out[i] = floor.compile_all(self.ctx.engine, floor.overview_statements(filters, self.ctx.reference(),
                                                                                  period, self.lead()))
        return out

    def floor(self, i: int) -> None:
        from bench import floor
        floor.run(self.ctx.engine, self._floor_sql[i % len(OVERVIEW_QUERIES)])

    def naive(self, i: int) -> None:
        from bench import naive
        filters, period = self._overview_question(i)
        naive.overview_numbers(self.ctx.engine, filters, self.ctx.reference(), period, self.lead())

    def operation(self, name: str) -> Callable[[int], None]:
        if name not in SCENARIOS:
            raise KeyError(f"unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}")
        return getattr(self, name)


SCENARIOS = ("overview", "overview_callback", "overview_cached", "floor", "naive", "workstream", "cohort", "export_csv",
             "export_xlsx")
VARIANTS = {"overview": len(OVERVIEW_QUERIES), "overview_callback": len(OVERVIEW_QUERIES),
            "overview_cached": len(OVERVIEW_QUERIES),
            "floor": len(OVERVIEW_QUERIES), "naive": len(OVERVIEW_QUERIES), "workstream": len(WORKSTREAM_CASES),
            "cohort": len(COHORT_CASES), "export_csv": 1, "export_xlsx": 1}
