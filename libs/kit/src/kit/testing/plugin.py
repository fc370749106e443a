"""The pytest plugin (`-p kit.testing.plugin`): infrastructure for the session, isolation per test.

PostgreSQL and the broker are started by the test run unless TEST_DATABASE_URL (a URL to any database on
the server, e.g. .../postgres) and TEST_KAFKA_BOOTSTRAP_SERVERS point at external ones. Each test gets its
own database, cloned from a template that has every service's migrations, and its own topic prefix.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from kit.messaging.kafka import ensure_topics
from kit.messaging.relay import asyncpg_dsn
from kit.settings import KitSettings
from kit.testing.helpers import TopicReader

S = TypeVar("S", bound=KitSettings)

MIGRATED_PACKAGES = ("eligibility", "claims", "pricing", "notifications", "gateway")


@dataclass
class Infra:
    admin_url: str  # SQLAlchemy URL of a maintenance database on the server
    kafka: str
    managed: list[Any]

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    from devstack.infra import start_broker, start_postgres, stop_all

    managed: list[Any] = []
    admin = os.environ.get("TEST_DATABASE_URL")
    kafka = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")
    try:
        if not admin:
            pg, base = start_postgres(fast=True)
            managed.append(pg)
            admin = base + "/postgres"
        if not kafka:
            broker, kafka = start_broker()
            managed.append(broker)
        yield Infra(admin_url=admin, kafka=kafka, managed=managed)
    finally:
        stop_all(managed)


async def _admin_execute(infra: Infra, *statements: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(infra.admin_url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_database(infra: Infra) -> AsyncIterator[str]:
    """A database with every service's migrations applied, cloned for each test."""
    from kit.migrations import upgrade

    name = f"parity_tpl_{uuid.uuid4().hex[:8]}"
    await _admin_execute(infra, f'CREATE DATABASE "{name}"')
    url = infra.url_for(name)
    for package in MIGRATED_PACKAGES:
        await asyncio.to_thread(upgrade, package, url)
    yield name
    await _admin_execute(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(infra: Infra, template_database: str) -> AsyncIterator[str]:
    """A fresh, fully migrated database for this test only."""
    name = f"parity_t_{uuid.uuid4().hex[:12]}"
    await _admin_execute(infra, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}" STRATEGY FILE_COPY')
    yield infra.url_for(name)
    await _admin_execute(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
async def kafka_topics(infra: Infra, topic_prefix: str) -> list[str]:
    """Every registry topic (and dead-letter topic) created under this test's prefix."""
    return await ensure_topics(
        KitSettings(kafka_bootstrap_servers=infra.kafka, kafka_topic_prefix=topic_prefix, kafka_partitions=3)
    )


@pytest.fixture
def topics(infra: Infra, topic_prefix: str, kafka_topics: list[str]) -> TopicReader:
    """Read what this test's topics received."""
    return TopicReader(infra.kafka, topic_prefix)


class SettingsFactory:
    """Builds any service's settings pointed at this test's database, broker and topic prefix."""

    def __init__(self, database_url: str, kafka: str, prefix: str) -> None:
        self.database_url = database_url
        self.kafka = kafka
        self.prefix = prefix

    def __call__(self, cls: type[S], **overrides: Any) -> S:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": self.database_url,
            "database_pool_size": 5,
            "database_max_overflow": 5,
            "kafka_bootstrap_servers": self.kafka,
            "kafka_topic_prefix": self.prefix,
            "kafka_partitions": 3,
            "kafka_session_timeout_ms": 1_000,
            "relay_poll_interval_s": 0.05,
            "consumer_retry_backoff_s": 0.01,
            "run_relay": False,
            "run_consumers": False,
            "run_scheduler": False,
        }
        values.update(overrides)
        return cls(**values)


@pytest.fixture
def make_settings(database_url: str, infra: Infra, topic_prefix: str) -> SettingsFactory:
    """`make_settings(eligibility.config.Settings, run_consumers=True)`; workers are off unless asked for."""
    return SettingsFactory(database_url, infra.kafka, topic_prefix)
