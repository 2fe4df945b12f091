"""Pure builders for the cohort page: protected frames and summaries in; figures, table rows, cards and words out.

Frames come from queries.cohorts (breakdown, cross_table), already protected: a suppressed count is null and
flagged. Charts never draw a suppressed value: the bar (or heat-map cell) is absent and a "[c]" label sits in its
place. Every chart has a table alternative built from the same frame, with the same symbols.

Figures are plain dicts, as in dashboard.figures and for the same reason: plotly's validation of nine bar charts
was most of a cohort page's render (about 20 ms a chart at national scale).
"""
from __future__ import annotations

import polars as pl
from dash import html

from dashboard.figures import FONT, MUTED, SERIES_STYLE, TEXT, Figure, empty_figure, plain_template
from dashboard.format import fmt_value
from queries.cohorts import CohortSummary, GroupSummary
from queries.disclosure import NOT_AVAILABLE, SUPPRESSED, TOTAL
from queries.reference import Metric

# Codes are what files carry (stable); people read these words.
CATEGORY_LABELS = {
    "adult_rape": "Adult rape", "child_rape": "Child rape", "other_sso": "Other sexual offences",
    "under_16": "Under 16", "16_17": "16 to 17", "18_24": "18 to 24", "25_34": "25 to 34", "35_44": "35 to 44",
    "45_54": "45 to 54", "55_plus": "55 and over", "unknown": "Unknown", "female": "Female", "male": "Male",
    "charged": "Charged", "nfa": "No further action", "admin_finalised": "Administratively finalised",
    "pending": "Pending", "0-28": "0 to 28 days", "29-90": "29 to 90 days", "91-180": "91 to 180 days",
    "181-365": "181 to 365 days", "366+": "366 days or more",
}
GROUP_WIDTH = 0.8       # share of each category's row the bars fill (bargap 0.2)
BAR_ROW = 22            # pixels per bar
# Light blues only, so the dark cell text keeps at least 4.5:1 contrast on every cell.
HEAT_SCALE = [[0.0, "#F3F7FB"], [1.0, "#5694CA"]]


def category_label(code: str) -> str:
    return CATEGORY_LABELS.get(code, code)


def _layout(height: int) -> dict:
    return dict(template=plain_template(), height=height, font=FONT, plot_bgcolor="white", paper_bgcolor="white",
                hovermode="closest", margin=dict(l=8, r=56, t=36, b=36))


def share_hidden(row: dict) -> bool:
    """A share is withheld when its count is, or when the group's total is (then no share can be worked out)."""
    return bool(row["count_suppressed"]) or row["share"] is None


def breakdown_figure(groups: list[tuple[str, pl.DataFrame]], categories: list[str]) -> Figure:
    """Horizontal bars: each category's share of its group, the groups side by side, first category on top.

    Shares, not counts, because the comparison group is usually many times the cohort's size."""
    if not groups:
        return empty_figure("No cases to show", 200)
    n = len(groups)
    width = GROUP_WIDTH / n
    labels = [category_label(c) for c in categories]
    layout = _layout(max(180, BAR_ROW * n * len(categories) + 90))
    data, notes = [], []
    for i, (name, table) in enumerate(groups):
        rows = {r["category"]: r for r in table.iter_rows(named=True)}
        style = SERIES_STYLE[i % len(SERIES_STYLE)]
        hidden = [share_hidden(rows[c]) for c in categories]
        shares = [None if h else rows[c]["share"] for c, h in zip(categories, hidden)]
        text = ["" if h else fmt_value(s, "rate") for s, h in zip(shares, hidden)]
        counts = [fmt_value(rows[c]["count"], "count", rows[c]["count_suppressed"]) for c in categories]
        data.append(dict(
            type="bar", x=shares, y=list(range(len(categories))), orientation="h", name=name, width=width,
            offset=-GROUP_WIDTH / 2 + i * width, text=text, textposition="outside", cliponaxis=False,
            textfont=dict(color=TEXT), customdata=counts,
            marker=dict(color=style["color"], line=dict(color=TEXT, width=0.5),
                        pattern=dict(shape="" if i == 0 else "/", fillmode="overlay", fgcolor="white", size=7,
                                     solidity=0.3)),
            hovertemplate=f"{name}, %{{hovertext}}: %{{text}} (%{{customdata}} cases)<extra></extra>",
            hovertext=labels))
        notes += [dict(x=0, y=j - GROUP_WIDTH / 2 + (i + 0.5) * width, text=SUPPRESSED, showarrow=False,
                       xanchor="left", font=dict(color=TEXT, size=12))
                  for j, h in enumerate(hidden) if h]   # the bar is absent: say why where it would have been
    if notes:
        layout["annotations"] = notes
    layout["margin"]["t"] = 56 if n > 1 else 16
    layout.update(barmode="overlay", showlegend=n > 1,
                  legend=dict(orientation="h", x=0, y=1.02, xanchor="left", yanchor="bottom", font=dict(size=12)),
                  xaxis=dict(tickformat=".0%", rangemode="tozero", showgrid=True, gridcolor="#DDDDDD",
                             linecolor=MUTED, zeroline=False),
                  yaxis=dict(tickvals=list(range(len(categories))), ticktext=labels,
                             range=[len(categories) - 0.5, -0.5],   # first category on top
                             showgrid=False, automargin=True, ticks="", linecolor=MUTED))
    return {"data": data, "layout": layout}


