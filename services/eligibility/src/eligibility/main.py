"""The eligibility service: `uvicorn --factory eligibility.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from kit.app import create_service_app
from kit.clock import Clock
from kit.runtime import Runtime

from eligibility.config import Settings
from eligibility.handlers import SUBSCRIPTIONS
from eligibility.models import messaging


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the eligibility app; tests pass their own settings and a controllable clock."""

    def runtime_factory() -> Runtime:
        runtime = Runtime.build(settings or Settings(), messaging, clock=clock)
        if SUBSCRIPTIONS:
            runtime.add_consumer("main", SUBSCRIPTIONS)
        return runtime

    return create_service_app(
        service_name="eligibility",
        title="Parity eligibility",
        description="Eligibility service.",
        runtime_factory=runtime_factory,
        routers=[],
    )
