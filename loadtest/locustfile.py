"""Simulated leaders walking the dashboard, request for request as a browser does it.

The journey, with a pause to read between steps: open the overview (the page, its layout and dependencies, then
the Dash callbacks the page fires: filters, page, overview panels, chart-click wiring); change a filter (an Area;
sometimes a period preset) and see the overview redrawn; open a workstream; follow its "See the cases" link to a
cohort and try a two-way breakdown; download the figures (CSV, sometimes Excel, sometimes the cohort).

Callback bodies are built from the app's own /_dash-dependencies, with the ids the page's responses carry (chart
ids, links), as the browser would; the bodies match those captured from headless Chromium. A callback that answers
200 with the app's "Something went wrong" message counts as a failure. Runs only against a loopback address.
"""
from __future__ import annotations

import ipaddress
import json
import os
import random
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

USER_HEADER = os.environ.get("LOADTEST_USER_HEADER", "X-Forwarded-User")
ACCOUNTS = json.loads(os.environ.get("LOADTEST_ACCOUNTS", "[]"))
WAIT = tuple(float(x) for x in os.environ.get("LOADTEST_WAIT", "1-3").split("-"))
COHORTS = os.environ.get("LOADTEST_COHORTS", "1") != "0"      # 0: leave the cohort step out
FAILED = ("Something went wrong", "internal error, reference")
WORKSTREAMS = ("early_advice", "action_plans", "nfa_scrutiny", "victims", "people")
PRESETS = ("last12", "pilot", "all")
_next_account = iter(range(10**9))


@events.init.add_listener
def loopback_only(environment, **_kwargs):
    host = urlsplit(environment.host or "").hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to load-test {host!r}: only loopback addresses are allowed")


def walk(node, found: dict) -> None:
    """Collect what a browser would find in a Dash response: hrefs and the ids of pattern-matched graphs."""
    if isinstance(node, dict):
        props = node.get("props") if isinstance(node.get("props"), dict) else None
        if props:
            if isinstance(props.get("href"), str):
                found["links"].append(props["href"])
            if isinstance(props.get("id"), dict) and props["id"].get("type") == "graph":
                found["graphs"].append(props["id"])
        for value in node.values():
            walk(value, found)
    elif isinstance(node, list):
        for value in node:
            walk(value, found)


