"""Claims test fixtures: the app on a frozen controllable clock, the sandbox clearinghouse and a stand-in for
eligibility's two internal endpoints served over the network, and helpers to build providers and clients."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, HTTPException
from stdnum import luhn

from claims.config import Settings
from claims.main import create_app
from contracts.base import Event
from contracts.cloudevents import Envelope
from contracts.events import ClientStatusChanged, CoverageStatusChanged
from kit.clock import ControllableClock
from kit.runtime import Runtime
from kit.testing.helpers import as_role, running_app
from kit.testing.plugin import SettingsFactory
from sandbox.clearinghouse.app import create_app as create_clearinghouse

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday
OPS = as_role("ops")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    """Serve ASGI apps over real HTTP on free ports, inside this test's event loop."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(app: FastAPI) -> str:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        task = asyncio.create_task(server.serve())
        servers.append((server, task))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, task in servers:
        server.should_exit = True
        await task


@dataclass
class EligibilityStandIn:
    """Eligibility's internal client and coverage endpoints, answering the same truth the test fed as events."""

    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    coverages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/internal/clients/{client_id}")
        async def client(client_id: str) -> dict[str, Any]:
            if client_id not in self.clients:
                raise HTTPException(404)
            return self.clients[client_id]

        @app.get("/internal/clients/{client_id}/active-coverage")
        async def active_coverage(client_id: str) -> dict[str, Any]:
            active = [
                c for c in self.coverages.values() if c["client_id"] == client_id and c["status"] == "active"
            ]
            if not active:
                raise HTTPException(404)
            return active[-1]

        @app.get("/internal/coverages/{coverage_id}")
        async def coverage(coverage_id: str) -> dict[str, Any]:
            if coverage_id not in self.coverages:
                raise HTTPException(404)
            return self.coverages[coverage_id]

        return app


@dataclass
class Claims:
    client: httpx.AsyncClient
    runtime: Runtime
    clock: ControllableClock
    eligibility: EligibilityStandIn
    clearinghouse_url: str

    async def feed(self, *events: Event) -> None:
        """Deliver eligibility's events through our real consumer (idempotency and handlers included)."""
        for event in events:
            await self.runtime.consumers[0].process(Envelope.wrap(event, source="urn:parity:eligibility"))

    async def client_with_coverage(
        self,
        payer_id: str,
        *,
        cleared: bool = True,
        coverage_status: str = "active",
        relationship: str = "self",
    ) -> tuple[uuid.UUID, uuid.UUID]:
        client_id, coverage_id = uuid.uuid4(), uuid.uuid4()
        await self.feed(
            ClientStatusChanged(
                client_id=client_id,
                account_status="active" if cleared else "paused",
                cleared_for_scheduling=cleared,
                changed_at=START,
            ),
            CoverageStatusChanged(
                coverage_id=coverage_id,
                client_id=client_id,
                payer_id=payer_id,
                status=coverage_status,
                changed_at=START,  # type: ignore[arg-type]
            ),
        )
        self.eligibility.clients[str(client_id)] = {
            "id": str(client_id),
            "first_name": "JANE",
            "last_name": "DOE",
            "date_of_birth": "1990-01-02",
            "email": "jane@example.com",
            "home_state": "NY",
            "account_status": "active" if cleared else "paused",
            "cleared_for_scheduling": cleared,
        }
        self.eligibility.coverages[str(coverage_id)] = {
            "id": str(coverage_id),
            "client_id": str(client_id),
            "payer_id": payer_id,
            "member_id": "YLS123456",
            "group_number": "G-1",
            "status": coverage_status,
            "status_reason": None,
            "subscriber": {
                "first_name": "JANE",
                "last_name": "DOE",
                "date_of_birth": "1990-01-02",
                "relationship": relationship,
            },
        }
        return client_id, coverage_id


def npi(seed: int) -> str:
    base = f"{100000000 + seed:09d}"[:9]
    return base + luhn.calc_check_digit("80840" + base)


_counter = iter(range(1, 10_000))


