"""Eligibility test setup: the sandbox clearinghouse served over the network, and the service on a
controllable clock with its own database and topics."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from eligibility.config import Settings
from eligibility.main import create_app
from eligibility.models import messaging
from kit.clock import ControllableClock
from kit.runtime import Runtime
from kit.testing.helpers import OPS, as_role, running_app
from kit.testing.plugin import SettingsFactory
from sandbox.clearinghouse.app import create_app as create_clearinghouse

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def clearinghouse_url() -> Iterator[str]:
    """The sandbox clearinghouse on a real port, answering 270s over HTTP like the real one."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_clearinghouse(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("sandbox clearinghouse did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@dataclass
class Service:
    http: httpx.AsyncClient
    runtime: Runtime
    clock: ControllableClock
    clearinghouse: httpx.AsyncClient

    async def stage(self, member_id: str, **plan: Any) -> None:
        response = await self.clearinghouse.put(f"/admin/members/{member_id}", json=plan)
        assert response.status_code == 200, response.text

    async def register(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_of_birth": "1990-04-12",
            "email": "ada@example.com",
            "home_state": "NY",
            **overrides,
        }
        response = await self.http.post("/v1/clients", json=body, headers=OPS)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def enter(
        self, client_id: str, member_id: str, payer_id: str = "aetna", **extra: Any
    ) -> dict[str, Any]:
        response = await self.http.post(
            f"/v1/clients/{client_id}/coverages",
            json={"payer_id": payer_id, "member_id": member_id, **extra},
            headers=as_role("client", client_id=client_id),
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def verify(self, coverage_id: str) -> dict[str, Any]:
        response = await self.http.post(f"/v1/coverages/{coverage_id}/verify", headers=OPS)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def client(self, client_id: str) -> dict[str, Any]:
        return dict((await self.http.get(f"/v1/clients/{client_id}", headers=OPS)).json())

    async def outbox(self, topic: str) -> list[dict[str, Any]]:
        table = messaging.outbox
        async with self.runtime.db.session() as session:
            rows = await session.execute(
                select(table.c.payload).where(table.c.topic == topic).order_by(table.c.seq)
            )
        return [dict(r[0]) for r in rows]


@pytest.fixture
async def svc(make_settings: SettingsFactory, clearinghouse_url: str) -> AsyncIterator[Service]:
    async with make_service(make_settings, clearinghouse_url) as service:
        yield service


def make_service(make_settings: SettingsFactory, url: str, **overrides: Any) -> Any:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def ctx() -> AsyncIterator[Service]:
        clock = ControllableClock(START)
        settings = make_settings(Settings, clearinghouse_url=url, clearinghouse_timeout_s=2.0, **overrides)
        app = create_app(settings, clock)
        async with running_app(app) as http, httpx.AsyncClient(base_url=url) as ch:
            yield Service(http=http, runtime=app.state.runtime, clock=clock, clearinghouse=ch)

    return ctx()
