"""Money views of a client: balance, ledger, payments, refunds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Money
from kit.money import PositiveAmount


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: PositiveAmount
    card_token: Annotated[str, Field(pattern=r"^tok_[A-Za-z0-9_]{1,60}$")]
    session_ids: Annotated[list[UUID], Field(max_length=500)] = []


class Allocation(BaseModel):
    session_id: UUID
    amount: Money


class PaymentOut(BaseModel):
    payment_id: UUID
    client_id: UUID
    amount: Money
    charge_id: str
    applied: list[Allocation]
    unapplied: Money
    received_at: datetime


class SessionBalance(BaseModel):
    session_id: UUID
    date_of_service: date | None
    cost: Money | None
    paid: Money
    owed: Money


class Balance(BaseModel):
    client_id: UUID
    outstanding: Money
    credits: Money
    refunds_pending: Money
    sessions: list[SessionBalance]


class Entry(BaseModel):
    account: str
    amount: Money
    session_id: UUID | None


class Transaction(BaseModel):
    transaction_id: UUID
    kind: str
    created_at: datetime
    payment_id: UUID | None
    refund_id: UUID | None
    entries: list[Entry]


class Ledger(BaseModel):
    client_id: UUID
    transactions: list[Transaction]


class RefundOut(BaseModel):
    refund_id: UUID
    session_id: UUID
    payment_id: UUID
    amount: Money
    status: str
    issued_at: datetime | None
    expected_by: date | None
    created_at: datetime
