"""The notifications service: `uvicorn --factory notifications.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from kit.app import create_service_app
from kit.clock import Clock
from kit.jobs import PeriodicJob
from kit.runtime import Runtime
from notifications.config import Settings
from notifications.delivery.directory import Directory
from notifications.delivery.worker import Sender
from notifications.feed.endpoints import router as feed_router
from notifications.handlers import SUBSCRIPTIONS
from notifications.models import messaging
from notifications.preferences.endpoints import router as preferences_router

SENDER_JOB = "notifications.sender"


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the notifications app; tests pass their own settings and a controllable clock."""
    settings = settings or Settings()

    def runtime_factory() -> Runtime:
        runtime = Runtime.build(settings, messaging, clock=clock)
        runtime.add_consumer("main", SUBSCRIPTIONS)
        runtime.extras["directory"] = Directory(http=runtime.http, settings=settings)
        sender = Sender()
        runtime.extras["sender"] = sender
        # The job runs as long as the service (see delivery.worker): it holds the sender's lock meanwhile,
        # and a replica standing by tries for the lock every interval.
        runtime.jobs.append(PeriodicJob(SENDER_JOB, settings.sender_interval_s, sender.run))
        return runtime

    return create_service_app(
        service_name="notifications",
        title="Parity notifications",
        description=(
            "Every e-mail the platform promises (COB pauses, cost changes, balances, refunds, invoices, notes "
            "requests), sent once over SMTP; the in-app feed, delivery status and preferences."
        ),
        runtime_factory=runtime_factory,
        routers=[feed_router, preferences_router],
    )
