"""Forwarding: one aiohttp pool per upstream service, explicit limits and timeouts. Headers stay the bytes
they arrived as (filtered, never re-parsed into objects); a small answer is read whole and sent back in one
piece, a large one streamed; the upstream connection is always released. Upstream down -> 502, upstream
slow -> 504, both problem+json."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
import httpx
from starlette.responses import JSONResponse
from starlette.types import Send
from yarl import URL

from gateway.config import Settings
from gateway.routes import SERVICES
from gateway.transport import AiohttpTransport, Pool
from kit.errors import problem
from kit.tracing import inject

log = logging.getLogger("gateway.proxy")

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        # The gateway has the whole body before it forwards: nothing for the service to wait on.
        b"expect",
    }
)
# Identity and trust headers are set by the gateway only; whatever a caller sends is dropped.
GATEWAY_OWNED = frozenset(
    {b"x-internal-token", b"x-forwarded-for", b"x-request-id", b"traceparent", b"tracestate"}
)
GATEWAY_OWNED_PREFIX = b"x-parity-"
# The caller's credentials stay at the door: services trust the verified identity the gateway sends.
NOT_FORWARDED = HOP_BY_HOP | GATEWAY_OWNED | {b"authorization"}
# Response headers not passed back: hop-by-hop ones, the request id, the date and the server name (the
# gateway's middleware and server set their own; passing the service's on sent each of them twice).
NOT_RETURNED = HOP_BY_HOP - {b"content-length"} | {b"x-request-id", b"date", b"server"}
# Answers up to this size (by Content-Length) are read whole and sent in one message; larger ones stream.
BUFFER_LIMIT = 256 * 1024
NO_BODY_STATUSES = frozenset({204, 304})


def upstream_url(settings: Settings, service: str) -> str:
    return str(getattr(settings, f"{service}_url")).rstrip("/")


def forward_headers(raw: list[tuple[bytes, bytes]], extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The caller's headers minus hop-by-hop ones, gateway-owned ones and its bearer token, then the gateway's
    own (`extra`)."""
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in raw
        if k not in NOT_FORWARDED and not k.startswith(GATEWAY_OWNED_PREFIX)
    ]
    headers += extra
    headers += inject({}).items()  # the gateway's span is the parent of the service's
    return headers


@dataclass(slots=True)
class Reply:
    """An upstream answer: status and headers (ASGI form), and either its whole body or the open response
    to stream it from."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    stream: aiohttp.ClientResponse | None = None

    async def send(self, send: Send, *, head: bool) -> None:
        """Send the answer to the caller; the upstream connection is released whatever happens."""
        try:
            await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
            if self.stream is None or head:
                await send({"type": "http.response.body", "body": self.body or b""})
                return
            async for chunk in self.stream.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            self.release()

    def release(self) -> None:
        if self.stream is not None:
            self.stream.release()
            self.stream = None

    async def read(self) -> bytes:
        """The whole body (the connection released)."""
        if self.stream is not None:
            try:
                self.body = await self.stream.read()
            finally:
                self.release()
        return self.body or b""


class Upstreams:
    """A pool per upstream service: a service that hangs holds only its own connections and never starves
    the others (tests/faults/test_gateway_isolation.py; one shared pool answered healthy services with 504)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = {s: upstream_url(settings, s) for s in SERVICES}
        self.pools = {s: Pool(max_connections=settings.upstream_max_connections) for s in SERVICES}
        # aiohttp's `connect` covers waiting for a pooled connection as well as opening one.
        self.timeout = aiohttp.ClientTimeout(
            total=None,
            connect=settings.upstream_connect_timeout_s,
            sock_connect=settings.upstream_connect_timeout_s,
            sock_read=settings.upstream_read_timeout_s,
        )

    def http_client(self) -> httpx.AsyncClient:
        """An httpx client over the same pools, for the docs and the readiness check."""
        s = self.settings
        mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
        for service in SERVICES:
            url = httpx.URL(self.base[service])
            mounts.setdefault(
                f"{url.scheme}://{url.netloc.decode()}", AiohttpTransport(pool=self.pools[service])
            )
        return httpx.AsyncClient(
            timeout=httpx.Timeout(
                s.upstream_read_timeout_s,
                connect=s.upstream_connect_timeout_s,
                pool=s.upstream_connect_timeout_s,
            ),
            mounts=mounts,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        for pool in self.pools.values():
            await pool.aclose()

    async def exchange(
        self,
        service: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        instance: str,
    ) -> Reply | JSONResponse:
        """Send one request to `service` (`target`: the path and query as they arrived); its Reply, or the
        problem response (404, 502, 504) to answer instead."""
        try:
            url = URL(self.base[service] + target, encoded=True)
        except ValueError:
            return problem(404, "not-found", "Not found", "No resource at this path.", instance)
        try:
            response = await self.pools[service].session.request(
                method,
                url,
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=self.timeout,
            )
        except TimeoutError:
            return _timeout(service, instance)
        except (aiohttp.ClientError, OSError) as exc:
            return _unavailable(service, instance, "upstream unavailable", exc)
        out: list[tuple[bytes, bytes]] = []
        length: int | None = None
        for k, v in response.raw_headers:
            name = k.lower()
            if name in NOT_RETURNED:
                continue
            if name == b"content-length":
                length = int(v) if v.isdigit() else None
                if length is None:
                    continue
            out.append((name, v))
        if method == "HEAD" or response.status in NO_BODY_STATUSES:
            response.release()
            return Reply(response.status, out, b"")
        if length is not None and length <= BUFFER_LIMIT:
            try:
                data = await response.read()
            except TimeoutError:
                return _timeout(service, instance)
            except aiohttp.ClientError as exc:
                return _unavailable(service, instance, "upstream broke off", exc)
            finally:
                response.release()
            return Reply(response.status, out, data)
        return Reply(response.status, out, None, response)


def _unavailable(service: str, instance: str, what: str, exc: BaseException) -> JSONResponse:
    log.warning(what, extra={"service": service, "error": type(exc).__name__})
    return problem(
        502,
        "upstream-unavailable",
        "Upstream unavailable",
        f"The {service} service is unavailable.",
        instance,
    )


def _timeout(service: str, instance: str) -> JSONResponse:
    log.warning("upstream timeout", extra={"service": service})
    return problem(
        504,
        "upstream-timeout",
        "Upstream timeout",
        f"The {service} service did not answer in time.",
        instance,
    )
