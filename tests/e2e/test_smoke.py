"""The system starts the way `make run` starts it, and answers through the gateway."""

from __future__ import annotations

from tests.e2e.conftest import System


async def test_everything_is_ready_through_the_gateway(system: System) -> None:
    async with system.client() as anonymous:
        ready = await anonymous.get("/readyz")
        unauthenticated = await anonymous.get("/v1/payers")
        docs = await anonymous.get("/openapi.json")
    async with await system.as_("ops") as ops:
        payers = await ops.get("/v1/payers")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["services"]) == {"eligibility", "claims", "pricing", "notifications"}
    assert unauthenticated.status_code == 401
    assert payers.status_code == 200
    assert {p["id"] for p in payers.json()} >= {"aetna", "bcbs-nc", "anthem-bcbs-ny", "bcbs-ma"}
    assert "x-missing-services" not in docs.json()["info"]
