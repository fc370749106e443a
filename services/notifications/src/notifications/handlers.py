"""Events the notifications service consumes: each one queues the e-mails it causes (sending happens later,
in the sender), or feeds a local view (who sees whom, session dates, secondary flags)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from contracts.events import (
    BalanceDue,
    CareRelationshipStarted,
    CobCaseOpened,
    CobCaseResolved,
    CobRecertificationDue,
    CostChanged,
    CoverageFlaggedSecondary,
    InvoiceIssued,
    NotesRequested,
    RefundIssued,
    SessionConfirmed,
)
from kit.messaging.consumer import EventContext, EventsContext, Subscription
from notifications.delivery import plan
from notifications.delivery.directory import Directory
from notifications.delivery.plan import Intent, client_of
from notifications.delivery.service import Caused, record_caused, record_intents
from notifications.facts import repository as facts


def _expect(state: Any, client_ids: Iterable[uuid.UUID | None]) -> None:
    """When this process is the one sending, start looking up the clients the new e-mails will show now, while
    the transaction that queues them is still open: the sender then finds them cached instead of waiting on
    eligibility. (A rolled-back transaction leaves only cached contacts behind.)"""
    sender = state.extras.get("sender")
    if sender is None or not sender.active:
        return
    directory: Directory = state.extras["directory"]
    directory.prefetch_clients(client_id for client_id in client_ids if client_id is not None)


async def _queue(ctx: EventContext, intents: list[Intent]) -> None:
    _expect(ctx.state, map(client_of, intents))
    await record_intents(
        ctx.session,
        event_id=ctx.envelope.id,
        event_type=ctx.envelope.type,
        intents=intents,
        now=ctx.state.clock.now(),
        mail_from=ctx.state.settings.mail_from,
    )


async def on_relationship_started(event: CareRelationshipStarted, ctx: EventContext) -> None:
    await facts.add_relationship(
        ctx.session, provider_id=event.provider_id, client_id=event.client_id, started_at=event.started_at
    )


async def on_session_confirmed(event: SessionConfirmed, ctx: EventContext) -> None:
    await facts.add_session(
        ctx.session,
        session_id=event.session_id,
        client_id=event.client_id,
        provider_id=event.provider_id,
        date_of_service=event.date_of_service,
    )


def _flag(event: CoverageFlaggedSecondary) -> dict[str, object]:
    return {
        "coverage_id": event.coverage_id,
        "client_id": event.client_id,
        "payer_id": event.payer_id,
        "other_payer_name": event.other_payer_name,
        "flagged_at": event.flagged_at,
    }


async def on_flagged_secondary(event: CoverageFlaggedSecondary, ctx: EventContext) -> None:
    # No e-mail here: the COB case eligibility opens for this flag sends it (see delivery.plan).
    await facts.record_flags(ctx.session, [_flag(event)])


async def on_flagged_secondary_many(events: list[CoverageFlaggedSecondary], ctx: EventsContext) -> None:
    await facts.record_flags(ctx.session, [_flag(e) for e in events])


async def on_cob_opened(event: CobCaseOpened, ctx: EventContext) -> None:
    providers, other = await facts.cob_facts(
        ctx.session, client_id=event.client_id, coverage_id=event.coverage_id
    )
    await _queue(ctx, plan.cob_opened(event, providers=providers, other_payer_name=other))


async def on_cob_opened_many(events: list[CobCaseOpened], ctx: EventsContext) -> None:
    # One read for every event's facts: opening a case changes neither relationships nor flags, so each
    # event reads what it would have read in its turn.
    _expect(ctx.state, (e.client_id for e in events))  # every e-mail of a case shows its client
    found = await facts.cob_facts_many(ctx.session, [(e.client_id, e.coverage_id) for e in events])
    caused = [
        Caused(
            envelope.id,
            envelope.type,
            plan.cob_opened(event, providers=providers, other_payer_name=other),
            envelope.correlation_id,
        )
        for event, envelope, (providers, other) in zip(events, ctx.envelopes, found, strict=True)
    ]
    await record_caused(
        ctx.session, caused, now=ctx.state.clock.now(), mail_from=ctx.state.settings.mail_from
    )


async def on_cob_resolved(event: CobCaseResolved, ctx: EventContext) -> None:
    providers = await facts.providers_of(ctx.session, event.client_id)
    await _queue(ctx, plan.cob_resolved(event, providers=providers))


async def on_recertification_due(event: CobRecertificationDue, ctx: EventContext) -> None:
    await _queue(ctx, plan.recertification_due(event))


async def on_cost_changed(event: CostChanged, ctx: EventContext) -> None:
    dates = await facts.session_dates(ctx.session, [event.session_id])
    await _queue(ctx, plan.cost_changed(event, dates=dates))


async def on_balance_due(event: BalanceDue, ctx: EventContext) -> None:
    dates = await facts.session_dates(ctx.session, list(event.session_ids))
    await _queue(ctx, plan.balance_due(event, dates=dates))


async def on_refund_issued(event: RefundIssued, ctx: EventContext) -> None:
    dates = await facts.session_dates(ctx.session, [event.session_id])
    await _queue(ctx, plan.refund_issued(event, dates=dates))


async def on_invoice_issued(event: InvoiceIssued, ctx: EventContext) -> None:
    dates = await facts.session_dates(ctx.session, [event.session_id])
    await _queue(ctx, plan.invoice_issued(event, dates=dates))


async def on_notes_requested(event: NotesRequested, ctx: EventContext) -> None:
    dates = await facts.session_dates(ctx.session, [event.session_id])
    await _queue(ctx, plan.notes_requested(event, dates=dates))


SUBSCRIPTIONS: list[Subscription[Any]] = [
    Subscription(CareRelationshipStarted, on_relationship_started),
    Subscription(SessionConfirmed, on_session_confirmed),
    Subscription(CoverageFlaggedSecondary, on_flagged_secondary, many=on_flagged_secondary_many),
    Subscription(CobCaseOpened, on_cob_opened, many=on_cob_opened_many),
    Subscription(CobCaseResolved, on_cob_resolved),
    Subscription(CobRecertificationDue, on_recertification_due),
    Subscription(CostChanged, on_cost_changed),
    Subscription(BalanceDue, on_balance_due),
    Subscription(RefundIssued, on_refund_issued),
    Subscription(InvoiceIssued, on_invoice_issued),
    Subscription(NotesRequested, on_notes_requested),
]
