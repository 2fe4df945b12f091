"""plotly.js's cartesian bundle in place of Dash's full one, when npm has installed it.

A cold page load spent about two seconds parsing Dash's full plotly.js (4.7 MB, every trace type), fetched only
after the first callback answered. The charts here use scatter, bar and heatmap traces, all in the cartesian bundle
(1.5 MB), which parses in a fraction of the time. Loaded as an ordinary script before Dash's own, it defines
window.Plotly, which dcc.Graph uses instead of fetching the full bundle. Served from our own origin (CSP: scripts
from self only). Without the package (a machine without npm) nothing changes: Dash loads its full bundle as before.
The bundle must be the plotly.js major version the plotly package ships, so figures draw the same; else it is unused.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from flask import Flask, send_file

from dashboard.settings import ROOT

log = logging.getLogger(__name__)

PACKAGE = "plotly.js-cartesian-dist-min"
BUNDLE = ROOT / "node_modules" / PACKAGE / "plotly-cartesian.min.js"
_VERSION = re.compile(r"plotly\.js(?: \([^)]*\))? v(\d+)\.(\d+)\.(\d+)")


def bundle_version(head: str) -> str | None:
    """Pure: the version in a plotly.js bundle's licence header ('plotly.js (cartesian - minified) v4.1.1')."""
    match = _VERSION.search(head)
    return ".".join(match.groups()) if match else None


def same_major(version: str | None, shipped: str) -> bool:
    """Pure: whether a bundle's version draws figures as the shipped plotly.js does (same major version)."""
    return version is not None and version.split(".")[0] == shipped.split(".")[0]


def chart_bundle_url(bundle: Path | None = None) -> str | None:
    """The URL to load the cartesian bundle from, or None to leave Dash's full bundle in charge."""
    from plotly.offline import get_plotlyjs_version

    bundle = bundle or BUNDLE
    if not bundle.is_file():
        return None
    with bundle.open(encoding="utf-8", errors="replace") as fh:
        version = bundle_version(fh.read(400))
    shipped = get_plotlyjs_version()
    if not same_major(version, shipped):
        log.warning("%s %s does not match plotly.js %s: using Dash's full bundle", PACKAGE, version, shipped)
        return None
    return f"/vendor/plotly-cartesian-{version}.min.js"   # versioned: browsers may cache it for long


def serve_chart_bundle(server: Flask, url: str, bundle: Path | None = None) -> None:
    path = bundle or BUNDLE

    @server.get(url)
    def chart_bundle():
        return send_file(path, mimetype="text/javascript", max_age=86400)
