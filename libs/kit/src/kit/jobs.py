"""Periodic jobs (scheduled re-verification, follow-ups, deadlines): one replica at a time, via an
advisory lock, and runnable on demand so tests drive them with a controllable clock."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

log = logging.getLogger("kit.jobs")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_s: float
    run: Callable[[Any], Awaitable[None]]  # receives the service Runtime


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def run_job_once(runtime: Any, job: PeriodicJob) -> bool:
    """Run the job now unless another replica holds its lock; True when it ran."""
    async with runtime.db.engine.connect() as conn:
        got = (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_key(job.name)})
        ).scalar()
        if not got:
            return False
        try:
            await job.run(runtime)
            return True
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(job.name)})
            await conn.commit()


async def run_periodically(runtime: Any, job: PeriodicJob) -> None:
    while True:
        try:
            await run_job_once(runtime, job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A job cancelled mid-statement may fail its clean-up instead (the unlock on a connection the
            # cancellation closed): the stop it was asked for still wins, or the service never stops.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                log.warning("periodic job failed while stopping", extra={"job": job.name})
                raise asyncio.CancelledError from exc
            log.exception("periodic job failed", extra={"job": job.name})
        await asyncio.sleep(job.interval_s)
