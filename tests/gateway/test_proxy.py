"""The gateway: routes public paths to the owning service, maps upstream failures to 502/504 problem+json,
propagates the request id and serves the aggregated docs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request

from contracts import asyncapi
from devstack.infra import free_port
from gateway.config import Settings
from gateway.main import create_app
from gateway.routes import route_for
from kit.testing.helpers import ServerThread, running_app
from tests.gateway.tokens import bearer


def upstream(name: str, *, delay: float = 0.0) -> FastAPI:
    """A stand-in service that serves one public path and echoes what the gateway forwarded."""
    app = FastAPI(title=name)

    @app.get("/v1/payers", summary=f"{name} payers")
    async def payers(request: Request) -> dict[str, object]:
        await asyncio.sleep(delay)
        return {
            "service": name,
            "request_id": request.headers.get("x-request-id"),
            "internal_token": request.headers.get("x-internal-token"),
            "role": request.headers.get("x-parity-role"),
            "query": str(request.url.query),
        }

    @app.get("/v1/clients/{client_id}/balance", summary="a balance")
    async def balance(client_id: str) -> dict[str, str]:
        await asyncio.sleep(delay)
        return {"client": client_id}

    @app.get("/v1/sessions/{session_id}", summary="a session")
    async def session(session_id: str) -> dict[str, str]:
        return {"session": session_id, "service": name}

    @app.get("/internal/secret")
    async def secret() -> dict[str, str]:
        return {"internal": "yes"}

    return app


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, str]]:
    with (
        ServerThread(upstream("eligibility")) as elig,
        ServerThread(upstream("claims")) as claims,
        ServerThread(upstream("pricing", delay=2.0)) as slow,
    ):
        yield {"eligibility": elig.url, "claims": claims.url, "pricing": slow.url}


@pytest.fixture
def gateway_settings(upstreams: dict[str, str], tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": database_url,
            "dev_issuer_enabled": True,
            "dev_issuer_key_file": str(tmp_path / "issuer.pem"),
            "eligibility_url": upstreams["eligibility"],
            "claims_url": upstreams["claims"],
            "pricing_url": upstreams["pricing"],
            "notifications_url": f"http://127.0.0.1:{free_port()}",  # nothing listens: down
            "upstream_read_timeout_s": 0.5,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return build


def test_route_table_sends_sub_resources_to_their_owner() -> None:
    assert route_for("/v1/clients/abc/locations").service == "claims"  # type: ignore[union-attr]
    assert route_for("/v1/clients/abc/balance").service == "pricing"  # type: ignore[union-attr]
    assert route_for("/v1/clients/abc").service == "eligibility"  # type: ignore[union-attr]
    assert route_for("/v1/sessions/abc/cost").service == "pricing"  # type: ignore[union-attr]
    assert route_for("/v1/sessions/abc").service == "claims"  # type: ignore[union-attr]
    assert route_for("/v1/clientsx") is None
    assert route_for("/internal/clients/abc") is None


async def test_gateway_forwards_to_owner_with_request_id_and_its_own_trust_headers(
    gateway_settings: Callable[..., Settings],
) -> None:
    settings = gateway_settings()
    async with running_app(create_app(settings, configure_logs=False)) as client:
        response = await client.get(
            "/v1/payers?kind=bcbs",
            headers={
                "x-request-id": "req-123",
                "x-internal-token": "forged",
                "x-parity-role": "ops",
                **bearer(settings, "client", client_id=uuid.uuid4()),
            },
        )
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "eligibility"
    assert body["request_id"] == "req-123"
    assert response.headers["x-request-id"] == "req-123"
    assert body["query"] == "kind=bcbs"
    assert body["internal_token"] == Settings().internal_token  # the gateway's, not the caller's
    assert body["role"] == "client"  # the verified identity, not the forged header


async def test_unknown_and_internal_paths_are_not_routed(gateway_settings: Callable[..., Settings]) -> None:
    settings = gateway_settings()
    async with running_app(create_app(settings, configure_logs=False)) as client:
        for path in ("/v1/nothing-here", "/internal/secret", "/v1/../internal/secret"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"


async def test_upstream_down_is_502_problem(gateway_settings: Callable[..., Settings]) -> None:
    settings = gateway_settings()
    auth = bearer(settings, "ops")
    async with running_app(create_app(settings, configure_logs=False)) as client:
        response = await client.get("/v1/notifications", headers=auth)
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/upstream-unavailable")


async def test_upstream_slow_is_504_problem_and_others_keep_answering(
    gateway_settings: Callable[..., Settings],
) -> None:
    settings = gateway_settings()
    auth = bearer(settings, "ops")
    async with running_app(create_app(settings, configure_logs=False)) as client:
        slow, fast = await asyncio.gather(
            client.get("/v1/clients/x/balance", headers=auth), client.get("/v1/sessions/s1", headers=auth)
        )
    assert slow.status_code == 504
    assert slow.json()["type"].endswith("/upstream-timeout")
    assert fast.status_code == 200
    assert fast.json() == {"session": "s1", "service": "claims"}


async def test_request_body_over_limit_is_413(gateway_settings: Callable[..., Settings]) -> None:
    settings = gateway_settings(max_request_bytes=100)
    auth = bearer(settings, "ops")
    async with running_app(create_app(settings, configure_logs=False)) as client:
        response = await client.post("/v1/clients", content=b"x" * 500, headers=auth)
    assert response.status_code == 413


async def test_aggregated_openapi_lists_only_paths_each_service_owns(
    gateway_settings: Callable[..., Settings],
) -> None:
    settings = gateway_settings()
    async with running_app(create_app(settings, configure_logs=False)) as client:
        doc = (await client.get("/openapi.json")).json()
        docs_page = await client.get("/docs")
    assert doc["openapi"].startswith("3.1")
    assert doc["paths"]["/v1/payers"]["get"]["summary"] == "eligibility payers"  # claims' copy is not its own
    assert doc["paths"]["/v1/sessions/{session_id}"]["get"]["tags"] == ["claims"]
    assert not any(p.startswith("/internal") for p in doc["paths"])
    assert "notifications" in doc["info"]["x-missing-services"]
    assert docs_page.status_code == 200
    assert "swagger" in docs_page.text.lower()


async def test_asyncapi_is_served_as_json_and_as_a_page(gateway_settings: Callable[..., Settings]) -> None:
    settings = gateway_settings()
    async with running_app(create_app(settings, configure_logs=False)) as client:
        doc = (await client.get("/asyncapi.json")).json()
        page = await client.get("/asyncapi")
    assert doc == asyncapi.build()
    for topic in ("coverage.flagged_secondary", "cost.changed", "refund.issued"):
        assert topic in page.text
