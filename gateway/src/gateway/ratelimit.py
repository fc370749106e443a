"""Rate limits at the door, per IP and per identity (the `limits` library; memory by default, Redis or
another shared storage when several gateway replicas run)."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from gateway.config import Settings


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self.storage = storage_from_string(f"async+{settings.rate_limit_storage_uri}")
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.per_ip = parse(settings.rate_limit_per_ip)
        self.per_identity = parse(settings.rate_limit_per_identity)

    async def check(self, kind: str, key: str) -> int | None:
        """None when the request may go on, else the seconds to wait before retrying."""
        item = self.per_ip if kind == "ip" else self.per_identity
        if await self.limiter.hit(item, kind, key):
            return None
        stats = await self.limiter.get_window_stats(item, kind, key)
        return max(1, math.ceil(stats.reset_time - time.time()))
