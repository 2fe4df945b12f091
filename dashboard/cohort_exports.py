"""GET /export/cohort.csv: the protected breakdown a cohort page shows, as a tidy CSV.

The figures come from queries.cohorts (cohort_summary, breakdown, cross_table), the functions the page calls, so
the file holds exactly what the page shows: the same suppressed cells, never a case_id or a single case's row. A
cohort under the threshold gives one row saying "fewer than N cases". Parameters are refused, never ignored, as
for /export/metrics.csv: the filters go through the same checks (queries.exports.parse_export_query) and the
file follows the same conventions (UTF-8 with BOM, CRLF, numbers, [c]/[x], formula neutralising, file name).
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, replace
from typing import Mapping
from urllib.parse import urlencode

import polars as pl
import sqlalchemy as sa
from flask import Flask, Response, request

from dashboard import auth
from dashboard.responses import guarded
from queries.cohorts import (DIMENSIONS, CohortSummary, CohortTooSmall, cohort_period_bounds, cohort_profile,
                             cohort_summary, cross_table)
from queries.audit import record_now
from queries.disclosure import to_display
from queries.exports import (BadParameter, format_number, name_segment, neutralise, parse_export_query, shown,
                             split_values)
from queries.filters import Filters
from queries.reference import Reference, load_reference
from queries.status import data_months
from queries.users import selection_areas

log = logging.getLogger(__name__)

PATH = "/export/cohort.csv"
PARAMETERS = ("metric", "period", "by", "area", "force", "from", "to")
FILTER_PARAMETERS = ("area", "force", "from", "to")
COLUMNS = ("metric_code", "metric_name", "first_month", "last_month", "group", "dimension_1", "category_1",
           "dimension_2", "category_2", "count", "share", "note")
ABOUT_COLUMNS = ("filters", "data_as_at")
CSV_MIMETYPE = "text/csv; charset=utf-8"
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class CohortExport:
    filters: Filters
    metric: str
    period: str | None
    by: tuple[str, ...]     # one dimension (cohort and comparison), or two (the cohort's cross-table)


def parse_by(values: list[str] | str) -> tuple[str, ...]:
    """One or two dimension keys from 'by' (comma-separated or repeated); ValueError says what is wrong."""
    names = split_values({"by": values}, "by")
    if not names:
        raise ValueError(f"give one or two breakdown dimensions: {', '.join(DIMENSIONS)}")
    if len(names) > 2:
        raise ValueError(f"give at most two dimensions; got {len(names)}")
    for name in names:
        if name not in DIMENSIONS:
            raise ValueError(f"unknown dimension '{shown(name)}'; use {', '.join(DIMENSIONS)}")
    if len(names) == 2 and names[0] == names[1]:
        raise ValueError(f"the two dimensions must differ; got '{names[0]}' twice")
    return tuple(names)


def parse_cohort_query(query: Mapping[str, list[str]], ref: Reference) -> CohortExport:
    """request.args.to_dict(flat=False) in; a CohortExport out, or BadParameter naming the parameter."""
    for key in query:
        if key not in PARAMETERS:
            raise BadParameter(key, f"unknown parameter; use {', '.join(PARAMETERS)}")
    metric = split_values(query, "metric")
    if len(metric) != 1:
        raise BadParameter("metric", f"give exactly one metric code; got {len(metric)}")
    filters = parse_export_query({k: query[k] for k in (*FILTER_PARAMETERS, "metric") if k in query}, ref).filters
    code = metric[0]
    if ref.metrics[code].source != "cases":
        raise BadParameter("metric", f"'{code}' comes from aggregate returns: it has no case cohort")
    period = split_values(query, "period")
    if len(period) > 1:
        raise BadParameter("period", "give at most one value")
    if period:
        try:
            first, last = cohort_period_bounds(period[0])
        except ValueError:
            raise BadParameter("period", f"'{shown(period[0])}' is not like 2024-03, 2024-Q1 or 2024") from None
        if (filters.period_from or first) > last or (filters.period_to or last) < first:
            raise BadParameter("period", f"{period[0]} is outside from..to "
                                         f"({filters.period_from or '...'} to {filters.period_to or '...'})")
    try:
        by = parse_by(query.get("by", []))
    except ValueError as exc:
        raise BadParameter("by", str(exc)) from None
    return CohortExport(filters, code, period[0] if period else None, by)


def cohort_href(filters: Filters, metric: str, period: str | None, by: tuple[str, ...]) -> str:
    """The export URL for what a cohort page shows (only the parameters the export takes)."""
    return f"{PATH}?" + urlencode(_pairs(filters, metric, period, by, filters.period_from, filters.period_to), safe=",")


def _pairs(filters: Filters, metric: str, period: str | None, by: tuple[str, ...], first, last) -> list:
    pairs = [("metric", metric)] + ([("period", period)] if period else []) + [("by", ",".join(by))]
    pairs += [("area", a) for a in sorted(filters.areas)] + [("force", f) for f in sorted(filters.forces)]
    return pairs + [(k, v) for k, v in (("from", first), ("to", last)) if v]


# ---------------------------------------------------------------- the table (pure once fetched)
def group_rows(frame: pl.DataFrame, by: tuple[str, ...], group: str) -> list[dict]:
    """Rows of one protected frame (breakdown or cross_table) as display strings: "[c]" where suppressed."""
    if len(by) == 1:
        frame = frame.rename({"category": "category_1"}).with_columns(
            pl.lit("").alias("category_2"),
            (pl.col("count_suppressed") | pl.col("share").is_null()).alias("share_suppressed"))
    else:   # the page shows the cross-table's counts only: a share is not available
        frame = frame.rename({by[0]: "category_1", by[1]: "category_2"}).with_columns(
            pl.lit(None, dtype=pl.Float64).alias("share"), pl.lit(False).alias("share_suppressed"))
    text = frame.with_columns(pl.col(c).map_elements(format_number, return_dtype=pl.String)
                              for c in ("count", "share"))
    shown_rows = to_display(text, ["count", "share"])
    return [{"group": group, "dimension_1": by[0], "dimension_2": by[1] if len(by) > 1 else "",
             "category_1": r["category_1"], "category_2": r["category_2"], "count": r["count"],
             "share": r["share"], "note": ""} for r in shown_rows.iter_rows(named=True)]


def message_row(group: str, by: tuple[str, ...], message: str) -> dict:
    """All a refused group gives: its label and why, nothing counted."""
    return {"group": group, "dimension_1": by[0], "dimension_2": by[1] if len(by) > 1 else "", "category_1": "",
            "category_2": "", "count": "[c]", "share": "[c]", "note": message}


def cohort_table(engine: sa.Engine, req: CohortExport, ref: Reference, threshold: int
                 ) -> tuple[CohortSummary, list[dict]]:
    """The rows the page shows for req.by: each group's one-way table, or the cohort's cross-table.

    A one-way table comes with the summary from one pass over each group's cases (cohort_profile), as on the page;
    a cross-table needs the cohort's two-way counts besides."""
    if len(req.by) == 1:
        summary, tables = cohort_profile(engine, req.filters, req.metric, req.period, ref, req.by, threshold)
        shown = tables[req.by[0]]
    else:
        summary, shown = cohort_summary(engine, req.filters, req.metric, req.period, ref, threshold), None
    groups = [("cohort", summary.cohort)] + ([("comparison", summary.comparison)] if summary.comparison else [])
    if len(req.by) == 2:
        groups = groups[:1]
    rows: list[dict] = []
    for key, g in groups:
        try:
            if g.message:
                raise CohortTooSmall(g.message)
            frame = shown[key] if shown is not None else cross_table(engine, req.filters, req.metric, req.period,
                                                                     ref, *req.by, threshold)
        except CohortTooSmall as exc:
            rows.append(message_row(g.label, req.by, exc.message))
            if key == "cohort":   # nothing is shown beside a refused cohort
                break
            continue
        rows += group_rows(frame, req.by, g.label)
    return summary, rows


