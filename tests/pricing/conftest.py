"""Pricing test harness: the real app on this test's database, events handed to the real consumer, and the
card-processor sandbox served over the network by uvicorn on a free port."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select, text

from contracts.base import Event
from contracts.cloudevents import Envelope
from contracts.events import BenefitValues, SessionConfirmed
from kit.clock import ControllableClock
from kit.runtime import Runtime
from kit.testing.helpers import running_app
from kit.testing.plugin import SettingsFactory
from pricing.config import Settings
from pricing.main import create_app
from pricing.models import messaging
from sandbox.cardprocessor.app import create_app as create_processor

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    app: FastAPI


@pytest.fixture(scope="session")
def card_processor() -> Iterator[Served]:
    """The card-processor sandbox over real HTTP; `tok_timeout` answers after 3 s (past our 1 s timeout)."""
    app = create_processor(slow_seconds=3.0)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        threading.Event().wait(0.02)
    yield Served(url, app)
    server.should_exit = True
    thread.join(timeout=5)


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    clock: ControllableClock

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    async def deliver(self, event: Event) -> Envelope:
        """Hand an event to the service's real consumer (idempotency record and all), without the broker."""
        envelope = Envelope.wrap(event, source="test")
        await self.runtime.consumers[0].process(envelope)
        return envelope

    async def published(self, topic: str) -> list[dict[str, Any]]:
        """Payloads this service put in its outbox for `topic`, in order."""
        t = messaging.outbox
        async with self.runtime.db.session() as s:
            rows = await s.execute(select(t.c.payload).where(t.c.topic == topic).order_by(t.c.seq))
            return [r.payload for r in rows]

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.runtime.db.session() as s:
            return (await s.execute(text(sql), params)).scalar()


@pytest.fixture
async def pricing(make_settings: SettingsFactory, card_processor: Served) -> AsyncIterator[Harness]:
    settings = make_settings(Settings, card_processor_url=card_processor.url, card_processor_timeout_s=1.0)
    clock = ControllableClock(NOW)
    app = create_app(settings, clock=clock)
    async with running_app(app) as client:
        yield Harness(app, client, clock)


def confirmed(
    client_id: UUID,
    *,
    day: date,
    coverage_id: UUID | None = None,
    payer_id: str | None = "aetna",
    cpt: str = "90837",
    route: str = "standard",
    session_id: UUID | None = None,
    provider_id: UUID | None = None,
) -> SessionConfirmed:
    return SessionConfirmed(
        session_id=session_id or uuid4(),
        client_id=client_id,
        provider_id=provider_id or uuid4(),
        coverage_id=coverage_id,
        payer_id=payer_id if coverage_id else None,
        date_of_service=day,
        cpt_code=cpt,
        billing_route=route,  # type: ignore[arg-type]
        confirmed_at=NOW,
    )


def benefits(
    *,
    start: date = date(2026, 1, 1),
    end: date = date(2026, 12, 31),
    copay: str | None = "20.00",
    coinsurance: str | None = None,
    deductible: str = "0.00",
    deductible_met: str = "0.00",
    oop_max: str = "3000.00",
    oop_met: str = "0.00",
) -> BenefitValues:
    return BenefitValues(
        plan_year_start=start,
        plan_year_end=end,
        copay=Decimal(copay) if copay else None,
        coinsurance_rate=Decimal(coinsurance) if coinsurance else None,
        deductible=Decimal(deductible),
        deductible_met=Decimal(deductible_met),
        out_of_pocket_max=Decimal(oop_max),
        out_of_pocket_met=Decimal(oop_met),
    )


async def settle(*coros: Any) -> list[Any]:
    return list(await asyncio.gather(*coros))