class Leader(HttpUser):
    wait_time = between(*WAIT)

    def on_start(self):
        account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)] if ACCOUNTS else None
        if account:
            self.client.headers[USER_HEADER] = account["username"]
        self.areas = (account or {}).get("areas") or []
        self.rng = random.Random()
        self.deps = None
        self.all_areas = []

    # ------------------------------------------------------------------ transport
    def get(self, path: str, name: str) -> str | None:
        with self.client.get(path, name=name, catch_response=True) as resp:
            return self._check(resp)

    def callback(self, name: str, output_part: str, values: dict, changed: list[str], extra_inputs=None):
        dep = next(d for d in self.deps if output_part in d["output"])
        body = {"output": dep["output"], "outputs": _outputs(dep["output"]),
                "inputs": extra_inputs if extra_inputs is not None else _items(dep["inputs"], values),
                "changedPropIds": changed}
        if dep.get("state"):
            body["state"] = _items(dep["state"], values)
        with self.client.post("/_dash-update-component", json=body, name=f"callback: {name}",
                              catch_response=True) as resp:
            text = self._check(resp)
        if not text:
            return {}
        return json.loads(text).get("response", {})

    def _check(self, resp) -> str | None:
        if resp.status_code == 204:
            resp.success()
            return ""
        if resp.status_code != 200:
            resp.failure(f"HTTP {resp.status_code}")
            return None
        text = resp.text
        if any(marker in text for marker in FAILED):
            resp.failure("the app reported an error")
            return None
        resp.success()
        return text

    # ------------------------------------------------------------------ what a browser does
    def open_page(self, pathname: str, search: str) -> None:
        """A navigation inside the app: the page callback and the filter bar's sync."""
        self.callback("page", "page.children", {"url.pathname": pathname, "url.search": search}, ["url.pathname"])
        self.sync_filters(pathname, search, "url.search", name="filters")

    def filter_values(self, pathname: str, search: str, **changes) -> dict:
        values = {"url.pathname": pathname, "url.search": search, "filter-area.value": [],
                  "filter-force.value": [], "filter-from.value": "", "filter-to.value": "",
                  "filter-grain.value": "month", "filter-clear.n_clicks": 0}
        values.update(changes)
        return values

    def sync_filters(self, pathname: str, search: str, changed: str, name: str = "change filters",
                     **changes) -> str:
        values = self.filter_values(pathname, search, **changes)
        dep = next(d for d in self.deps if "filter-area.value" in d["output"])
        presets = [{"id": {"preset": p, "type": "filter-preset"}, "property": "n_clicks",
                    "value": 1 if changed == f"preset:{p}" else 0} for p in PRESETS]
        inputs = []
        for item in dep["inputs"]:
            if item["id"].startswith("{"):
                inputs.append(presets)
            else:
                key = f"{item['id']}.{item['property']}"
                inputs.append({"id": item["id"], "property": item["property"], "value": values.get(key)})
        prop = (json.dumps({"preset": changed.split(":")[1], "type": "filter-preset"}, separators=(",", ":"))
                + ".n_clicks") if changed.startswith("preset:") else changed
        response = self.callback(name, "filter-area.value", values, [prop], extra_inputs=inputs)
        new = response.get("url", {}).get("search")
        return search if new is None else new

    def chart_clicks(self, pathname: str, search: str, graphs: list[dict]) -> None:
        """Dash wires the chart-click callback to every chart a response drew; it runs once per draw."""
        inputs = [[{"id": g, "property": "clickData"} for g in graphs]]
        changed = [json.dumps(g, separators=(",", ":"), sort_keys=True) + ".clickData" for g in graphs]
        self.callback("chart clicks", "url.pathname@", {"url.pathname": pathname, "url.search": search}, changed,
                      extra_inputs=inputs)

    def overview(self, search: str) -> dict:
        response = self.callback("overview", "overview.children", {"url.search": search}, ["url.search"])
        found = {"links": [], "graphs": []}
        walk(response, found)
        self.chart_clicks("/", search, found["graphs"])
        return found

    # ------------------------------------------------------------------ the journey
    @task
    def journey(self):
        self.get("/", "page /")
        layout = self.get("/_dash-layout", "layout")
        deps = self.get("/_dash-dependencies", "dependencies")
        if not layout or not deps:
            return
        self.deps = json.loads(deps)
        self.all_areas = self.all_areas or _options(json.loads(layout), "filter-area")
        self.open_page("/", "")
        found = self.overview("")
        self.wait()

        area = self.rng.choice(self.areas or self.all_areas)
        search = self.sync_filters("/", "", "filter-area.value", **{"filter-area.value": [area]})
        found = self.overview(search)
        if self.rng.random() < 0.5:
            self.wait()
            search = self.sync_filters("/", search, f"preset:{self.rng.choice(PRESETS)}",
                                       **{"filter-area.value": [area]})
            found = self.overview(search)
        exports = [link for link in found["links"] if link.startswith("/export/")]
        self.wait()

        code = self.rng.choice(WORKSTREAMS)
        pathname = f"/workstream/{code}"
        self.open_page(pathname, search)
        response = self.callback("workstream", "workstream-content.children",
                                 {"url.search": search, "url.pathname": pathname}, ["url.search"])
        page = {"links": [], "graphs": []}
        walk(response, page)
        self.chart_clicks(pathname, search, page["graphs"])
        cohorts = [link for link in page["links"] if link.startswith("/cohort?")]
        self.wait()

        if cohorts and COHORTS:
            target = urlsplit(self.rng.choice(cohorts))
            search = "?" + target.query
            self.open_page("/cohort", search)
            self.chart_clicks("/cohort", search, [])
            response = self.callback("cohort", "cohort-content.children",
                                     {"url.search": search, "url.pathname": "/cohort"}, ["url.search"])
            first = response.get("cohort-by", {}).get("value")
            if first:
                values = {"url.search": search, "url.pathname": "/cohort", "cohort-by.value": first,
                          "cohort-by-second.value": ""}
                self.callback("cohort breakdown", "cohort-explore.children", values,
                              ["cohort-by.value", "cohort-by-second.value"])
                self.wait()
                values["cohort-by-second.value"] = self.rng.choice(["victim_age_band", "offence_group",
                                                                     "decision", "victim_sex"])
                self.callback("cohort breakdown", "cohort-explore.children", values, ["cohort-by-second.value"])
                found_cohort = {"links": [], "graphs": []}
                walk(response, found_cohort)
                exports += [link for link in found_cohort["links"] if link.startswith("/export/cohort")]
            self.wait()

        if exports:
            link = self.rng.choice(exports)
            kind = link.split("?")[0].rsplit("/", 1)[-1]
            self.get(link, f"export {kind}")


def _outputs(spec: str):
    if spec.startswith(".."):
        return [dict(zip(("id", "property"), p.rsplit(".", 1))) for p in spec[2:-2].split("...")]
    return dict(zip(("id", "property"), spec.rsplit(".", 1)))


def _items(items: list[dict], values: dict) -> list[dict]:
    return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
            for i in items]


def _options(layout, component_id: str) -> list[str]:
    """The values of a control's options in the page layout (the Areas a user can tick)."""
    stack = [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("props") if isinstance(node.get("props"), dict) else {}
            if props.get("id") == component_id and isinstance(props.get("options"), list):
                return [o["value"] for o in props["options"] if isinstance(o, dict) and "value" in o]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return []
