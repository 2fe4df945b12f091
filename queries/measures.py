"""How each case-derived metric is counted from the case table.

Each measure names the cases that make it up (its population: the denominator of a rate, or the cases counted) and
what counts in its numerator. Materialisation and cohort drill-down both use these definitions, so a cohort always
reconciles with the headline number it was opened from.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from queries.schema import cases as c

_NFA = c.c.decision == "nfa"


@dataclass(frozen=True, eq=False)   # eq on SQL expressions would build SQL, not compare
class Population:
    """The cases a figure is about, counted in one month each. Measures share populations (the charge rate and
    days to decision are both about legal decisions), and the national counts kept per population
    (queries.populations) serve every measure of it."""
    name: str
    basis: str                      # the month a case counts in: referral_month or decision_month
    condition: sa.ColumnElement


REFERRED = Population("referred", "referral_month", sa.true())
WITH_ACTION_PLAN = Population("with_action_plan", "referral_month", c.c.action_plans >= 1)
LEGAL_DECISIONS = Population("legal_decisions", "decision_month", c.c.decision.in_(["charged", "nfa"]))
DECIDED = Population("decided", "decision_month", c.c.decision.in_(["charged", "nfa", "admin_finalised"]))
NFA_DECISIONS = Population("nfa_decisions", "decision_month", _NFA)
NFA_SCRUTINISED = Population("nfa_scrutinised", "decision_month", sa.and_(_NFA, c.c.nfa_scrutinised == 1))
POPULATIONS = {p.name: p for p in (REFERRED, WITH_ACTION_PLAN, LEGAL_DECISIONS, DECIDED, NFA_DECISIONS,
                                   NFA_SCRUTINISED)}


@dataclass(frozen=True)
class CaseMeasure:
    metric_code: str
    cases: Population               # which cases the figure is about (the denominator, or the count)
    flag: sa.ColumnElement | None = None   # numerator = population cases where this holds
    total: sa.ColumnElement | None = None  # numerator = sum of this column over the population
    has_denominator: bool = True

    @property
    def basis(self) -> str:
        return self.cases.basis

    @property
    def population(self) -> sa.ColumnElement:
        return self.cases.condition

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
    CaseMeasure("referrals", REFERRED, has_denominator=False),
    CaseMeasure("early_advice_rate", REFERRED, flag=c.c.early_advice == 1),
    CaseMeasure("charge_rate", LEGAL_DECISIONS, flag=c.c.decision == "charged"),
    CaseMeasure("admin_finalised_rate", DECIDED, flag=c.c.decision == "admin_finalised"),
    CaseMeasure("days_to_decision", LEGAL_DECISIONS, total=c.c.days_to_decision),
    CaseMeasure("action_plans_per_referral", REFERRED, total=c.c.action_plans),
    CaseMeasure("multiple_action_plans_rate", WITH_ACTION_PLAN, flag=c.c.action_plans >= 2),
    CaseMeasure("nfa_decisions", NFA_DECISIONS, has_denominator=False),
    CaseMeasure("nfa_scrutiny_rate", NFA_DECISIONS, flag=c.c.nfa_scrutinised == 1),
    CaseMeasure("nfa_overturn_rate", NFA_SCRUTINISED, flag=c.c.nfa_overturned == 1),
    CaseMeasure("isva_engagement_rate", REFERRED, flag=c.c.isva_engaged == 1),
    CaseMeasure("victim_withdrawal_rate", REFERRED, flag=c.c.victim_withdrew == 1),
)}


def measures_by_basis() -> dict[str, list[CaseMeasure]]:
    out: dict[str, list[CaseMeasure]] = {}
    for m in CASE_MEASURES.values():
        out.setdefault(m.basis, []).append(m)
    return out
