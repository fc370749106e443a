"""The sandbox card processor: Stripe-like charges and refunds over HTTP, with test card tokens and
idempotency keys. `uvicorn --factory sandbox.cardprocessor.app:create_app --port 8202`

Test tokens: `tok_visa` (and any other `tok_*`) succeeds, `tok_declined` is declined, `tok_insufficient_funds`
is declined for insufficient funds, `tok_timeout` answers only after `slow_seconds` (past a client's timeout;
the charge still happens, as with a real processor, so a retry with the same Idempotency-Key finds it).
Amounts are integer cents. A key replayed with the same body returns the stored response
(`Idempotent-Replayed: true`); with a different body 400; while the first request is in flight 409.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DECLINES = {
    "tok_declined": ("card_declined", "generic_decline", "Your card was declined."),
    "tok_insufficient_funds": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "tok_expired": ("expired_card", "expired_card", "Your card has expired."),
}


@dataclass
class _Stored:
    fingerprint: str
    status: int | None = None
    body: dict[str, Any] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Ledger:
    """What the processor holds: charges, refunds and idempotency keys (in memory, per process)."""

    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, _Stored] = field(default_factory=dict)


def _error(status: int, kind: str, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": kind, "code": code, "message": message, **extra}}, status_code=status
    )


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def create_app(slow_seconds: float = 15.0) -> FastAPI:
    app = FastAPI(
        title="Sandbox card processor", description="Charges and refunds the way Stripe shapes them."
    )
    ledger = Ledger()
    app.state.ledger = ledger

    async def idempotent(request: Request, body: dict[str, Any], run: Any) -> JSONResponse:
        key = request.headers.get("idempotency-key")
        if not key:
            status, payload = await run(body)
            return JSONResponse(payload, status_code=status)
        scoped = f"{request.url.path}:{key}"
        fingerprint = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        stored = ledger.keys.get(scoped)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return _error(
                    400,
                    "idempotency_error",
                    "idempotency_key_reused",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                )
            if not stored.done.is_set():
                return _error(
                    409,
                    "idempotency_error",
                    "idempotency_key_in_use",
                    "A request with this key is in progress.",
                )
            assert stored.body is not None
            assert stored.status is not None
            return JSONResponse(
                stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"}
            )
        stored = _Stored(fingerprint)
        ledger.keys[scoped] = stored
        try:
            status, payload = await run(body)
        except BaseException:
            del ledger.keys[scoped]
            raise
        stored.status, stored.body = status, payload
        stored.done.set()
        return JSONResponse(payload, status_code=status)

    async def read_body(request: Request) -> dict[str, Any] | JSONResponse:
        try:
            body = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError:
            return _error(400, "invalid_request_error", "parameter_invalid", "The body is not JSON.")
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", "parameter_invalid", "The body must be an object.")
        return body

    async def do_charge(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        amount, source = body.get("amount"), body.get("source")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 50:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "amount_too_small",
                    "param": "amount",
                    "message": "Amount must be an integer number of cents, at least 50.",
                }
            }
        if not isinstance(source, str) or not source.startswith("tok_"):
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "parameter_invalid",
                    "param": "source",
                    "message": "source must be a card token (tok_...).",
                }
            }
        if source == "tok_timeout":
            await asyncio.sleep(slow_seconds)
        charge_id = _new_id("ch")
        declined = DECLINES.get(source)
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_refunded": 0,
            "currency": body.get("currency", "usd"),
            "created": int(time.time()),
            "description": body.get("description"),
            "metadata": body.get("metadata") or {},
            "paid": declined is None,
            "captured": declined is None,
            "refunded": False,
            "status": "failed" if declined else "succeeded",
            "failure_code": declined[0] if declined else None,
            "payment_method_details": {
                "card": {"brand": "visa", "last4": "4242" if not declined else "0002"}
            },
        }
        ledger.charges[charge_id] = charge
        if declined:
            code, decline_code, message = declined
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": code,
                    "decline_code": decline_code,
                    "message": message,
                    "charge": charge_id,
                }
            }
        return 200, charge

    async def do_refund(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        charge = ledger.charges.get(str(body.get("charge")))
        if charge is None or charge["status"] != "succeeded":
            return 404, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "charge",
                    "message": "No such charge.",
                }
            }
        left = charge["amount"] - charge["amount_refunded"]
        amount = body.get("amount", left)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "parameter_invalid",
                    "param": "amount",
                    "message": "Amount must be a positive integer number of cents.",
                }
            }
        if amount > left:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "amount_too_large",
                    "param": "amount",
                    "message": f"Refund amount ({amount}) is greater than unrefunded amount ({left}).",
                }
            }
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "currency": charge["currency"],
            "created": int(time.time()),
            "reason": body.get("reason"),
            "metadata": body.get("metadata") or {},
            "status": "succeeded",
        }
        ledger.refunds[refund["id"]] = refund
        return 200, refund

    @app.post("/v1/charges")
    async def create_charge(request: Request) -> JSONResponse:
        body = await read_body(request)
        if isinstance(body, JSONResponse):
            return body
        return await idempotent(request, body, do_charge)

    @app.post("/v1/refunds")
    async def create_refund(request: Request) -> JSONResponse:
        body = await read_body(request)
        if isinstance(body, JSONResponse):
            return body
        return await idempotent(request, body, do_refund)

    @app.get("/v1/charges/{charge_id}")
    async def get_charge(charge_id: str) -> JSONResponse:
        charge = ledger.charges.get(charge_id)
        if charge is None:
            return _error(404, "invalid_request_error", "resource_missing", "No such charge.")
        return JSONResponse(charge)

    @app.get("/v1/refunds/{refund_id}")
    async def get_refund(refund_id: str) -> JSONResponse:
        refund = ledger.refunds.get(refund_id)
        if refund is None:
            return _error(404, "invalid_request_error", "resource_missing", "No such refund.")
        return JSONResponse(refund)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
