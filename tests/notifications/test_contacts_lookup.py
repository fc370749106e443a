"""The sender looks up the clients of a batch in one call to the real eligibility service (its own process
state, its own schema in this test's PostgreSQL, served over a socket); each e-mail still gets its own
outcome: sent, or left for a retry when its client is unknown or eligibility is unreachable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from contracts.events import CobRecertificationDue
from eligibility.config import Settings as EligibilitySettings
from eligibility.main import create_app as create_eligibility
from kit.clock import ControllableClock
from kit.testing.helpers import OPS, ServerThread, running_app
from kit.testing.plugin import SettingsFactory
from notifications.main import create_app
from tests.notifications.conftest import (
    START,
    Harness,
    Smtp,
    StandIns,
    free_port,
    notifications_settings,
    text_of,
)


@pytest.fixture
def eligibility(make_settings: SettingsFactory) -> Iterator[str]:
    app = create_eligibility(make_settings(EligibilitySettings), ControllableClock(START))
    with ServerThread(app) as server:
        yield server.url


async def _harness(
    make_settings: SettingsFactory, smtp: Smtp, stand_ins: StandIns, eligibility_url: str
) -> AsyncIterator[tuple[Harness, list[httpx.Request]]]:
    settings = notifications_settings(make_settings, smtp, stand_ins).model_copy(
        update={"eligibility_url": eligibility_url}
    )
    clock = ControllableClock(START)
    app = create_app(settings, clock=clock)
    async with running_app(app) as client:
        runtime = app.state.runtime
        requests: list[httpx.Request] = []

        async def seen(request: httpx.Request) -> None:
            if request.url.port == httpx.URL(eligibility_url).port:
                requests.append(request)

        runtime.http.event_hooks["request"].append(seen)
        yield Harness(client, runtime, clock, smtp, stand_ins), requests


@pytest.fixture
async def with_eligibility(
    make_settings: SettingsFactory, smtp: Smtp, stand_ins: StandIns, eligibility: str
) -> AsyncIterator[tuple[Harness, list[httpx.Request]]]:
    async for pair in _harness(make_settings, smtp, stand_ins, eligibility):
        yield pair


@pytest.fixture
async def eligibility_down(
    make_settings: SettingsFactory, smtp: Smtp, stand_ins: StandIns
) -> AsyncIterator[tuple[Harness, list[httpx.Request]]]:
    async for pair in _harness(make_settings, smtp, stand_ins, f"http://127.0.0.1:{free_port()}"):
        yield pair


def _reminder(client_id: uuid.UUID) -> CobRecertificationDue:
    return CobRecertificationDue(coverage_id=uuid.uuid4(), client_id=client_id, due_date=START.date())


async def _register(url: str, first: str) -> tuple[uuid.UUID, str]:
    address = f"{first.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    body = {"first_name": first, "last_name": "Tester", "date_of_birth": "1990-04-12", "email": address}
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post("/v1/clients", json={**body, "home_state": "NY"}, headers=OPS)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"]), address


async def test_a_batch_of_emails_looks_up_its_clients_in_one_call_and_an_unknown_client_waits_for_a_retry(
    with_eligibility: tuple[Harness, list[httpx.Request]], eligibility: str
) -> None:
    notif, requests = with_eligibility
    clients = [await _register(eligibility, name) for name in ("Ada", "Grace", "Edsger")]
    unknown = uuid.uuid4()
    for client_id, _ in clients:
        await notif.deliver(_reminder(client_id))
    await notif.deliver(_reminder(unknown))

    assert await notif.send() == 4

    assert [(r.method, r.url.path) for r in requests] == [("POST", "/internal/clients/contacts")]
    for (_, address), name in zip(clients, ("Ada", "Grace", "Edsger"), strict=True):
        [message] = notif.smtp.to(address)
        assert text_of(message).startswith(f"Hi {name},")
    rows = {n.recipient_id: n for n in await notif.notifications()}
    assert {rows[c].status for c, _ in clients} == {"sent"}
    assert rows[unknown].status == "pending"
    assert rows[unknown].last_error == f"HTTP 404 from {eligibility}"


async def test_contacts_already_known_are_not_looked_up_again(
    with_eligibility: tuple[Harness, list[httpx.Request]], eligibility: str
) -> None:
    notif, requests = with_eligibility
    client_id, address = await _register(eligibility, "Ada")
    await notif.deliver(_reminder(client_id))
    await notif.send()
    await notif.deliver(_reminder(client_id))
    await notif.send()
    assert len(notif.smtp.to(address)) == 2
    assert len(requests) == 1


async def test_eligibility_unreachable_leaves_every_email_of_the_batch_for_a_retry(
    eligibility_down: tuple[Harness, list[httpx.Request]],
) -> None:
    notif, _ = eligibility_down
    for _ in range(3):
        await notif.deliver(_reminder(uuid.uuid4()))
    assert await notif.send() == 3
    rows = await notif.notifications()
    assert [r.status for r in rows] == ["pending"] * 3
    assert {r.last_error for r in rows} == {f"ConnectError from {notif.runtime.settings.eligibility_url}"}
    assert [r.attempts for r in rows] == [1] * 3
