"""One service behind the gateway hangs and another is down: the gateway still answers for the healthy one
(timeouts, no pool exhaustion), and answers the others with 504 and 502 problems instead of hanging."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from devstack.infra import free_port
from gateway.config import Settings
from gateway.devtokens import DevIssuer
from kit.testing.helpers import ServerThread
from tests.faults.procs import Launcher

pytestmark = pytest.mark.fault

POOL = 10


def hanging_service() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/fee-schedules")
    async def hang() -> list[str]:
        await asyncio.sleep(60)
        return []

    return app


def healthy_service() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/payers")
    async def payers() -> list[dict[str, str]]:
        return [{"id": "aetna"}]

    return app


async def test_hanging_and_dead_services_do_not_starve_requests_to_a_healthy_one(
    database_url: str, launch: Launcher, tmp_path: Path
) -> None:
    key_file = str(tmp_path / "issuer.pem")
    token = DevIssuer.load(Settings(dev_issuer_enabled=True, dev_issuer_key_file=key_file)).mint(role="ops")
    auth = {"authorization": f"Bearer {token}"}
    with ServerThread(hanging_service()) as hanging, ServerThread(healthy_service()) as healthy:
        gateway = launch(
            "gateway",
            "gateway.main:create_app",
            {
                "ENVIRONMENT": "test",
                "LOG_LEVEL": "WARNING",
                "DATABASE_URL": database_url,
                "AUDIT_ENABLED": "false",
                "DEV_ISSUER_ENABLED": "true",
                "DEV_ISSUER_KEY_FILE": key_file,
                "RATE_LIMIT_PER_IP": "100000/minute",
                "RATE_LIMIT_PER_IDENTITY": "100000/minute",
                "UPSTREAM_MAX_CONNECTIONS": str(POOL),
                "UPSTREAM_MAX_KEEPALIVE": str(POOL),
                "UPSTREAM_READ_TIMEOUT_S": "3",
                "UPSTREAM_CONNECT_TIMEOUT_S": "1",
                "PRICING_URL": hanging.url,
                "ELIGIBILITY_URL": healthy.url,
                "CLAIMS_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: the service is down
            },
        ).start()
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            stuck = [
                asyncio.create_task(client.get("/v1/fee-schedules", headers=auth)) for _ in range(3 * POOL)
            ]
            await asyncio.sleep(0.5)  # every upstream connection the gateway may open is now waiting
            assert not any(t.done() for t in stuck)
            healthy_answers = [(await client.get("/v1/payers", headers=auth)).status_code for _ in range(20)]
            dead_answers = [(await client.get("/v1/claims", headers=auth)).status_code for _ in range(5)]
            stuck_answers = [r.status_code for r in await asyncio.gather(*stuck)]
    assert healthy_answers == [200] * 20
    assert dead_answers == [502] * 5
    assert stuck_answers == [504] * len(stuck)
