"""How many verifications hold a database connection at once.

A burst of verifications waits here for its turn instead of for the pool (whose timeout answers 503), and
never takes the connections the API, the relay and the jobs need. A verification recording its answer goes
before one that has not sent its 270 yet: finishing what is in flight first keeps latency to what the
work takes, where a first-come queue would make every answer wait behind the whole burst's 270s.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Slots:
    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one slot")
        self.size = size
        self._free = size
        self._finishing: deque[asyncio.Future[None]] = deque()
        self._starting: deque[asyncio.Future[None]] = deque()

    @property
    def in_use(self) -> int:
        return self.size - self._free

    @property
    def waiting(self) -> int:
        return sum(not f.done() for f in (*self._finishing, *self._starting))

    @asynccontextmanager
    async def hold(self, *, finishing: bool) -> AsyncIterator[None]:
        """One slot for the block; `finishing` waits ahead of every verification not yet started."""
        if self._free > 0:
            self._free -= 1
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._finishing if finishing else self._starting).append(granted)
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release()  # handed a slot just as we were cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for queue in (self._finishing, self._starting):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._free += 1
