"""Talks to the clearinghouse: one 270 out, one 271 back, over HTTP (the X12 real-time convention)."""

from __future__ import annotations

import time

import httpx

from kit.metrics import UPSTREAM_LATENCY

X12_MEDIA_TYPE = "application/edi-x12"


class ClearinghouseFailure(Exception):
    """No usable answer: down, timed out, or an HTTP error. The reason is safe to store and show."""


async def exchange(http: httpx.AsyncClient, base_url: str, raw_270: str, *, timeout: float) -> str:
    """Send the 270, return the raw 271."""
    started = time.perf_counter()
    outcome = "error"
    try:
        raw_271 = await _post(http, base_url, raw_270, timeout=timeout)
        outcome = "ok"
        return raw_271
    finally:
        UPSTREAM_LATENCY.labels(service="eligibility", upstream="clearinghouse", outcome=outcome).observe(
            time.perf_counter() - started
        )


async def _post(http: httpx.AsyncClient, base_url: str, raw_270: str, *, timeout: float) -> str:
    try:
        response = await http.post(
            base_url.rstrip("/") + "/x12/270",
            content=raw_270.encode(),
            headers={"content-type": X12_MEDIA_TYPE},
            timeout=timeout,
        )
    except httpx.TimeoutException as exc:
        raise ClearinghouseFailure(f"timeout: no answer within {timeout:g}s") from exc
    except httpx.HTTPError as exc:
        raise ClearinghouseFailure(f"unreachable: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise ClearinghouseFailure(f"http {response.status_code}: {response.text[:200]}")
    return response.text


def make_client(max_connections: int) -> httpx.AsyncClient:
    """Our own pool, large enough that a slow clearinghouse does not queue verifications behind each other."""
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        timeout=httpx.Timeout(10.0, connect=2.0),
    )
