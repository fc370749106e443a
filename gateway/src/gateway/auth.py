"""Bearer-token authentication at the door: PyJWT with the algorithm pinned, signature, `exp`, `nbf`,
`iss` and `aud` checked (RFC 8725). The verified identity goes to the services as `x-parity-*` headers.

A token that verified is remembered, keyed by its exact string, so the RS256 check and the claim parsing do
not run again for each request carrying it: the time claims (`exp`, `nbf`, `iat`) are checked against the
clock on every use, an entry is kept at most `jwt_cache_max_age_s` (a key withdrawn from the JWKS stops
counting within that time), the number of entries is capped, and a refusal is never remembered."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class Verified:
    """A token that verified: who it proves, the headers saying so, and the window it is valid in."""

    principal: Principal
    headers: tuple[tuple[str, str], ...]
    not_before: int  # the later of nbf and iat, leeway already taken off
    expires: int  # exp, leeway already added
    checked_until: float  # when the signature must be checked again

    def usable(self, now: float) -> bool:
        """Valid now, and recently enough checked to be taken from the cache."""
        return self.not_before <= now < self.expires and now < self.checked_until


@dataclass
class TokenVerifier:
    settings: Settings
    public_key: Any = None
    jwks: PyJWKClient | None = None
    clock: Callable[[], float] = time.time
    _cache: dict[str, Verified] = field(default_factory=dict, repr=False)

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
        return self.check(token).principal

    def check(self, token: str) -> Verified:
        """What a token proves (remembered while it stays valid), or AuthError saying why not."""
        now = self.clock()
        hit = self._cache.get(token)
        if hit is not None:
            if hit.usable(now):
                return hit
            del self._cache[token]  # out of its window: verified from scratch, which says why
        verified = self._verify(token, now)
        # PyJWT checked the time claims against its own clock; these checks make `clock` the only clock.
        if now >= verified.expires:
            raise AuthError("The token has expired.")
        if now < verified.not_before:
            raise AuthError("The token is not valid yet.")
        size = self.settings.jwt_cache_size
        if size > 0 and verified.usable(now):
            if len(self._cache) >= size:
                # Drop the oldest entry (dicts keep insertion order); a hot token is simply verified again.
                del self._cache[next(iter(self._cache))]
            self._cache[token] = verified
        return verified

    @property
    def remembered(self) -> int:
        """How many verified tokens are cached."""
        return len(self._cache)

    def _verify(self, token: str, now: float) -> Verified:
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
        principal = Principal(
            subject=str(claims["sub"]), role=role, client_id=client_id, provider_id=provider_id
        )
        leeway = s.jwt_leeway_s
        # PyJWT checked these as integers (and required `exp` and `iat`); the same reading is kept here.
        not_before = max(int(claims.get("nbf", claims["iat"])), int(claims["iat"])) - leeway
        return Verified(
            principal=principal,
            headers=tuple(principal.headers().items()),
            not_before=not_before,
            expires=int(claims["exp"]) + leeway,
            checked_until=now + s.jwt_cache_max_age_s,
        )
