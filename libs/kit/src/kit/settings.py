"""Settings every service reads from the environment (pydantic-settings). Services subclass KitSettings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KitSettings(BaseSettings):
    """The plumbing a service needs: where its database, broker and peers are."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    service_name: str = "parity"
    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"

    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:54329/parity",
        description="SQLAlchemy async URL; every service uses its own schema in it.",
    )
    database_pool_size: int = 10
    database_max_overflow: int = 5

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_topic_prefix: str = Field(
        default="", description="Prepended to every topic name (test isolation, shared clusters)."
    )
    kafka_partitions: int = 6
    kafka_replication_factor: int = 1
    kafka_session_timeout_ms: int = Field(
        default=10_000, description="Consumer-group session timeout; Tansu holds a join for half of it."
    )

    kafka_fetch_max_wait_ms: int = Field(
        default=100,
        ge=1,
        le=30_000,
        description="How long the broker may hold a consumer's fetch while it has no new records (aiokafka "
        "`fetch_max_wait_ms`). Apache Kafka answers a waiting fetch as soon as a record arrives, so this only "
        "bounds empty fetches there; Tansu instead looks for records at half of what is left of the wait "
        "(after wait/2, 3/4, ...), so on Tansu a record waits up to half of this in the broker, and a shorter "
        "wait costs the broker more CPU while idle (docs/architecture.md, 'Consumer fetch wait').",
    )

    run_relay: bool = Field(default=True, description="Run the outbox relay in this process.")
    run_consumers: bool = Field(
        default=True, description="Run this service's event consumers in this process."
    )
    run_scheduler: bool = Field(default=True, description="Run this service's periodic jobs in this process.")
    relay_batch_size: int = 2000
    relay_poll_interval_s: float = Field(
        default=2.0,
        gt=0,
        description="How often the relay looks at the outbox unprompted. Commits wake it at once (NOTIFY from the "
        "outbox's trigger), and it looks again on every reconnect of its listener; this is the safety net.",
    )
    relay_linger_s: float = Field(
        default=0.005,
        ge=0,
        description="After a wake-up, how long the relay lets more commits gather before it claims a batch: "
        "under a steady stream of small transactions it sends one batch per few milliseconds instead of one per "
        "commit, for at most this much added latency.",
    )
    consumer_max_attempts: int = 3
    consumer_retry_backoff_s: float = 0.2

    # Internal service URLs (the gateway routes to these; services call each other's internal APIs).
    eligibility_url: str = "http://127.0.0.1:8101"
    claims_url: str = "http://127.0.0.1:8102"
    pricing_url: str = "http://127.0.0.1:8103"
    notifications_url: str = "http://127.0.0.1:8104"
    internal_token: str = Field(
        default="dev-internal-token",
        description="Shared secret on service-to-service calls and gateway-forwarded requests.",
    )

    otel_exporter: Literal["none", "console", "otlp"] = "none"
    otel_endpoint: str | None = None

    def topic(self, name: str) -> str:
        """The broker-side name of a logical topic."""
        return f"{self.kafka_topic_prefix}{name}"

    def logical_topic(self, name: str) -> str:
        return name[len(self.kafka_topic_prefix) :] if name.startswith(self.kafka_topic_prefix) else name

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept a plain postgres:// URL (as ops tools write it) and use the asyncpg driver."""
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        return value
