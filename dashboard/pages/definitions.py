"""Definitions (/definitions): the metric catalogue in plain English, with the caveats users need."""
from __future__ import annotations

from dash import html

from dashboard.context import Context
from dashboard.format import fmt_value
from queries.disclosure import NOT_AVAILABLE, SUPPRESSED

UNIT_WORDS = {"count": "count", "rate": "percentage", "ratio": "ratio", "mean_days": "mean number of days"}
DIRECTION_WORDS = {"up": "higher is better", "down": "lower is better", "neutral": "neither higher nor lower is better"}
MONTH_WORDS = {"referral_month": "the month the case was referred", "decision_month": "the month of the decision",
               "month": "the month reported"}


PATH = r"/definitions"
SHOW_FILTERS = False


def layout(ctx: Context, filters=None) -> html.Div:
    ref = ctx.reference()
    blocks = []
    for w in ref.workstreams:
        items = []
        for m in ref.metrics_of(w.workstream_code):
            rows = [("Definition", m.definition), ("Numerator", m.numerator),
                    ("Denominator", m.denominator or "none: a count"), ("Unit", UNIT_WORDS[m.unit]),
                    ("Direction", DIRECTION_WORDS[m.direction]),
                    ("Source", "case extracts" if m.source == "cases" else "aggregate returns from Areas and forces"),
                    ("Counted in", MONTH_WORDS[m.month_basis]),
                    ("Target", fmt_value(m.target, m.unit) if m.target is not None else "none set")]
            items.append(html.Section([
                html.H3(m.name, id=m.metric_code, tabIndex="-1"),
                html.Dl([el for k, v in rows for el in (html.Dt(k), html.Dd(v))], className="definition-list"),
            ], className="definition"))
        blocks.append(html.Section([html.H2(w.name), html.P(w.aim), *items], className="definition-group"))
    return html.Div([
        html.H1("Definitions and caveats"),
        html.Section([
            html.H2("Read these first"),
            html.Ul([
                html.Li("These figures are management information to monitor the pilots. They are not official "
                        "statistics and may be revised."),
                html.Li("Figures cover rape-flagged cases: the flag stays on a case even if another offence is "
                        "charged."),
                html.Li("Referral, decision and victim measures count different cases in each month (by referral "
                        "month or decision month): the stages are not one cohort."),
                html.Li("A rate across forces or months is the total numerator over the total denominator, never an "
                        "average of rates."),
                html.Li(f"{SUPPRESSED}: suppressed to protect confidentiality (a count of 1 to "
                        f"{ctx.threshold - 1} cases, or a figure built on one). {NOT_AVAILABLE}: not available. "
                        "[p]: provisional."),
                html.Li("Pilot allocation and start months shown here are illustrative."),
            ]),
        ], className="caveats"),
        *blocks,
        html.Section([
            html.H2("Accessibility", id="accessibility", tabIndex="-1"),
            html.P("This service aims to meet WCAG 2.2 level AA. Every chart has a text description and a table "
                   "alternative; every control can be used with a keyboard. Report a problem to the service team."),
        ]),
    ])
