"""Events the pricing service consumes: each one updates the local facts and re-prices the client."""

from __future__ import annotations

from typing import Any

from contracts.events import (
    BenefitsChanged,
    CareRelationshipStarted,
    ClaimAdjudicated,
    ClientStatusChanged,
    CobCaseResolved,
    SessionCancelled,
    SessionConfirmed,
    SessionRecoded,
)
from kit.messaging.consumer import EventContext, Subscription
from pricing import facts
from pricing.costing.reasons import benefits_change_reason
from pricing.costing.service import because, reprice_clients
from pricing.documents.service import issue_invoice


async def on_session_confirmed(event: SessionConfirmed, ctx: EventContext) -> None:
    await facts.record_session(ctx.session, event)
    await reprice_clients(
        ctx.session,
        runtime=ctx.state,
        client_ids=[event.client_id],
        reason_for=because("earlier_session_changed", when=lambda s: False),
    )
    await issue_invoice(
        ctx.session, runtime=ctx.state, session_id=event.session_id, client_id=event.client_id
    )


async def on_session_cancelled(event: SessionCancelled, ctx: EventContext) -> None:
    if await facts.cancel_session(ctx.session, event.session_id):
        await reprice_clients(
            ctx.session,
            runtime=ctx.state,
            client_ids=[event.client_id],
            reason_for=because("session_cancelled", when=lambda s: s.session_id == event.session_id),
        )


async def on_session_recoded(event: SessionRecoded, ctx: EventContext) -> None:
    if await facts.recode_session(ctx.session, event.session_id, event.new_cpt_code):
        await reprice_clients(
            ctx.session,
            runtime=ctx.state,
            client_ids=[event.client_id],
            reason_for=because("session_recoded", when=lambda s: s.session_id == event.session_id),
        )


async def on_benefits_changed(event: BenefitsChanged, ctx: EventContext) -> None:
    await facts.record_benefits(ctx.session, event)
    reason = benefits_change_reason(event.reason, event.old, event.new)
    await reprice_clients(
        ctx.session,
        runtime=ctx.state,
        client_ids=[event.client_id],
        reason_for=because(reason, when=lambda s: s.coverage_id == event.coverage_id),
    )


async def on_claim_adjudicated(event: ClaimAdjudicated, ctx: EventContext) -> None:
    if await facts.record_adjudication(ctx.session, event.session_id, event.patient_responsibility):
        await reprice_clients(
            ctx.session,
            runtime=ctx.state,
            client_ids=[event.client_id],
            reason_for=because("claim_adjudicated", when=lambda s: s.session_id == event.session_id),
        )


async def on_cob_case_resolved(event: CobCaseResolved, ctx: EventContext) -> None:
    secondary = event.outcome == "secondary_confirmed"
    await facts.set_cob_secondary(ctx.session, event.coverage_id, event.client_id, secondary=secondary)
    reason = "cob_secondary_confirmed" if secondary else "cob_primary_confirmed"
    await reprice_clients(
        ctx.session,
        runtime=ctx.state,
        client_ids=[event.client_id],
        reason_for=because(reason, when=lambda s: s.coverage_id == event.coverage_id),
    )


async def on_client_status_changed(event: ClientStatusChanged, ctx: EventContext) -> None:
    if await facts.set_account_status(ctx.session, event.client_id, event.account_status):
        await reprice_clients(
            ctx.session,
            runtime=ctx.state,
            client_ids=[event.client_id],
            reason_for=because("account_status_changed", when=lambda s: True),
        )


async def on_care_relationship_started(event: CareRelationshipStarted, ctx: EventContext) -> None:
    await facts.record_care_relationship(ctx.session, event.provider_id, event.client_id)


SUBSCRIPTIONS: list[Subscription[Any]] = [
    Subscription(SessionConfirmed, on_session_confirmed),
    Subscription(SessionCancelled, on_session_cancelled),
    Subscription(SessionRecoded, on_session_recoded),
    Subscription(BenefitsChanged, on_benefits_changed),
    Subscription(ClaimAdjudicated, on_claim_adjudicated),
    Subscription(CobCaseResolved, on_cob_case_resolved),
    Subscription(ClientStatusChanged, on_client_status_changed),
    Subscription(CareRelationshipStarted, on_care_relationship_started),
]
