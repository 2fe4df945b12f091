"""The XmR chart (Making Data Count), a pure builder: an SPC table in, a plotly go.Figure out.

Never colour alone: special-cause points differ from common-cause ones by marker shape (improvement a diamond,
concern a square, neither a triangle, common cause a small circle) and size, every marker has a dark outline (the
MDC blue and grey fail 3:1 contrast on white), each run of special-cause points is labelled in words, and the lines
are labelled at the right-hand end. Withheld months are gaps, never drawn.
"""
from __future__ import annotations

import polars as pl
import plotly.graph_objects as go

from dashboard.figures import MUTED, TEXT, base_layout, empty_figure
from dashboard.format import axis_format, fmt_value, month_label, period_start
from queries.assurance import MetricSPC, rules_in_words
from queries.spc import VARIATION_COLOURS

MARKERS = {"common cause": ("circle", 6), "improvement": ("diamond", 11), "concern": ("square", 10),
           "neither": ("triangle-up", 11)}
RUN_LABELS = {"improvement": "Improvement", "concern": "Concern", "neither": "Special cause"}
TARGET_COLOUR = "#801650"
END_LABELS = (("upper_limit", "Upper<br>limit"), ("mean", "Mean"), ("lower_limit", "Lower<br>limit"))
LINES = (  # column, label, style
    ("mean", "Mean", dict(color=TEXT, width=1.5)),
    ("upper_limit", "Process limits", dict(color=MUTED, width=1.5, dash="dash")),
    ("lower_limit", None, dict(color=MUTED, width=1.5, dash="dash")),
    ("upper_2sigma", "Two sigma", dict(color=MUTED, width=1, dash="dot")),
    ("lower_2sigma", None, dict(color=MUTED, width=1, dash="dot")),
)


def _segment_line(table: pl.DataFrame, column: str) -> tuple[list, list]:
    """x and y of a line drawn per segment, broken where limits are recalculated."""
    xs, ys, previous = [], [], None
    for period, segment, y in table.select("period", "segment", column).iter_rows():
        if previous is not None and segment != previous:
            xs.append(None)
            ys.append(None)
        xs.append(period_start(period, "month"))
        ys.append(y)
        previous = segment
    return xs, ys


def _runs(table: pl.DataFrame) -> list[tuple[int, str]]:
    """Index of the last point of each run of consecutive special-cause points of one kind: where labels go."""
    kinds = [v if v not in ("", "common cause") else None for v in table["variation"].to_list()]
    ends = []
    for i, kind in enumerate(kinds):
        if kind and (i + 1 == len(kinds) or kinds[i + 1] != kind):
            ends.append((i, kind))
    return ends


def _end_labels(fig: go.Figure, spc: MetricSPC) -> None:
    """Label the latest lines and the target in the right margin, nudged apart where they would overlap."""
    last, unit = spc.table.row(-1, named=True), spc.metric.unit
    labels = [(last[c], label, TEXT) for c, label in END_LABELS if last[c] is not None]
    if spc.target is not None:
        labels.append((spc.target, f"Target<br>{fmt_value(spc.target, unit)}", TARGET_COLOUR))
    values = [v for v in spc.table["value"].to_list() if v is not None] + [y for y, _, _ in labels]
    close = 0.06 * ((max(values) - min(values)) or 1.0)
    labels.sort(key=lambda item: item[0])
    shifts = [0] * len(labels)
    for i in range(1, len(labels)):
        if labels[i][0] - labels[i - 1][0] < close:
            shifts[i] = shifts[i - 1] + 22
    for (y, text, colour), shift in zip(labels, shifts):
        fig.add_annotation(x=1, xref="paper", y=y, text=text, showarrow=False, xanchor="left", xshift=4,
                           yshift=shift, align="left", font=dict(size=11, color=colour))


