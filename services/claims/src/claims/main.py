"""The claims service: `uvicorn --factory claims.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from claims.careteam.endpoints import router as careteam_router
from claims.claim.endpoints import router as claims_router
from claims.clock_ops import router as clock_router
from claims.config import Settings
from claims.guidance.endpoints import router as guidance_router
from claims.handlers import SUBSCRIPTIONS
from claims.jobs import jobs
from claims.locations.endpoints import router as locations_router
from claims.models import messaging
from claims.notes.endpoints import router as notes_router
from claims.providers.endpoints import router as providers_router
from claims.recoupments.endpoints import router as recoupments_router
from claims.remittances.endpoints import router as remittances_router
from claims.sessions.endpoints import router as sessions_router
from kit.app import create_service_app
from kit.clock import Clock, ControllableClock
from kit.runtime import Runtime


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the claims app; tests pass their own settings and a controllable clock."""
    settings = settings or Settings()
    if clock is None and settings.clock == "controllable" and settings.environment != "production":
        clock = ControllableClock()

    def runtime_factory() -> Runtime:
        runtime = Runtime.build(settings, messaging, clock=clock)
        runtime.add_consumer("main", SUBSCRIPTIONS)
        runtime.jobs.extend(jobs(settings))
        return runtime

    return create_service_app(
        service_name="claims",
        title="Parity claims",
        description="Providers, client locations, billing routing, sessions, claims (837P/835), clawbacks.",
        runtime_factory=runtime_factory,
        routers=[
            providers_router,
            guidance_router,
            locations_router,
            careteam_router,
            sessions_router,
            claims_router,
            remittances_router,
            recoupments_router,
            notes_router,
            clock_router,
        ],
    )
