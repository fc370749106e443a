"""A client's notification preferences."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminders: bool = Field(description="Optional reminders (e.g. the yearly COB re-certification).")


class PreferencesOut(BaseModel):
    client_id: uuid.UUID
    reminders: bool
    optional_templates: dict[str, list[str]] = Field(
        description="Which messages each preference controls; every other message is required and always sent."
    )
