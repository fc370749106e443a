"""Pricing every session of one client in date-of-service order. Pure, no I/O.

Within a plan year each session uses up deductible and out-of-pocket room for the next, so the sessions of a
coverage are priced in date-of-service order from the accumulators of the benefit snapshot; at a plan-year
boundary the accumulators start again from zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pricing.costing.costshare import (
    Accumulators,
    Line,
    PlanTerms,
    apply_known_responsibility,
    cost_share,
)
from pricing.money import ZERO, q

SELF_PAY = "self_pay"


@dataclass(frozen=True)
class SessionFacts:
    session_id: UUID
    coverage_id: UUID | None
    payer_id: str | None
    date_of_service: date
    cpt_code: str
    billing_route: str
    cancelled: bool
    confirmed_at: datetime
    patient_responsibility: Decimal | None = None


@dataclass(frozen=True)
class Snapshot:
    plan_year_start: date
    plan_year_end: date
    terms: PlanTerms
    met: Accumulators


@dataclass(frozen=True)
class ClientFacts:
    ineligible: bool = False
    secondary_coverages: frozenset[UUID] = frozenset()
    snapshots: dict[UUID, list[Snapshot]] = field(default_factory=dict)


@dataclass(frozen=True)
class Price:
    session_id: UUID
    amount: Decimal
    allowed: Decimal
    plan: Decimal
    basis: str  # insurance | self_pay | unverified | adjudicated | cancelled
    lines: tuple[Line, ...]


# (payer_id or "self_pay", cpt) -> allowed amount, or None when the fee schedule has no rate
RateLookup = Callable[[str, str], Decimal | None]


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def snapshot_for(snapshots: Iterable[Snapshot], day: date) -> tuple[date, Snapshot] | None:
    """The plan year `day` falls in and its snapshot; outside every known year, the nearest known plan
    moved to that year with its accumulators reset to zero."""
    known = sorted(snapshots, key=lambda s: s.plan_year_start)
    if not known:
        return None
    for snap in reversed(known):  # a newer plan that overlaps an older one wins
        if snap.plan_year_start <= day <= snap.plan_year_end:
            return snap.plan_year_start, snap
    earlier = [s for s in known if s.plan_year_start <= day]
    base = earlier[-1] if earlier else known[0]
    years = day.year - base.plan_year_start.year
    start = _shift_years(base.plan_year_start, years)
    if start > day:
        years -= 1
    elif _shift_years(base.plan_year_end, years) < day:
        years += 1
    start = _shift_years(base.plan_year_start, years)
    moved = Snapshot(start, _shift_years(base.plan_year_end, years), base.terms, Accumulators())
    return start, moved


def _self_pay_price(s: SessionFacts, rates: RateLookup, why: str) -> Price | None:
    rate = rates(SELF_PAY, s.cpt_code)
    if rate is None:
        return None
    rate = q(rate)
    lines = (Line(why, rate), Line("Client pays", rate))
    return Price(s.session_id, rate, rate, ZERO, "self_pay", lines)


def price_client(
    sessions: Iterable[SessionFacts], facts: ClientFacts, rates: RateLookup
) -> dict[UUID, Price]:
    """The price of every session of one client; a session with no rate on the fee schedule is left out."""
    out: dict[UUID, Price] = {}
    used: dict[tuple[UUID, date], Accumulators] = {}
    ordered = sorted(sessions, key=lambda s: (s.date_of_service, s.confirmed_at, s.session_id))
    for s in ordered:
        price = _price_one(s, facts, rates, used)
        if price is not None:
            out[s.session_id] = price
    return out


def _price_one(
    s: SessionFacts, facts: ClientFacts, rates: RateLookup, used: dict[tuple[UUID, date], Accumulators]
) -> Price | None:
    if s.cancelled:
        return Price(s.session_id, ZERO, ZERO, ZERO, "cancelled", (Line("Session cancelled", ZERO),))
    if s.coverage_id is None or s.payer_id is None or s.billing_route == SELF_PAY:
        return _self_pay_price(s, rates, "Self-pay rate (no billable insurance)")
    if facts.ineligible:
        return _self_pay_price(s, rates, "Self-pay rate (account ineligible for insurance billing)")
    if s.coverage_id in facts.secondary_coverages:
        return _self_pay_price(s, rates, "Self-pay rate (the insurer confirmed this plan is secondary)")
    allowed = rates(s.payer_id, s.cpt_code)
    if allowed is None:
        return None
    allowed = q(allowed)
    found = snapshot_for(facts.snapshots.get(s.coverage_id, ()), s.date_of_service)
    if found is None:
        lines = (
            Line("Allowed amount (contracted rate)", allowed),
            Line("Benefits not verified yet: the full allowed amount is estimated", allowed),
            Line("Client pays", allowed),
        )
        return Price(s.session_id, allowed, allowed, ZERO, "unverified", lines)
    year, snap = found
    key = (s.coverage_id, year)
    met = used.get(key, snap.met)
    share = cost_share(allowed=allowed, terms=snap.terms, met=met)
    if s.patient_responsibility is None:
        used[key] = share.after
        return Price(s.session_id, share.client, allowed, share.plan, "insurance", share.lines)
    paid_by_client = q(s.patient_responsibility)
    used[key] = apply_known_responsibility(amount=paid_by_client, terms=snap.terms, met=met)
    lines = (
        *share.lines[:-2],
        Line("The payer's patient responsibility (claim adjudicated) replaces the estimate", paid_by_client),
        Line("Client pays", paid_by_client),
    )
    plan = max(ZERO, allowed - paid_by_client)
    return Price(s.session_id, paid_by_client, allowed, plan, "adjudicated", lines)
