"""The gateway: the only public door. `uvicorn --factory gateway.main:create_app`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from contracts import asyncapi
from gateway.config import Settings
from gateway.docs import OpenApiAggregator, asyncapi_html
from gateway.proxy import make_client, proxy, upstream_url
from gateway.routes import SERVICES
from kit.errors import install_error_handlers, problem_response
from kit.logging import configure_logging
from kit.metrics import metrics_endpoint
from kit.middleware import RequestContextMiddleware

PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if configure_logs:
            configure_logging("gateway", settings.log_level)
        app.state.http = make_client(settings)
        app.state.docs = OpenApiAggregator(settings, app.state.http)
        try:
            yield
        finally:
            await app.state.http.aclose()

    app = FastAPI(
        title="Parity gateway",
        lifespan=lifespan,
        openapi_url=None,  # /openapi.json is the aggregated document below
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(await request.app.state.docs.document())

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

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_route("/v1/{path:path}", proxy, methods=PROXY_METHODS, include_in_schema=False)
    app.add_middleware(RequestContextMiddleware, service="gateway")
    return app
