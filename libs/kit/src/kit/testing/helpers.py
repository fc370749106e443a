"""Helpers tests use: run an app with its lifespan, read what a topic received, wait for a condition, build the
record a broker would deliver."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from fastapi import FastAPI

from contracts.cloudevents import Envelope

T = TypeVar("T")

DEV_INTERNAL_TOKEN = "dev-internal-token"  # KitSettings default, what test settings use


def as_role(
    role: str, *, client_id: object = None, provider_id: object = None, subject: str | None = None
) -> dict[str, str]:
    """Headers the gateway would forward for a verified caller (use on direct service test clients)."""
    headers = {
        "x-internal-token": DEV_INTERNAL_TOKEN,
        "x-parity-role": role,
        "x-parity-subject": subject or f"{role}-test",
    }
    if client_id is not None:
        headers["x-parity-client-id"] = str(client_id)
    if provider_id is not None:
        headers["x-parity-provider-id"] = str(provider_id)
    return headers


OPS = as_role("ops")


@asynccontextmanager
async def running_app(app: FastAPI, base_url: str = "http://test") -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan (workers included) and give an ASGI client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def consumer_record(
    envelope: Envelope, topic: str, partition: int, offset: int
) -> ConsumerRecord[bytes, bytes]:
    """The record a fetch from the broker would hold for this envelope (binary-mode CloudEvents headers)."""
    value = envelope.body()
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=envelope.subject.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(envelope.subject),
        serialized_value_size=len(value),
        headers=envelope.headers(),
    )


async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll `check` until it returns a truthy value; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


class TopicReader:
    """Reads what a topic received, from the beginning, without joining a consumer group."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix

    async def records(self, topic: str) -> list[Any]:
        name = self.prefix + topic
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(name)
            if partitions is None:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(name) or set()
            tps = [TopicPartition(name, p) for p in sorted(partitions)]
            if not tps:
                return []
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            out: list[Any] = []
            remaining = {tp for tp in tps if ends[tp] > 0}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=500)
                for tp, recs in batch.items():
                    out.extend(recs)
                    if recs and recs[-1].offset + 1 >= ends[tp]:
                        remaining.discard(tp)
                if not batch:
                    remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
            return out
        finally:
            await consumer.stop()

    async def events(self, topic: str) -> list[Envelope]:
        return [Envelope.from_kafka(r.headers, r.value) for r in await self.records(topic)]

    async def wait_for(
        self,
        topic: str,
        predicate: Callable[[Envelope], bool] = lambda _: True,
        *,
        count: int = 1,
        timeout: float = 15.0,
    ) -> list[Envelope]:
        """Wait until `count` events on `topic` satisfy `predicate`; returns them."""

        async def check() -> list[Envelope]:
            found = [e for e in await self.events(topic) if predicate(e)]
            return found if len(found) >= count else []

        return await eventually(check, timeout=timeout, interval=0.2, what=f"{count} event(s) on {topic}")


class ServerThread:
    """Serve an ASGI app with uvicorn on a real socket in a background thread (sandboxes, upstreams)."""

    def __init__(self, app: Any, port: int | None = None, host: str = "127.0.0.1") -> None:
        import socket

        import uvicorn

        if port is None:
            with socket.socket() as s:
                s.bind((host, 0))
                port = int(s.getsockname()[1])
        self.host, self.port = host, port
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server thread did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