def cross_figure(table: pl.DataFrame, dim1: str, dim2: str, label1: str, label2: str) -> Figure:
    """A heat map of the cohort's counts, one cell per pair of categories, each labelled with its count.

    Totals stay in the table: on the same colour scale they would wash out every other cell."""
    inner = table.filter((pl.col(dim1) != TOTAL) & (pl.col(dim2) != TOTAL))
    rows = list(dict.fromkeys(inner[dim1].to_list()))
    cols = list(dict.fromkeys(inner[dim2].to_list()))
    if not rows or not cols:
        return empty_figure("No cases to show", 200)
    cell = {(a, b): (n, s) for a, b, n, s in inner.select(dim1, dim2, "count", "count_suppressed").iter_rows()}
    z = [[cell[(a, b)][0] for b in cols] for a in rows]
    text = [["" if cell[(a, b)][1] else fmt_value(cell[(a, b)][0], "count") for b in cols] for a in rows]
    layout = _layout(max(200, 34 * len(rows) + 120))
    heat = dict(type="heatmap", z=z, x=[category_label(b) for b in cols], y=[category_label(a) for a in rows],
                text=text, texttemplate="%{text}", textfont=dict(color=TEXT, size=12), colorscale=HEAT_SCALE,
                showscale=False, xgap=2, ygap=2, hoverongaps=False,
                hovertemplate=f"{label1}: %{{y}}<br>{label2}: %{{x}}<br>%{{text}} cases<extra></extra>")
    notes = [dict(x=j, y=i, text=SUPPRESSED, showarrow=False, font=dict(color=TEXT, size=12))
             for i, a in enumerate(rows) for j, b in enumerate(cols)
             if cell[(a, b)][1]]   # a suppressed cell is a gap: label it where it would be
    if notes:
        layout["annotations"] = notes
    layout.update(xaxis=dict(side="top", title=dict(text=label2, standoff=4), showgrid=False, automargin=True),
                  yaxis=dict(title=dict(text=label1), autorange="reversed", showgrid=False, automargin=True))
    return {"data": [heat], "layout": layout}


# ---------------------------------------------------------------- cards and words
def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def group_card(g: GroupSummary, metric: Metric) -> html.Div:
    if g.message:
        return html.Div([html.H3(g.label, className="tile-title"),
                         html.P(capital(g.message), className="cohort-size cohort-refused")], className="tile")
    detail = None
    if metric.has_denominator and not g.value_suppressed:
        detail = (f"{fmt_value(g.numerator, 'count')} of {fmt_value(g.size, 'count')}" if metric.unit == "rate"
                  else f"{fmt_value(g.numerator, 'count')} in total over {fmt_value(g.size, 'count')} cases")
    return html.Div([
        html.H3(g.label, className="tile-title"),
        html.P(f"{fmt_value(g.size, 'count')} cases", className="cohort-size"),
        html.P([f"{metric.name}: ", html.Strong(fmt_value(g.value, metric.unit, g.value_suppressed))],
               className="tile-change"),
        html.P(detail, className="tile-change") if detail else None,
    ], className="tile")


