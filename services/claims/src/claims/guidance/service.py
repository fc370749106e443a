"""Billing guidance: for every state a session could happen in, whether and how it can be billed."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from claims import eligibility_view, routing
from claims.locations import repository as location_repo
from claims.providers import repository as provider_repo
from claims.sessions.service import provider_rules
from contracts.payers import payer as find_payer


class StateGuidance(BaseModel):
    state: str
    sources: list[str]  # "practice_location" and/or "client_location"
    billable: bool
    route: str | None
    reasons: list[str]


class GuidanceOut(BaseModel):
    provider_id: uuid.UUID
    client_id: uuid.UUID
    payer_id: str | None
    coverage_id: uuid.UUID | None
    states: list[StateGuidance]


async def billing_guidance(
    *, session: AsyncSession, provider_id: uuid.UUID, client_id: uuid.UUID, on: date
) -> GuidanceOut:
    """One guidance box per state of the provider's practice locations and the client's locations."""
    sources: dict[str, set[str]] = {}
    kinds: dict[str, routing.LocationKind] = {}
    for p in await provider_repo.practice_locations(session, provider_id):
        sources.setdefault(p.state, set()).add("practice_location")
        kinds.setdefault(p.state, "temporary")  # the client travels to the practice
    for c in await location_repo.for_client(session, client_id):
        sources.setdefault(c.state, set()).add("client_location")
        if c.kind == "residence":
            kinds[c.state] = "residence"
        else:
            kinds.setdefault(c.state, "temporary")
    active = await eligibility_view.active_coverages(session, client_id)
    coverage = active[0] if active else None
    plan = find_payer(coverage.payer_id) if coverage else None
    licences, creds = await provider_rules(session, provider_id)
    boxes = []
    for state in sorted(sources):
        d = routing.guidance(
            payer=plan, state=state, location_kind=kinds[state], on=on, licences=licences, credentials=creds
        )
        boxes.append(
            StateGuidance(
                state=state,
                sources=sorted(sources[state]),
                billable=d.billable,
                route=d.route,
                reasons=d.reasons,
            )
        )
    return GuidanceOut(
        provider_id=provider_id,
        client_id=client_id,
        payer_id=coverage.payer_id if coverage else None,
        coverage_id=coverage.coverage_id if coverage else None,
        states=boxes,
    )
