"""The service app factory: problem+json errors, request ids, health, metrics, ops endpoints, workers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from kit.errors import install_error_handlers, problem_response
from kit.logging import configure_logging
from kit.messaging.kafka import broker_reachable
from kit.metrics import metrics_endpoint
from kit.middleware import RequestContextMiddleware
from kit.ops import router as ops_router
from kit.runtime import Runtime, settle_heap
from kit.tracing import setup_tracing


async def get_runtime(request: Request) -> Runtime:
    """A coroutine, so FastAPI runs it on the event loop (a plain function would cost a threadpool hop)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def create_service_app(
    *,
    service_name: str,
    title: str,
    description: str,
    runtime_factory: Callable[[], Runtime],
    routers: list[APIRouter],
    on_startup: Callable[[Runtime], Awaitable[None]] | None = None,
    version: str = "1.0.0",
    configure_logs: bool = True,
) -> FastAPI:
    """Build a service: its routers under the shared plumbing, workers started with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory()
        if configure_logs:
            configure_logging(runtime.settings.service_name, runtime.settings.log_level)
        setup_tracing(runtime.settings)
        app.state.runtime = runtime
        app.state.db = runtime.db
        if on_startup is not None:
            await on_startup(runtime)
        settle_heap()
        await runtime.start_workers()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    app.include_router(ops_router)

    @app.get("/healthz", tags=["health"], summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Readiness: database and broker reachable")
    async def readyz(runtime: RuntimeDep) -> Any:
        checks: dict[str, str] = {}
        try:
            await runtime.db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        s = runtime.settings
        # An API-only process keeps accepting writes while the broker is down (the outbox holds the events),
        # so only processes that publish or consume depend on the broker for readiness.
        if s.run_relay or s.run_consumers:
            ok_broker = await broker_reachable(s.kafka_bootstrap_servers)
            checks["broker"] = "ok" if ok_broker else "unavailable"
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(
            {
                "type": "https://parity.dev/problems/not-ready",
                "title": "Not ready",
                "status": 503,
                "detail": "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok"),
                "checks": checks,
            }
        )

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_middleware(RequestContextMiddleware, service=service_name)
    return app
