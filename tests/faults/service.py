"""The kit demo service (tests/kit/demo.py) as a real process, built from environment settings:
`uvicorn --factory tests.faults.service:create_app`.

Fault switches (environment):
- FAULT_HANDLER_DELAY_S: the consumer's handler pauses after its effects, so a stream takes a while.
- FAULT_KILL_BEFORE_MARK_SENT=1: the process kills itself with SIGKILL the moment the relay, having had every
  send of a batch acknowledged by the broker, is about to mark those rows sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import asyncpg
from fastapi import FastAPI

from contracts.events import ClientRegistered
from kit.app import create_service_app
from kit.messaging.consumer import EventContext, Subscription
from kit.runtime import Runtime
from kit.settings import KitSettings
from tests.kit.demo import messaging, on_registered, router


def _die_before_marking_sent() -> None:
    """The relay marks rows sent in fixed SQL on its driver connection: the kill goes in front of asyncpg's
    execute, and fires on that statement only."""
    execute = asyncpg.Connection.execute

    async def execute_or_die(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> str:
        if query.lstrip().upper().startswith('UPDATE "KITDEMO"."OUTBOX" SET SENT_AT'):
            os.kill(os.getpid(), signal.SIGKILL)
        return await execute(self, query, *args, **kwargs)

    asyncpg.Connection.execute = execute_or_die


def create_app() -> FastAPI:
    settings = KitSettings(service_name="kitdemo")
    delay = float(os.environ.get("FAULT_HANDLER_DELAY_S", "0"))
    if os.environ.get("FAULT_KILL_BEFORE_MARK_SENT") == "1":
        _die_before_marking_sent()

    async def handler(ev: ClientRegistered, ctx: EventContext) -> None:
        await on_registered(ev, ctx)
        if delay:
            await asyncio.sleep(delay)

    def factory() -> Runtime:
        runtime = Runtime.build(settings, messaging)
        runtime.add_consumer("demo", [Subscription(ClientRegistered, handler)])
        return runtime

    return create_service_app(
        service_name="kitdemo",
        title="Kit demo (fault tests)",
        description="the kit demo service as a process",
        runtime_factory=factory,
        routers=[router],
    )
