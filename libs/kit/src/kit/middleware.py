"""Request id, access log and latency metrics as one small pure-ASGI middleware.

Its parts (`request_id_of`, `start_server_span`, `end_request`, `observe_request`) are public so that a
process with its own request path (the gateway's door) keeps the same contract: the same X-Request-ID rule,
span, metric and access-log line."""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry.trace import Span, SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.logging import correlation_id
from kit.metrics import HTTP_REQUESTS
from kit.tracing import extract, tracer, tracing_enabled

REQUEST_ID_HEADER = b"x-request-id"
TRACE_HEADERS = (b"traceparent", b"tracestate")
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
log = logging.getLogger("kit.access")

ServerSpan = tuple[AbstractContextManager[Span], Span]


def _valid_request_id(raw: bytes | None) -> str | None:
    if not raw or len(raw) > 128:
        return None
    value = raw.decode("latin-1")
    return value if all(c.isalnum() or c in "-_.:" for c in value) else None


def request_id_of(raw: bytes | None) -> str:
    """The caller's X-Request-ID when it is a short token of safe characters, else a new one."""
    return _valid_request_id(raw) or uuid.uuid4().hex


def start_server_span(scope: Scope, carrier: dict[str, str]) -> ServerSpan | None:
    """The request's server span, or None when tracing is off and no incoming trace is to be carried on."""
    # With tracing off and no incoming trace to carry on, a no-op span would still cost about 15 us a
    # request; with a traceparent the span is made even untraced, so the trace passes through to what we call.
    if not carrier and not tracing_enabled():
        return None
    span_cm = tracer.start_as_current_span(
        f"{scope['method']} {scope['path']}", context=extract(carrier), kind=SpanKind.SERVER
    )
    return span_cm, span_cm.__enter__()


def end_request(server_span: ServerSpan | None, scope: Scope, status: int, start: float) -> tuple[str, float]:
    """End the request's span (if it has one); its route template and the seconds since `start`."""
    template = getattr(scope.get("route"), "path", None)
    if server_span is not None:
        span_cm, span = server_span
        if template:
            span.update_name(f"{scope['method']} {template}")
        span.set_attribute("http.response.status_code", status)
        span_cm.__exit__(None, None, None)
    return template or "unmatched", time.perf_counter() - start


def observe_request(
    service: str, method: str, template: str, status: int, elapsed: float, request_id: str | None = None
) -> None:
    """The latency metric and the access-log line of one request (`request_id`: when it is logged outside the
    request's context, the correlation id the line carries)."""
    HTTP_REQUESTS.labels(service, method, template, str(status)).observe(elapsed)
    # Paths are logged as templates: ids in the concrete path are opaque, but templates keep logs lean.
    level = logging.DEBUG if template in QUIET_ROUTES else logging.INFO
    if not log.isEnabledFor(level):
        return
    extra: dict[str, Any] = {} if request_id is None else {"correlation_id": request_id}
    extra |= {"method": method, "route": template, "status": status, "ms": round(elapsed * 1000, 2)}
    log.log(level, "request", extra=extra)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = request_id_of(headers.get(REQUEST_ID_HEADER))
        token = correlation_id.set(request_id)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items() if k in TRACE_HEADERS}
        server_span = start_server_span(scope, carrier)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template, elapsed = end_request(server_span, scope, status, start)
            observe_request(self.service, scope["method"], template, status, elapsed)
            correlation_id.reset(token)
