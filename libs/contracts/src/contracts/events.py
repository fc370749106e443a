"""Every event Parity publishes. Payloads carry opaque ids and facts about money and status only:
never names, e-mail addresses, dates of birth or diagnoses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from contracts.base import Event, Money

# --- eligibility -------------------------------------------------------------------------------

AccountStatus = Literal["active", "paused", "ineligible"]
CoverageStatus = Literal["pending", "active", "inactive"]


class ClientRegistered(Event):
    topic = "client.registered"
    description = "A client account was created (contact details stay in eligibility)."
    client_id: UUID
    home_state: str
    registered_at: datetime


class ClientStatusChanged(Event):
    topic = "client.status_changed"
    description = "A client's account status or scheduling clearance changed."
    client_id: UUID
    account_status: AccountStatus
    cleared_for_scheduling: bool
    reason_code: str | None = None
    previous_account_status: AccountStatus | None = None
    previous_cleared_for_scheduling: bool | None = None
    changed_at: datetime


class CoverageStatusChanged(Event):
    topic = "coverage.status_changed"
    description = "A coverage was entered, activated or made inactive; carries the plan (payer) id."
    coverage_id: UUID
    client_id: UUID
    payer_id: str
    status: CoverageStatus
    status_reason: str | None = None
    changed_at: datetime


class CoverageFlaggedSecondary(Event):
    topic = "coverage.flagged_secondary"
    description = (
        "A 271 said this plan is secondary; the coverage is now inactive with reason secondary_flag."
    )
    coverage_id: UUID
    client_id: UUID
    payer_id: str
    other_payer_name: str | None = None
    flagged_at: datetime


class BenefitValues(BaseModel):
    """Outpatient behavioral-health, in-network benefits at one point in time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_year_start: date
    plan_year_end: date
    copay: Money | None = None
    coinsurance_rate: Money | None = None  # 0.20 means the client pays 20%
    deductible: Money
    deductible_met: Money
    out_of_pocket_max: Money
    out_of_pocket_met: Money
    prior_authorization_required: bool = False


BenefitsChangeReason = Literal[
    "first_verification",
    "new_plan",
    "plan_year_reset",
    "corrected_data",
    "deductible_met",
    "out_of_pocket_met",
    "accumulators_updated",
]


class BenefitsChanged(Event):
    topic = "benefits.changed"
    description = "A verification found benefits that differ from the last snapshot; pricing re-prices."
    coverage_id: UUID
    client_id: UUID
    payer_id: str
    snapshot_id: UUID
    reason: BenefitsChangeReason
    old: BenefitValues | None
    new: BenefitValues
    changed_at: datetime


CobTrigger = Literal["secondary_flag", "claim_denied", "insurer_notice", "recertification_lapsed"]
CobOutcome = Literal["primary_confirmed", "secondary_confirmed"]


class CobCaseOpened(Event):
    topic = "cob.case_opened"
    description = "A coordination-of-benefits case opened; the client's account is paused."
    case_id: UUID
    client_id: UUID
    coverage_id: UUID
    payer_id: str
    trigger: CobTrigger
    claim_ids: list[UUID] = []
    opened_at: datetime


class CobCaseResolved(Event):
    topic = "cob.case_resolved"
    description = (
        "The insurer confirmed which plan is primary; claims reprocess or close the affected claims."
    )
    case_id: UUID
    client_id: UUID
    coverage_id: UUID
    outcome: CobOutcome
    affected_claim_ids: list[UUID] = []
    resolved_at: datetime


class CobRecertificationDue(Event):
    topic = "cob.recertification_due"
    description = "A coverage's yearly COB re-certification lapses in 30 days."
    coverage_id: UUID
    client_id: UUID
    due_date: date


# --- claims ------------------------------------------------------------------------------------

BillingRoute = Literal["home_plan", "bluecard", "virtual_network", "standard", "crisis_only", "self_pay"]


class CareRelationshipStarted(Event):
    topic = "care.relationship_started"
    description = "A provider started seeing a client (the basis of providers' access to client records)."
    provider_id: UUID
    client_id: UUID
    started_at: datetime


class SessionConfirmed(Event):
    topic = "session.confirmed"
    description = "A provider confirmed a session; pricing gives it a first price, claims bills it."
    session_id: UUID
    client_id: UUID
    provider_id: UUID
    coverage_id: UUID | None
    payer_id: str | None
    date_of_service: date
    cpt_code: str
    billing_route: BillingRoute
    confirmed_at: datetime


