"""The door's fast path keeps every guarantee of the slow one: a remembered token still expires, a refusal is
never remembered, rate-limit windows end, dot segments never reach a service, writes are audited before they
are answered, and answers come back whole (small, large, streamed, HEAD) with no cookie shared between callers."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from prometheus_client import REGISTRY
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from gateway.auth import AuthError, TokenVerifier
from gateway.config import Settings
from gateway.context import new_request_id
from gateway.devtokens import DevIssuer
from gateway.door import door_route
from gateway.main import create_app
from gateway.proxy import BUFFER_LIMIT
from gateway.ratelimit import MemoryWindows
from kit.db import Database
from kit.logging import JsonFormatter
from kit.testing.helpers import ServerThread, running_app
from tests.gateway.tokens import bearer, issuer_settings

BIG = bytes(range(256)) * (2 * BUFFER_LIMIT // 256)  # larger than what is sent in one piece


def service() -> FastAPI:
    app = FastAPI()
    app.state.hits = []

    @app.get("/v1/payers")
    async def payers(request: Request) -> dict[str, Any]:
        app.state.hits.append(request.url.path)
        return {
            "cookie": request.headers.get("cookie"),
            "expect": request.headers.get("expect"),
            "authorization": request.headers.get("authorization"),
            "traceparent": request.headers.get("traceparent"),
        }

    @app.get("/v1/payers/big")
    async def big() -> Response:
        return Response(BIG, media_type="application/octet-stream")

    @app.get("/v1/payers/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> Any:
            for i in range(50):
                yield f"chunk {i}\n".encode()
                await asyncio.sleep(0)

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/v1/payers/cookie")
    async def cookie() -> Response:
        response = Response(b"{}", media_type="application/json")
        response.set_cookie("session", "someone-elses")
        return response

    @app.post("/v1/clients/{client_id}")
    async def write(client_id: str) -> dict[str, str]:
        return {"client_id": client_id}

    @app.api_route("/{path:path}", methods=["GET", "HEAD"])
    async def anything_else(path: str, request: Request) -> dict[str, str]:
        app.state.hits.append(request.url.path)
        return {"reached": path, "query": request.url.query, "name": request.query_params.get("name", "")}

    return app


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, FastAPI]]:
    app = service()
    with ServerThread(app) as server:
        yield server.url, app


@pytest.fixture
def settings_for(upstream: tuple[str, FastAPI], tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": database_url,
            "dev_issuer_enabled": True,
            "dev_issuer_key_file": str(tmp_path / "issuer.pem"),
            "eligibility_url": upstream[0],
        }
        values.update(overrides)
        return Settings(**values)

    return build


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_is_refused_once_it_expires(tmp_path: Path) -> None:
    settings = issuer_settings(tmp_path, jwt_leeway_s=0)
    token = DevIssuer.load(settings).mint(role="ops", ttl=timedelta(minutes=5))
    clock = Clock()
    verifier = TokenVerifier.from_settings(settings)
    verifier.clock = clock
    first = verifier.check(token)
    assert verifier.check(token) is first  # remembered: not verified again
    clock.now += 5 * 60 + 1
    with pytest.raises(AuthError, match="expired"):
        verifier.check(token)
    assert verifier.remembered == 0


def test_a_remembered_token_has_its_signature_checked_again_after_the_max_age(tmp_path: Path) -> None:
    settings = issuer_settings(tmp_path, jwt_cache_max_age_s=10)
    token = DevIssuer.load(settings).mint(role="ops")
    clock = Clock()
    verifier = TokenVerifier.from_settings(settings)
    verifier.clock = clock
    first = verifier.check(token)
    clock.now += 11
    again = verifier.check(token)
    assert again is not first
    assert again.principal == first.principal


def test_a_refused_token_is_never_remembered_and_the_cache_is_capped(tmp_path: Path) -> None:
    settings = issuer_settings(tmp_path, jwt_cache_size=2)
    issuer = DevIssuer.load(settings)
    verifier = TokenVerifier.from_settings(settings)
    good = issuer.mint(role="ops")
    verifier.check(good)
    head, payload, signature = good.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    for _ in range(2):
        with pytest.raises(AuthError):
            verifier.check(forged)
    assert verifier.remembered == 1
    for _ in range(3):
        verifier.check(issuer.mint(role="ops"))
    assert verifier.remembered == 2


def test_memory_rate_limit_windows_end_and_ended_ones_are_dropped() -> None:
    from limits import parse

    clock = Clock()
    windows = MemoryWindows(parse("2/minute"), clock=clock)
    assert windows.hit("a") is None
    clock.now += 10
    assert windows.hit("a") is None
    wait = windows.hit("a")
    assert wait is not None
    assert 49 <= wait <= 50  # the window opened at the first hit
    assert windows.hit("b") is None  # another key has its own window
    clock.now += 61
    assert windows.hit("c") is None  # a new window opens; the ended ones are swept
    assert len(windows) == 1
    assert windows.hit("a") is None


async def asgi_get(
    app: FastAPI,
    raw_path: bytes,
    headers: dict[str, str],
    query: bytes = b"",
    sent: list[MutableMapping[str, Any]] | None = None,
) -> tuple[int, bytes]:
    """One request straight through ASGI, with the path exactly as given (HTTP clients resolve `..`); the
    messages the app sends are added to `sent`."""
    path = raw_path.decode().replace("%2e", ".")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    messages: list[MutableMapping[str, Any]] = [] if sent is None else sent
    first = len(messages)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    answer = messages[first:]
    return answer[0]["status"], b"".join(m.get("body", b"") for m in answer[1:])


async def test_dot_segments_never_reach_a_service(
    settings_for: Callable[..., Settings], upstream: tuple[str, FastAPI]
) -> None:
    settings = settings_for()
    auth = bearer(settings, "ops")
    app = create_app(settings, configure_logs=False)
    hits: list[str] = upstream[1].state.hits
    async with app.router.lifespan_context(app):
        for raw in (
            b"/v1/payers/../../internal/secret",
            b"/v1/payers/%2e%2e/%2e%2e/internal/secret",
            b"/v1/payers/./x",
        ):
            before = len(hits)
            status, body = await asgi_get(app, raw, auth)
            assert status == 404, raw
            assert b"not-found" in body
            assert len(hits) == before, raw


async def test_a_query_string_reaches_the_service_as_sent_or_percent_encoded_when_raw_bytes_came(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for()
    auth = bearer(settings, "ops")
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        status, body = await asgi_get(app, b"/v1/payers/q", auth, query=b"name=caf%C3%A9&x=a+b")
        assert status == 200
        assert json.loads(body) == {"reached": "v1/payers/q", "query": "name=caf%C3%A9&x=a+b", "name": "café"}
        status, body = await asgi_get(app, b"/v1/payers/q", auth, query="name=café".encode())
        assert status == 200
        assert json.loads(body)["name"] == "café"


async def test_answers_come_back_whole_once_without_the_services_date_and_server(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for()
    auth = bearer(settings, "ops")
    with ServerThread(
        create_app(settings, configure_logs=False)
    ) as gateway:  # a real server adds date and server
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
            small = await client.get("/v1/payers", headers={**auth, "expect": "100-continue"})
            big = await client.get("/v1/payers/big", headers=auth)
            streamed = await client.get("/v1/payers/stream", headers=auth)
            # (a path the services' docs do not list: the door refuses HEAD where the docs list only GET)
            got = await client.get("/v1/payers/a/b", headers=auth)
            head = await client.head("/v1/payers/a/b", headers=auth)
    assert small.status_code == 200
    assert small.json()["expect"] is None
    assert small.json()["authorization"] is None  # the bearer token stays at the door
    assert big.content == BIG
    assert int(big.headers["content-length"]) == len(BIG)
    assert streamed.text == "".join(f"chunk {i}\n" for i in range(50))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    for response in (small, big, streamed):
        assert len(response.headers.get_list("date")) == 1
        assert len(response.headers.get_list("server")) == 1
        assert response.headers["x-content-type-options"] == "nosniff"
        assert len(response.headers.get_list("x-request-id")) == 1


async def test_a_cookie_one_answer_sets_never_rides_on_another_callers_request(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for()
    async with running_app(create_app(settings, configure_logs=False)) as client:
        setter = await client.get("/v1/payers/cookie", headers=bearer(settings, "ops"))
        client.cookies.clear()  # the test client keeps cookies too; the gateway must not
        other = await client.get("/v1/payers", headers=bearer(settings, "partner"))
    assert "someone-elses" in setter.headers["set-cookie"]
    assert other.json()["cookie"] is None


async def test_a_write_is_audited_before_it_is_answered_and_reads_by_the_time_the_gateway_stops(
    settings_for: Callable[..., Settings], database_url: str
) -> None:
    settings = settings_for(audit_flush_interval_s=3600)  # the batch writer never runs during the test
    client_id = uuid.uuid4()
    auth = bearer(settings, "ops")
    db = Database(database_url)

    async def statuses() -> list[tuple[str, int]]:
        async with db.session() as session:
            rows = await session.execute(
                text(
                    "SELECT method, status FROM gateway.audit_events WHERE target_client_id = :c ORDER BY id"
                ),
                {"c": client_id},
            )
            return [(r[0], r[1]) for r in rows]

    try:
        async with running_app(create_app(settings, configure_logs=False)) as client:
            read = await client.get(f"/v1/clients/{client_id}", headers=auth)
            wrote = await client.post(f"/v1/clients/{client_id}", headers=auth)
            assert (read.status_code, wrote.status_code) == (200, 200)
            # The write is in the database as soon as it is answered (with the read queued before it).
            assert await statuses() == [("GET", 200), ("POST", 200)]
            again = await client.get(f"/v1/clients/{client_id}", headers=auth)
            assert again.status_code == 200
            assert await statuses() == [("GET", 200), ("POST", 200)]  # a read waits for its batch
        assert await statuses() == [("GET", 200), ("POST", 200), ("GET", 200)]  # written on the way down
    finally:
        await db.dispose()


async def test_a_forwarded_answer_has_the_headers_the_stacked_middlewares_gave_it(
    settings_for: Callable[..., Settings],
) -> None:
    """The lean request context (gateway.context) answers as request id, security headers and CORS did."""
    app = create_app(settings_for(), configure_logs=False)
    auth = bearer(app.state.settings, "ops")

    async def stacked(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = door_route(scope)[1]
        assert app.door is not None
        await app.door.cors(scope, receive, send)  # type: ignore[attr-defined]

    stacked_transport = httpx.ASGITransport(app=stacked)
    async with (
        running_app(app) as lean,
        httpx.AsyncClient(transport=stacked_transport, base_url="http://t") as old,
    ):
        for path, headers in [
            ("/v1/payers", {**auth, "x-request-id": "req-7"}),  # forwarded
            ("/v1/payers/cookie", {**auth, "x-request-id": "req-8"}),  # the service's own headers kept
            ("/v1/payers", {"x-request-id": "req-9"}),  # refused at the door (401 problem)
            ("/v1/nowhere", {"x-request-id": "bad id"}),  # 404 problem; a new request id
        ]:
            new, was = await lean.get(path, headers=headers), await old.get(path, headers=headers)
            assert new.status_code == was.status_code
            assert new.content == was.content
            if headers["x-request-id"] == "bad id":
                assert new.headers["x-request-id"] != "bad id"
                new.headers["x-request-id"] = was.headers["x-request-id"]
            assert new.headers.multi_items() == was.headers.multi_items()


def test_a_request_id_the_gateway_makes_is_a_random_uuid_in_hex() -> None:
    made = {new_request_id() for _ in range(1000)}
    assert len(made) == 1000
    assert all(uuid.UUID(hex=r).hex == r and uuid.UUID(hex=r).version == 4 for r in made)
    assert all(uuid.UUID(hex=r).variant == uuid.RFC_4122 for r in made)


async def test_a_forwarded_request_carries_on_the_callers_trace(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with running_app(create_app(settings, configure_logs=False)) as client:
        response = await client.get(
            "/v1/payers",
            headers={**bearer(settings, "ops"), "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        )
        untraced = await client.get("/v1/payers", headers=bearer(settings, "ops"))
    sent = response.json()["traceparent"]
    assert sent.split("-")[1] == trace_id  # the same trace (the gateway's span, when traced, as the parent)
    assert untraced.json()["traceparent"] is None


async def test_the_access_log_line_and_metric_of_a_forwarded_request_come_after_its_answer(
    settings_for: Callable[..., Settings],
) -> None:
    app = create_app(settings_for(), configure_logs=False)
    events: list[MutableMapping[str, Any]] = []  # the messages sent and the lines logged, in order
    formatter = JsonFormatter("gateway")

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            events.append({"type": "log", "line": json.loads(formatter.format(record))})

    access = logging.getLogger("kit.access")
    handler, level = Lines(), access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    labels = {"service": "gateway", "method": "GET", "route": "/v1/payers", "status": "200"}
    count = "parity_http_request_duration_seconds_count"
    before = REGISTRY.get_sample_value(count, labels) or 0
    try:
        async with running_app(app):
            status, _ = await asgi_get(app, b"/v1/payers", bearer(app.state.settings, "ops"), sent=events)
            assert status == 200
            # No line yet: it comes after the answer.
            assert [e["type"] for e in events] == ["http.response.start", "http.response.body"]
            assert REGISTRY.get_sample_value(count, labels) == before
            await asyncio.sleep(0.05)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    request_id = dict(events[0]["headers"])[b"x-request-id"].decode()
    lines = [e["line"] for e in events if e["type"] == "log"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["logger"], line["level"], line["msg"]) == ("kit.access", "info", "request")
    assert line["correlation_id"] == request_id
    assert (line["method"], line["route"], line["status"]) == ("GET", "/v1/payers", 200)
    assert isinstance(line["ms"], float | int)
    assert REGISTRY.get_sample_value(count, labels) == before + 1
