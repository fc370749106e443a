"""Request id, access log and latency metrics as one small pure-ASGI middleware."""

from __future__ import annotations

import logging
import time
import uuid

from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.logging import correlation_id
from kit.metrics import HTTP_REQUESTS
from kit.tracing import extract, tracer, tracing_enabled

REQUEST_ID_HEADER = b"x-request-id"
log = logging.getLogger("kit.access")


def _valid_request_id(raw: bytes | None) -> str | None:
    if not raw or len(raw) > 128:
        return None
    value = raw.decode("latin-1")
    return value if all(c.isalnum() or c in "-_.:" for c in value) else None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = _valid_request_id(headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
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

        carrier = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in headers.items()
            if k in (b"traceparent", b"tracestate")
        }
        # With tracing off and no incoming trace to carry on, a no-op span would still cost about 15 us a
        # request; with a traceparent the span is made even untraced, so the trace passes through to what we call.
        span_cm = (
            tracer.start_as_current_span(
                f"{scope['method']} {scope['path']}", context=extract(carrier), kind=SpanKind.SERVER
            )
            if carrier or tracing_enabled()
            else None
        )
        span = span_cm.__enter__() if span_cm is not None else None
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if span_cm is not None and span is not None:
                route_template = getattr(scope.get("route"), "path", None)
                if route_template:
                    span.update_name(f"{scope['method']} {route_template}")
                span.set_attribute("http.response.status_code", status)
                span_cm.__exit__(None, None, None)
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status)).observe(elapsed)
            # Paths are logged as templates: ids in the concrete path are opaque, but templates keep logs lean.
            quiet = template in ("/healthz", "/readyz", "/metrics")
            log.log(
                logging.DEBUG if quiet else logging.INFO,
                "request",
                extra={
                    "method": scope["method"],
                    "route": template,
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )
            correlation_id.reset(token)
