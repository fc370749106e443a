"""Whether a client may book and how they are billed: derived from their coverage and COB facts (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import AccountStatus


@dataclass(frozen=True)
class ClientFacts:
    self_pay: bool
    insurance_ineligible: bool
    open_cob_case: bool
    coverage_status: str | None  # the current coverage's status, None when there is none
    coverage_reason: str | None


@dataclass(frozen=True)
class ClientStatus:
    account_status: AccountStatus
    cleared_for_scheduling: bool
    reason_code: str | None
    reason: str | None


COVERAGE_REASONS = {
    "secondary_flag": "The insurer reports this plan as secondary; an active primary plan must be entered.",
    "terminated": "The insurer reports this plan as terminated.",
    "member_not_found": "The insurer could not find this member; check the member id and names.",
    "rejected_by_payer": "The insurer rejected the eligibility request; check the coverage details.",
}


def client_status(facts: ClientFacts) -> ClientStatus:
    """A paused account (open COB case) never books; a client found ineligible for insurance billing, or
    one who chose to pay themselves, books as self-pay; otherwise an active verified coverage is needed."""
    if facts.open_cob_case:
        return ClientStatus(
            "paused",
            False,
            "cob_case_open",
            "Paused: the insurer reported a coordination-of-benefits issue that only the client can resolve.",
        )
    if facts.insurance_ineligible:
        return ClientStatus(
            "ineligible",
            True,
            "secondary_confirmed",
            "Ineligible for insurance billing until a new primary plan is entered; sessions are self-pay.",
        )
    if facts.self_pay:
        return ClientStatus("active", True, None, None)
    if facts.coverage_status == "active":
        return ClientStatus("active", True, None, None)
    if facts.coverage_status is None:
        return ClientStatus("active", False, "no_coverage", "No insurance on file: enter the primary plan.")
    if facts.coverage_status == "pending":
        return ClientStatus(
            "active", False, "coverage_unverified", "The insurance has not been verified yet."
        )
    reason = facts.coverage_reason or "inactive"
    return ClientStatus(
        "active", False, f"coverage_{reason}", COVERAGE_REASONS.get(reason, "The insurance is not active.")
    )
