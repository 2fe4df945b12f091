"""How each case-derived metric is counted from the case table.

Each measure names the cases that make it up (its population: the denominator of a rate, or the cases counted) and
what counts in its numerator. Materialisation and cohort drill-down both use these definitions, so a cohort always
reconciles with the headline number it was opened from.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from queries.schema import cases as c

DECIDED = c.c.decision.in_(["charged", "nfa", "admin_finalised"])
LEGAL_DECISION = c.c.decision.in_(["charged", "nfa"])
NFA = c.c.decision == "nfa"
ALL = sa.true()


@dataclass(frozen=True)
class CaseMeasure:
    metric_code: str
    basis: str                      # the month a case counts in: referral_month or decision_month
    population: sa.ColumnElement    # which cases the figure is about (the denominator, or the count)
    flag: sa.ColumnElement | None = None   # numerator = population cases where this holds
    total: sa.ColumnElement | None = None  # numerator = sum of this column over the population
    has_denominator: bool = True

    def numerator_sql(self) -> sa.ColumnElement:
        if self.total is not None:
            return sa.func.sum(sa.case((self.population, self.total), else_=0))
        cond = self.population if self.flag is None else sa.and_(self.population, self.flag)
        return sa.func.sum(sa.case((cond, 1), else_=0))

    def denominator_sql(self) -> sa.ColumnElement | None:
        if not self.has_denominator:
            return None
        return sa.func.sum(sa.case((self.population, 1), else_=0))


CASE_MEASURES: dict[str, CaseMeasure] = {m.metric_code: m for m in (
    CaseMeasure("referrals", "referral_month", ALL, has_denominator=False),
    CaseMeasure("early_advice_rate", "referral_month", ALL, flag=c.c.early_advice == 1),
    CaseMeasure("charge_rate", "decision_month", LEGAL_DECISION, flag=c.c.decision == "charged"),
    CaseMeasure("admin_finalised_rate", "decision_month", DECIDED, flag=c.c.decision == "admin_finalised"),
    CaseMeasure("days_to_decision", "decision_month", LEGAL_DECISION, total=c.c.days_to_decision),
    CaseMeasure("action_plans_per_referral", "referral_month", ALL, total=c.c.action_plans),
    CaseMeasure("multiple_action_plans_rate", "referral_month", c.c.action_plans >= 1, flag=c.c.action_plans >= 2),
    CaseMeasure("nfa_decisions", "decision_month", NFA, has_denominator=False),
    CaseMeasure("nfa_scrutiny_rate", "decision_month", NFA, flag=c.c.nfa_scrutinised == 1),
    CaseMeasure("nfa_overturn_rate", "decision_month", sa.and_(NFA, c.c.nfa_scrutinised == 1),
                flag=c.c.nfa_overturned == 1),
    CaseMeasure("isva_engagement_rate", "referral_month", ALL, flag=c.c.isva_engaged == 1),
    CaseMeasure("victim_withdrawal_rate", "referral_month", ALL, flag=c.c.victim_withdrew == 1),
)}


def measures_by_basis() -> dict[str, list[CaseMeasure]]:
    out: dict[str, list[CaseMeasure]] = {}
    for m in CASE_MEASURES.values():
        out.setdefault(m.basis, []).append(m)
    return out
