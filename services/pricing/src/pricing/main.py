"""The pricing service: `uvicorn --factory pricing.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from kit.app import create_service_app
from kit.clock import Clock
from kit.runtime import Runtime
from pricing.config import Settings
from pricing.costing.endpoints import router as cost_router
from pricing.documents.endpoints import router as documents_router
from pricing.fees.endpoints import router as fees_router
from pricing.handlers import SUBSCRIPTIONS
from pricing.ledger.endpoints import router as ledger_router
from pricing.ledger.refunds import refund_job
from pricing.models import messaging


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the pricing app; tests pass their own settings and a controllable clock."""

    def runtime_factory() -> Runtime:
        s = settings or Settings()
        runtime = Runtime.build(s, messaging, clock=clock)
        runtime.add_consumer("main", SUBSCRIPTIONS)
        runtime.jobs.append(refund_job(s.refund_job_interval_s))
        return runtime

    return create_service_app(
        service_name="pricing",
        title="Parity pricing",
        description="What each session costs the client, re-priced whenever the truth changes; "
        "balances, payments, refunds, invoices and estimates.",
        runtime_factory=runtime_factory,
        routers=[cost_router, ledger_router, documents_router, fees_router],
    )
