"""The card processor's HTTP API (Stripe-like): charges and refunds in integer cents, with idempotency keys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx


class CardDeclined(Exception):
    def __init__(self, code: str, decline_code: str | None, message: str) -> None:
        super().__init__(message)
        self.code, self.decline_code, self.message = code, decline_code, message


class ProcessorRejected(Exception):
    """The processor refused the request itself (not the card): it will refuse it again."""


class ProcessorTimeout(Exception):
    pass


class ProcessorUnavailable(Exception):
    pass


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


class CardProcessor:
    """One pooled client for the service's lifetime (closed by the runtime when the service stops)."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0))
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        try:
            r = await self.http.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.TimeoutException as exc:
            raise ProcessorTimeout(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise ProcessorUnavailable(type(exc).__name__) from exc
        if r.status_code >= 500 or r.status_code == 409:
            raise ProcessorUnavailable(f"card processor answered {r.status_code}")
        data: dict[str, Any] = r.json()
        if r.status_code == 402:
            err = data.get("error", {})
            raise CardDeclined(
                err.get("code", "card_declined"), err.get("decline_code"), err.get("message", "")
            )
        if r.status_code >= 400:
            raise ProcessorRejected(str(data.get("error", {}).get("code", r.status_code)))
        return data

    async def charge(
        self, *, token: str, amount: Decimal, key: str, metadata: dict[str, str]
    ) -> dict[str, Any]:
        body = {"amount": cents(amount), "currency": "usd", "source": token, "metadata": metadata}
        return await self._post("/v1/charges", body, key)

    async def refund(
        self, *, charge_id: str, amount: Decimal, key: str, metadata: dict[str, str]
    ) -> dict[str, Any]:
        body = {"charge": charge_id, "amount": cents(amount), "metadata": metadata}
        return await self._post("/v1/refunds", body, key)
