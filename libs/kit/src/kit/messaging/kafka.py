"""Broker plumbing: producers that never rely on idempotence (Tansu rejects it), and topic creation."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts import all_topics
from kit.settings import KitSettings

log = logging.getLogger("kit.kafka")


def make_producer(settings: KitSettings, **overrides: object) -> AIOKafkaProducer:
    """A producer for relays and dead-letter publishing. acks=all; duplicates are absorbed by consumers."""
    options: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": f"{settings.service_name}-producer",
        "acks": "all",
        "enable_idempotence": False,
        "linger_ms": 2,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 200,
        "compression_type": None,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def start_with_retry(client: AIOKafkaProducer | AIOKafkaConsumer, *, what: str = "producer") -> None:
    """Start a Kafka client, waiting for the broker as long as it takes (it may start after us)."""
    delay = 0.2
    while True:
        try:
            await client.start()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("broker not reachable yet", extra={"client": what, "error": type(exc).__name__})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def ensure_topics(settings: KitSettings, topics: list[str] | None = None) -> list[str]:
    """Create every registry topic (and its dead-letter topic) under the configured prefix; idempotent."""
    names = [settings.topic(t) for t in (topics if topics is not None else all_topics())]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(n, settings.kafka_partitions, settings.kafka_replication_factor)
            for n in names
            if n not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        return names
    finally:
        await admin.close()


async def broker_reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """True when a TCP connection to the first reachable bootstrap server opens in time."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host or "127.0.0.1", int(port)), timeout
            )
        except (OSError, TimeoutError, ValueError):
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False
