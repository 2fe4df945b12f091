"""GET /export/spc.csv and /export/effects.csv: the SPC chart's table and the pilot effect estimates as files.

Thin routes over the screens' own code: queries.assurance.metric_spc (the SPC page's series and rules) and
queries.pilot_effects.pilot_effects (the workstream page's estimates), formatted by queries.analysis_exports with
the metrics export's conventions. A bad parameter is a 400 with a one-line message naming it; anything unexpected
is logged with a reference and answered without a traceback.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Flask, Response, request

from queries.analysis_exports import (EFFECT_COLUMNS, SPC_COLUMNS, csv_bytes, effect_rows, effects_file_name,
                                      effects_query, parse_effects_query, parse_spc_query, spc_file_name, spc_rows)
from queries.assurance import metric_spc
from dashboard.responses import guarded
from queries.exports import ExportMeta, canonical_query
from queries.pilot_effects import pilot_effects
from queries.reference import load_reference
from queries.status import data_months

log = logging.getLogger(__name__)

CSV_MIMETYPE = "text/csv; charset=utf-8"
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain", headers=NO_STORE)


def _csv(body: bytes, name: str) -> Response:
    return Response(body, content_type=CSV_MIMETYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE})


def _guarded(make):
    return guarded(make, _plain)


def spc_csv(engine: sa.Engine, settings) -> Response:
    ref = load_reference(engine)
    req = parse_spc_query(request.args.to_dict(flat=False), ref)
    first, as_at = data_months(engine)
    f = req.filters
    last = min(f.period_to, as_at) if f.period_to and as_at else (f.period_to or as_at)
    meta = ExportMeta(req, f.period_from or first or "none", last or "none", as_at or "none",
                      datetime.now(timezone.utc), request_url=request.url,
                      threshold=settings.disclosure_threshold)
    meta = replace(meta, reproduce_url=f"{request.base_url}?{canonical_query(meta)}")
    rows = []
    if last:
        spc = metric_spc(engine, f, req.metric_codes[0], ref, last, settings.disclosure_threshold)
        rows = spc_rows(spc)
    return _csv(csv_bytes(SPC_COLUMNS, rows, [canonical_query(meta), meta.data_as_at]), spc_file_name(meta))


def effects_csv(engine: sa.Engine) -> Response:
    ref = load_reference(engine)
    workstream, codes, named = parse_effects_query(request.args.to_dict(flat=False), ref)
    as_at = data_months(engine)[1] or "none"
    effects = pilot_effects(engine, ref, list(codes))
    about = [effects_query(workstream, codes, named), as_at]
    return _csv(csv_bytes(EFFECT_COLUMNS, effect_rows(effects), about),
                effects_file_name(workstream, codes, named, as_at))


def register_analysis_export_routes(server: Flask, engine: sa.Engine, settings) -> None:
    """Add the SPC and effect-estimate export URLs; board packs script against these, so they are stable."""

    @server.get("/export/spc.csv")
    def export_spc_csv():
        return _guarded(lambda: spc_csv(engine, settings))

    @server.get("/export/effects.csv")
    def export_effects_csv():
        return _guarded(lambda: effects_csv(engine))
