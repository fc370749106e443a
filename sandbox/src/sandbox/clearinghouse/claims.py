"""Sandbox clearinghouse: claims transactions (837P in, 835 out).

- `POST /x12/837`: a raw 005010X222A2 interchange. Answers a JSON acknowledgement (not a 999):
  `{"ack": "accepted"|"rejected", "claims": [{"claim_control_number", "status", "charge", "errors"}]}`;
  a body that does not parse is answered 400 with `ack: rejected`.
- `POST /admin/claims/{claim_control_number}/adjudicate`: the payer decides. Body
  `{"outcome": "paid"|"denied", "allowed_amount"?, "patient_responsibility"?, "patient_responsibility_reason"?,
  "carc_codes"?, "group_code"?}`. Produces a 005010X221A1 835, PUSHES it to the configured webhook and keeps it
  for `GET /x12/835?since=<seq>` (JSON: `{"remittances": [{"seq", "x12"}], "next": seq}`).
- `PUT /admin/settings`: `{"webhook_url": ..., "webhook_headers": {...}}`.
- `GET /admin/claims/{claim_control_number}`: what the clearinghouse holds for a claim (for tests and demos).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import httpx
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from x12sdk.generate import ClaimSpec, ServiceLineSpec, denial, generate_835, patient_responsibility
from x12sdk.io import X12ModelReader

router = APIRouter(tags=["claims"])

CENT = Decimal("0.01")


@dataclass
class HeldClaim:
    control_number: str
    charge: Decimal
    lines: list[tuple[str, Decimal]]
    payer_x12_id: str | None
    member_id: str | None
    submissions: int = 1
    status: str = "accepted"


@dataclass
class ClaimsState:
    claims: dict[str, HeldClaim] = field(default_factory=dict)
    remittances: list[str] = field(default_factory=list)
    webhook_url: str | None = None
    webhook_headers: dict[str, str] = field(default_factory=dict)


def _state(request: Request) -> ClaimsState:
    state = getattr(request.app.state, "claims_sandbox", None)
    if state is None:
        state = ClaimsState()
        request.app.state.claims_sandbox = state
    return state


def _read_claims(text: str) -> list[HeldClaim]:
    held = []
    with X12ModelReader(text) as reader:
        for model in reader.models():
            for c in model.claims():  # type: ignore[attr-defined]
                lines = []
                for line in c.service_lines:
                    procedure = str(line.sv1_segment.product_service_id_qualifier).split(":")[1]
                    lines.append(
                        (procedure, Decimal(line.sv1_segment.line_item_charge_amount).quantize(CENT))
                    )
                held.append(
                    HeldClaim(
                        control_number=c.patient_control_number,
                        charge=Decimal(c.charge).quantize(CENT),
                        lines=lines,
                        payer_x12_id=c.payer.nm1_segment.identification_code,
                        member_id=c.member_id,
                    )
                )
    return held


@router.post("/x12/837", summary="Submit an 837P; answers a JSON acknowledgement")
async def submit_837(request: Request) -> JSONResponse:
    text = (await request.body()).decode("utf-8", "replace").strip()
    try:
        if not text.startswith("ISA"):
            raise ValueError("not an X12 interchange")
        received = _read_claims(text)
        if not received:
            raise ValueError("no claims in the interchange")
    except Exception as exc:
        body = {"ack": "rejected", "claims": [], "errors": [f"unreadable 837P: {type(exc).__name__}"]}
        return JSONResponse(body, status_code=400)
    state = _state(request)
    acks = []
    for claim in received:
        errors = []
        if claim.charge <= 0 or sum((c for _, c in claim.lines), Decimal("0")) != claim.charge:
            errors.append("claim charge must be positive and equal the sum of its lines")
        if not claim.member_id:
            errors.append("subscriber member id missing")
        if not errors:
            previous = state.claims.get(claim.control_number)
            claim.submissions = previous.submissions + 1 if previous else 1
            state.claims[claim.control_number] = claim
        acks.append(
            {
                "claim_control_number": claim.control_number,
                "status": "rejected" if errors else "accepted",
                "charge": f"{claim.charge:.2f}",
                "errors": errors,
            }
        )
    ack = "accepted" if all(a["status"] == "accepted" for a in acks) else "rejected"
    return JSONResponse({"ack": ack, "claims": acks})


class AdjudicateIn(BaseModel):
    outcome: Literal["paid", "denied"]
    allowed_amount: Decimal | None = Field(default=None, ge=0)
    patient_responsibility: Decimal = Field(default=Decimal("0.00"), ge=0)
    patient_responsibility_reason: Literal["1", "2", "3"] = "2"  # deductible, coinsurance, copay
    carc_codes: list[str] = ["50"]
    group_code: Literal["CO", "OA", "PI"] = "CO"


def _spec(claim: HeldClaim, data: AdjudicateIn) -> ClaimSpec:
    if data.outcome == "denied":
        lines = [
            ServiceLineSpec(
                charge=charge,
                procedure=proc,
                adjustments=[denial(data.group_code, data.carc_codes[0], charge)],
            )
            for proc, charge in claim.lines
        ]
        return ClaimSpec(
            charge=claim.charge, lines=lines, status="4", patient_control_number=claim.control_number
        )
    allowed = claim.charge if data.allowed_amount is None else data.allowed_amount.quantize(CENT)
    if allowed > claim.charge or data.patient_responsibility > allowed:
        raise HTTPException(422, "need patient responsibility <= allowed <= charge")
    # Contractual write-off and patient share land on the first line; the other lines are paid in full.
    (proc, first), *rest = claim.lines
    adjustments = []
    if claim.charge - allowed > 0:
        adjustments.append(denial("CO", "45", claim.charge - allowed))
    if data.patient_responsibility > 0:
        adjustments.append(
            patient_responsibility(data.patient_responsibility_reason, data.patient_responsibility)
        )
    if sum((a.amount for a in adjustments), Decimal("0")) > first:
        raise HTTPException(422, "adjustments exceed the first line's charge")
    lines = [ServiceLineSpec(charge=first, procedure=proc, adjustments=adjustments)]
    lines += [ServiceLineSpec(charge=c, procedure=p) for p, c in rest]
    return ClaimSpec(
        charge=claim.charge, lines=lines, status="1", patient_control_number=claim.control_number
    )


@router.post(
    "/admin/claims/{claim_control_number}/adjudicate", summary="The payer decides; an 835 is produced"
)
async def adjudicate(claim_control_number: str, data: AdjudicateIn, request: Request) -> dict[str, Any]:
    state = _state(request)
    claim = state.claims.get(claim_control_number)
    if claim is None:
        raise HTTPException(404, "no such claim at the clearinghouse")
    seq = len(state.remittances) + 1
    text = generate_835(
        seed=seq,
        claims=[_spec(claim, data)],
        payer_name="SANDBOX PAYER",
        payee_name="PARITY",
        control_number=f"{seq:04d}",
    )
    state.remittances.append(text)
    claim.status = data.outcome
    pushed: int | str | None = None
    if state.webhook_url:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(
                    state.webhook_url,
                    content=text.encode(),
                    headers={"content-type": "application/edi-x12", **state.webhook_headers},
                )
            pushed = response.status_code
        except httpx.HTTPError as exc:
            pushed = f"failed: {type(exc).__name__}"
    return {"seq": seq, "pushed": pushed, "x12": text}


@router.get("/x12/835", summary="835s produced since a sequence number (polling)")
async def list_835(request: Request, since: int = Query(0, ge=0)) -> dict[str, Any]:
    state = _state(request)
    items = [{"seq": i, "x12": t} for i, t in enumerate(state.remittances, start=1) if i > since]
    return {"remittances": items, "next": len(state.remittances)}


class SettingsIn(BaseModel):
    webhook_url: str | None = None
    webhook_headers: dict[str, str] = {}


@router.put("/admin/settings", summary="Where remittances are pushed")
async def settings(data: SettingsIn, request: Request) -> dict[str, Any]:
    state = _state(request)
    state.webhook_url = data.webhook_url
    state.webhook_headers = dict(data.webhook_headers)
    return {"webhook_url": state.webhook_url}


@router.get("/admin/claims/{claim_control_number}", summary="What the clearinghouse holds for a claim")
async def held_claim(claim_control_number: str, request: Request) -> dict[str, Any]:
    claim = _state(request).claims.get(claim_control_number)
    if claim is None:
        raise HTTPException(404, "no such claim at the clearinghouse")
    return {
        "claim_control_number": claim.control_number,
        "charge": f"{claim.charge:.2f}",
        "lines": [{"procedure": p, "charge": f"{c:.2f}"} for p, c in claim.lines],
        "payer_x12_id": claim.payer_x12_id,
        "submissions": claim.submissions,
        "status": claim.status,
    }
