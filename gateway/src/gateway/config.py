"""Settings of the gateway."""

from __future__ import annotations

from pydantic import Field, model_validator

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

    # Authentication: OAuth2 bearer JWTs (RFC 8725 practice: algorithms pinned, iss/aud/exp/nbf checked).
    jwt_issuer: str = "https://auth.parity.local/"
    jwt_audience: str = "parity-api"
    jwt_algorithms: list[str] = Field(default=["RS256"], description="Accepted algorithms; never 'none'.")
    jwt_public_key_pem: str | None = Field(default=None, description="PEM public key that signs tokens.")
    jwt_jwks_url: str | None = Field(default=None, description="JWKS URL of the identity provider.")
    jwt_leeway_s: int = 30
    jwt_cache_size: int = Field(
        default=10_000, description="Verified tokens remembered (0: verify the signature on every request)."
    )
    jwt_cache_max_age_s: float = Field(
        default=60.0,
        description="How long a verified token is trusted before its signature is checked again.",
    )
    dev_issuer_enabled: bool = Field(
        default=False,
        description="Mint demo tokens at POST /dev/tokens (development only, refused in production).",
    )
    dev_issuer_key_file: str = ".data/dev-issuer-key.pem"

    cors_origins: list[str] = ["http://127.0.0.1:3000", "http://localhost:3000"]
    rate_limit_per_ip: str = "600/minute"
    rate_limit_per_identity: str = "300/minute"
    rate_limit_storage_uri: str = Field(
        default="memory://", description="limits storage, e.g. redis://host:6379"
    )
    audit_enabled: bool = True
    audit_flush_interval_s: float = 0.2

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.environment == "production" and self.dev_issuer_enabled:
            raise ValueError("DEV_ISSUER_ENABLED must not be set in production")
        if any(a.lower() == "none" or a.upper().startswith("HS") for a in self.jwt_algorithms):
            raise ValueError(
                "JWT_ALGORITHMS must be asymmetric (RS*/ES*/PS*/EdDSA); 'none' and HMAC are refused"
            )
        return self
