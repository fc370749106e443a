"""The request context of a forwarded request in one lean ASGI step, instead of three stacked middlewares
(request id and access log, security headers, CORS) and their per-request objects.

`ForwardedContext` keeps their observable contract: the X-Request-ID rule and its echo, the correlation id
while the request runs, the server span and traceparent propagation, the security headers, the `Vary: Origin`
CORS adds to an answer, the latency metric and one access-log line with the same fields. A request that carries
an `Origin` header (a browser's, where CORS has something to decide) goes through the stacked middlewares as
before.

What the answer does not need (the metric and the access-log line) runs after the answer has gone out, while
the process next waits on an upstream (`Afterwards`): at one connection it is then off the path a caller
waits on."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from random import getrandbits
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.security import HEADERS as SECURITY_HEADERS
from gateway.security import STRICT_CSP
from kit.logging import correlation_id
from kit.middleware import (
    REQUEST_ID_HEADER,
    TRACE_HEADERS,
    end_request,
    observe_request,
    request_id_of,
    start_server_span,
)

log = logging.getLogger("gateway.context")

_ORIGIN = b"origin"
_VARY = b"vary"
# A random (version 4) UUID in hex, as uuid.uuid4().hex, without the system call for 16 random bytes: a request
# id only has to be unique, not secret.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    return f"{getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"


class Afterwards:
    """Work a request leaves for after its answer is out. It runs when a request next waits on its upstream
    (`while_waiting`), or `delay_s` after it was left when no request comes; outside any request's context."""

    def __init__(self, delay_s: float = 0.005) -> None:
        self.delay_s = delay_s
        self._jobs: list[tuple[Callable[..., object], tuple[Any, ...]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._context = contextvars.Context()

    def __len__(self) -> int:
        return len(self._jobs)

    def later(self, job: Callable[..., object], *args: Any) -> None:
        self._jobs.append((job, args))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay_s, self.run, context=self._context)

    def while_waiting(self) -> None:
        """Called by a request about to wait on its upstream: the work left so far runs during that wait."""
        if self._jobs:
            asyncio.get_running_loop().call_soon(self.run, context=self._context)

    def run(self) -> None:
        """Run everything left so far, now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        jobs, self._jobs = self._jobs, []
        for job, args in jobs:
            try:
                job(*args)
            except Exception:
                log.exception("work after an answer failed")


def _answer_headers(headers: list[tuple[bytes, bytes]], request_id: bytes) -> list[tuple[bytes, bytes]]:
    """`headers` as the stacked middlewares leave them for a request without Origin: `Vary` gains `Origin`
    (CORS), the security headers the answer lacks and the strict CSP are added, then the request id."""
    out: list[tuple[bytes, bytes]] = []
    present = set()
    vary: list[bytes] = []
    vary_at = -1
    for k, v in headers:
        name = k.lower()
        if name == _VARY:
            vary.append(v)
            if vary_at < 0:
                vary_at = len(out)
                out.append((_VARY, b""))
            continue
        present.add(name)
        out.append((name, v))
    vary.append(b"Origin")
    if vary_at < 0:
        vary_at = len(out)
        out.append((_VARY, b""))
    out[vary_at] = (_VARY, b", ".join(vary))
    present.add(_VARY)
    out += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
    out.append(STRICT_CSP)
    out.append((REQUEST_ID_HEADER, request_id))
    return out


class ForwardedContext:
    """The request context around `door` for forwarded requests; those with an Origin header go to `cors`
    (the same door inside the stacked middlewares)."""

    def __init__(
        self, door: ASGIApp, *, cors: ASGIApp, afterwards: Afterwards, service: str = "gateway"
    ) -> None:
        self.door = door
        self.cors = cors
        self.afterwards = afterwards
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_id = None
        carrier: dict[str, str] = {}
        for k, v in scope["headers"]:
            if k == _ORIGIN:
                await self.cors(scope, receive, send)
                return
            if k == REQUEST_ID_HEADER:
                raw_id = v  # the last, as the middleware's dict of the headers kept
            elif k in TRACE_HEADERS:
                carrier[k.decode("latin-1")] = v.decode("latin-1")
        request_id = request_id_of(raw_id) if raw_id is not None else new_request_id()
        token = correlation_id.set(request_id)
        start = time.perf_counter()
        status = 500
        server_span = start_server_span(scope, carrier)

        async def send_answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _answer_headers(message.get("headers", []), request_id.encode())
            await send(message)

        try:
            await self.door(scope, receive, send_answer)
        finally:
            template, elapsed = end_request(server_span, scope, status, start)
            self.afterwards.later(
                observe_request, self.service, scope["method"], template, status, elapsed, request_id
            )
            correlation_id.reset(token)
