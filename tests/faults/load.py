"""A steady stream of writes against the demo service while a fault is injected: what was acknowledged, and
what every other request got."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from types import TracebackType

import httpx

from kit.testing.helpers import eventually


class Load:
    """`workers` clients posting notes back to back until the block ends."""

    def __init__(self, base_url: str, *, workers: int = 4) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(15.0, connect=2.0))
        self.workers = workers
        self.acked: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self._tasks: list[asyncio.Task[None]] = []

    async def _post_forever(self) -> None:
        while True:
            try:
                response = await self.client.post("/notes", params={"home_state": "NY"})
            except httpx.HTTPError as exc:
                self.outcomes[type(exc).__name__] += 1
                await asyncio.sleep(0.05)
                continue
            self.outcomes[str(response.status_code)] += 1
            if response.status_code == 201:
                self.acked.append(response.json()["client_id"])
            else:
                await asyncio.sleep(0.05)

    async def wait_acked(self, n: int, *, timeout: float = 30.0) -> None:
        """Until n more requests than now have been acknowledged."""
        target = len(self.acked) + n

        async def enough() -> bool:
            return len(self.acked) >= target

        await eventually(enough, timeout=timeout, what=f"{target} acknowledged writes")

    def failures(self) -> dict[str, int]:
        return {k: v for k, v in self.outcomes.items() if k != "201"}

    async def __aenter__(self) -> Load:
        self._tasks = [asyncio.create_task(self._post_forever()) for _ in range(self.workers)]
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.stop()
        await self.client.aclose()
