"""HTTP: a client's balance, ledger, payments and refunds."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from kit.errors import PROBLEM_MEDIA_TYPE
from pricing.access import ensure_reads_client
from pricing.ledger import repository as repo
from pricing.ledger.schemas import Balance, Entry, Ledger, PaymentIn, PaymentOut, RefundOut, Transaction
from pricing.ledger.service import balance_of, pay

router = APIRouter(tags=["balance"])


@router.get("/v1/clients/{client_id}/balance", response_model=Balance)
async def get_balance(client_id: UUID, principal: PrincipalDep, db: DbSession) -> Balance:
    """Outstanding amount, credits, and the past sessions that make it up."""
    await ensure_reads_client(db, principal, client_id)
    return await balance_of(db, client_id=client_id)


@router.get("/v1/clients/{client_id}/ledger", response_model=Ledger)
async def get_ledger(client_id: UUID, principal: PrincipalDep, db: DbSession) -> Ledger:
    """Every transaction on the client's account; each one's entries sum to zero."""
    await ensure_reads_client(db, principal, client_id)
    txns: dict[UUID, Transaction] = {}
    for e in await repo.ledger_of(db, client_id):
        t = txns.get(e.transaction_id)
        if t is None:
            t = txns[e.transaction_id] = Transaction(
                transaction_id=e.transaction_id,
                kind=e.kind,
                created_at=e.created_at,
                payment_id=e.payment_id,
                refund_id=e.refund_id,
                entries=[],
            )
        t.entries.append(Entry(account=e.account, amount=e.amount, session_id=e.session_id))
    return Ledger(client_id=client_id, transactions=list(txns.values()))


@router.get("/v1/clients/{client_id}/refunds", response_model=list[RefundOut])
async def list_refunds(client_id: UUID, principal: PrincipalDep, db: DbSession) -> list[Any]:
    """Refunds of the client's payments, staged or issued, with the date they should be on the statement."""
    await ensure_reads_client(db, principal, client_id)
    return [RefundOut.model_validate(r, from_attributes=True) for r in await repo.refunds_of(db, client_id)]


@router.get("/v1/clients/{client_id}/payments")
async def list_payments(client_id: UUID, principal: PrincipalDep, db: DbSession) -> list[dict[str, Any]]:
    """The client's captured payments."""
    await ensure_reads_client(db, principal, client_id)
    return [
        {
            "payment_id": str(p.payment_id),
            "amount": f"{p.amount:.2f}",
            "charge_id": p.charge_id,
            "created_at": p.created_at.isoformat(),
        }
        for p in await repo.payments_of(db, client_id)
    ]


@router.post(
    "/v1/clients/{client_id}/payments",
    status_code=201,
    response_model=PaymentOut,
    responses={402: {"description": "Card declined"}, 409: {"description": "Same key in progress"}},
)
async def create_payment(
    client_id: UUID,
    body: PaymentIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    db: DbSession,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=200)],
) -> JSONResponse:
    """Pay what is due through the card processor. Same key and body: the stored response; same key with
    another body: 422; while the first request with the key is still running: 409."""
    require_role(principal, "client")
    await ensure_reads_client(db, principal, client_id)
    status, payload = await pay(runtime=runtime, client_id=client_id, key=idempotency_key, request=body)
    media = "application/json" if status < 400 else PROBLEM_MEDIA_TYPE
    return JSONResponse(payload, status_code=status, media_type=media)
