"""Shaping coverage rows into API payloads."""

from __future__ import annotations

from contracts.events import BenefitValues
from eligibility.coverages.schemas import CoverageOut, SnapshotOut, SubscriberOut, VerificationOut
from eligibility.coverages.service import recertification_due
from eligibility.models import BenefitSnapshot, Coverage, Verification
from eligibility.verification.record import Verified


def coverage_out(coverage: Coverage, *, recertify_days: int) -> CoverageOut:
    return CoverageOut(
        id=coverage.id,
        client_id=coverage.client_id,
        payer_id=coverage.payer_id,
        member_id=coverage.member_id,
        group_number=coverage.group_number,
        subscriber=SubscriberOut(
            first_name=coverage.subscriber_first_name,
            last_name=coverage.subscriber_last_name,
            date_of_birth=coverage.subscriber_date_of_birth,
            relationship=coverage.relationship,
        ),
        current=coverage.current,
        status=coverage.status,
        status_reason=coverage.status_reason,
        last_verified_at=coverage.last_verified_at,
        next_verification_at=coverage.next_verification_at,
        cob_certified_on=coverage.cob_certified_on,
        cob_recertification_due=recertification_due(coverage, days=recertify_days),
        created_at=coverage.created_at,
    )


def snapshot_out(snapshot: BenefitSnapshot) -> SnapshotOut:
    return SnapshotOut(
        id=snapshot.id,
        coverage_id=snapshot.coverage_id,
        verification_id=snapshot.verification_id,
        taken_at=snapshot.taken_at,
        change_reason=snapshot.change_reason,
        benefits=BenefitValues.model_validate(snapshot.values),
    )


def verification_out(
    verification: Verification, coverage: Coverage, benefits: BenefitValues | None = None
) -> VerificationOut:
    return VerificationOut(
        id=verification.id,
        coverage_id=verification.coverage_id,
        trigger=verification.trigger,
        outcome=verification.outcome,
        failure_reason=verification.failure_reason,
        requested_at=verification.requested_at,
        completed_at=verification.completed_at,
        coverage_status=coverage.status,
        coverage_status_reason=coverage.status_reason,
        next_verification_at=coverage.next_verification_at,
        benefits=benefits,
    )


def verified_out(done: Verified) -> VerificationOut:
    return VerificationOut(
        id=done.id,
        coverage_id=done.coverage_id,
        trigger=done.trigger,
        outcome=done.outcome,
        failure_reason=done.failure_reason,
        requested_at=done.requested_at,
        completed_at=done.completed_at,
        coverage_status=done.coverage_status,
        coverage_status_reason=done.coverage_status_reason,
        next_verification_at=done.next_verification_at,
        benefits=done.benefits,
    )