def reconcile(summary: CohortSummary, metric: Metric) -> str:
    """Say which headline figure the cohort adds up to. Groups are added only when both are shown."""
    c, k = summary.cohort, summary.comparison
    if c.message:
        return ""
    if k is None:
        return "These are all the cases behind the figure for England and Wales."
    if not c.label.startswith("Pilot sites") or summary.restricted:
        value = fmt_value(c.value, metric.unit, c.value_suppressed)
        return f"These are the cases behind the figure for the selection ({metric.name}: {value})."
    if k.message or c.value_suppressed or k.value_suppressed:
        return "Pilot and comparison sites together make up England and Wales."
    size, num = c.size + k.size, c.numerator + k.numerator
    value = num / size if metric.has_denominator else num
    return (f"Pilot and comparison sites together make up England and Wales: {fmt_value(size, 'count')} cases "
            f"({metric.name}: {fmt_value(value, metric.unit)}), the national figure.")


def quartile_rows(summary: CohortSummary) -> tuple[list[str], list[list[str]]]:
    """Days to decision: lower quartile, median and upper quartile for each group shown."""
    groups = [g for g in (summary.cohort, summary.comparison) if g is not None and not g.message]
    rows = [[name] + [fmt_value(getattr(g, attr), "count", g.days_suppressed) + ("" if g.days_suppressed else " days")
                      for g in groups]
            for name, attr in (("Lower quartile", "days_q1"), ("Median", "days_median"), ("Upper quartile", "days_q3"))]
    return ["", *(g.label for g in groups)], rows


# ---------------------------------------------------------------- table alternatives (rows of display strings)
def breakdown_rows(groups: list[tuple[str, pl.DataFrame]], categories: list[str]) -> tuple[list[str], list[list]]:
    """Header and rows: one row per category then Total; a count and a share column per group."""
    header = [""] + [h for name, _ in groups for h in (f"{name}: cases", f"{name}: share")]
    by_group = [{r["category"]: r for r in t.iter_rows(named=True)} for _, t in groups]
    rows = []
    for c in [*categories, TOTAL]:
        row = [category_label(c)]
        for rows_of in by_group:
            r = rows_of[c]
            row += [fmt_value(r["count"], "count", r["count_suppressed"]),
                    fmt_value(r["share"], "rate", share_hidden(r))]
        rows.append(row)
    return header, rows


def cross_rows(table: pl.DataFrame, dim1: str, dim2: str, label1: str) -> tuple[list[str], list[list]]:
    """Header and rows of the cross-table: dim1 categories down, dim2 across, totals last."""
    rows = list(dict.fromkeys(table[dim1].to_list()))
    cols = list(dict.fromkeys(table[dim2].to_list()))
    cell = {(a, b): fmt_value(n, "count", s)
            for a, b, n, s in table.select(dim1, dim2, "count", "count_suppressed").iter_rows()}
    return ([label1, *map(category_label, cols)],
            [[category_label(a), *(cell.get((a, b), NOT_AVAILABLE) for b in cols)] for a in rows])


def breakdown_words(groups: list[tuple[str, pl.DataFrame]], dim_label: str, categories: list[str]) -> str:
    """The chart's text description: the largest visible category of each group, and what is withheld."""
    parts = []
    for name, table in groups:
        rows = [r for r in table.iter_rows(named=True) if r["category"] in categories and not share_hidden(r)]
        if rows:
            top = max(rows, key=lambda r: (r["share"], -categories.index(r["category"])))
            parts.append(f"{name}: largest group {category_label(top['category'])} "
                         f"({fmt_value(top['share'], 'rate')})")
        hidden = table.filter(pl.col("category").is_in(categories))["count_suppressed"].sum()
        if hidden:
            parts.append(f"{name}: {hidden} {'category' if hidden == 1 else 'categories'} withheld [c]")
    return f"Bar chart of cases by {dim_label.lower()}, as shares of each group. " + "; ".join(parts) + "."
