"""Forwarding: one shared httpx.AsyncClient, explicit pool limits and timeouts, streamed responses that
are always closed; upstream down -> 502, upstream slow -> 504, both problem+json."""

from __future__ import annotations

import logging

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.config import Settings
from kit.errors import problem
from kit.logging import correlation_id
from kit.tracing import inject

log = logging.getLogger("gateway.proxy")

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
# Identity and trust headers are set by the gateway only; whatever a caller sends is dropped.
GATEWAY_OWNED = {"x-internal-token", "x-forwarded-for", "x-request-id", "traceparent", "tracestate"}
GATEWAY_OWNED_PREFIXES = ("x-parity-",)


def make_client(settings: Settings) -> httpx.AsyncClient:
    from gateway.routes import SERVICES
    from gateway.transport import AiohttpTransport

    limits = httpx.Limits(
        max_connections=settings.upstream_max_connections,
        max_keepalive_connections=settings.upstream_max_keepalive,
    )
    # One pool per upstream service: a service that hangs holds only its own connections and never starves
    # the others (tests/faults/test_gateway_isolation.py; one shared pool answered healthy services with 504).
    # The pools are aiohttp's under httpx's API: httpcore's pool slows down as requests queue for connections
    # (encode/httpx #3215): at 64 connections 123 req/s against 582 with aiohttp (bench/README.md).
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    for service in SERVICES:
        url = httpx.URL(upstream_url(settings, service))
        mounts[f"{url.scheme}://{url.netloc.decode()}"] = AiohttpTransport(
            max_connections=settings.upstream_max_connections
        )
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.upstream_read_timeout_s,
            connect=settings.upstream_connect_timeout_s,
            pool=settings.upstream_connect_timeout_s,
        ),
        limits=limits,
        mounts=mounts,
        follow_redirects=False,
    )


def upstream_url(settings: Settings, service: str) -> str:
    return str(getattr(settings, f"{service}_url")).rstrip("/")


def forward_headers(request: Request, extra: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The caller's headers minus hop-by-hop and gateway-owned ones, plus the gateway's own."""
    headers = [
        (k, v)
        for k, v in request.headers.items()
        if k not in HOP_BY_HOP and k not in GATEWAY_OWNED and not k.startswith(GATEWAY_OWNED_PREFIXES)
    ]
    settings: Settings = request.app.state.settings
    client_ip = request.client.host if request.client else "unknown"
    headers += [
        ("x-request-id", correlation_id.get() or ""),
        ("x-forwarded-for", client_ip),
        ("x-internal-token", settings.internal_token),
    ]
    if extra:
        headers += list(extra.items())
    headers += list(inject({}).items())  # the gateway's span is the parent of the service's
    return headers


async def forward(request: Request, service: str, identity_headers: dict[str, str] | None) -> Response:
    """Forward a public request to `service`; the body is bounded, the response streamed and always closed."""
    path = request.url.path
    settings: Settings = request.app.state.settings
    declared = request.headers.get("content-length")
    too_big = problem(
        413,
        "payload-too-large",
        "Request too large",
        f"Request bodies are limited to {settings.max_request_bytes} bytes.",
        path,
    )
    if declared and declared.isdigit() and int(declared) > settings.max_request_bytes:
        return too_big
    body = await request.body()
    if len(body) > settings.max_request_bytes:
        return too_big
    client: httpx.AsyncClient = request.app.state.http
    # Forward the path exactly as it arrived (still percent-encoded), so odd characters reach the service as
    # the caller sent them instead of being re-encoded (or refused) here.
    raw_path = request.scope.get("raw_path", path.encode()).decode("latin-1")
    try:
        upstream = client.build_request(
            request.method,
            upstream_url(settings, service) + raw_path,
            params=request.url.query or None,
            headers=forward_headers(request, identity_headers),
            content=body,
        )
    except (httpx.InvalidURL, UnicodeError):
        return problem(404, "not-found", "Not found", "No resource at this path.", path)
    try:
        response = await client.send(upstream, stream=True)
    except httpx.TimeoutException:
        log.warning("upstream timeout", extra={"service": service})
        return problem(
            504,
            "upstream-timeout",
            "Upstream timeout",
            f"The {service} service did not answer in time.",
            path,
        )
    except httpx.TransportError as exc:
        log.warning("upstream unavailable", extra={"service": service, "error": type(exc).__name__})
        return problem(
            502,
            "upstream-unavailable",
            "Upstream unavailable",
            f"The {service} service is unavailable.",
            path,
        )
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"
    }
    return StreamingResponse(
        response.aiter_raw(),
        status_code=response.status_code,
        headers=headers,
        background=BackgroundTask(response.aclose),
    )
