"""The door every /v1 request passes: rate limit per IP, authenticate, rate limit per identity, role
gate, forward, audit. Services repeat the object-level checks; the door is the first line, not the only one.

`Door` is a pure ASGI step inside the request context (gateway.context: request id and access log, security
headers, CORS) and in front of FastAPI: forwarded requests skip FastAPI's routing, dependency and response
machinery, which only the gateway's own endpoints need. Every refusal is still an RFC 9457 problem."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote_from_bytes

from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.audit import AuditLog
from gateway.auth import AuthError, TokenVerifier, Verified
from gateway.config import Settings
from gateway.context import Afterwards
from gateway.docs import OpenApiAggregator
from gateway.idempotency import HEADER as IDEMPOTENCY_HEADER
from gateway.idempotency import missing_key, required_for, with_idempotency
from gateway.proxy import Reply, Upstreams, forward_headers
from gateway.ratelimit import RateLimits
from gateway.routes import Route, route_for
from kit.auth import Principal
from kit.errors import problem
from kit.logging import correlation_id

log = logging.getLogger("gateway.door")

PROXY_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_AUTHORIZATION = b"authorization"
_CONTENT_LENGTH = b"content-length"
_IDEMPOTENCY_KEY = IDEMPOTENCY_HEADER.encode()
# Characters kept as they are when a query string has to be percent-encoded (`%` keeps existing escapes).
QUERY_SAFE = "!$%&'()*+,-./:;=?@_~"


class ClientGone(Exception):
    """The caller disconnected while sending its body."""


@dataclass(slots=True)
class _Attempt:
    """How far a request got, for its audit entry (kept even when something raised on the way)."""

    principal: Principal | None = None
    reached_service: bool = False


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _unauthorized(path: str) -> Response:
    return problem(
        401,
        "unauthorized",
        "Authentication required",
        "Send an OAuth2 bearer token.",
        path,
        headers={"WWW-Authenticate": 'Bearer realm="parity"'},
    )


def check_bearer(verifier: TokenVerifier, header: str, path: str) -> Verified | Response:
    """What the Authorization header's bearer token proves, or the 401 problem to answer."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _unauthorized(path)
    try:
        return verifier.check(token)
    except AuthError as exc:
        return problem(
            401,
            "invalid-token",
            "Invalid token",
            exc.detail,
            path,
            headers={"WWW-Authenticate": 'Bearer realm="parity", error="invalid_token"'},
        )


async def authenticate(request: Request) -> Principal | Response:
    """The verified principal of the request, or the 401 problem to answer (the gateway's own endpoints)."""
    outcome = check_bearer(
        request.app.state.verifier, request.headers.get("authorization", ""), request.url.path
    )
    return outcome if isinstance(outcome, Response) else outcome.principal


def _not_found(path: str) -> Response:
    return problem(404, "not-found", "Not found", f"No resource at {path}.", path)


def _has_dot_segment(path: str) -> bool:
    # `..` would be resolved by an HTTP client or a proxy between here and the service, and reach a path
    # the route table never allowed (an internal one, with the gateway's internal token).
    return "/." in path and any(seg in (".", "..") for seg in path.split("/"))


def door_route(scope: Scope) -> tuple[bool, Route | None]:
    """Whether the door answers this request (a /v1 path the gateway does not serve itself), and its route."""
    if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
        return False, None
    route = route_for(scope["path"])
    return route is None or route.service != "gateway", route


