"""The eligibility service: `uvicorn --factory eligibility.main:create_app`.

CLOCK=controllable starts it on a kit.clock.ControllableClock that ops can move (`POST /ops/clock/advance`,
never in production)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from eligibility.clients.endpoints import router as clients_router
from eligibility.cob.endpoints import router as cob_router
from eligibility.config import Settings
from eligibility.coverages.endpoints import router as coverages_router
from eligibility.handlers import SUBSCRIPTIONS
from eligibility.internal.endpoints import router as internal_router
from eligibility.jobs import jobs
from eligibility.models import messaging
from eligibility.ops_clock import router as clock_router
from eligibility.payers.endpoints import router as payers_router
from eligibility.verification.clearinghouse import make_client
from kit.app import create_service_app
from kit.clock import Clock, ControllableClock
from kit.runtime import Runtime


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the eligibility app; tests pass their own settings and a controllable clock."""
    if clock is None and os.environ.get("CLOCK") == "controllable":
        clock = ControllableClock()

    def runtime_factory() -> Runtime:
        s = settings or Settings()
        runtime = Runtime.build(s, messaging, clock=clock)
        runtime.add_consumer("main", SUBSCRIPTIONS)
        runtime.jobs.extend(jobs(s.job_interval_s))
        http = make_client(s.clearinghouse_max_connections)
        runtime.extras["clearinghouse_http"] = http
        runtime.on_stop(http.aclose)
        return runtime

    return create_service_app(
        service_name="eligibility",
        title="Parity eligibility",
        description="Clients, coverages, X12 270/271 verification, the secondary flag and coordination of benefits.",
        runtime_factory=runtime_factory,
        routers=[clients_router, coverages_router, cob_router, payers_router, internal_router, clock_router],
    )
