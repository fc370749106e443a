"""The cost-share engine: what the client pays and what the plan pays for one session. Pure, no I/O.

Deductible first; then the copay, or the coinsurance share of what is left, as the plan says; the client's
total is capped by the room left under the out-of-pocket maximum (nothing once it is met).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pricing.money import ZERO, q


@dataclass(frozen=True)
class PlanTerms:
    """What the plan says, independent of what has been used up."""

    deductible: Decimal
    out_of_pocket_max: Decimal
    copay: Decimal | None = None
    coinsurance_rate: Decimal | None = None  # 0.20: the client pays 20% after the deductible


@dataclass(frozen=True)
class Accumulators:
    """What the client has already paid toward the deductible and the out-of-pocket maximum this plan year."""

    deductible_met: Decimal = ZERO
    out_of_pocket_met: Decimal = ZERO


@dataclass(frozen=True)
class Line:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class CostShare:
    allowed: Decimal
    client: Decimal
    plan: Decimal
    lines: tuple[Line, ...]
    after: Accumulators


def cost_share(*, allowed: Decimal, terms: PlanTerms, met: Accumulators) -> CostShare:
    """Split the allowed amount between client and plan, and say why line by line."""
    allowed = q(allowed)
    oop_room = max(ZERO, q(terms.out_of_pocket_max) - q(met.out_of_pocket_met))
    if oop_room == ZERO:
        line = Line("Out-of-pocket maximum met: the plan pays the whole allowed amount", ZERO)
        return CostShare(allowed, ZERO, allowed, (line,), met)
    deductible_room = max(ZERO, q(terms.deductible) - q(met.deductible_met))
    toward_deductible = min(allowed, deductible_room)
    lines = [Line("Allowed amount (contracted rate)", allowed)]
    if toward_deductible > ZERO:
        lines.append(Line("Toward the deductible", toward_deductible))
    rest = allowed - toward_deductible
    share = ZERO
    if rest > ZERO and terms.copay is not None:
        share = min(q(terms.copay), rest)
        lines.append(Line("Copay", share))
    elif rest > ZERO and terms.coinsurance_rate is not None:
        share = min(q(rest * terms.coinsurance_rate), rest)
        lines.append(Line(f"Coinsurance {terms.coinsurance_rate * 100:.0f}% of {rest}", share))
    owed = toward_deductible + share
    client = min(owed, oop_room)
    if client < owed:
        lines.append(Line("Capped by the out-of-pocket maximum", client - owed))
    lines.append(Line("Client pays", client))
    lines.append(Line("Plan pays", allowed - client))
    after = Accumulators(
        deductible_met=q(met.deductible_met) + min(toward_deductible, client),
        out_of_pocket_met=q(met.out_of_pocket_met) + client,
    )
    return CostShare(allowed, client, allowed - client, tuple(lines), after)


def apply_known_responsibility(*, amount: Decimal, terms: PlanTerms, met: Accumulators) -> Accumulators:
    """Accumulators after the payer fixed the client's share (an 835): it fills the deductible first."""
    amount = q(amount)
    deductible_room = max(ZERO, q(terms.deductible) - q(met.deductible_met))
    return Accumulators(
        deductible_met=q(met.deductible_met) + min(amount, deductible_room),
        out_of_pocket_met=q(met.out_of_pocket_met) + amount,
    )
