"""kit.server's uvicorn protocol sends the same bytes as uvicorn's own, a response's head in the same write as
its first body bytes; and every way an app (service, gateway, sandbox) is started uses it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as UvicornProtocol
from uvicorn.server import ServerState

from kit.server import SERVER_FLAGS, HttpToolsProtocol

ROOT = Path(__file__).resolve().parents[2]
GET = b"GET /v1/payers HTTP/1.1\r\nHost: gw\r\n\r\n"


class Transport(asyncio.Transport):
    """Keeps every write, so that a test can count them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def exchange(
    protocol_class: type[UvicornProtocol], app: Any, *parts: bytes, answers: int = 1
) -> list[bytes]:
    """Feed `parts` of a request to a connection served by `protocol_class`; the writes until `answers`
    responses are complete."""
    config = uvicorn.Config(app, http=protocol_class, lifespan="off", log_level="warning")
    state = ServerState()
    protocol = protocol_class(config=config, server_state=state, app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    done = 0
    for part in parts:
        protocol.data_received(part)
        await asyncio.sleep(0.01)
    for _ in range(200):
        done = state.total_requests
        if protocol.cycle is not None and protocol.cycle.response_complete and done >= answers:
            break
        await asyncio.sleep(0.005)
    protocol.connection_lost(None)
    return transport.writes


def app_sending(*messages: Message, read_body: bool = False) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if read_body:
            await receive()
        for message in messages:
            await send(dict(message))

    return app


def start(status: int = 200, length: int | None = None) -> Message:
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": status, "headers": headers}


def body(data: bytes, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": more}


@pytest.mark.parametrize(
    ("name", "app", "request_bytes", "writes", "uvicorns"),
    [
        ("whole answer", app_sending(start(length=2), body(b"{}")), [GET], 1, 2),
        (
            "streamed answer",
            app_sending(start(), body(b"[1,", more=True), body(b"2]", more=True), body(b"")),
            [GET],
            3,
            4,
        ),
        ("HEAD", app_sending(start(length=2), body(b"")), [GET.replace(b"GET", b"HEAD")], 1, 1),
        ("no content", app_sending(start(204), body(b"")), [GET], 1, 2),
        (
            "expect 100-continue",  # the interim answer is not held back: the caller waits for it
            app_sending(start(length=2), body(b"{}"), read_body=True),
            [b"POST /v1/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n", b"{}"],
            2,
            3,
        ),
    ],
)
async def test_the_same_bytes_as_uvicorn_with_the_head_in_the_first_body_write(
    name: str, app: Any, request_bytes: list[bytes], writes: int, uvicorns: int
) -> None:
    ours = await exchange(HttpToolsProtocol, app, *request_bytes)
    theirs = await exchange(UvicornProtocol, app, *request_bytes)
    assert b"".join(ours) == b"".join(theirs), name
    assert len(ours) == writes, name
    assert len(theirs) == uvicorns, name  # uvicorn's own writes the head alone


async def test_two_pipelined_requests_are_both_answered_in_order() -> None:
    calls = 0

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal calls
        calls += 1
        text = str(calls).encode()
        await send(start(length=len(text)))
        await send(body(text))

    writes = await exchange(HttpToolsProtocol, app, GET + GET, answers=2)
    assert len(writes) == 2
    assert writes[0].endswith(b"\r\n\r\n1")
    assert writes[1].endswith(b"\r\n\r\n2")


def test_every_way_an_app_is_started_names_this_protocol() -> None:
    """Every uvicorn command in the deploy files runs on uvloop with this protocol; the local stack and the
    benchmarks take the flags from kit.server."""
    assert SERVER_FLAGS == ("--loop", "uvloop", "--http", "kit.server:HttpToolsProtocol")
    flags = re.compile(r'"--loop",\s*"uvloop",\s*"--http",\s*"kit\.server:HttpToolsProtocol"')
    commands = 0
    for path in [
        ROOT / "compose.yaml",
        ROOT / "deploy/docker/Dockerfile",
        *sorted((ROOT / "deploy/k8s").rglob("*.yaml")),
    ]:
        # Each uvicorn command, up to the end of its JSON-style list.
        for command in re.findall(r'\["uvicorn".*?\]', path.read_text(), flags=re.S):
            commands += 1
            assert flags.search(command), f"{path.relative_to(ROOT)}: {command} without kit.server's protocol"
    assert commands >= 14  # compose's 7, the Dockerfile's, k8s's gateway, api, worker, relay and 2 sandboxes
    assert "cmd += SERVER_FLAGS" in (ROOT / "deploy/local/src/devstack/stack.py").read_text()
    assert "*server_flags(), *args]" in (ROOT / "bench/harness.py").read_text()
