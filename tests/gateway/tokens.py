"""Tokens for gateway tests, signed by a throwaway development issuer."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from gateway.config import Settings
from gateway.devtokens import DevIssuer


def issuer_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"dev_issuer_enabled": True, "dev_issuer_key_file": str(tmp / "issuer.pem")}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def bearer(
    settings: Settings,
    role: str,
    *,
    client_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    ttl: timedelta = timedelta(minutes=5),
) -> dict[str, str]:
    token = DevIssuer.load(settings).mint(role=role, client_id=client_id, provider_id=provider_id, ttl=ttl)
    return {"authorization": f"Bearer {token}"}
