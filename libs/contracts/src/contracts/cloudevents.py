"""CloudEvents 1.0, Kafka protocol binding, binary content mode: attributes in `ce_*` headers, JSON body."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson

from contracts.base import SOURCE_PREFIX, Event
from contracts.registry import event_class

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
# CloudEvents extension attribute that follows a request through the events it causes.
CORRELATION_HEADER = "ce_correlationid"
TRACEPARENT_HEADER = "traceparent"

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Envelope:
    """One event as it travels: the CloudEvents attributes plus the validated payload."""

    id: UUID
    type: str
    source: str
    time: datetime
    subject: str
    data: dict[str, Any]
    correlation_id: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        source: str,
        correlation_id: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Envelope:
        return cls(
            id=uuid4(),
            type=event.event_type(),
            source=SOURCE_PREFIX + source,
            time=datetime.now(UTC),
            subject=event.key(),
            data=event.model_dump(mode="json"),
            correlation_id=correlation_id,
            extra_headers=dict(extra_headers or {}),
        )

    def payload(self) -> Event:
        """The typed event; raises KeyError for an unknown type and ValidationError for a bad body."""
        return event_class(self.type).model_validate(self.data)

    def header_map(self) -> dict[str, str]:
        """The binary-mode headers as text (what an outbox row keeps until the relay sends them)."""
        h = {
            "ce_specversion": SPECVERSION,
            "ce_id": str(self.id),
            "ce_type": self.type,
            "ce_source": self.source,
            "ce_time": self.time.isoformat(),
            "ce_subject": self.subject,
            "content-type": CONTENT_TYPE,
        }
        if self.correlation_id:
            h[CORRELATION_HEADER] = self.correlation_id
        h.update(self.extra_headers)
        return h

    def headers(self) -> Headers:
        return [(k, v.encode()) for k, v in self.header_map().items()]

    def body(self) -> bytes:
        return orjson.dumps(self.data)

    @classmethod
    def from_kafka(cls, headers: Headers | None, value: bytes | None) -> Envelope:
        """Decode a binary-mode message; ValueError if a required attribute is missing or malformed."""
        hd = {k: v.decode("utf-8", "replace") for k, v in (headers or [])}
        missing = [k for k in ("ce_id", "ce_type", "ce_source", "ce_time") if k not in hd]
        if missing:
            raise ValueError(f"not a CloudEvent: missing {', '.join(missing)}")
        if hd.get("ce_specversion", SPECVERSION) != SPECVERSION:
            raise ValueError(f"unsupported CloudEvents specversion {hd['ce_specversion']}")
        data = orjson.loads(value) if value else {}
        if not isinstance(data, dict):
            raise ValueError("event body is not a JSON object")
        known = {"ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "content-type"}
        return cls(
            id=UUID(hd["ce_id"]),
            type=hd["ce_type"],
            source=hd["ce_source"],
            time=datetime.fromisoformat(hd["ce_time"]),
            subject=hd.get("ce_subject", ""),
            data=data,
            correlation_id=hd.get(CORRELATION_HEADER),
            extra_headers={k: v for k, v in hd.items() if k not in known and k != CORRELATION_HEADER},
        )
