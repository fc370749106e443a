"""The gateway: the only public door. `uvicorn --factory gateway.main:create_app`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts import asyncapi
from gateway.audit import AuditLog
from gateway.auth import TokenVerifier
from gateway.config import Settings
from gateway.context import Afterwards, ForwardedContext
from gateway.docs import OpenApiAggregator, asyncapi_html
from gateway.door import Door, authenticate, door_route
from gateway.proxy import Upstreams, upstream_url
from gateway.ratelimit import RateLimits
from gateway.routes import SERVICES
from gateway.security import SecurityHeadersMiddleware
from kit.db import Database
from kit.errors import Forbidden, NotFound, install_error_handlers, problem, problem_response
from kit.logging import configure_logging
from kit.metrics import metrics_endpoint
from kit.middleware import RequestContextMiddleware


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    request_id: str | None
    subject: str | None
    role: str | None
    actor_client_id: uuid.UUID | None
    actor_provider_id: uuid.UUID | None
    method: str
    path: str
    service: str | None
    target_client_id: uuid.UUID | None
    ip: str | None
    status: int
    outcome: str


class DevTokenIn(BaseModel):
    role: Literal["client", "provider", "ops", "partner"]
    client_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None


class DevTokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"


audit_router = APIRouter(tags=["audit"])


@audit_router.get(
    "/v1/audit-events",
    response_model=list[AuditEventOut],
    summary="The audit log of PHI reads and writes (ops only)",
    responses={401: {"description": "No or invalid token"}, 403: {"description": "Not ops"}},
)
async def list_audit_events(
    request: Request,
    subject: str | None = None,
    client_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    outcome = await authenticate(request)
    if isinstance(outcome, Response):
        return outcome
    if outcome.role != "ops":
        raise Forbidden("Only ops can read the audit log.")
    audit: AuditLog | None = request.app.state.audit
    if audit is None:
        raise NotFound("The audit log is disabled on this gateway.")
    rows = await audit.query(
        subject=subject, target_client_id=client_id, since=since, until=until, after_id=after_id, limit=limit
    )
    audit.record(
        request_id=None,
        subject=outcome.subject,
        role=outcome.role,
        actor_client_id=None,
        actor_provider_id=None,
        method="GET",
        path=request.url.path,
        service="gateway",
        ip=request.client.host if request.client else None,
        status=200,
    )
    return rows


class GatewayApp(FastAPI):
    """FastAPI for the gateway's own endpoints; a forwarded /v1 request goes straight to the Door in its lean
    request context (gateway.context), skipping FastAPI's own layers (error and telemetry middlewares,
    routing), which it does not use."""

    door: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.door is not None:
            forwarded, route = door_route(scope)
            if forwarded:
                if route is not None:
                    scope["route"] = route
                await self.door(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def middlewares(settings: Settings) -> list[Middleware]:
    """Outermost first: request id, access log and metrics; security headers; CORS."""
    return [
        Middleware(RequestContextMiddleware, service="gateway"),
        Middleware(SecurityHeadersMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type", "idempotency-key", "x-request-id"],
            expose_headers=["x-request-id", "retry-after"],
            max_age=600,
        ),
    ]


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if configure_logs:
            configure_logging("gateway", settings.log_level)
        app.state.upstreams = Upstreams(settings)
        app.state.http = app.state.upstreams.http_client()
        app.state.docs = OpenApiAggregator(settings, app.state.http)
        app.state.verifier = TokenVerifier.from_settings(settings)
        app.state.limits = RateLimits(settings)
        db = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        app.state.db = db
        app.state.audit = (
            AuditLog(db, flush_interval_s=settings.audit_flush_interval_s) if settings.audit_enabled else None
        )
        if app.state.audit is not None:
            app.state.audit.start()
        try:
            yield
        finally:
            app.state.afterwards.run()
            if app.state.audit is not None:
                await app.state.audit.stop()
            await db.dispose()
            await app.state.http.aclose()
            await app.state.upstreams.aclose()

    app = GatewayApp(
        title="Parity gateway",
        lifespan=lifespan,
        middleware=middlewares(settings),
        openapi_url=None,  # /openapi.json is the aggregated document below
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.afterwards = Afterwards()
    install_error_handlers(app)
    app.include_router(audit_router)
    own_spec = get_openapi(title="gateway", version="1.0.0", routes=audit_router.routes)
    app.state.own_spec = own_spec

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(await request.app.state.docs.document(own_spec))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Parity API")

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(asyncapi.build())

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(asyncapi_html())

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Any:
        client: httpx.AsyncClient = request.app.state.http

        async def check(service: str) -> str:
            try:
                resp = await client.get(upstream_url(settings, service) + "/readyz", timeout=2.0)
            except httpx.HTTPError as exc:
                return f"unreachable: {type(exc).__name__}"
            return "ok" if resp.status_code == 200 else f"not ready ({resp.status_code})"

        results = dict(zip(SERVICES, await asyncio.gather(*(check(s) for s in SERVICES)), strict=True))
        if all(v == "ok" for v in results.values()):
            return JSONResponse({"status": "ready", "services": results})
        return problem_response(
            {
                "type": "https://parity.dev/problems/not-ready",
                "title": "Not ready",
                "status": 503,
                "detail": "; ".join(f"{k}: {v}" for k, v in results.items() if v != "ok"),
                "services": results,
            }
        )

    if settings.dev_issuer_enabled:
        from gateway.devtokens import DevIssuer

        issuer = DevIssuer.load(settings)

        @app.post("/dev/tokens", include_in_schema=False, response_model=DevTokenOut)
        async def dev_token(body: DevTokenIn) -> Any:
            """Development only: a token for a demo user (refused by settings in production)."""
            if body.role == "provider" and body.provider_id is None:
                return problem(
                    422, "validation-error", "Invalid", "A provider token needs provider_id.", "/dev/tokens"
                )
            return DevTokenOut(
                access_token=issuer.mint(
                    role=body.role, client_id=body.client_id, provider_id=body.provider_id
                )
            )

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    door = Door(app.state)
    stacked: ASGIApp = door
    for cls, args, kwargs in reversed(middlewares(settings)):
        stacked = cls(stacked, *args, **kwargs)
    app.door = ForwardedContext(door, cors=stacked, afterwards=app.state.afterwards)
    return app
