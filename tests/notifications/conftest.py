"""Fixtures for the notifications tests: a real SMTP server (aiosmtpd, devstack.mail), stand-ins for the
other services' internal endpoints served over a real socket, and the service itself with a frozen clock.

The stand-in app serves exactly the internal endpoints notifications calls (eligibility's client contacts,
claims' provider contacts, pricing's invoice PDF). Those services are not ours and are being written at the
same time; the stand-in speaks their documented contract over HTTP, so our client code runs for real.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
import uvicorn
from aiokafka import ConsumerRecord, TopicPartition
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from httpx import AsyncClient
from sqlalchemy import select

from contracts.base import Event
from contracts.cloudevents import Envelope
from devstack.mail import Mailbox, start_smtp
from kit.clock import ControllableClock
from kit.runtime import Runtime
from kit.testing.helpers import consumer_record, running_app
from kit.testing.plugin import SettingsFactory
from notifications.config import Settings
from notifications.delivery.sender import drain
from notifications.main import create_app
from notifications.models import Notification

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Smtp:
    """A real SMTP server that keeps what it accepts; it can be stopped and started to simulate an outage."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self._controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = start_smtp(self.mailbox, self.port)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m.message for m in self.mailbox.to(address)]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return " ".join(str(part.get_content()).split())  # one line: the template's wrapping does not matter


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


@dataclass
class StandIns:
    """Contacts and invoices the stand-in services serve (what eligibility, claims and pricing own)."""

    url: str = ""
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, bytes] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def client(
        self, *, first: str = "Jane", last: str = "Doe", email: str | None = None
    ) -> tuple[uuid.UUID, str]:
        cid = uuid.uuid4()
        address = email or f"client-{cid.hex[:10]}@example.test"
        self.clients[str(cid)] = {"id": str(cid), "first_name": first, "last_name": last, "email": address}
        return cid, address

    def provider(self, *, name: str = "Dr. Ana Ortiz", email: str | None = None) -> tuple[uuid.UUID, str]:
        pid = uuid.uuid4()
        address = email or f"provider-{pid.hex[:10]}@example.test"
        self.providers[str(pid)] = {"id": str(pid), "name": name, "email": address, "npi": "1234567893"}
        return pid, address


def _stand_in_app(data: StandIns) -> FastAPI:
    app = FastAPI()

    @app.get("/internal/clients/{client_id}")
    async def client(client_id: str) -> Any:
        data.calls.append(f"client:{client_id}")
        found = data.clients.get(client_id)
        return found if found else JSONResponse({"detail": "no such client"}, status_code=404)

    @app.post("/internal/clients/contacts")
    async def client_contacts(body: dict[str, list[str]]) -> Any:
        data.calls += [f"client:{client_id}" for client_id in body["ids"]]
        return {"contacts": [data.clients[c] for c in body["ids"] if c in data.clients]}

    @app.get("/internal/providers/{provider_id}")
    async def provider(provider_id: str) -> Any:
        data.calls.append(f"provider:{provider_id}")
        found = data.providers.get(provider_id)
        return found if found else JSONResponse({"detail": "no such provider"}, status_code=404)

    @app.get("/internal/sessions/{session_id}/invoice.pdf")
    async def invoice(session_id: str) -> Any:
        found = data.invoices.get(session_id)
        if found is None:
            return JSONResponse({"detail": "no invoice"}, status_code=404)
        return Response(found, media_type="application/pdf")

    return app


@pytest.fixture(scope="session")
def stand_ins() -> Iterator[StandIns]:
    data = StandIns()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(_stand_in_app(data), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    data.url = f"http://127.0.0.1:{port}"
    yield data
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    yield server
    server.stop()


@dataclass
class Harness:
    client: AsyncClient
    runtime: Runtime
    clock: ControllableClock
    smtp: Smtp
    stand_ins: StandIns

    async def deliver(self, event: Event | Envelope) -> Envelope:
        """Hand an event to the service's real consumer (idempotency and handler), without the broker."""
        envelope = event if isinstance(event, Envelope) else Envelope.wrap(event, source="test")
        await self.runtime.consumers[0].process(envelope)
        return envelope

    async def deliver_fetched(self, *partitions: list[Envelope]) -> None:
        """Hand the service's real consumer what one fetch from the broker might hold: each list is one
        partition of its events' topic, in the order given (the broker may answer partitions in any order)."""
        fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for number, envelopes in enumerate(partitions):
            topic = envelopes[0].payload().topic
            records = [consumer_record(e, topic, number, offset) for offset, e in enumerate(envelopes)]
            fetched[TopicPartition(topic, number)] = records
        await self.runtime.consumers[0]._process_fetched(fetched)

    async def send(self) -> int:
        """Run the sender once, as its periodic job does."""
        return await drain(self.runtime)

    async def notifications(self) -> list[Notification]:
        async with self.runtime.db.session() as session:
            rows = await session.scalars(select(Notification).order_by(Notification.created_at))
            return list(rows)


def notifications_settings(
    make_settings: SettingsFactory, smtp: Smtp, stand_ins: StandIns, **extra: Any
) -> Settings:
    return make_settings(
        Settings,
        smtp_url=smtp.url,
        smtp_timeout_s=5.0,
        eligibility_url=stand_ins.url,
        claims_url=stand_ins.url,
        pricing_url=stand_ins.url,
        frontend_url="https://app.parity.test",
        support_url="https://app.parity.test/support",
        **extra,
    )


@pytest.fixture
async def notif(make_settings: SettingsFactory, smtp: Smtp, stand_ins: StandIns) -> AsyncIterator[Harness]:
    clock = ControllableClock(START)
    app = create_app(notifications_settings(make_settings, smtp, stand_ins), clock=clock)
    async with running_app(app) as client:
        yield Harness(client, app.state.runtime, clock, smtp, stand_ins)
