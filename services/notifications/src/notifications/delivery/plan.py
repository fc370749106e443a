"""Which e-mails an event produces, to whom, with which facts. Pure: no I/O.

The COB pause is told once per case: `cob.case_opened` sends it. Eligibility opens a case on every secondary
flag, so `coverage.flagged_secondary` sends nothing by itself (it only records which other plan the insurer
named); otherwise one flag would give the client two near-identical "your account is paused" e-mails.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from contracts.events import (
    BalanceDue,
    CobCaseOpened,
    CobCaseResolved,
    CobRecertificationDue,
    CostChanged,
    InvoiceIssued,
    NotesRequested,
    RefundIssued,
)
from contracts.payers import payer

RecipientKind = Literal["client", "provider"]

# Optional messages a client may turn off; everything else is required (a pause, money owed or returned,
# an invoice, a cost change, a notes request) and always goes.
OPTIONAL_TEMPLATES: dict[str, str] = {"client_recertification_due": "reminders"}

# What a person reads for each reason a session's cost changed (the articles' list, in plain words).
COST_REASONS: dict[str, str] = {
    "new_plan": "a new insurance plan started and its benefits are different",
    "deductible_met": "the deductible for the year has been met",
    "out_of_pocket_met": "the out-of-pocket maximum for the year has been met",
    "plan_year_reset": "the plan reset for the year, so the deductible and out-of-pocket maximum start again",
    "corrected_benefits": "we corrected benefit information we had received from the insurance company",
    "claim_adjudicated": "the insurance company processed the claim and set the amount the client owes",
    "earlier_session_changed": "the cost of an earlier session changed, which moved the deductible",
    "cob_secondary_confirmed": "the insurance company confirmed this plan is secondary",
    "cob_primary_confirmed": "the insurance company confirmed this plan is primary",
    "session_cancelled": "the session was cancelled",
    "session_recoded": "the session's billing code was corrected",
    "fee_schedule_changed": "the contracted rate for the session changed",
    "account_status_changed": "the account's insurance billing status changed (for example, it became self-pay)",
}

NOTES_BUSINESS_DAYS = 3


@dataclass(frozen=True)
class Intent:
    """One e-mail to send: the template, who gets it, and the facts the template shows."""

    template: str
    recipient_kind: RecipientKind
    recipient_id: uuid.UUID
    context: dict[str, Any] = field(default_factory=dict)
    attachment: str | None = None

    @property
    def optional_category(self) -> str | None:
        return OPTIONAL_TEMPLATES.get(self.template)


def client_shown(recipient_kind: str, recipient_id: uuid.UUID, context: dict[str, Any]) -> uuid.UUID | None:
    """The client whose contact an e-mail shows: its recipient, or the client a provider's e-mail is about
    (None when its context names none, or facts that no longer fit: rendering reports those)."""
    if recipient_kind == "client":
        return recipient_id
    try:
        return uuid.UUID(context["client_id"])
    except (KeyError, TypeError, ValueError):
        return None


def client_of(intent: Intent) -> uuid.UUID | None:
    return client_shown(intent.recipient_kind, intent.recipient_id, intent.context)


def notification_id(event_id: uuid.UUID, recipient_id: uuid.UUID, template: str) -> uuid.UUID:
    """The same (event, recipient, template) always gets the same id, and so the same Message-ID."""
    return uuid.uuid5(event_id, f"{recipient_id}:{template}")


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,.2f}"


def _session(session_id: uuid.UUID, dates: dict[uuid.UUID, date]) -> dict[str, Any]:
    known = dates.get(session_id)
    return {"id": str(session_id), "date": known.isoformat() if known else None}


def _insurer(payer_id: str) -> dict[str, Any]:
    found = payer(payer_id)
    return {"name": found.name if found else None, "phone": found.phone if found and found.phone else None}


def cob_opened(
    event: CobCaseOpened, *, providers: list[uuid.UUID], other_payer_name: str | None
) -> list[Intent]:
    """The client learns who to call and what to say; each provider who sees them, that nothing is needed."""
    facts = {
        "case_id": str(event.case_id),
        "trigger": event.trigger,
        "insurer": _insurer(event.payer_id),
        "other_payer_name": other_payer_name,
    }
    intents = [Intent("client_cob_paused", "client", event.client_id, facts)]
    intents += [
        Intent("provider_cob_paused", "provider", p, {"client_id": str(event.client_id), **facts})
        for p in providers
    ]
    return intents


def cob_resolved(event: CobCaseResolved, *, providers: list[uuid.UUID]) -> list[Intent]:
    """Unpaused (primary confirmed) or ineligible for insurance billing (secondary confirmed)."""
    facts = {
        "case_id": str(event.case_id),
        "outcome": event.outcome,
        "affected_claims": len(event.affected_claim_ids),
    }
    intents = [Intent("client_cob_resolved", "client", event.client_id, facts)]
    intents += [
        Intent("provider_cob_resolved", "provider", p, {"client_id": str(event.client_id), **facts})
        for p in providers
    ]
    return intents


def recertification_due(event: CobRecertificationDue) -> list[Intent]:
    """The yearly COB re-certification reminder, 30 days ahead (optional: reminders)."""
    facts = {"coverage_id": str(event.coverage_id), "due_date": event.due_date.isoformat()}
    return [Intent("client_recertification_due", "client", event.client_id, facts)]


def cost_changed(event: CostChanged, *, dates: dict[uuid.UUID, date]) -> list[Intent]:
    """A changed cost goes to the client and the provider; a first price or an unchanged amount does not."""
    if event.old_amount is None or event.reason == "first_price" or event.old_amount == event.new_amount:
        return []
    facts = {
        "session": _session(event.session_id, dates),
        "old_amount": money(event.old_amount),
        "new_amount": money(event.new_amount),
        "went_up": event.new_amount > event.old_amount,
        "reason": event.reason,
        "reason_text": COST_REASONS.get(event.reason, "your benefit information changed"),
        "version": event.version,
    }
    return [
        Intent("client_cost_changed", "client", event.client_id, facts),
        Intent(
            "provider_cost_changed",
            "provider",
            event.provider_id,
            {**facts, "client_id": str(event.client_id)},
        ),
    ]


def balance_due(event: BalanceDue, *, dates: dict[uuid.UUID, date]) -> list[Intent]:
    """The amount owed and the sessions it is for, with a pay-now link."""
    facts = {
        "amount": money(event.amount),
        "sessions": [_session(s, dates) for s in event.session_ids],
    }
    return [Intent("client_balance_due", "client", event.client_id, facts)]


def refund_issued(event: RefundIssued, *, dates: dict[uuid.UUID, date]) -> list[Intent]:
    """Session, amount, and the 3-5 business days until it shows on the statement."""
    facts = {
        "refund_id": str(event.refund_id),
        "session": _session(event.session_id, dates),
        "amount": money(event.amount),
        "expected_by": event.expected_by.isoformat(),
    }
    return [Intent("client_refund_issued", "client", event.client_id, facts)]


def invoice_issued(event: InvoiceIssued, *, dates: dict[uuid.UUID, date]) -> list[Intent]:
    """The invoice for one session, its PDF attached at send time."""
    facts = {"invoice_id": str(event.invoice_id), "session": _session(event.session_id, dates)}
    return [Intent("client_invoice_issued", "client", event.client_id, facts, attachment="invoice_pdf")]


def notes_requested(event: NotesRequested, *, dates: dict[uuid.UUID, date]) -> list[Intent]:
    """The provider learns which session and the deadline (three business days)."""
    facts = {
        "request_id": str(event.request_id),
        "session": _session(event.session_id, dates),
        "deadline": event.deadline.isoformat(),
        "business_days": NOTES_BUSINESS_DAYS,
    }
    return [Intent("provider_notes_requested", "provider", event.provider_id, facts)]