def xmr_figure(spc: MetricSPC, height: int = 420) -> go.Figure:
    """The value line, per-point markers by variation, mean, process limits, two-sigma lines, target, recalculation."""
    table, metric = spc.table, spc.metric
    if table.filter(pl.col("value").is_not_null()).height == 0:
        return empty_figure("No data for these filters", height)
    fig = go.Figure(layout=base_layout(height))
    x = [period_start(p, "month") for p in table["period"]]
    unit = metric.unit
    text = [f"{month_label(p)}: {fmt_value(v, unit, s)}" + (f" - {icon}" if icon else "")
            + (f" ({rules_in_words(rules)})" if rules else "")
            for p, v, s, icon, rules in table.select("period", "value", "suppressed", "icon",
                                                    "special_cause").iter_rows()]
    fig.add_trace(go.Scatter(x=x, y=table["value"].to_list(), mode="lines", connectgaps=False, name=metric.name,
                             line=dict(color=MUTED, width=1.5), hoverinfo="skip"))
    for column, label, style in LINES:
        lx, ly = _segment_line(table, column)
        fig.add_trace(go.Scatter(x=lx, y=ly, mode="lines", name=label or column, line=style, hoverinfo="skip"))
    if spc.target is not None:
        fig.add_hline(y=spc.target, line=dict(color=TARGET_COLOUR, width=2, dash="longdash"))
    for kind, (symbol, size) in MARKERS.items():
        mask = [(v == kind) or (kind == "common cause" and v == "" and val is not None)
                for v, val in zip(table["variation"], table["value"])]
        if not any(mask):
            continue
        fig.add_trace(go.Scatter(
            x=[a for a, k in zip(x, mask) if k], y=[v for v, k in zip(table["value"], mask) if k],
            mode="markers", name=kind, customdata=[t for t, k in zip(text, mask) if k],
            hovertemplate="%{customdata}<extra></extra>",
            marker=dict(symbol=symbol, size=size, color=VARIATION_COLOURS[kind], line=dict(color=TEXT, width=1.2))))
    for i, kind in _runs(table):
        high = table["side"][i] == "high"
        fig.add_annotation(x=x[i], y=table["value"][i], text=RUN_LABELS[kind], showarrow=True, arrowhead=0,
                           arrowcolor=TEXT, ax=0, ay=-26 if high else 26, font=dict(size=11, color=TEXT),
                           bgcolor="rgba(255,255,255,0.85)")
    _end_labels(fig, spc)
    if spc.recalc_from:
        at = period_start(spc.recalc_from, "month")
        right_half = table["period"].to_list().index(spc.recalc_from) > table.height / 2
        fig.add_vline(x=at, line=dict(color=TEXT, width=1.5, dash="dot"))
        fig.add_annotation(x=at, y=1, yref="paper", yanchor="bottom", xanchor="right" if right_half else "left",
                           xshift=-3 if right_half else 3, showarrow=False, font=dict(size=11, color=TEXT),
                           align="right" if right_half else "left",
                           text=f"Pilot start {month_label(spc.recalc_from)}:<br>limits recalculated")
    fig.update_layout(margin=dict(l=52, r=58, t=40, b=36), hovermode="closest")
    fig.update_xaxes(tickformat="%Y", dtick="M12", tickangle=0, tickfont=dict(size=11), hoverformat="%b %Y")
    fig.update_yaxes(tickformat=axis_format(unit), rangemode="normal")
    if unit == "rate":  # the limits may pass 0% or 100% (drawn as computed), but a rate cannot: clip the axis there
        fig.update_yaxes(autorangeoptions=dict(clipmin=0, clipmax=1))
    return fig


# ---------------------------------------------------------------- text description and table alternative
def _lines_words(row: dict, unit: str) -> str:
    return (f"mean {fmt_value(row['mean'], unit)}, process limits {fmt_value(row['lower_limit'], unit)} to "
            f"{fmt_value(row['upper_limit'], unit)}")


def xmr_description(spc: MetricSPC) -> str:
    """What the chart shows, in words, for screen readers and the caption."""
    table, m = spc.table, spc.metric
    if table.height == 0:
        return f"No monthly data for {m.name} with these filters."
    seen = table.filter(pl.col("value").is_not_null())
    withheld = int(table["suppressed"].sum())
    parts = [f"XmR chart of {m.name}, monthly from {month_label(table['period'][0])} to "
             f"{month_label(table['period'][-1])}: {seen.height} months with a value"
             + (f", {withheld} withheld ([c]) and shown as gaps" if withheld else "") + "."]
    segments = [table.filter((pl.col("segment") == s) & pl.col("mean").is_not_null()) for s in (0, 1)]
    if spc.recalc_from:
        before, after = (seg.row(0, named=True) if seg.height else None for seg in segments)
        parts.append(f"Before the pilot start: {_lines_words(before, m.unit)}." if before
                     else "Before the pilot start: too few months for limits.")
        parts.append(f"Limits recalculated from the pilot start ({month_label(spc.recalc_from)}): "
                     f"{_lines_words(after, m.unit)}." if after
                     else f"From the pilot start ({month_label(spc.recalc_from)}): too few months for limits yet.")
    else:
        lines = next((seg.row(0, named=True) for seg in segments if seg.height), None)
        parts.append(f"One set of limits: {_lines_words(lines, m.unit)}." if lines
                     else "Too few months for process limits (13 needed).")
    special = seen.filter(~pl.col("variation").is_in(["", "common cause"]))
    if special.height:
        counts = special.group_by("variation").len().sort("variation").iter_rows()
        parts.append(f"{special.height} points show special-cause variation ("
                     + ", ".join(f"{n} {kind}" for kind, n in counts) + ").")
    elif seen.height and seen["mean"].is_not_null().any():
        parts.append("No point shows special-cause variation.")
    if spc.latest:
        last = spc.latest
        parts.append(f"Latest point, {month_label(last['period'])}: {fmt_value(last['value'], m.unit)}, "
                     f"{spc.variation}.")
    if spc.target is not None:
        parts.append(f"Target {fmt_value(spc.target, m.unit)}: {spc.assurance or 'not assessed'}.")
    return " ".join(parts)


def xmr_rows(spc: MetricSPC) -> list[list[str]]:
    """Rows of the table alternative: the chart's numbers as text, [c] for a withheld month."""
    unit, rows = spc.metric.unit, []
    for r in spc.table.iter_rows(named=True):
        band = lambda lo, hi: (f"{fmt_value(r[lo], unit)} to {fmt_value(r[hi], unit)}"   # noqa: E731
                               if r[lo] is not None else "[x]")
        rows.append([month_label(r["period"]), fmt_value(r["value"], unit, r["suppressed"]),
                     fmt_value(r["mean"], unit), band("lower_limit", "upper_limit"),
                     band("lower_2sigma", "upper_2sigma"), r["icon"], rules_in_words(r["special_cause"])])
    return rows


XMR_HEADER = ["Month", "Value", "Mean", "Process limits", "Two-sigma lines", "Variation", "Rules that fired"]
