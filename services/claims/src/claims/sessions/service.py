"""Confirming a session: refused with every reason, or confirmed, routed and turned into a claim."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from claims import cpt, eligibility_view, routing
from claims.claim import repository as claim_repo
from claims.claim.service import FINAL, new_claim, transition
from claims.common import provider_sees
from claims.locations.service import start_relationship
from claims.models import ClientLocation, CoverageView, Session
from claims.providers import repository as provider_repo
from claims.sessions import repository
from claims.sessions.schemas import RecodeIn, SessionIn, SessionOut
from contracts.events import SessionCancelled, SessionConfirmed, SessionRecoded
from contracts.payers import payer as find_payer
from kit.auth import Principal
from kit.errors import Conflict, DomainRefusal, Forbidden, NotFound, Unprocessable
from kit.runtime import Runtime


async def provider_rules(
    session: AsyncSession, provider_id: uuid.UUID
) -> tuple[list[routing.Licence], list[routing.Credential]]:
    licences = [
        routing.Licence(x.state, x.expires_on) for x in await provider_repo.licences(session, provider_id)
    ]
    creds = [
        routing.Credential(x.payer_id, x.state, x.network)
        for x in await provider_repo.credentials(session, provider_id)
    ]
    return licences, creds


def has_exact_address(loc: ClientLocation) -> bool:
    return bool(loc.address_line and loc.city and loc.postal_code)


async def _coverage(session: AsyncSession, data: SessionIn, reasons: list[str]) -> CoverageView | None:
    if data.coverage_id is not None:
        cov = await eligibility_view.coverage(session, data.coverage_id)
        if cov is None or cov.client_id != data.client_id:
            reasons.append("The coverage given is not one of this client's coverages.")
            return None
        if cov.status != "active":
            reasons.append(f"The client's coverage is {cov.status}; only an active coverage can be billed.")
            return None
        return cov
    active = await eligibility_view.active_coverages(session, data.client_id)
    if not active:
        reasons.append(
            "The client has no active insurance coverage; confirm it as self-pay or ask them to update it."
        )
        return None
    return active[0]


async def confirm_session(
    *, session: AsyncSession, runtime: Runtime, principal: Principal, data: SessionIn
) -> SessionOut:
    """Confirm a session if every billing condition holds; otherwise refuse, naming each unmet one."""
    if principal.role == "provider" and not await provider_sees(
        session, principal.provider_id, data.client_id
    ):
        raise Forbidden("You do not see this client: the client (or ops) adds you to their care team first.")
    if await provider_repo.get(session, data.provider_id) is None:
        raise NotFound("No such provider.")
    loc = await repository.location(session, data.client_location_id)
    if loc is None or loc.client_id != data.client_id:
        raise Unprocessable("The client location given is not one of this client's locations.")
    reasons = list(cpt.problems(data.cpt_code, data.add_on_codes, data.duration_minutes))
    client = await eligibility_view.client(session, data.client_id)
    if (
        client is None
        or not client.cleared_for_scheduling
        or not (data.self_pay or await eligibility_view.active_coverages(session, data.client_id))
    ):
        client = await eligibility_view.refresh(session, runtime, data.client_id)
    if client is None:
        reasons.append("We have no eligibility record for this client yet.")
    elif not client.cleared_for_scheduling:
        reasons.append(f"The client is not cleared for scheduling (account {client.account_status}).")
    if data.cpt_code == routing.CRISIS_CPT and not data.crisis_documentation:
        reasons.append("A crisis session (90839) needs documentation of the crisis and its resolution.")
    licences, creds = await provider_rules(session, data.provider_id)
    coverage: CoverageView | None = None
    route: str | None = None
    if data.self_pay:
        if routing.licensed_in(licences, loc.state, data.date_of_service):
            route = "self_pay"
        else:
            reasons.append(
                f"You do not hold an active licence in {loc.state}, where the client is during this session."
            )
    else:
        coverage = await _coverage(session, data, reasons)
        plan = find_payer(coverage.payer_id) if coverage else None
        if coverage is not None and plan is None:
            reasons.append(f"The client's plan ({coverage.payer_id}) is not in our payer catalogue.")
        if plan is not None:
            decision = routing.decide(
                payer=plan,
                client_state=loc.state,
                location_kind=loc.kind,
                date_of_service=data.date_of_service,
                licences=licences,
                credentials=creds,
                crisis=routing.CrisisClaim(
                    data.cpt_code, bool(data.crisis_documentation), has_exact_address(loc)
                ),
            )
            route = decision.route
            reasons.extend(r for r in decision.reasons if r not in reasons)
    if reasons or route is None:
        raise DomainRefusal("This session cannot be confirmed.", reasons=reasons)

    now = runtime.clock.now()
    record = Session(
        id=uuid.uuid4(),
        provider_id=data.provider_id,
        client_id=data.client_id,
        client_location_id=loc.id,
        client_state=loc.state,
        date_of_service=data.date_of_service,
        cpt_code=data.cpt_code,
        add_on_codes=data.add_on_codes,
        duration_minutes=data.duration_minutes,
        icd10_codes=data.icd10_codes,
        place_of_service=data.place_of_service,
        telehealth_modifier=data.telehealth_modifier,
        crisis_documentation=data.crisis_documentation,
        billing_route=route,
        coverage_id=coverage.coverage_id if coverage else None,
        payer_id=coverage.payer_id if coverage else None,
        status="confirmed",
    )
    session.add(record)
    await session.flush()
    await start_relationship(
        session=session, runtime=runtime, provider_id=data.provider_id, client_id=data.client_id
    )
    claim_id = None
    if coverage is not None:
        claim = new_claim(
            session=session,
            session_id=record.id,
            client_id=data.client_id,
            provider_id=data.provider_id,
            coverage_id=coverage.coverage_id,
            payer_id=coverage.payer_id,
            billed_amount=cpt.total_charge(data.cpt_code, data.add_on_codes),
            at=now,
        )
        claim_id = claim.id
    await runtime.outbox.publish(
        session,
        SessionConfirmed(
            session_id=record.id,
            client_id=record.client_id,
            provider_id=record.provider_id,
            coverage_id=record.coverage_id,
            payer_id=record.payer_id,
            date_of_service=record.date_of_service,
            cpt_code=record.cpt_code,
            billing_route=route,
            confirmed_at=now,
        ),
    )
    await session.flush()
    await session.refresh(record)
    return to_out(record, claim_id)


def to_out(s: Session, claim_id: uuid.UUID | None) -> SessionOut:
    return SessionOut(
        id=s.id,
        provider_id=s.provider_id,
        client_id=s.client_id,
        client_location_id=s.client_location_id,
        client_state=s.client_state,
        date_of_service=s.date_of_service,
        cpt_code=s.cpt_code,
        add_on_codes=list(s.add_on_codes),
        duration_minutes=s.duration_minutes,
        icd10_codes=list(s.icd10_codes),
        place_of_service=s.place_of_service,
        telehealth_modifier=s.telehealth_modifier,
        billing_route=s.billing_route,
        coverage_id=s.coverage_id,
        payer_id=s.payer_id,
        status=s.status,
        claim_id=claim_id,
        created_at=s.created_at,
    )


def can_read(principal: Principal, s: Session) -> bool:
    if principal.is_staff or principal.role == "partner":
        return True
    if principal.role == "client":
        return principal.client_id == s.client_id
    return principal.role == "provider" and principal.provider_id == s.provider_id


async def readable_session(
    session: AsyncSession, principal: Principal, session_id: uuid.UUID, *, lock: bool = False
) -> Session:
    found = await repository.get(session, session_id, lock=lock)
    if found is None or not can_read(principal, found):
        raise NotFound("No such session.")
    return found


async def cancel_session(*, session: AsyncSession, runtime: Runtime, record: Session) -> SessionOut:
    """Cancel a confirmed session whose claim has not been sent (a sent claim needs a void, not a cancel)."""
    if record.status == "cancelled":
        claim = await claim_repo.by_session(session, record.id)
        return to_out(record, claim.id if claim else None)
    claim = await claim_repo.by_session(session, record.id)
    now = runtime.clock.now()
    if claim is not None:
        if claim.status != "pending":
            raise Conflict(
                f"The claim for this session is already {claim.status}; it cannot be cancelled here."
            )
        transition(session, claim, "voided", "session cancelled before the claim was sent", now)
    record.status = "cancelled"
    await runtime.outbox.publish(
        session,
        SessionCancelled(
            session_id=record.id, client_id=record.client_id, provider_id=record.provider_id, cancelled_at=now
        ),
    )
    return to_out(record, claim.id if claim else None)


async def recode_session(
    *, session: AsyncSession, runtime: Runtime, record: Session, data: RecodeIn
) -> SessionOut:
    """Correct a session's codes; a claim not yet adjudicated goes out again with them."""
    if record.status != "confirmed":
        raise Conflict("Only a confirmed session can be recoded.")
    problems = cpt.problems(data.cpt_code, data.add_on_codes, data.duration_minutes)
    if (data.cpt_code == routing.CRISIS_CPT) != (record.cpt_code == routing.CRISIS_CPT):
        problems.append("A session cannot be recoded into or out of a crisis session; cancel it instead.")
    if problems:
        raise DomainRefusal("These codes cannot be used.", reasons=problems)
    claim = await claim_repo.by_session(session, record.id)
    now = runtime.clock.now()
    if claim is not None:
        if claim.status in FINAL or claim.status in ("denied_cob", "reversed"):
            raise Conflict(f"The claim is already {claim.status}; a corrected claim must go through ops.")
        claim.billed_amount = cpt.total_charge(data.cpt_code, data.add_on_codes)
        if claim.status != "pending":
            claim.attempts = 0
            claim.next_attempt_at = None
            transition(
                session,
                claim,
                "pending",
                f"recoded {record.cpt_code} -> {data.cpt_code}: corrected claim",
                now,
            )
    old = record.cpt_code
    record.cpt_code = data.cpt_code
    record.add_on_codes = data.add_on_codes
    record.duration_minutes = data.duration_minutes
    if old != data.cpt_code:
        await runtime.outbox.publish(
            session,
            SessionRecoded(
                session_id=record.id,
                client_id=record.client_id,
                provider_id=record.provider_id,
                old_cpt_code=old,
                new_cpt_code=data.cpt_code,
                recoded_at=now,
            ),
        )
    return to_out(record, claim.id if claim else None)
