"""The card-processor sandbox speaks like Stripe: charges, refunds, declines and idempotency keys."""

from __future__ import annotations

import asyncio

import httpx

from sandbox.cardprocessor.app import create_app


def _client(slow_seconds: float = 15.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(slow_seconds)), base_url="http://cp"
    )


async def test_charge_with_a_good_token_succeeds() -> None:
    async with _client() as cp:
        r = await cp.post("/v1/charges", json={"amount": 15000, "currency": "usd", "source": "tok_visa"})
        assert r.status_code == 200
        assert (r.json()["status"], r.json()["amount"], r.json()["object"]) == ("succeeded", 15000, "charge")


async def test_declined_tokens_are_declined_with_a_decline_code() -> None:
    async with _client() as cp:
        r = await cp.post("/v1/charges", json={"amount": 15000, "source": "tok_insufficient_funds"})
        assert r.status_code == 402
        assert r.json()["error"]["decline_code"] == "insufficient_funds"
        r = await cp.post("/v1/charges", json={"amount": 15000, "source": "tok_declined"})
        assert r.json()["error"]["type"] == "card_error"


async def test_same_idempotency_key_and_body_replays_the_response() -> None:
    async with _client() as cp:
        body = {"amount": 2000, "source": "tok_visa"}
        first = await cp.post("/v1/charges", json=body, headers={"Idempotency-Key": "k1"})
        again = await cp.post("/v1/charges", json=body, headers={"Idempotency-Key": "k1"})
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        other = await cp.post("/v1/charges", json={**body, "amount": 2100}, headers={"Idempotency-Key": "k1"})
        assert other.status_code == 400
        assert other.json()["error"]["type"] == "idempotency_error"


async def test_key_in_flight_is_refused_with_409() -> None:
    async with _client(slow_seconds=0.5) as cp:
        body = {"amount": 2000, "source": "tok_timeout"}
        slow = asyncio.create_task(cp.post("/v1/charges", json=body, headers={"Idempotency-Key": "k2"}))
        while not cp._transport.app.state.ledger.keys:  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
        dup = await cp.post("/v1/charges", json=body, headers={"Idempotency-Key": "k2"})
        assert dup.status_code == 409
        assert (await slow).status_code == 200


async def test_refund_goes_back_to_the_charge_and_never_above_it() -> None:
    async with _client() as cp:
        charge = (await cp.post("/v1/charges", json={"amount": 15000, "source": "tok_visa"})).json()
        r = await cp.post("/v1/refunds", json={"charge": charge["id"], "amount": 13000})
        assert (r.status_code, r.json()["status"], r.json()["charge"]) == (200, "succeeded", charge["id"])
        too_much = await cp.post("/v1/refunds", json={"charge": charge["id"], "amount": 2001})
        assert too_much.json()["error"]["code"] == "amount_too_large"
        missing = await cp.post("/v1/refunds", json={"charge": "ch_nope", "amount": 100})
        assert missing.status_code == 404
        assert (await cp.get(f"/v1/charges/{charge['id']}")).json()["amount_refunded"] == 13000
