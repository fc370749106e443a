"""Sandbox clearinghouse: eligibility transactions (270 in, 271 out) and an admin API to stage members.

- `POST /x12/270` (body: the raw 270, content-type application/edi-x12) answers the raw 271.
- `GET /admin/members` lists the member table (scenario ids documented in `members.py`).
- `PUT /admin/members/{member_id}` sets a member's plan (status, benefits, other payer, delay).
- `PUT /admin/members/{member_id}/raw-271` sets the exact 271 to answer (e.g. one captured elsewhere).
- `DELETE /admin/members/{member_id}` removes a member (scenario ids come back with their default).
- `GET /admin/inquiries` the 270s received, newest last.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from sandbox.clearinghouse.members import Benefits, Member, scenarios
from sandbox.clearinghouse.x12_271 import Invalid270, build_271, read_270

router = APIRouter(tags=["eligibility"])

X12_MEDIA_TYPE = "application/edi-x12"


class _State:
    def __init__(self) -> None:
        self.members: dict[str, Member] = scenarios(datetime.now(UTC).date())
        self.inquiries: list[dict[str, Any]] = []
        self.control = 0


def _state(request: Request) -> _State:
    state = getattr(request.app.state, "eligibility", None)
    if state is None:
        state = _State()
        request.app.state.eligibility = state
    return state


@router.post("/x12/270", summary="Answer a 270 eligibility inquiry with a 271")
async def inquiry_270(request: Request) -> Response:
    state = _state(request)
    raw = (await request.body()).decode("utf-8", "replace")
    try:
        inquiry = read_270(raw)
    except Invalid270 as exc:
        return PlainTextResponse(str(exc), status_code=400)
    member = state.members.get(inquiry.member_id) or Member(inquiry.member_id, status="not_found")
    state.inquiries.append(
        {"member_id": inquiry.member_id, "received_at": datetime.now(UTC).isoformat(), "raw": raw}
    )
    if member.delay_seconds:
        await asyncio.sleep(member.delay_seconds)
    if member.raw_271 is not None:
        return Response(member.raw_271, media_type=X12_MEDIA_TYPE)
    if member.status == "malformed":
        return Response("<html><body>502 upstream payer error</body></html>", media_type=X12_MEDIA_TYPE)
    state.control += 1
    body = build_271(
        inquiry, member, created=datetime.now(UTC).replace(tzinfo=None), control_number=f"{state.control:04d}"
    )
    return Response(body, media_type=X12_MEDIA_TYPE)


class BenefitsIn(BaseModel):
    plan_year_start: date
    plan_year_end: date
    copay: Decimal | None = Field(None, ge=0, decimal_places=2)
    coinsurance_rate: Decimal | None = Field(None, ge=0, le=1)
    deductible: Decimal = Field(Decimal("0.00"), ge=0, decimal_places=2)
    deductible_met: Decimal = Field(Decimal("0.00"), ge=0, decimal_places=2)
    out_of_pocket_max: Decimal = Field(Decimal("0.00"), ge=0, decimal_places=2)
    out_of_pocket_met: Decimal = Field(Decimal("0.00"), ge=0, decimal_places=2)
    prior_authorization_required: bool = False


class MemberIn(BaseModel):
    status: Literal["active", "terminated", "not_found", "secondary", "malformed"] = "active"
    benefits: BenefitsIn | None = None
    other_payer_name: str | None = Field(None, max_length=60)
    delay_seconds: float = Field(0.0, ge=0, le=120)


def _out(member: Member) -> dict[str, Any]:
    data = asdict(member)
    data["has_raw_271"] = data.pop("raw_271") is not None
    return data


@router.get("/admin/members", summary="The member table")
async def list_members(request: Request) -> list[dict[str, Any]]:
    return [_out(m) for m in _state(request).members.values()]


@router.get("/admin/members/{member_id}", summary="One member")
async def get_member(request: Request, member_id: str) -> Any:
    member = _state(request).members.get(member_id)
    if member is None:
        return PlainTextResponse("no such member", status_code=404)
    return _out(member)


@router.put("/admin/members/{member_id}", summary="Set a member's plan")
async def put_member(request: Request, member_id: str, body: MemberIn) -> dict[str, Any]:
    benefits = Benefits(**body.benefits.model_dump()) if body.benefits else None
    member = Member(
        member_id,
        status=body.status,
        benefits=benefits,
        other_payer_name=body.other_payer_name,
        delay_seconds=body.delay_seconds,
    )
    _state(request).members[member_id] = member
    return _out(member)


@router.put("/admin/members/{member_id}/raw-271", summary="Set the exact 271 answered for a member")
async def put_raw_271(request: Request, member_id: str) -> dict[str, Any]:
    state = _state(request)
    raw = (await request.body()).decode("utf-8", "replace")
    member = state.members.get(member_id) or Member(member_id)
    state.members[member_id] = replace(member, raw_271=raw)
    return _out(state.members[member_id])


@router.delete("/admin/members/{member_id}", summary="Forget a staged member", status_code=204)
async def delete_member(request: Request, member_id: str) -> Response:
    state = _state(request)
    state.members.pop(member_id, None)
    default = scenarios(datetime.now(UTC).date()).get(member_id)
    if default is not None:
        state.members[member_id] = default
    return Response(status_code=204)


@router.get("/admin/inquiries", summary="The 270s received")
async def list_inquiries(request: Request, member_id: str | None = None) -> list[dict[str, Any]]:
    return [i for i in _state(request).inquiries if member_id is None or i["member_id"] == member_id]
