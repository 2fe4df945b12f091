"""Board-paper files for the analysis views: the SPC table (spc.csv) and pilot effect estimates (effects.csv).

Pure, like queries/exports.py whose conventions these follow (and whose helpers they use): UTF-8 with a BOM, CRLF,
fixed-point numbers, formula-like text neutralised, [c] for a withheld value and [x] for one not available, a
`filters` and a `data_as_at` column after the data columns, deterministic file names. Parameters are refused, not
forgiven: a bad one raises BadParameter, which the route answers with HTTP 400 naming it.
"""
from __future__ import annotations

import csv
import io
import re
from typing import Iterable, Mapping
from urllib.parse import urlencode

from queries.assurance import MetricSPC
from queries.disclosure import NOT_AVAILABLE, SUPPRESSED
from queries.effects import Effect
from queries.exports import (ABOUT_COLUMNS, BadParameter, ExportMeta, ExportRequest, file_name,
                             format_number, name_segment, neutralise, parse_export_query, select_metrics, shown,
                             split_values)
from queries.reference import Reference
from queries.spc import assurance_icon

SPC_COLUMNS = ("period", "value", "mean", "lower_limit", "upper_limit", "lower_2sigma", "upper_2sigma",
               "special_cause", "variation", "target", "assurance")
EFFECT_COLUMNS = ("metric_code", "pilot_sites", "comparison_sites", "estimate", "ci_low", "ci_high", "unit",
                  "method", "note")
NUMBER_COLUMNS = frozenset(("value", "mean", "lower_limit", "upper_limit", "lower_2sigma", "upper_2sigma", "target",
                            "pilot_sites", "comparison_sites", "estimate", "ci_low", "ci_high"))
SPC_PARAMETERS = ("metric", "workstream", "area", "force", "from", "to", "level", "grain")
EFFECT_PARAMETERS = ("workstream", "metric")
# What an estimate's number means, by queries.effects scale (and metric unit for absolute differences).
EFFECT_UNITS = {"percent": "relative", "points": "proportion_points"}
ABSOLUTE_UNITS = {"mean_days": "days", "ratio": "ratio"}


# ---------------------------------------------------------------- parameters
def parse_spc_query(query: Mapping[str, str | list[str]], ref: Reference) -> ExportRequest:
    """The dashboard's filters plus exactly one metric; monthly and for the selection as a whole."""
    for key in query:   # checked here too, so parameters the metrics export adds later are not let through
        if key not in SPC_PARAMETERS:
            raise BadParameter(key, f"unknown parameter; use {', '.join(SPC_PARAMETERS)}")
    req = parse_export_query(query, ref)
    if not req.metrics_named:
        raise BadParameter("metric", "give one metric code")
    if len(req.metric_codes) != 1:
        raise BadParameter("metric", "give one metric code, not several")
    if req.level != "national":
        raise BadParameter("level", "an SPC chart is for the selection as a whole; use national or leave it out")
    if req.grain != "month":
        raise BadParameter("grain", "SPC charts are monthly; use month or leave it out")
    return req


def parse_effects_query(query: Mapping[str, str | list[str]],
                        ref: Reference) -> tuple[str | None, tuple[str, ...], bool]:
    """(workstream, metric codes in catalogue order, whether metric= named them). Neither given: every metric."""
    for key in query:
        if key not in EFFECT_PARAMETERS:
            raise BadParameter(key, f"unknown parameter; use {', '.join(EFFECT_PARAMETERS)}")
    workstreams = split_values(query, "workstream")
    if len(workstreams) > 1:
        raise BadParameter("workstream", "give at most one value")
    workstream = workstreams[0] if workstreams else None
    if workstream and workstream not in {w.workstream_code for w in ref.workstreams}:
        raise BadParameter("workstream", f"unknown workstream code '{shown(workstream)}'")
    codes, named = select_metrics(query, ref, workstream)
    return workstream, codes, named


# ---------------------------------------------------------------- rows
def _number(x: float | None, missing: str = NOT_AVAILABLE) -> str:
    return missing if x is None else format_number(x)


def spc_rows(spc: MetricSPC) -> list[list[str]]:
    """One row per month: the chart's value and lines, the rules that fired, the icons' words. Pure."""
    m, rows = spc.metric, []
    for i, r in enumerate(spc.table.iter_rows(named=True)):
        value = SUPPRESSED if r["suppressed"] else _number(r["value"])
        lines = [_number(r[c]) for c in ("mean", "lower_limit", "upper_limit", "lower_2sigma", "upper_2sigma")]
        assurance = assurance_icon(spc.table.slice(i, 1), spc.target, m.direction) if spc.target is not None else None
        rows.append([r["period"], value, *lines, r["special_cause"], r["icon"], _number(spc.target),
                     assurance or ""])
    return rows


def effect_unit(effect: Effect) -> str:
    return EFFECT_UNITS.get(effect.scale) or ABSOLUTE_UNITS.get(effect.unit, effect.unit)


def effect_rows(effects: Iterable[Effect]) -> list[list[str]]:
    """One row per metric: sites, the estimate and its interval, what the number means, the method. Pure."""
    return [[e.metric_code, str(e.pilot_sites), str(e.comparison_sites), _number(e.estimate), _number(e.ci_low),
             _number(e.ci_high), effect_unit(e), e.method, e.note or ""] for e in effects]


def csv_bytes(columns: tuple[str, ...], rows: Iterable[list[str]], about: list[str]) -> bytes:
    """The whole file: BOM, header, rows with the constant about-columns, CRLF. Text cells are neutralised;
    number columns never are (a negative number must stay a number)."""
    numeric = [c in NUMBER_COLUMNS for c in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*columns, *ABOUT_COLUMNS])
    for row in rows:
        writer.writerow([cell if num else neutralise(cell) for cell, num in zip(row, numeric)]
                        + [neutralise(a) for a in about])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# ---------------------------------------------------------------- names and the reproducing query
def spc_file_name(meta: ExportMeta) -> str:
    """The metrics export's naming scheme with its own prefix: rasso-spc_national_month_<from>_<to>_metric-..."""
    return "rasso-spc" + file_name(meta, "csv").removeprefix("rasso-metrics")


def effects_query(workstream: str | None, codes: tuple[str, ...], named: bool) -> str:
    pairs = ([("workstream", workstream)] if workstream else []) + ([("metric", c) for c in codes] if named else [])
    return urlencode(pairs)


def effects_file_name(workstream: str | None, codes: tuple[str, ...], named: bool, data_as_at: str) -> str:
    parts = ["rasso-effects"]
    if workstream:
        parts.append(f"ws-{workstream}")
    if named:
        parts.append(name_segment("metric", codes))
    parts.append(f"asat-{data_as_at}")
    return re.sub(r"[^A-Za-z0-9._-]", "-", "_".join(parts)) + ".csv"
