"""The topic init step (compose `topics`, the k8s Job): create every contract topic and its dead-letter
topic, idempotently. Event topics get KAFKA_PARTITIONS partitions (they bound consumer parallelism);
dead-letter topics get DLQ_PARTITIONS, since only people and the replay tool read them.

Broker address, prefix, partitions and replication factor are read the way the services read them
(KitSettings). The broker may start after us, so failures are retried until --timeout seconds have passed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from contracts import DLQ_SUFFIX, all_topics
from kit.messaging.kafka import ensure_topics
from kit.settings import KitSettings

DLQ_PARTITIONS = 1

log = logging.getLogger("parity.topics")


async def create_all(settings: KitSettings) -> list[str]:
    """Create the event topics and the dead-letter topics; returns every broker-side name."""
    events = all_topics(with_dlq=False)
    dead_letters = [t + DLQ_SUFFIX for t in events]
    dlq_settings = settings.model_copy(update={"kafka_partitions": DLQ_PARTITIONS})
    return [*await ensure_topics(settings, events), *await ensure_topics(dlq_settings, dead_letters)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to keep retrying (default 300)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = KitSettings()
    deadline = time.monotonic() + args.timeout
    delay = 0.5
    while True:
        try:
            names = asyncio.run(create_all(settings))
            break
        except Exception as exc:
            if time.monotonic() >= deadline:
                log.error("could not create topics: %r", exc)
                return 1
            log.warning("broker not ready (%s); retrying in %.1fs", type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    log.info(
        "%d topics ready (%d partitions, dead letters %d)",
        len(names),
        settings.kafka_partitions,
        DLQ_PARTITIONS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