def csv_text(rows: list[dict], about: dict) -> str:
    """BOM, header, rows: CRLF, text neutralised for spreadsheets (numbers are never changed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*COLUMNS, *ABOUT_COLUMNS])
    for row in rows:
        cells = {**about, **row}
        writer.writerow([cells[c] if c in ("count", "share") else neutralise(str(cells[c] or ""))
                         for c in (*COLUMNS, *ABOUT_COLUMNS)])
    return "\ufeff" + buffer.getvalue()


def file_name(req: CohortExport, first: str, last: str, as_at: str) -> str:
    parts = ["rasso-cohort", req.metric, first, last, name_segment("by", req.by)]
    if req.filters.areas:
        parts.append(name_segment("area", sorted(req.filters.areas)))
    if req.filters.forces:
        parts.append(name_segment("force", sorted(req.filters.forces)))
    return "_".join(parts) + f"_asat-{as_at}.csv"


def cohort_csv(engine: sa.Engine, req: CohortExport, ref: Reference, threshold: int) -> tuple[str, str]:
    """The file's text and name. Months are made explicit (data bounds where the request set none), so the
    `filters` column reproduces the same rows after more data arrives."""
    summary, rows = cohort_table(engine, req, ref, threshold)
    data_first, as_at = data_months(engine)
    first, last = summary.first_month or data_first or "none", summary.last_month or as_at or "none"
    metric = ref.metrics[req.metric]
    about = {"metric_code": metric.metric_code, "metric_name": metric.name, "first_month": first,
             "last_month": last, "data_as_at": as_at or "none",
             "filters": urlencode(_pairs(req.filters, req.metric, req.period, req.by, first, last), safe=",")}
    return csv_text(rows, about), file_name(req, first, last, as_at or "none")


# ---------------------------------------------------------------- route
def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain", headers=HEADERS)


def register_cohort_export_routes(server: Flask, engine: sa.Engine, settings, writer: sa.Engine | None = None
                                  ) -> None:
    writer = writer or engine   # refusals are audited on the primary when `engine` is a replica

    @server.get(PATH)
    def export_cohort_csv():
        return guarded(send, _plain)

    def send():
        ref = load_reference(engine)
        req = parse_cohort_query(request.args.to_dict(flat=False), ref)
        user = auth.current()
        if user is None or not user.may_see_cohort(selection_areas(req.filters, ref)):
            record_now(writer, user.username if user else "(nobody)", "forbidden", PATH,
                       {"query": request.query_string.decode("utf-8", "replace")[:2000]})
            return _plain(403, "forbidden: cases can be exported only for your own Areas")
        req = replace(req, filters=req.filters.with_(scope_areas=user.cohort_scope))
        text, name = cohort_csv(engine, req, ref, settings.disclosure_threshold)
        return Response(text.encode("utf-8"), content_type=CSV_MIMETYPE,
                        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})
