"""A development token issuer for `make run` and demos: an RSA key kept in .data/, tokens for demo users.
Never enabled in production (Settings refuses DEV_ISSUER_ENABLED there).

    python -m gateway.devtokens --role client --client-id <uuid>
    python -m gateway.devtokens --role provider --provider-id <uuid>
    python -m gateway.devtokens --role ops
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.config import Settings


@dataclass
class DevIssuer:
    settings: Settings
    private_key: rsa.RSAPrivateKey

    @classmethod
    def load(cls, settings: Settings) -> DevIssuer:
        """Load the development key, creating it on first use."""
        path = Path(settings.dev_issuer_key_file)
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            path.chmod(0o600)
        return cls(settings, key)

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def mint(
        self,
        *,
        role: str,
        client_id: uuid.UUID | None = None,
        provider_id: uuid.UUID | None = None,
        subject: str | None = None,
        ttl: timedelta = timedelta(hours=8),
    ) -> str:
        now = datetime.now(UTC)
        claims: dict[str, object] = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": subject or f"{role}:{client_id or provider_id or uuid.uuid4()}",
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "role": role,
        }
        if client_id:
            claims["client_id"] = str(client_id)
        if provider_id:
            claims["provider_id"] = str(provider_id)
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"typ": "at+jwt"})


def main() -> None:
    parser = argparse.ArgumentParser(description="Mint a development token for the local gateway.")
    parser.add_argument("--role", required=True, choices=["client", "provider", "ops", "partner"])
    parser.add_argument("--client-id", type=uuid.UUID)
    parser.add_argument("--provider-id", type=uuid.UUID)
    parser.add_argument("--hours", type=float, default=8)
    args = parser.parse_args()
    settings = Settings(dev_issuer_enabled=True)
    issuer = DevIssuer.load(settings)
    print(
        issuer.mint(
            role=args.role,
            client_id=args.client_id,
            provider_id=args.provider_id,
            ttl=timedelta(hours=args.hours),
        )
    )


if __name__ == "__main__":
    main()