class Door:
    """The ASGI app that answers forwarded requests (`door_route`); the caller sets scope["route"]."""

    def __init__(self, state: State) -> None:
        self.state = state  # the app's state: settings, and what the lifespan creates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            answer = await self.answer(scope, receive, scope.get("route"))
        except Exception:
            # What FastAPI's handler would answer, but inside the middlewares (request id, security headers).
            log.exception("unhandled error", extra={"path": scope["path"]})
            detail = "Something went wrong on our side; it has been logged."
            answer = problem(500, "internal-error", "Internal error", detail, scope["path"])
        if isinstance(answer, Reply):
            await answer.send(send, head=scope["method"] == "HEAD")
        else:
            await answer(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive, route: Route | None) -> Reply | Response:
        """Guard, forward and audit one public request."""
        path: str = scope["path"]
        method: str = scope["method"]
        if method not in PROXY_METHODS:
            return problem(
                405,
                "method-not-allowed",
                "Method Not Allowed",
                "Method Not Allowed",
                path,
                headers={"Allow": ", ".join(PROXY_METHODS)},
            )
        if route is None or _has_dot_segment(path):
            return _not_found(path)
        state = self.state
        docs: OpenApiAggregator = state.docs
        await docs.ensure_methods(state.own_spec)
        allowed = docs.allowed_methods(path)
        if allowed is not None and method not in allowed:
            return problem(
                405,
                "method-not-allowed",
                "Method not allowed",
                f"{method} is not supported on {path}.",
                path,
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        attempt = _Attempt()
        status = 500
        try:
            try:
                answer = await self._guard_and_forward(scope, receive, route, ip, attempt)
            except ClientGone:
                answer = problem(400, "bad-request", "Bad request", "The request body did not arrive.", path)
            status = answer.status if isinstance(answer, Reply) else answer.status_code
            return answer
        finally:
            principal = attempt.principal
            audit: AuditLog | None = state.audit
            if audit is not None:
                entry = {
                    "request_id": correlation_id.get(),
                    "subject": principal.subject if principal else None,
                    "role": principal.role if principal else None,
                    "actor_client_id": principal.client_id if principal else None,
                    "actor_provider_id": principal.provider_id if principal else None,
                    "method": method,
                    "path": path[:500],
                    "service": route.service,
                    "ip": ip,
                    "status": status,
                }
                if attempt.reached_service and method not in READ_METHODS:
                    await audit.record_now(**entry)  # it may have changed something: durable first
                else:
                    audit.record(**entry)

    async def _limited(self, kind: str, key: str, path: str) -> Response | None:
        limits: RateLimits = self.state.limits
        wait = await limits.check(kind, key)
        if wait is None:
            return None
        return problem(
            429,
            "rate-limited",
            "Too many requests",
            f"Too many requests from this {kind}; retry in {wait} s.",
            path,
            headers={"Retry-After": str(wait)},
        )

    async def _guard_and_forward(
        self, scope: Scope, receive: Receive, route: Route, ip: str, attempt: _Attempt
    ) -> Reply | Response:
        path: str = scope["path"]
        method: str = scope["method"]
        state = self.state
        settings: Settings = state.settings
        limited = await self._limited("ip", ip, path)
        if limited is not None:
            return limited
        authorization = declared = idempotency_key = None  # the first of each, as Starlette's headers.get
        for k, v in scope["headers"]:
            if k == _AUTHORIZATION:
                authorization = v if authorization is None else authorization
            elif k == _CONTENT_LENGTH:
                declared = v if declared is None else declared
            elif k == _IDEMPOTENCY_KEY:
                idempotency_key = v if idempotency_key is None else idempotency_key
        verified = check_bearer(state.verifier, (authorization or b"").decode("latin-1"), path)
        if isinstance(verified, Response):
            return verified
        attempt.principal = principal = verified.principal
        limited = await self._limited("identity", principal.subject, path)
        if limited is not None:
            return limited
        if principal.role == "partner" and method not in READ_METHODS:
            return problem(403, "forbidden", "Forbidden", "Partner access is read-only.", path)
        idempotent = required_for(method, path)
        key = (idempotency_key or b"").decode("latin-1").strip()
        if idempotent and (refused := missing_key(key, path)) is not None:
            return refused
        limit = settings.max_request_bytes
        too_big = declared is not None and declared.isdigit() and int(declared) > limit
        body = None if too_big else await _read_body(receive, limit)
        if body is None:
            return problem(
                413,
                "payload-too-large",
                "Request too large",
                f"Request bodies are limited to {limit} bytes.",
                path,
            )
        # The path exactly as it arrived (still percent-encoded), so odd characters reach the service as the
        # caller sent them instead of being re-encoded (or refused) here.
        raw = scope.get("raw_path") or path.encode()
        target = raw.partition(b"?")[0].decode("latin-1")
        if not target.isascii() or not target.isprintable() or " " in target:
            return _not_found(path)
        query: bytes = scope.get("query_string", b"")
        if query:
            text = query.decode("latin-1")
            if not text.isascii() or not text.isprintable() or " " in text:
                text = quote_from_bytes(query, safe=QUERY_SAFE)  # what an HTTP client would have sent
            target += "?" + text
        headers = forward_headers(
            scope["headers"],
            [
                ("x-request-id", correlation_id.get() or ""),
                ("x-forwarded-for", ip),
                ("x-internal-token", settings.internal_token),
                *verified.headers,
            ],
        )
        upstreams: Upstreams = state.upstreams
        afterwards: Afterwards = state.afterwards

        async def call() -> Reply | Response:
            attempt.reached_service = True
            afterwards.while_waiting()
            return await upstreams.exchange(route.service, method, target, headers, body, instance=path)

        if idempotent:
            return await with_idempotency(
                subject=principal.subject,
                key=key,
                method=method,
                path=path,
                body=body,
                db=state.db,
                call=call,
            )
        return await call()


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None as soon as it is longer than `limit` (the rest is never read)."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= limit else None
    chunks = [body]
    size = len(body)
    while True:
        if size > limit:
            return None
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks) if size <= limit else None
