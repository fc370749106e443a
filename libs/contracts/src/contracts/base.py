"""The event base: one Pydantic model per event type, versioned, carried as CloudEvents 1.0."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, PlainSerializer

# Money crosses the wire as a string with two places, never a float.
Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")]

SOURCE_PREFIX = "urn:parity:"


class Event(BaseModel):
    """Base for every event payload.

    `topic` and `type` are class-level facts, not fields: the topic is where the event lives, the type
    (`parity.<topic>.v<version>`) is the CloudEvents `type` a consumer dispatches on. `key_field` names the
    payload field whose value becomes the Kafka message key, so one aggregate's events stay in order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: ClassVar[str]
    schema_version: ClassVar[int] = 1
    key_field: ClassVar[str] = "client_id"
    description: ClassVar[str] = ""

    @classmethod
    def event_type(cls) -> str:
        return f"parity.{cls.topic}.v{cls.schema_version}"

    def key(self) -> str:
        return str(getattr(self, self.key_field))


__all__ = ["UUID", "Decimal", "Event", "Money", "date", "datetime"]
