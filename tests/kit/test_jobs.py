"""Periodic jobs stop when the service stops, even when a cancelled job's clean-up fails instead of
re-raising the cancellation (the unlock on a connection the cancellation closed): a stop that never ends
holds a deploy, and in tests it held the whole run."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from kit.db import Database
from kit.jobs import PeriodicJob, run_periodically


async def test_a_job_whose_clean_up_fails_after_cancellation_still_stops(demo_db: Database) -> None:
    started = asyncio.Event()

    async def job(_runtime: object) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("clean-up failed: connection is closed") from None

    runtime = SimpleNamespace(db=demo_db)
    task = asyncio.create_task(run_periodically(runtime, PeriodicJob("stuck", 3600, job)))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done, "the job went back to sleep instead of stopping"
    assert task.cancelled()
