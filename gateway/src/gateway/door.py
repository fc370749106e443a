"""The door every /v1 request passes: rate limit per IP, authenticate, rate limit per identity, role
gate, forward, audit. Services repeat the object-level checks; the door is the first line, not the only one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.auth import AuthError, TokenVerifier
from gateway.idempotency import required_for, with_idempotency
from gateway.proxy import forward
from gateway.ratelimit import RateLimits
from gateway.routes import route_for
from kit.auth import Principal
from kit.errors import problem
from kit.logging import correlation_id

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authenticate(request: Request) -> Principal | Response:
    """The verified principal of the request, or the 401 problem to answer."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    path = request.url.path
    if scheme.lower() != "bearer" or not token.strip():
        return problem(
            401,
            "unauthorized",
            "Authentication required",
            "Send an OAuth2 bearer token.",
            path,
            headers={"WWW-Authenticate": 'Bearer realm="parity"'},
        )
    verifier: TokenVerifier = request.app.state.verifier
    try:
        return verifier.verify(token.strip())
    except AuthError as exc:
        return problem(
            401,
            "invalid-token",
            "Invalid token",
            exc.detail,
            path,
            headers={"WWW-Authenticate": 'Bearer realm="parity", error="invalid_token"'},
        )


async def rate_limited(request: Request, kind: str, key: str) -> Response | None:
    limits: RateLimits = request.app.state.limits
    wait = await limits.check(kind, key)
    if wait is None:
        return None
    return problem(
        429,
        "rate-limited",
        "Too many requests",
        f"Too many requests from this {kind}; retry in {wait} s.",
        request.url.path,
        headers={"Retry-After": str(wait)},
    )


async def _guard_and_forward(request: Request, service: str) -> tuple[Principal | None, Response]:
    limited = await rate_limited(request, "ip", client_ip(request))
    if limited is not None:
        return None, limited
    outcome = await authenticate(request)
    if isinstance(outcome, Response):
        return None, outcome
    principal = outcome
    limited = await rate_limited(request, "identity", principal.subject)
    if limited is not None:
        return principal, limited
    if principal.role == "partner" and request.method not in READ_METHODS:
        return principal, problem(
            403, "forbidden", "Forbidden", "Partner access is read-only.", request.url.path
        )
    if required_for(request):
        db = request.app.state.db
        return principal, await with_idempotency(
            request, principal.subject, db, lambda: forward(request, service, principal.headers())
        )
    return principal, await forward(request, service, principal.headers())


async def handle(request: Request) -> Response:
    """Guard, forward and audit one public request."""
    path = request.url.path
    route = route_for(path)
    if route is None:
        return problem(404, "not-found", "Not found", f"No resource at {path}.", path)
    docs = request.app.state.docs
    await docs.ensure_methods(request.app.state.own_spec)
    allowed = docs.allowed_methods(path)
    if allowed is not None and request.method not in allowed:
        return problem(
            405,
            "method-not-allowed",
            "Method not allowed",
            f"{request.method} is not supported on {path}.",
            path,
            headers={"Allow": ", ".join(sorted(allowed))},
        )
    principal: Principal | None = None
    status = 500
    try:
        principal, response = await _guard_and_forward(request, route.service)
        status = response.status_code
        return response
    finally:
        audit = request.app.state.audit
        if audit is not None:
            audit.record(
                request_id=correlation_id.get(),
                subject=principal.subject if principal else None,
                role=principal.role if principal else None,
                actor_client_id=principal.client_id if principal else None,
                actor_provider_id=principal.provider_id if principal else None,
                method=request.method,
                path=path[:500],
                service=route.service,
                ip=client_ip(request),
                status=status,
            )
