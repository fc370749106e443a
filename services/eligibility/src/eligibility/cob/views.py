"""Shaping COB cases into API payloads."""

from __future__ import annotations

from eligibility.cob.schemas import CobCaseOut, TimelineEntry
from eligibility.cob.service import PROVIDER_MESSAGE, instructions
from eligibility.models import CobCase, CobCaseEvent


def case_out(case: CobCase, events: list[CobCaseEvent]) -> CobCaseOut:
    return CobCaseOut(
        id=case.id,
        client_id=case.client_id,
        coverage_id=case.coverage_id,
        payer_id=case.payer_id,
        trigger=case.trigger,
        status=case.status,
        outcome=case.outcome,
        claim_ids=list(case.claim_ids),
        opened_at=case.opened_at,
        notified_at=case.notified_at,
        follow_up_due_at=case.follow_up_due_at,
        client_updated_at=case.client_updated_at,
        resolved_at=case.resolved_at,
        instructions=instructions(case),
        provider_message=PROVIDER_MESSAGE,
        timeline=[TimelineEntry(at=e.at, kind=e.kind, detail=e.detail) for e in events],
    )
