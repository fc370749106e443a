"""A burst of verifications against a slow clearinghouse: every one is served, the 270s are in flight side by
side, and no database connection is held while one is."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from eligibility.verification.clearinghouse import ClearinghouseClient
from eligibility.verification.slots import Slots
from kit.testing.helpers import OPS
from kit.testing.plugin import SettingsFactory
from tests.eligibility.conftest import Service, make_service

SLOTS = 2
PLAN = {"plan_year_start": "2026-01-01", "plan_year_end": "2026-12-31", "copay": "20.00"}


class Watched:
    """aiohttp's request hooks on the real pool to the sandbox, noting how many 270s are in flight and how
    many database connections the service has checked out while each one is."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.in_flight = 0
        self.peak_in_flight = 0
        self.connections_during_calls: list[int] = []
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._start)
        self.config.on_request_end.append(self._end)
        self.config.on_request_exception.append(self._end)

    async def _start(self, *_: Any) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    async def _end(self, *_: Any) -> None:
        self.connections_during_calls.append(self.pool.checkedout())
        self.in_flight -= 1


async def _watch(svc: Service) -> Watched:
    watched = Watched(svc.runtime.db.engine.pool)
    old = svc.runtime.extras["clearinghouse_http"]
    await old.aclose()
    new = ClearinghouseClient(old.max_connections, trace_configs=[watched.config])
    svc.runtime.extras["clearinghouse_http"] = new
    svc.runtime.on_stop(new.aclose)
    return watched


async def _coverages(svc: Service, n: int, *, tag: str, delay: float) -> list[str]:
    ids = []
    for i in range(n):
        member_id = f"{tag}{i:04d}"
        await svc.stage(member_id, benefits=PLAN, delay_seconds=delay)
        client = await svc.register(email=f"{tag.lower()}{i}@example.com")
        ids.append((await svc.enter(client["id"], member_id))["id"])
    return ids


async def test_a_burst_larger_than_the_pool_is_served_with_the_270s_in_flight_together(
    make_settings: SettingsFactory, clearinghouse_url: str
) -> None:
    # four connections, two of them for verifications, against 40 the sandbox answers after 0.5 s each
    async with make_service(
        make_settings,
        clearinghouse_url,
        database_pool_size=4,
        database_max_overflow=0,
        verification_db_slots=SLOTS,
    ) as svc:
        coverages = await _coverages(svc, 40, tag="BURST", delay=0.5)
        watched = await _watch(svc)
        answers = await asyncio.gather(
            *(svc.http.post(f"/v1/coverages/{c}/verify", headers=OPS) for c in coverages)
        )
        assert [a.status_code for a in answers] == [200] * 40, [
            a.text for a in answers if a.status_code != 200
        ]
        assert {a.json()["outcome"] for a in answers} == {"active"}
        assert len(await svc.outbox("benefits.changed")) == 40
        # more 270s were out at once than there are connections: the partner calls overlap
        assert watched.peak_in_flight > SLOTS
        # while the verifications never held more connections than their slots
        assert max(watched.connections_during_calls) <= SLOTS


async def test_no_database_connection_is_held_while_the_270_is_out(svc: Service) -> None:
    (coverage,) = await _coverages(svc, 1, tag="HELD", delay=0.2)
    watched = await _watch(svc)
    assert (await svc.verify(coverage))["outcome"] == "active"
    assert watched.connections_during_calls == [0]


async def test_a_verification_recording_its_answer_goes_before_one_not_started() -> None:
    slots = Slots(1)
    order: list[str] = []

    async def take(name: str, *, finishing: bool) -> None:
        async with slots.hold(finishing=finishing):
            order.append(name)
            await asyncio.sleep(0)

    async with slots.hold(finishing=False):
        waiting = [
            asyncio.create_task(take("start-1", finishing=False)),
            asyncio.create_task(take("start-2", finishing=False)),
            asyncio.create_task(take("finish-1", finishing=True)),
        ]
        await asyncio.sleep(0)
        assert slots.waiting == 3
    await asyncio.gather(*waiting)
    assert order == ["finish-1", "start-1", "start-2"]
    assert (slots.in_use, slots.waiting) == (0, 0)


async def test_a_cancelled_waiter_does_not_lose_the_slot() -> None:
    slots = Slots(1)
    async with slots.hold(finishing=False):
        cancelled = asyncio.create_task(slots.hold(finishing=True).__aenter__())
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.sleep(0)
    async with asyncio.timeout(1), slots.hold(finishing=False):
        assert slots.in_use == 1
    assert slots.in_use == 0
