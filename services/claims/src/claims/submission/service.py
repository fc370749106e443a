"""Sending claims to the clearinghouse after commit: one job, retries with backoff, every transition recorded."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any, cast

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from claims import cpt
from claims.claim import repository as claim_repo
from claims.claim.service import transition
from claims.config import Settings
from claims.models import Claim
from claims.providers import repository as provider_repo
from claims.sessions import repository as session_repo
from claims.submission import eligibility_client as elig
from claims.x12_837 import ClaimFacts, Line, Person, build_837p
from contracts.events import ClaimSubmitted
from contracts.payers import payer as find_payer
from kit.runtime import Runtime

log = logging.getLogger("claims.submission")


class TransientFailure(Exception):
    """Worth retrying: a peer was down or answered 5xx."""


async def claim_facts(session: AsyncSession, runtime: Runtime, claim: Claim) -> ClaimFacts:
    """Everything the 837P says, gathered from our records and eligibility's internal API."""
    settings = cast(Settings, runtime.settings)
    record = await session_repo.get(session, claim.session_id)
    provider = await provider_repo.get(session, claim.provider_id)
    assert record is not None
    assert provider is not None
    practice = await provider_repo.practice_locations(session, provider.id)
    loc = await session_repo.location(session, record.client_location_id)
    plan = find_payer(claim.payer_id)
    if plan is None:
        raise ValueError(f"payer {claim.payer_id} is not in the catalogue")
    try:
        client = await elig.client_details(runtime, claim.client_id)
        coverage = await elig.coverage_details(runtime, claim.coverage_id)
    except elig.EligibilityUnavailable as exc:
        raise TransientFailure(str(exc)) from exc
    except ValidationError as exc:
        raise TransientFailure("eligibility sent details we cannot read") from exc
    address = {}
    if loc is not None:
        address = {
            "address_line": loc.address_line,
            "city": loc.city,
            "state": loc.state,
            "postal_code": loc.postal_code,
        }
    patient = Person(client.last_name, client.first_name, client.date_of_birth, **address)
    sub = coverage.subscriber
    relationship = sub.relationship if sub.relationship in ("self", "spouse", "child", "other") else "other"
    subscriber = (
        patient
        if relationship == "self"
        else Person(sub.last_name, sub.first_name, sub.date_of_birth, **address)
    )
    modifier = record.telehealth_modifier
    lines = [Line(record.cpt_code, cpt.TABLE[record.cpt_code].charge, modifier)]
    for code in sorted(set(record.add_on_codes)):
        lines.append(Line(code, cpt.TABLE[code].charge, modifier, units=record.add_on_codes.count(code)))
    billing = practice[0] if practice else None
    resubmission = claim.submissions > 0 and claim.payer_claim_control_number is not None
    return ClaimFacts(
        control_number=claim.control_number,
        submitter_name="PARITY",
        submitter_id=settings.submitter_id,
        billing_provider_name=provider.name,
        billing_provider_npi=provider.npi,
        billing_provider_tax_id=settings.billing_tax_id,
        billing_address=(
            (billing.address_line, billing.city, billing.state, billing.postal_code)
            if billing
            else ("", "", "", "")
        ),
        payer_name=plan.name,
        payer_x12_id=plan.x12_payer_id,
        subscriber=subscriber,
        member_id=coverage.member_id,
        group_number=coverage.group_number,
        relationship=relationship,
        patient=patient,
        date_of_service=record.date_of_service,
        place_of_service=record.place_of_service,
        diagnoses=tuple(record.icd10_codes),
        lines=tuple(lines),
        frequency_code="7" if resubmission else "1",
        original_payer_claim_number=claim.payer_claim_control_number if resubmission else None,
        created=runtime.clock.now(),
    )


async def _send(runtime: Runtime, text: str) -> tuple[int, dict[str, Any]]:
    settings = cast(Settings, runtime.settings)
    try:
        response = await runtime.http.post(
            settings.clearinghouse_url.rstrip("/") + "/x12/837",
            content=text.encode(),
            headers={"content-type": "application/edi-x12"},
        )
    except httpx.HTTPError as exc:
        raise TransientFailure(f"clearinghouse unreachable: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise TransientFailure(f"clearinghouse answered {response.status_code}")
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"ack": "rejected", "errors": ["acknowledgement unreadable"]}


async def submit_claim(*, runtime: Runtime, claim_id: uuid.UUID) -> str:
    """Send one pending claim; returns the claim's status afterwards."""
    settings = cast(Settings, runtime.settings)
    async with runtime.db.session() as session:
        claim = await claim_repo.get(session, claim_id, lock=True)
        if claim is None or claim.status != "pending":
            return claim.status if claim else "missing"
        now = runtime.clock.now()
        try:
            text = build_837p(await claim_facts(session, runtime, claim))
            status_code, ack = await _send(runtime, text)
        except (TransientFailure, ValueError) as exc:
            claim.attempts += 1
            claim.last_error = str(exc)[:500]
            if isinstance(exc, TransientFailure) and claim.attempts < settings.claim_submit_max_attempts:
                delay = settings.claim_retry_base_s * 2 ** (claim.attempts - 1)
                claim.next_attempt_at = now + timedelta(seconds=delay)
            else:
                transition(
                    session,
                    claim,
                    "submission_failed",
                    f"gave up after {claim.attempts} attempt(s): {exc}",
                    now,
                )
            log.warning(
                "claim submission failed", extra={"claim_id": str(claim.id), "attempt": claim.attempts}
            )
            return claim.status
        claim.submissions += 1
        claim.attempts = 0
        claim.last_error = None
        transition(
            session,
            claim,
            "submitted",
            f"837P sent to the clearinghouse (submission {claim.submissions})",
            now,
        )
        await runtime.outbox.publish(
            session,
            ClaimSubmitted(
                claim_id=claim.id,
                session_id=claim.session_id,
                client_id=claim.client_id,
                submission=claim.submissions,
                submitted_at=now,
            ),
        )
        mine = [
            c
            for c in ack.get("claims", []) or []
            if isinstance(c, dict) and c.get("claim_control_number") == claim.control_number
        ]
        accepted = status_code == 200 and bool(mine) and mine[0].get("status") == "accepted"
        if accepted:
            transition(session, claim, "accepted", "clearinghouse acknowledged the claim", now)
        else:
            errors = (mine[0].get("errors") if mine else ack.get("errors")) or ["no reason given"]
            transition(
                session,
                claim,
                "rejected",
                f"clearinghouse rejected the claim: {'; '.join(map(str, errors))}",
                now,
            )
        return claim.status


async def submit_due_claims(runtime: Runtime, *, limit: int = 50) -> int:
    """Send every claim that is due; returns how many were tried."""
    async with runtime.db.session() as session:
        ids = await claim_repo.due_for_submission(
            session, now=runtime.clock.now(), today=runtime.clock.today(), limit=limit
        )
    for claim_id in ids:
        await submit_claim(runtime=runtime, claim_id=claim_id)
    return len(ids)
