"""Settings of the notifications service."""

from __future__ import annotations

from pydantic import Field, field_validator

from kit.settings import KitSettings
from notifications.delivery.smtp import parse_smtp_url


class Settings(KitSettings):
    service_name: str = "notifications"

    smtp_url: str = Field(
        default="smtp://127.0.0.1:2525",
        description="smtp://[user:pass@]host:port[?starttls=true|false] or smtps://... (implicit TLS).",
    )
    smtp_timeout_s: float = 10.0
    mail_from: str = "Parity <no-reply@parity.local>"
    frontend_url: str = Field(default="http://127.0.0.1:3000", description="Base of links in e-mails.")
    support_url: str = Field(
        default="http://127.0.0.1:3000/support", description="Where a person tells us something is fixed."
    )

    sender_interval_s: float = Field(
        default=0.5,
        description="How often the sender looks for due e-mails when nothing wakes it (retries coming due).",
    )
    sender_batch_size: int = 50
    sender_concurrency: int = Field(
        default=4, description="SMTP connections a batch is sent over at the same time."
    )
    sender_passes: int = Field(
        default=2,
        description="Batches on their way at once, each over its own `sender_concurrency` connections: e-mails "
        "that come due while one batch is sent go out in the next instead of waiting for it.",
    )
    sender_lease_s: float = Field(
        default=120.0, description="A claimed e-mail not recorded within this time is sent again."
    )
    sender_max_attempts: int = Field(default=8, description="Transient failures before giving up.")
    sender_backoff_s: float = Field(default=5.0, description="First retry delay; doubles each attempt.")
    sender_backoff_max_s: float = 900.0
    contact_cache_ttl_s: float = Field(default=300.0, description="How long recipients' contacts are cached.")

    @field_validator("smtp_url")
    @classmethod
    def _valid_smtp_url(cls, value: str) -> str:
        """A wrong relay URL stops the service at start-up instead of failing every e-mail later."""
        parse_smtp_url(value)
        return value
