"""Events the eligibility service consumes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert

from contracts.events import CareRelationshipStarted, ClaimDenied
from eligibility.clients import repository as clients_repo
from eligibility.cob import service as cob
from eligibility.coverages import repository as coverages_repo
from eligibility.models import CareRelationship
from kit.messaging.consumer import EventContext, Subscription


async def on_care_relationship_started(event: CareRelationshipStarted, ctx: EventContext) -> None:
    """Providers see a client's records once they start seeing the client."""
    await ctx.session.execute(
        insert(CareRelationship)
        .values(provider_id=event.provider_id, client_id=event.client_id, started_at=event.started_at)
        .on_conflict_do_nothing()
    )


async def on_claim_denied(event: ClaimDenied, ctx: EventContext) -> None:
    """A claim denied for coordination of benefits opens a COB case (or joins the client's open one)."""
    if event.reason != "coordination_of_benefits":
        return
    client = await clients_repo.get(ctx.session, event.client_id, for_update=True)
    if client is None:
        raise LookupError(f"claim.denied for unknown client {event.client_id}")
    coverage = await coverages_repo.get(ctx.session, event.coverage_id) if event.coverage_id else None
    if coverage is None or coverage.client_id != client.id:
        coverage = await clients_repo.current_coverage(ctx.session, client.id)
    if coverage is None:
        raise LookupError(f"claim.denied for client {event.client_id} without a coverage")
    await cob.open_case(
        session=ctx.session,
        runtime=ctx.state,
        client=client,
        coverage=coverage,
        trigger="claim_denied",
        claim_ids=[event.claim_id],
        note=f"Claim {event.claim_id} denied for coordination of benefits (CARC {', '.join(event.carc_codes) or 'n/a'}).",
    )


SUBSCRIPTIONS: list[Subscription[Any]] = [
    Subscription(CareRelationshipStarted, on_care_relationship_started),
    Subscription(ClaimDenied, on_claim_denied),
]
