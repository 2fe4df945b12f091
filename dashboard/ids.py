"""Every component id in one place, so callbacks, layouts and browser tests agree."""

URL = "url"
PAGE = "page"
FILTER_BAR = "filter-bar"
MESSAGES = "filter-messages"
DATA_AS_AT = "data-as-at"
TITLE_SINK = "title-sink"

AREA = "filter-area"
AREA_SUMMARY = "filter-area-summary"
FORCE = "filter-force"
FORCE_SUMMARY = "filter-force-summary"
PERIOD_FROM = "filter-from"
PERIOD_TO = "filter-to"
GRAIN = "filter-grain"
PRESET = "filter-preset"
CLEAR = "filter-clear"

OVERVIEW = "overview"
OVERVIEW_SUMMARY = "overview-summary"
WORKSTREAM_CONTENT = "workstream-content"


def panel(workstream: str) -> str:
    return f"panel-{workstream}"


def chart(name: str) -> str:
    """The figure block (chart, description and table) around a graph; stable for tests and links."""
    return f"chart-{name}"


GRAPH = "graph"


def graph(kind: str, metric: str) -> dict:
    """Pattern-matching id of a dcc.Graph, so one callback can follow clicks on any chart (kind: trend, ranked)."""
    return {"type": GRAPH, "kind": kind, "metric": metric}


def table(name: str) -> str:
    return f"table-{name}"


def tile(metric: str) -> str:
    return f"tile-{metric}"


DOWNLOADS = "downloads"