class SessionCancelled(Event):
    topic = "session.cancelled"
    description = "A confirmed session was cancelled; its cost is released."
    session_id: UUID
    client_id: UUID
    provider_id: UUID
    cancelled_at: datetime


class SessionRecoded(Event):
    topic = "session.recoded"
    description = "A session's CPT code was corrected; pricing re-prices it."
    session_id: UUID
    client_id: UUID
    provider_id: UUID
    old_cpt_code: str
    new_cpt_code: str
    recoded_at: datetime


class ClaimSubmitted(Event):
    topic = "claim.submitted"
    description = "An 837P for a session was sent to the clearinghouse (or resubmitted)."
    claim_id: UUID
    session_id: UUID
    client_id: UUID
    submission: int
    submitted_at: datetime


class Adjustment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    group_code: str
    reason_code: str
    amount: Money


class ClaimAdjudicated(Event):
    topic = "claim.adjudicated"
    description = "An 835 was posted to a claim; the payer's patient responsibility replaces our estimate."
    claim_id: UUID
    session_id: UUID
    client_id: UUID
    status: Literal["paid", "denied", "partially_paid"]
    billed_amount: Money
    allowed_amount: Money
    paid_amount: Money
    patient_responsibility: Money
    adjustments: list[Adjustment] = []
    remark_codes: list[str] = []
    adjudicated_at: datetime


class ClaimDenied(Event):
    topic = "claim.denied"
    description = "A payer denied a claim; reason coordination_of_benefits opens a COB case."
    claim_id: UUID
    session_id: UUID
    client_id: UUID
    coverage_id: UUID | None
    reason: Literal["coordination_of_benefits", "other"]
    carc_codes: list[str] = []
    denied_at: datetime


class RecoupmentDecided(Event):
    topic = "recoupment.decided"
    key_field = "provider_id"
    description = "A payer recoupment was classified: the platform absorbs it or the provider repays it."
    recoupment_id: UUID
    claim_id: UUID
    provider_id: UUID
    amount: Money
    responsibility: Literal["platform", "provider"]
    cause: str
    decided_at: datetime


class NotesRequested(Event):
    topic = "notes.requested"
    key_field = "provider_id"
    description = "The payer asked for session notes; the provider has three business days."
    request_id: UUID
    claim_id: UUID
    session_id: UUID
    provider_id: UUID
    deadline: date
    requested_at: datetime


# --- pricing -----------------------------------------------------------------------------------

CostChangeReason = Literal[
    "first_price",
    "new_plan",
    "deductible_met",
    "out_of_pocket_met",
    "plan_year_reset",
    "corrected_benefits",
    "claim_adjudicated",
    "earlier_session_changed",
    "cob_secondary_confirmed",
    "cob_primary_confirmed",
    "session_cancelled",
    "session_recoded",
    "fee_schedule_changed",
    "account_status_changed",
]


class CostChanged(Event):
    topic = "cost.changed"
    description = "A session's client cost changed (a new cost version), with the reason."
    session_id: UUID
    client_id: UUID
    provider_id: UUID
    version: int
    old_amount: Money | None
    new_amount: Money
    reason: CostChangeReason
    changed_at: datetime


class BalanceDue(Event):
    topic = "balance.due"
    description = "The client owes money for past sessions (cost went up after they paid)."
    client_id: UUID
    amount: Money
    session_ids: list[UUID]
    due_at: datetime


class PaymentReceived(Event):
    topic = "payment.received"
    description = "A client payment was captured by the card processor."
    payment_id: UUID
    client_id: UUID
    amount: Money
    session_ids: list[UUID] = []
    received_at: datetime


class RefundIssued(Event):
    topic = "refund.issued"
    description = (
        "A refund went back to the client's original payment; on the statement in 3-5 business days."
    )
    refund_id: UUID
    client_id: UUID
    session_id: UUID
    payment_id: UUID
    amount: Money
    issued_at: datetime
    expected_by: date


class InvoiceIssued(Event):
    topic = "invoice.issued"
    description = "An invoice/superbill for a session is ready for the client."
    invoice_id: UUID
    session_id: UUID
    client_id: UUID
    issued_at: datetime


# --- notifications -----------------------------------------------------------------------------


class NotificationStatusChanged(Event):
    topic = "notification.status_changed"
    key_field = "recipient_id"
    description = "An e-mail was delivered or permanently failed."
    notification_id: UUID
    recipient_id: UUID
    template: str
    status: Literal["sent", "failed"]
    changed_at: datetime
