"""The door: bearer JWTs checked the RFC 8725 way, partner read-only, rate limits with Retry-After, an
append-only audit log only ops can read, security headers and CORS for configured origins only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.config import Settings
from gateway.devtokens import DevIssuer
from gateway.main import create_app
from kit.db import Database
from kit.testing.helpers import ServerThread, running_app
from tests.gateway.tokens import bearer


def echo_service() -> FastAPI:
    app = FastAPI()

    @app.api_route("/v1/clients/{client_id}", methods=["GET", "POST"])
    async def client(client_id: str, request: Request) -> dict[str, str | None]:
        return {"client_id": client_id, "role": request.headers.get("x-parity-role")}

    return app


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with ServerThread(echo_service()) as server:
        yield server.url


@pytest.fixture
def settings_for(upstream: str, tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": database_url,
            "dev_issuer_enabled": True,
            "dev_issuer_key_file": str(tmp_path / "issuer.pem"),
            "eligibility_url": upstream,
            "audit_flush_interval_s": 0.05,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return build


def _claims(settings: Settings, **changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "client:1",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "role": "ops",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def test_requests_without_a_valid_token_are_refused(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for()
    issuer = DevIssuer.load(settings)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    past = datetime.now(UTC) - timedelta(hours=1)
    tokens = {
        "expired": jwt.encode(
            _claims(settings, exp=past, iat=past - timedelta(minutes=5), nbf=past - timedelta(minutes=5)),
            issuer.private_key,
            "RS256",
        ),
        "not yet valid": jwt.encode(
            _claims(settings, nbf=datetime.now(UTC) + timedelta(hours=1)), issuer.private_key, "RS256"
        ),
        "wrong audience": jwt.encode(_claims(settings, aud="someone-else"), issuer.private_key, "RS256"),
        "wrong issuer": jwt.encode(
            _claims(settings, iss="https://evil.example/"), issuer.private_key, "RS256"
        ),
        "other key": jwt.encode(_claims(settings), stranger, "RS256"),
        "alg none": jwt.encode(_claims(settings), None, "none"),
        "hmac with the public key": jwt.encode(_claims(settings), issuer.public_pem().encode()[:64], "HS256"),
        "no role": jwt.encode(_claims(settings, role=None), issuer.private_key, "RS256"),
        "no exp": jwt.encode(_claims(settings, exp=None), issuer.private_key, "RS256"),
        "garbage": "not.a.token",
    }
    target = f"/v1/clients/{uuid.uuid4()}"
    async with running_app(create_app(settings, configure_logs=False)) as client:
        missing = await client.get(target)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        for why, token in tokens.items():
            response = await client.get(target, headers={"authorization": f"Bearer {token}"})
            assert response.status_code == 401, why
            assert response.headers["content-type"] == "application/problem+json"
        ok = await client.get(target, headers=bearer(settings, "ops"))
    assert ok.status_code == 200
    assert ok.json()["role"] == "ops"


async def test_partner_tokens_are_read_only(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for()
    target = f"/v1/clients/{uuid.uuid4()}"
    async with running_app(create_app(settings, configure_logs=False)) as client:
        read = await client.get(target, headers=bearer(settings, "partner"))
        write = await client.post(target, headers=bearer(settings, "partner"))
    assert read.status_code == 200
    assert write.status_code == 403


async def test_rate_limit_per_identity_answers_429_with_retry_after(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(rate_limit_per_identity="3/minute")
    target = f"/v1/clients/{uuid.uuid4()}"
    heavy = bearer(settings, "client", client_id=uuid.uuid4())
    other = bearer(settings, "client", client_id=uuid.uuid4())
    async with running_app(create_app(settings, configure_logs=False)) as client:
        statuses = [(await client.get(target, headers=heavy)).status_code for _ in range(4)]
        limited = await client.get(target, headers=heavy)
        someone_else = await client.get(target, headers=other)
    assert statuses == [200, 200, 200, 429]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert someone_else.status_code == 200


async def test_rate_limit_per_ip_applies_before_authentication(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(rate_limit_per_ip="2/minute")
    async with running_app(create_app(settings, configure_logs=False)) as client:
        statuses = [(await client.get(f"/v1/clients/{uuid.uuid4()}")).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


async def test_audit_log_records_who_what_outcome_and_only_ops_reads_it(
    settings_for: Callable[..., Settings], database_url: str
) -> None:
    settings = settings_for()
    client_id = uuid.uuid4()
    target = f"/v1/clients/{client_id}"
    me = bearer(settings, "client", client_id=client_id)
    async with running_app(create_app(settings, configure_logs=False)) as client:
        await client.get(target, headers=me)
        await client.get(target)  # anonymous: denied, still audited
        refused = await client.get("/v1/audit-events", headers=me)
        listed = await client.get(
            "/v1/audit-events", params={"client_id": str(client_id)}, headers=bearer(settings, "ops")
        )
    assert refused.status_code == 403
    assert listed.status_code == 200
    events = listed.json()
    assert [(e["method"], e["status"], e["outcome"], e["role"]) for e in events] == [
        ("GET", 200, "allowed", "client"),
        ("GET", 401, "denied", None),
    ]
    assert events[0]["actor_client_id"] == str(client_id)
    assert events[0]["ip"]
    db = Database(database_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.session() as session:
                await session.execute(text("DELETE FROM gateway.audit_events"))
    finally:
        await db.dispose()


async def test_security_headers_and_cors_for_configured_origins_only(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(cors_origins=["https://app.parity.example"])
    async with running_app(create_app(settings, configure_logs=False)) as client:
        response = await client.get("/healthz")
        allowed = await client.options(
            "/v1/clients/x",
            headers={"origin": "https://app.parity.example", "access-control-request-method": "GET"},
        )
        denied = await client.options(
            "/v1/clients/x",
            headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
        )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert allowed.headers["access-control-allow-origin"] == "https://app.parity.example"
    assert "access-control-allow-origin" not in denied.headers


def test_dev_issuer_and_weak_algorithms_are_refused_in_settings() -> None:
    with pytest.raises(ValidationError, match="DEV_ISSUER_ENABLED"):
        Settings(environment="production", dev_issuer_enabled=True)
    with pytest.raises(ValidationError, match="asymmetric"):
        Settings(jwt_algorithms=["HS256"])


def money_service() -> FastAPI:
    """Stands in for pricing: counts the payments it really takes."""
    app = FastAPI()
    app.state.taken = 0

    @app.post("/v1/clients/{client_id}/payments", status_code=201)
    async def pay(client_id: str, request: Request) -> dict[str, object]:
        request.app.state.taken += 1
        if request.query_params.get("slow"):
            await asyncio.sleep(0.5)
        return {"payment": request.app.state.taken, "body": (await request.body()).decode()}

    return app


async def test_money_posts_need_an_idempotency_key_and_repeats_are_replayed_or_refused(
    settings_for: Callable[..., Settings],
) -> None:
    service = money_service()
    with ServerThread(service) as server:
        settings = settings_for(pricing_url=server.url)
        me = uuid.uuid4()
        auth = bearer(settings, "client", client_id=me)
        path = f"/v1/clients/{me}/payments"
        async with running_app(create_app(settings, configure_logs=False)) as client:
            missing = await client.post(path, json={"amount": "10.00"}, headers=auth)
            first = await client.post(
                path, json={"amount": "10.00"}, headers={**auth, "idempotency-key": "k1"}
            )
            again = await client.post(
                path, json={"amount": "10.00"}, headers={**auth, "idempotency-key": "k1"}
            )
            changed = await client.post(
                path, json={"amount": "99.00"}, headers={**auth, "idempotency-key": "k1"}
            )
            other_key = await client.post(
                path, json={"amount": "10.00"}, headers={**auth, "idempotency-key": "k2"}
            )
            concurrent = await asyncio.gather(
                *(
                    client.post(
                        path + "?slow=1", json={"amount": "5.00"}, headers={**auth, "idempotency-key": "k3"}
                    )
                    for _ in range(2)
                )
            )
    assert missing.status_code == 400
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert changed.status_code == 422
    assert other_key.json()["payment"] == 2
    assert sorted(r.status_code for r in concurrent) == [201, 409]
    assert service.state.taken == 3


async def test_idempotent_post_to_a_service_that_is_down_is_502_and_frees_the_key(
    settings_for: Callable[..., Settings],
) -> None:
    from devstack.infra import free_port

    settings = settings_for(pricing_url=f"http://127.0.0.1:{free_port()}")
    me = uuid.uuid4()
    auth = {**bearer(settings, "client", client_id=me), "idempotency-key": "k-down"}
    async with running_app(create_app(settings, configure_logs=False)) as client:
        first = await client.post(f"/v1/clients/{me}/payments", json={"amount": "1.00"}, headers=auth)
        again = await client.post(f"/v1/clients/{me}/payments", json={"amount": "1.00"}, headers=auth)
    assert first.status_code == 502
    assert again.status_code == 502  # not a replayed failure, not "in progress": the key was released


async def test_audit_log_keeps_writing_whatever_bytes_a_request_carries(
    settings_for: Callable[..., Settings],
) -> None:
    """Every byte 0-255 in the path, the query and the request-id header, and a path longer than the column:
    each request is audited (escaped, cut to length), and the log is still written and readable after them."""
    settings = settings_for()
    ops = bearer(settings, "ops")
    async with running_app(create_app(settings, configure_logs=False)) as client:
        for byte in range(256):  # one request per byte (the per-IP limit allows 600 a minute)
            # the HTTP client itself refuses CR and LF in a header value
            header = {} if byte in (0x0A, 0x0D) else {"x-request-id": bytes([byte])}
            await client.get(f"/v1/clients/%{byte:02X}x?q=%{byte:02X}", headers=header)
        await client.get("/v1/clients/" + "%00" * 700)
        client_id = uuid.uuid4()
        await client.get(f"/v1/clients/{client_id}", headers=ops)
        listed = await client.get("/v1/audit-events", params={"client_id": str(client_id)}, headers=ops)
        everything = await client.get("/v1/audit-events", params={"limit": 1000}, headers=ops)
    assert listed.status_code == 200
    assert [(e["method"], e["status"]) for e in listed.json()] == [("GET", 200)]
    assert everything.status_code == 200
    paths = [e["path"] for e in everything.json()]
    assert "/v1/clients/\\x00x" in paths
    assert max(len(p) for p in paths) <= 500
