"""Rate limits at the door, per IP and per identity: fixed windows. In this process's memory by default;
with another `rate_limit_storage_uri` (Redis, so that several gateway replicas share counts) through the
`limits` library."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from gateway.config import Settings


class MemoryWindows:
    """Fixed windows in a dict, as `limits`' memory storage keeps them (a window opens at a key's first hit
    and lasts the period), without its per-hit locks, key strings and expiry task: one hit is a dict lookup
    and an increment. Windows that ended are dropped at most once a period."""

    def __init__(self, item: RateLimitItem, clock: Callable[[], float] = time.monotonic) -> None:
        self.amount = item.amount
        self.period = float(item.get_expiry())
        self.clock = clock
        self._windows: dict[str, list[float]] = {}  # key -> [hits, end of window]
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._windows)

    def hit(self, key: str) -> float | None:
        """None when the hit is within the limit, else the seconds until the window ends."""
        now = self.clock()
        window = self._windows.get(key)
        if window is None or window[1] <= now:
            if now >= self._next_sweep:
                self._sweep(now)
            self._windows[key] = [1, now + self.period]
            return None if self.amount >= 1 else self.period
        window[0] += 1
        if window[0] <= self.amount:
            return None
        return window[1] - now

    def _sweep(self, now: float) -> None:
        self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
        self._next_sweep = now + self.period


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self.per_ip = parse(settings.rate_limit_per_ip)
        self.per_identity = parse(settings.rate_limit_per_identity)
        self._memory: dict[str, MemoryWindows] | None = None
        if settings.rate_limit_storage_uri == "memory://":
            self._memory = {"ip": MemoryWindows(self.per_ip), "identity": MemoryWindows(self.per_identity)}
        else:
            self.storage = storage_from_string(f"async+{settings.rate_limit_storage_uri}")
            self.limiter = FixedWindowRateLimiter(self.storage)

    async def check(self, kind: str, key: str) -> int | None:
        """None when the request may go on, else the seconds to wait before retrying."""
        if self._memory is not None:
            wait = self._memory[kind].hit(key)
            return None if wait is None else max(1, math.ceil(wait))
        item = self.per_ip if kind == "ip" else self.per_identity
        if await self.limiter.hit(item, kind, key):
            return None
        stats = await self.limiter.get_window_stats(item, kind, key)
        return max(1, math.ceil(stats.reset_time - time.time()))
