"""COB cases (open on an insurer's notice, read, the client's update) and the primary/secondary advisor."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from eligibility.access import ensure_client_write, ensure_read
from eligibility.clients import repository as clients_repo
from eligibility.cob import advisor, repository, service
from eligibility.cob.schemas import CobCaseIn, CobCaseOut, DetermineIn, DetermineOut, ExcludedOut, StepOut
from eligibility.cob.views import case_out
from eligibility.coverages import repository as coverages_repo
from eligibility.models import CobCase
from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from kit.errors import Conflict, NotFound, Unprocessable

router = APIRouter(tags=["coordination of benefits"])


@router.post(
    "/v1/cob-cases", status_code=201, response_model=CobCaseOut, summary="Open a case on an insurer's notice"
)
async def open_case(
    body: CobCaseIn, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> CobCaseOut:
    """Ops record an insurer's COB notice; the client's account pauses (an open case gets the claims)."""
    require_role(principal, "ops")
    client = await clients_repo.get(session, body.client_id, for_update=True)
    if client is None:
        raise Unprocessable("No such client.")
    if body.coverage_id is not None:
        coverage = await coverages_repo.get(session, body.coverage_id)
        if coverage is None or coverage.client_id != client.id:
            raise Unprocessable("That coverage does not belong to this client.")
    else:
        coverage = await clients_repo.current_coverage(session, client.id)
        if coverage is None:
            raise Unprocessable("The client has no coverage to open a case on.")
    case = await service.open_case(
        session=session,
        runtime=runtime,
        client=client,
        coverage=coverage,
        trigger="insurer_notice",
        claim_ids=body.claim_ids,
        note=body.note or "Opened on the insurer's notice.",
    )
    await session.flush()
    return case_out(case, (await repository.timeline(session, [case.id]))[case.id])


@router.get("/v1/cob-cases", response_model=list[CobCaseOut], summary="COB cases (ops and partners)")
async def list_cases(
    principal: PrincipalDep,
    session: DbSession,
    status: str | None = Query(None, pattern="^(open|resolved)$"),
    limit: int = Query(100, ge=1, le=500),
) -> list[CobCaseOut]:
    require_role(principal, "ops", "partner")
    from sqlalchemy import select

    query = select(CobCase).order_by(CobCase.opened_at.desc()).limit(limit)
    if status:
        query = query.where(CobCase.status == status)
    cases = list((await session.execute(query)).scalars())
    timelines = await repository.timeline(session, [c.id for c in cases])
    return [case_out(c, timelines[c.id]) for c in cases]


@router.get("/v1/cob-cases/{case_id}", response_model=CobCaseOut, summary="One case and its timeline")
async def get_case(case_id: UUID, principal: PrincipalDep, session: DbSession) -> CobCaseOut:
    case = await repository.get(session, case_id)
    if case is None:
        raise NotFound("No such case.")
    try:
        await ensure_read(session, principal, case.client_id)
    except NotFound as exc:
        raise NotFound("No such case.") from exc
    return case_out(case, (await repository.timeline(session, [case.id]))[case.id])


@router.post(
    "/v1/cob-cases/{case_id}/client-update",
    response_model=CobCaseOut,
    summary="The client says the insurer updated",
)
async def client_update(
    case_id: UUID, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> CobCaseOut:
    """Only the client (or ops on the insurer's word) can; providers never update a client's COB."""
    case = await repository.get(session, case_id, for_update=True)
    if case is None:
        raise NotFound("No such case.")
    try:
        await ensure_client_write(session, principal, case.client_id)
    except NotFound as exc:
        raise NotFound("No such case.") from exc
    if case.status != "open":
        raise Conflict("This case is already resolved.")
    await service.client_update(session=session, runtime=runtime, case=case, by=principal.role)
    await session.flush()
    return case_out(case, (await repository.timeline(session, [case.id]))[case.id])


@router.post("/v1/cob/determine", response_model=DetermineOut, summary="Which plan is primary (advice)")
async def determine(body: DetermineIn, principal: PrincipalDep, runtime: RuntimeDep) -> DetermineOut:
    """The NAIC model order of benefits for a person's plans, with the rule behind each step. It advises;
    the insurers' records decide."""
    person = advisor.Person(
        date_of_birth=body.date_of_birth,
        married=body.married,
        parents_married=body.parents_married,
        joint_custody=body.joint_custody,
    )
    plans = [advisor.Plan(**p.model_dump()) for p in body.plans]
    result = advisor.determine(person, plans, on=body.as_of or runtime.clock.today())
    return DetermineOut(
        order=[StepOut(position=s.position, plan_id=s.plan_id, rule=s.rule) for s in result.order],
        excluded=[ExcludedOut(plan_id=p, reason=r) for p, r in result.excluded],
        note=result.note,
    )
