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

COHORT_BREADCRUMB = "cohort-breadcrumb"
COHORT_BACK = "cohort-back"
COHORT_TITLE = "cohort-title"
COHORT_SINK = "cohort-sink"   # clientside: names the tab and keeps the breakdown in the address
COHORT_CONTENT = "cohort-content"
COHORT_EXPLORER = "cohort-explorer"
COHORT_BY = "cohort-by"
COHORT_BY_SECOND = "cohort-by-second"
COHORT_EXPLORE = "cohort-explore"
COHORT_DOWNLOAD = "cohort-download"
COHORT_GRAPH = "cohort-graph"   # type of the cohort page's own graphs: not ids.GRAPH, so clicks there go nowhere

PRINT_LINK = "print-link"
PRINT_VIEW = "print-view"
PRINT_BUTTON = "print-button"
PRINT_SINK = "print-sink"

SPC_CONTENT = "spc-content"
SPC_GRAPH = "spc-graph"          # a plain id: clicks on the SPC chart are not cohort drill-downs
EXCEPTIONS_CONTENT = "exceptions-content"
EXCEPTIONS_TABLE = "exceptions-table"
