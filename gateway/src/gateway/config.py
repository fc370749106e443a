"""Settings of the gateway."""

from __future__ import annotations

from pydantic import Field

from kit.settings import KitSettings


class Settings(KitSettings):
    service_name: str = "gateway"
    gateway_port: int = 8000
    upstream_connect_timeout_s: float = 2.0
    upstream_read_timeout_s: float = 15.0
    upstream_max_connections: int = 200
    upstream_max_keepalive: int = 100
    max_request_bytes: int = Field(default=1_048_576, description="Larger request bodies get 413.")
    openapi_cache_s: float = 30.0
