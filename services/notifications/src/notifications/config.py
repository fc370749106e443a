"""Settings of the notifications service."""

from __future__ import annotations

from kit.settings import KitSettings


class Settings(KitSettings):
    service_name: str = "notifications"
