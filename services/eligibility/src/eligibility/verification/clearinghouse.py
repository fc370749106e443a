"""Talks to the clearinghouse: one 270 out, one 271 back, over HTTP (the X12 real-time convention).

The pool is aiohttp's: a burst of 270s to a slow clearinghouse keeps hundreds of connections busy at once,
and httpx's pool scans every connection for every request it assigns (encode/httpx #3215; in the fan-out
benchmark's profile 8.7 million `is_idle` calls for 1,000 verifications).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from kit.metrics import UPSTREAM_LATENCY

X12_MEDIA_TYPE = "application/edi-x12"


class ClearinghouseFailure(Exception):
    """No usable answer: down, timed out, or an HTTP error. The reason is safe to store and show."""


class ClearinghouseClient:
    """Our own pool, large enough that a slow clearinghouse does not queue verifications behind each other,
    and without the internal token runtime.http carries (the clearinghouse is an outside party). The
    session is made in the running loop on first use."""

    def __init__(
        self, max_connections: int, *, trace_configs: list[aiohttp.TraceConfig] | None = None
    ) -> None:
        self.max_connections = max_connections
        self.trace_configs = trace_configs
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                skip_auto_headers=("User-Agent",),
                trace_configs=self.trace_configs,
            )
        return self._session

    async def post_270(self, url: str, raw_270: str, *, timeout: float) -> str:
        try:
            async with self._client().post(
                url,
                data=raw_270.encode(),
                headers={"content-type": X12_MEDIA_TYPE},
                timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=2.0),
            ) as response:
                body = await response.text(errors="replace")
        except TimeoutError as exc:
            raise ClearinghouseFailure(f"timeout: no answer within {timeout:g}s") from exc
        except aiohttp.ClientError as exc:
            raise ClearinghouseFailure(f"unreachable: {type(exc).__name__}") from exc
        if response.status != 200:
            raise ClearinghouseFailure(f"http {response.status}: {body[:200]}")
        return body

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            await asyncio.sleep(0)  # lets the connector close its transports


async def exchange(client: ClearinghouseClient, base_url: str, raw_270: str, *, timeout: float) -> str:
    """Send the 270, return the raw 271."""
    started = time.perf_counter()
    outcome = "error"
    try:
        raw_271 = await client.post_270(base_url.rstrip("/") + "/x12/270", raw_270, timeout=timeout)
        outcome = "ok"
        return raw_271
    finally:
        UPSTREAM_LATENCY.labels(service="eligibility", upstream="clearinghouse", outcome=outcome).observe(
            time.perf_counter() - started
        )


def make_client(max_connections: int) -> ClearinghouseClient:
    return ClearinghouseClient(max_connections)
