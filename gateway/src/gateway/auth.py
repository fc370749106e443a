"""Bearer-token authentication at the door: PyJWT with the algorithm pinned, signature, `exp`, `nbf`,
`iss` and `aud` checked (RFC 8725). The verified identity goes to the services as `x-parity-*` headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWKClient

from gateway.config import Settings
from kit.auth import Principal

ROLES = {"client", "provider", "ops", "partner"}


class AuthError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class TokenVerifier:
    settings: Settings
    public_key: Any = None
    jwks: PyJWKClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        if settings.jwt_jwks_url:
            return cls(settings, jwks=PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=300))
        # The key is parsed once here, not on every decode (PyJWT re-parses a PEM string each time).
        if settings.jwt_public_key_pem:
            return cls(settings, public_key=load_pem_public_key(settings.jwt_public_key_pem.encode()))
        if settings.dev_issuer_enabled:
            from gateway.devtokens import DevIssuer

            return cls(settings, public_key=DevIssuer.load(settings).private_key.public_key())
        return cls(settings)  # no key configured: every token is refused

    def verify(self, token: str) -> Principal:
        """The principal a token proves, or AuthError saying why not."""
        s = self.settings
        try:
            if self.jwks is not None:
                key: Any = self.jwks.get_signing_key_from_jwt(token).key
            elif self.public_key is not None:
                key = self.public_key
            else:
                raise AuthError("No token signing key is configured.")
            claims = jwt.decode(
                token,
                key,
                algorithms=s.jwt_algorithms,
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                leeway=s.jwt_leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_nbf": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("The token has expired.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError("The token is not valid yet.") from exc
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise AuthError(f"The token is not valid: {type(exc).__name__}.") from exc
        role = claims.get("role")
        if role not in ROLES:
            raise AuthError("The token carries no recognised role.")
        try:
            client_id = UUID(claims["client_id"]) if claims.get("client_id") else None
            provider_id = UUID(claims["provider_id"]) if claims.get("provider_id") else None
        except (ValueError, TypeError) as exc:
            raise AuthError("The token carries a malformed client or provider id.") from exc
        if role == "provider" and provider_id is None:
            raise AuthError("A provider token must name its provider_id.")
        return Principal(subject=str(claims["sub"]), role=role, client_id=client_id, provider_id=provider_id)
