"""Drive Dash callbacks over HTTP as the browser does: POST /_dash-update-component with the page's inputs.

The callback is found in /_dash-dependencies by one of its outputs, so the benchmark follows the app's own wiring
instead of copying it. Works with the Flask test client and with a real server alike (`post` is any function that
sends JSON and returns (status, body bytes)).
"""
from __future__ import annotations

import json
from typing import Callable

Post = Callable[[str, dict], tuple[int, bytes]]


def _outputs(spec: str) -> list[dict] | dict:
    """'..a.children...b.children..' (several outputs) or 'a.children' (one) -> Dash's outputs field."""
    if spec.startswith(".."):
        parts = spec[2:-2].split("...")
        return [dict(zip(("id", "property"), p.rsplit(".", 1))) for p in parts]
    return dict(zip(("id", "property"), spec.rsplit(".", 1)))


def find_callback(dependencies: list[dict], output: str) -> dict:
    """The callback whose outputs include `output` ('component-id.property')."""
    for dep in dependencies:
        outs = _outputs(dep["output"])
        outs = outs if isinstance(outs, list) else [outs]
        if any(f"{o['id']}.{o['property']}" == output for o in outs):
            return dep
    raise LookupError(f"no callback writes {output}")


def payload(dep: dict, values: dict[str, object], changed: list[str]) -> dict:
    """The request body for one call: every input and state from `values` ('id.property' -> value, else None)."""
    def items(kind):
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in dep.get(kind, [])]
    return {"output": dep["output"], "outputs": _outputs(dep["output"]), "inputs": items("inputs"),
            "state": items("state"), "changedPropIds": changed}


class DashClient:
    """Callbacks by output name, through any transport."""

    def __init__(self, get: Callable[[str], tuple[int, bytes]], post: Post):
        self.get, self.post = get, post
        status, body = get("/_dash-dependencies")
        if status != 200:
            raise RuntimeError(f"/_dash-dependencies answered {status}")
        self.dependencies = json.loads(body)

    def call(self, output: str, values: dict[str, object], changed: list[str]) -> bytes:
        dep = find_callback(self.dependencies, output)
        status, body = self.post("/_dash-update-component", payload(dep, values, changed))
        if status not in (200, 204):
            raise RuntimeError(f"callback for {output} answered {status}: {body[:300]!r}")
        return body


def test_client_transport(client) -> tuple[Callable, Post]:
    """get/post functions over a Flask test client, reading the whole body."""
    def get(path):
        resp = client.get(path)
        return resp.status_code, resp.get_data()

    def post(path, body):
        resp = client.post(path, json=body)
        return resp.status_code, resp.get_data()
    return get, post


def http_transport(base: str, timeout: float = 60) -> tuple[Callable, Post]:
    """get/post functions over real HTTP (loopback only: the base URL is a server this run started)."""
    from urllib.request import Request, urlopen

    def get(path):
        with urlopen(base + path, timeout=timeout) as resp:
            return resp.status, resp.read()

    def post(path, body):
        req = Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    return get, post