async def make_provider(
    claims: Claims,
    *,
    licences: list[str],
    credentials: list[tuple[str, str, str]],
    practice_state: str = "NY",
) -> uuid.UUID:
    provider_id = uuid.uuid4()
    body = {
        "npi": npi(next(_counter)),
        "name": "Dr Test",
        "email": "dr@example.com",
        "practice_locations": [
            {"state": practice_state, "address_line": "2 Office Rd", "city": "Town", "postal_code": "12207"}
        ],
        "licences": [
            {"state": s, "type": "LCSW", "number": f"L-{s}", "expires_on": "2027-12-31"} for s in licences
        ],
        "credentials": [{"payer_id": p, "state": s, "network": n} for p, s, n in credentials],
    }
    r = await claims.client.post(
        "/v1/providers", json=body, headers=as_role("provider", provider_id=provider_id)
    )
    assert r.status_code == 201, r.text
    return provider_id


async def add_location(
    claims: Claims,
    client_id: uuid.UUID,
    state: str,
    kind: str = "residence",
    exact: bool = True,
    seen_by: uuid.UUID | None = None,
) -> uuid.UUID:
    """The client adds a location; with `seen_by`, the client first adds that provider to their care team."""
    if seen_by is not None:
        joined = await claims.client.post(
            f"/v1/clients/{client_id}/care-team",
            json={"provider_id": str(seen_by)},
            headers=as_role("client", client_id=client_id),
        )
        assert joined.status_code == 201, joined.text
    body: dict[str, Any] = {"state": state, "kind": kind}
    if exact:
        body |= {"address_line": "1 Main St", "city": "Somewhere", "postal_code": "10001"}
    r = await claims.client.post(
        f"/v1/clients/{client_id}/locations", json=body, headers=as_role("client", client_id=client_id)
    )
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def session_body(
    provider_id: uuid.UUID, client_id: uuid.UUID, location_id: uuid.UUID, **overrides: Any
) -> dict[str, Any]:
    body = {
        "provider_id": str(provider_id),
        "client_id": str(client_id),
        "client_location_id": str(location_id),
        "date_of_service": date(2026, 3, 2).isoformat(),
        "cpt_code": "90834",
        "duration_minutes": 45,
        "icd10_codes": ["F32.9"],
        "place_of_service": "10",
        "telehealth_modifier": "95",
    }
    body.update(overrides)
    return body


async def produce(settings: Settings, *events: Event) -> None:
    """Publish events on the broker the way another service's relay would."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False)
    await producer.start()
    try:
        for event in events:
            env = Envelope.wrap(event, source="urn:parity:eligibility")
            await producer.send_and_wait(
                settings.topic(type(event).topic),
                key=env.subject.encode(),
                value=env.body(),
                headers=env.headers(),
            )
    finally:
        await producer.stop()


@pytest.fixture
async def claims_net(
    make_settings: SettingsFactory, serve: Any, kafka_topics: list[str]
) -> AsyncIterator[Claims]:
    """The claims app served over HTTP with its relay and consumers running (the clearinghouse pushes to it)."""
    eligibility = EligibilityStandIn()
    eligibility_url = await serve(eligibility.app())
    clearinghouse_url = await serve(create_clearinghouse())
    settings = make_settings(
        Settings,
        eligibility_url=eligibility_url,
        clearinghouse_url=clearinghouse_url,
        run_relay=True,
        run_consumers=True,
    )
    clock = ControllableClock(START)
    app = create_app(settings, clock=clock)
    url = await serve(app)
    async with httpx.AsyncClient(base_url=url) as client:
        yield Claims(client, app.state.runtime, clock, eligibility, clearinghouse_url)


@pytest.fixture
async def claims(make_settings: SettingsFactory, serve: Any) -> AsyncIterator[Claims]:
    eligibility = EligibilityStandIn()
    eligibility_url = await serve(eligibility.app())
    clearinghouse_url = await serve(create_clearinghouse())
    settings = make_settings(Settings, eligibility_url=eligibility_url, clearinghouse_url=clearinghouse_url)
    clock = ControllableClock(START)
    app = create_app(settings, clock=clock)
    async with running_app(app) as client:
        yield Claims(client, app.state.runtime, clock, eligibility, clearinghouse_url)
