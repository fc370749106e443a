"""When the embedded broker answers a waiting fetch: one FetchRequest at a time against Tansu (as `devstack`
starts it), a record produced at a chosen time into the fetch's wait, and when the fetch came back. Prints the
broker's CPU while one consumer waits, for a few waits. `python -m bench.broker_fetch_wait`."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest

from devstack.infra import start_broker

TOPIC = "fetch-wait"
WAITS_MS = (500, 200, 100, 50)


async def _fetch(client: AIOKafkaClient, node: int, offset: int, wait_ms: int) -> tuple[float, bool, int]:
    """(ms the broker held the fetch, whether it carried records, the high watermark)."""
    request = FetchRequest(wait_ms, 1, 1 << 20, 0, [(TOPIC, [(0, offset, 1 << 20)])])
    started = time.monotonic()
    response = await client.send(node, request)
    partition = response.topics[0][1][0]
    return (time.monotonic() - started) * 1000, bool(partition[-1]), int(partition[2])


async def _idle_cpu(bootstrap: str, broker: psutil.Process, wait_ms: int, seconds: float = 5.0) -> float:
    """Broker CPU (ms/s) while one consumer of one partition waits for records that do not come."""
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, fetch_max_wait_ms=wait_ms)
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=1000)
        before, started = broker.cpu_times(), time.monotonic()
        deadline = started + seconds
        while time.monotonic() < deadline:
            await consumer.getmany(timeout_ms=200)
        after = broker.cpu_times()
        used = (after.user + after.system) - (before.user + before.system)
        return 1000 * used / (time.monotonic() - started)
    finally:
        await consumer.stop()


async def measure(bootstrap: str, broker: psutil.Process) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(TOPIC, 1, 1)])
    await admin.close()
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await client.bootstrap()
    await producer.start()
    lines = [
        "| fetch wait ms | record produced at ms | fetch answered at ms | record waited ms |",
        "|---:|---:|---:|---:|",
    ]
    try:
        node = next(iter(client.cluster.brokers())).nodeId
        await producer.send_and_wait(TOPIC, b"x", partition=0)
        offset = 1
        for wait_ms in WAITS_MS:
            empty, _, _ = await _fetch(client, node, offset, wait_ms)
            ready, _, _ = await _fetch(client, node, 0, wait_ms)
            lines.append(f"| {wait_ms} | none | {empty:.0f} | - |")
            lines.append(f"| {wait_ms} | before the fetch | {ready:.0f} | {ready:.0f} |")
            for fraction in (0.02, 0.1, 0.3, 0.45, 0.55, 0.7, 0.8, 0.9):
                at = wait_ms * fraction
                fetch = asyncio.ensure_future(_fetch(client, node, offset, wait_ms))
                await asyncio.sleep(at / 1000)
                await producer.send_and_wait(TOPIC, b"x", partition=0)
                held, got, offset = await fetch
                lines.append(
                    f"| {wait_ms} | {at:.0f} | {held:.0f} | {held - at:.0f} |"
                    if got
                    else f"| {wait_ms} | {at:.0f} | {held:.0f} (empty) | - |"
                )
                while not got:
                    _, got, offset = await _fetch(client, node, offset, wait_ms)
        lines.append("")
        for wait_ms in WAITS_MS:
            lines.append(
                f"Broker CPU, one consumer waiting with fetch_max_wait_ms={wait_ms}: {await _idle_cpu(bootstrap, broker, wait_ms):.1f} ms/s"
            )
    finally:
        await producer.stop()
        await client.close()
    return lines


def main() -> None:
    managed, bootstrap = start_broker(log_dir=Path(tempfile.mkdtemp(prefix="parity-fetch-wait-")))
    try:
        lines = asyncio.run(measure(bootstrap, psutil.Process(managed.proc.pid)))
    finally:
        managed.stop()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
