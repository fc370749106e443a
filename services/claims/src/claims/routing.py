"""The billing routing rule: can a session be billed to the client's plan, and by which route.

Pure: no I/O. A session can be billed only when the provider holds an active licence in the state where the
client is during the session AND is credentialed with the client's plan in that state. Blue Cross Blue
Shield plans add the home-plan / BlueCard / virtual-network cases; crisis sessions (90839) are the one
exception to the licence rule, and only while the client is away from home (a client who moved is not an
exception). Every refusal names each unmet condition in words a provider understands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from contracts.payers import Payer, local_bcbs_plan

Network = Literal["standard", "virtual"]
LocationKind = Literal["residence", "temporary"]
Route = Literal["home_plan", "bluecard", "virtual_network", "standard", "crisis_only"]

CRISIS_CPT = "90839"


@dataclass(frozen=True)
class Licence:
    state: str
    expires_on: date


@dataclass(frozen=True)
class Credential:
    payer_id: str
    state: str
    network: Network = "standard"


@dataclass(frozen=True)
class CrisisClaim:
    """What a session offers to be billed as a crisis session."""

    cpt_code: str
    has_crisis_documentation: bool
    has_exact_address: bool


@dataclass(frozen=True)
class Decision:
    billable: bool
    route: Route | None
    reasons: list[str] = field(default_factory=list)


def licensed_in(licences: Sequence[Licence], state: str, on: date) -> bool:
    return any(lic.state == state and lic.expires_on >= on for lic in licences)


def _credentialed(creds: Sequence[Credential], payer_id: str, state: str, network: Network) -> bool:
    return any(c.payer_id == payer_id and c.state == state and c.network == network for c in creds)


def _plan_route(payer: Payer, state: str, creds: Sequence[Credential]) -> tuple[Route | None, list[str]]:
    """The credentialing half of the rule: the route the plan allows in `state`, or why there is none."""
    if payer.kind != "bcbs":
        if _credentialed(creds, payer.id, state, "standard"):
            return "standard", []
        return None, [f"You are not credentialed with {payer.name} in {state}."]
    if state in payer.home_states:
        if _credentialed(creds, payer.id, state, "standard"):
            return "home_plan", []
        return None, [
            f"The client is inside {payer.name}'s home service area ({state}): you must be credentialed "
            f"with {payer.name} in {state}."
        ]
    # Outside the home plan's area: the plan's own virtual network in this state, or BlueCard via the
    # local BCBS plan.
    if _credentialed(creds, payer.id, state, "virtual"):
        return "virtual_network", []
    local = local_bcbs_plan(state)
    if local is not None and _credentialed(creds, local.id, state, "standard"):
        return "bluecard", []
    bluecard = (
        f"BlueCard: you are not credentialed with the local BCBS plan in {state} ({local.name})."
        if local is not None
        else f"BlueCard: there is no local BCBS plan for {state} in our catalogue."
    )
    virtual = f"Virtual network: you have not joined {payer.name}'s virtual network in {state}."
    return None, [bluecard, virtual]


def decide(
    *,
    payer: Payer,
    client_state: str,
    location_kind: LocationKind,
    date_of_service: date,
    licences: Sequence[Licence],
    credentials: Sequence[Credential],
    crisis: CrisisClaim | None = None,
) -> Decision:
    """Whether a session with a client in `client_state` can be billed to `payer`, and by which route."""
    route, plan_reasons = _plan_route(payer, client_state, credentials)
    if licensed_in(licences, client_state, date_of_service):
        if route is None:
            return Decision(False, None, plan_reasons)
        return Decision(True, route, [])

    licence_reason = (
        f"You do not hold an active licence in {client_state}, where the client is during this session."
    )
    if crisis is not None and crisis.cpt_code == CRISIS_CPT:
        crisis_reasons = crisis_gaps(crisis, location_kind, client_state)
        if not crisis_reasons:
            return Decision(True, "crisis_only", [])
        return Decision(False, None, [licence_reason, *crisis_reasons])
    return Decision(False, None, [licence_reason, *plan_reasons])


def crisis_gaps(crisis: CrisisClaim, location_kind: LocationKind, state: str) -> list[str]:
    """What a session outside the provider's licence lacks to be billed as a crisis session."""
    gaps = []
    if location_kind == "residence":
        gaps.append(
            f"The client lives in {state} now: a move is not a crisis exception. Get licensed and "
            f"credentialed in {state} or refer the client to a provider there."
        )
    if not crisis.has_crisis_documentation:
        gaps.append("A crisis session needs documentation of the crisis and its resolution.")
    if not crisis.has_exact_address:
        gaps.append("A crisis session needs the client's exact address (street, city, ZIP) during it.")
    return gaps


def guidance(
    *,
    payer: Payer | None,
    state: str,
    location_kind: LocationKind,
    on: date,
    licences: Sequence[Licence],
    credentials: Sequence[Credential],
) -> Decision:
    """Billing guidance for one state: the route an ordinary session would take, or crisis only, or why not."""
    if payer is None:
        return Decision(False, None, ["The client has no active insurance coverage on file."])
    decision = decide(
        payer=payer,
        client_state=state,
        location_kind=location_kind,
        date_of_service=on,
        licences=licences,
        credentials=credentials,
    )
    if decision.billable:
        return decision
    if not licensed_in(licences, state, on) and location_kind == "temporary":
        return Decision(False, "crisis_only", decision.reasons)
    return decision
