"""Entering coverages and moving their status (each move is published with the plan's payer id)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CoverageStatusChanged
from eligibility.clients import service as clients
from eligibility.coverages import repository
from eligibility.coverages.schemas import CoverageIn
from eligibility.models import Client, Coverage
from kit.runtime import Runtime


async def set_status(
    *, session: AsyncSession, runtime: Runtime, coverage: Coverage, status: str, reason: str | None
) -> bool:
    """Move a coverage to `status`; publishes coverage.status_changed when it actually moved."""
    if (coverage.status, coverage.status_reason) == (status, reason):
        return False
    now = runtime.clock.now()
    coverage.status = status
    coverage.status_reason = reason
    coverage.updated_at = now
    await runtime.outbox.publish(
        session,
        CoverageStatusChanged(
            coverage_id=coverage.id,
            client_id=coverage.client_id,
            payer_id=coverage.payer_id,
            status=status,
            status_reason=reason,
            changed_at=now,
        ),
    )
    return True


async def enter(*, session: AsyncSession, runtime: Runtime, client: Client, data: CoverageIn) -> Coverage:
    """The client's primary plan: replaces any earlier one, is verified at once (scheduled now), and
    counts as the client's coordination-of-benefits certification for the coming year."""
    now = runtime.clock.now()
    for old in await repository.retire_current(session, client.id):
        old.current = False
        await set_status(session=session, runtime=runtime, coverage=old, status="inactive", reason="replaced")
    subscriber = data.subscriber
    coverage = Coverage(
        id=uuid.uuid4(),
        client_id=client.id,
        payer_id=data.payer_id,
        member_id=data.member_id,
        group_number=data.group_number,
        subscriber_first_name=subscriber.first_name if subscriber else client.first_name,
        subscriber_last_name=subscriber.last_name if subscriber else client.last_name,
        subscriber_date_of_birth=subscriber.date_of_birth if subscriber else client.date_of_birth,
        relationship=data.relationship,
        current=True,
        status="",
        status_reason=None,
        created_at=now,
        updated_at=now,
        next_verification_at=now,
        verification_failures=0,
        cob_certified_on=now.date(),
    )
    session.add(coverage)
    await set_status(session=session, runtime=runtime, coverage=coverage, status="pending", reason=None)
    # a new primary plan ends "ineligible for insurance billing" (secondary confirmed earlier)
    client.insurance_ineligible = False
    await clients.refresh_status(session=session, runtime=runtime, client=client)
    return coverage


def backoff(failures: int, *, base_s: float, max_s: float) -> float:
    """Seconds until the next attempt after `failures` consecutive failures (doubling, capped)."""
    return float(min(base_s * 2 ** max(failures - 1, 0), max_s))


def recertification_due(coverage: Coverage, *, days: int) -> date:
    """The day this coverage's yearly COB certification lapses."""
    return coverage.cob_certified_on + timedelta(days=days)
